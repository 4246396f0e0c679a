/**
 * How a job ends: merged once every unit is accepted (complete), stopped when a write it depends
 * on fails (stopOnStoreFailure), and in every case written as ended before anyone may see it so
 * (finish). It sees the coordinator only through EndingContext.
 */
import type { DonorLink } from '../protocol/links.js'
import type { Store } from '../store/store.js'
import type { JobRecord } from '../store/records.js'
import type { ActiveJob } from './active-job.js'
import type { CreditLedger } from './credit.js'
import type { JobView } from './job-view.js'
import type { LeaseRoutes } from './lease-routes.js'
import { mergeOutputs } from './job-merge.js'

export type JobChange = Pick<JobRecord, 'state'> & Partial<JobRecord>

/** The coordinator as the ending of its jobs sees it. */
export interface EndingContext {
  store: Store
  credit: CreditLedger
  leases: LeaseRoutes
  clock(): number
  /** Whether this is the job running here under its id (a finished one may have been replaced). */
  isLive(job: ActiveJob): boolean
  linkOf(key: string): DonorLink | undefined
  view(job: ActiveJob): JobView
  log(kind: string, text: string, job?: string): void
  /** The job is over and written: it leaves the coordinator, and its watchers are told. */
  ended(job: ActiveJob, view: JobView): void
}

export class JobEnding {
  /** Jobs a store write failed for: they stop, saying why (stopOnStoreFailure), and are never merged. */
  private readonly storeFailed = new WeakSet<ActiveJob>()

  constructor(private readonly ctx: EndingContext) {}

  /** A write the job depends on failed (a full disk): its leases are cancelled and it ends failed, with the cause. */
  async stopOnStoreFailure(job: ActiveJob, err: unknown): Promise<void> {
    if (!this.ctx.isLive(job) || job.finishing) return
    // At once, before the cause is known: no merge of a job with an output missing, no more leases.
    this.storeFailed.add(job)
    this.cancelLeases(job)
    const failure = await this.ctx.store.failures.describe(err)
    await this.finish(job, { state: 'failed', error: `stopped: ${failure.message}` })
  }

  /** All units accepted: merge their outputs in unit order into the job's result. */
  async complete(job: ActiveJob): Promise<void> {
    if (this.storeFailed.has(job)) return
    try {
      // A job resumed from the store was not split in this run, so its task may not be prepared;
      // a task with nothing to prepare is merged at once, as before, with no turn given away.
      if (job.task.prepare) await job.task.prepare()
      const { result, partial } = mergeOutputs(this.ctx.store, job)
      await this.finish(job, { state: 'done', error: partial }, result)
    } catch (err) {
      await this.finish(job, { state: 'failed', error: `merge failed: ${(err as Error).message}` })
    }
  }

  async finish(job: ActiveJob, change: JobChange, result?: Uint8Array): Promise<void> {
    if (job.finishing) return
    job.finishing = true
    let finished: JobRecord = {
      ...job.record,
      ...change,
      finishedAt: this.ctx.clock(),
      outvoted: [...job.outvoted],
      results: job.machine.resultsReceived,
      accepted: job.machine.acceptedCount
    }
    try {
      await this.ctx.store.finishJob(finished.id, finished, result)
    } catch (err) {
      // The end could not be written (a full disk): the job ends failed here, and says why; a
      // restart finds it running on disk and takes it up again.
      const failure = await this.ctx.store.failures.describe(err)
      finished = { ...finished, state: 'failed', error: change.state === 'failed' ? finished.error : `stopped: ${failure.message}` }
      this.cancelLeases(job)
    }
    // Only now, with the result on disk, may anyone see the job as finished.
    job.record = finished
    this.ctx.credit.forget(finished.id)
    this.ctx.leases.closeJob(job)
    const view = this.ctx.view(job)
    this.ctx.log(
      'job',
      `${job.record.task} job ${job.record.id.slice(0, 8)} ${job.record.state}` + (job.record.error ? `: ${job.record.error}` : ''),
      job.record.id
    )
    this.ctx.ended(job, view)
    job.settle(view)
  }

  /** Ends the job's machine and tells each donor to drop what it holds of it. */
  private cancelLeases(job: ActiveJob): void {
    for (const d of job.machine.handle({ type: 'cancel', now: this.ctx.clock() })) {
      if (d.type === 'cancel-lease') this.ctx.linkOf(d.peer)?.sendCancel({ lease: d.lease })
    }
  }
}
