/**
 * What the coordinator does for each decision its jobs' machines give, one handler per decision
 * type, as dask's worker carries out one instruction per handler. The handlers see the
 * coordinator only through HandlerContext, the few verbs they need.
 */
import { short } from '../../base/log.js'
import type { Decision } from '../job/types.js'
import type { DonorLink } from '../protocol/links.js'
import type { JobRecord } from '../store/records.js'
import type { ActiveJob } from './active-job.js'

export type AssignDecision = Extract<Decision, { type: 'assign' }>

/** What the handlers of one turn's decisions share: the write the verdicts wait for, and what to send at the end. */
export interface Turn {
  written: Promise<void>
  reopened: boolean
  assigns: AssignDecision[]
  from?: DonorLink
}

export type DecisionHandler<D extends Decision> = (job: ActiveJob, d: D, turn: Turn) => void | Promise<void>
export type DecisionHandlers = { [K in Decision['type']]: DecisionHandler<Extract<Decision, { type: K }>> }

/** The coordinator as its handlers see it. */
export interface HandlerContext {
  linkOf(key: string): DonorLink | undefined
  /** A donor let a lease expire in silence: what it may hold shrinks. */
  missed(peer: string): void
  log(kind: string, text: string, job?: string, peer?: string): void
  /** Each job's accepted outputs still on their way to disk. */
  writing: WeakMap<ActiveJob, Promise<void>>
  accept(job: ActiveJob, d: Extract<Decision, { type: 'accept' }>): Promise<void>
  unaccept(job: ActiveJob, d: Extract<Decision, { type: 'unaccept' }>): Promise<void>
  /** A job that takes partial results goes on without this unit. */
  leftOut(job: string, unit: number, reason: string): void
  complete(job: ActiveJob): Promise<void>
  finish(job: ActiveJob, change: Pick<JobRecord, 'state'> & Partial<JobRecord>): Promise<void>
  violation(link: DonorLink, reason: string): void
}

export function decisionHandlers(c: HandlerContext): DecisionHandlers {
  return {
    assign: (_job, d, turn) => {
      turn.assigns.push(d)
    },
    'cancel-lease': (_job, d) => {
      c.linkOf(d.peer)?.sendCancel({ lease: d.lease })
    },
    'lease-expired': (job, d) => {
      // The ledger counts it against the donor's reputation (TrustKeeper.observe); what it may hold shrinks.
      c.missed(d.peer)
      c.log('deadline', `unit ${d.unit}: ${short(d.peer)} let lease ${d.lease} expire without a word`, job.record.id, d.peer)
    },
    verdict: (job, d, turn) => {
      const link = c.linkOf(d.peer)
      // After every accept of this job so far, not only this turn's: a late replica's verdict must
      // not overtake an earlier accept still being written. A verdict whose accept was not stored
      // is never sent (the job stops: stopOnStoreFailure).
      Promise.all([turn.written, c.writing.get(job)]).then(
        () => link?.sendVerdict({ lease: d.lease, accepted: d.accepted }),
        () => {}
      )
    },
    accept: (job, d, turn) => {
      turn.written = c.accept(job, d)
      // The chain only orders verdicts; a failed write is seen through `turn.written`.
      c.writing.set(
        job,
        Promise.all([c.writing.get(job), turn.written]).then(
          () => {},
          () => {}
        )
      )
    },
    unaccept: (job, d, turn) => {
      turn.reopened = true
      const removed = c.unaccept(job, d)
      turn.written = turn.written.then(() => removed)
    },
    'spot-check': (job, d) => {
      if (!d.passed) c.log('spot-check', `${short(d.peer)} failed a spot-check on unit ${d.unit}`, job.record.id, d.peer)
    },
    reissue: (job, d, turn) => {
      turn.reopened = true
      c.log('reissue', `unit ${d.unit} reissued: ${d.reason}`, job.record.id)
    },
    'unit-failed': (job, d) => {
      c.log('failure', `unit ${d.unit} failed: ${d.reason}`, job.record.id)
      if (job.record.policy.partial) c.leftOut(job.record.id, d.unit, d.reason)
    },
    // A partial job may end on a failure while an accept of another batch is still being written.
    'job-done': async (job, _d, turn) => {
      await turn.written
      await c.writing.get(job)
      await c.complete(job)
    },
    'job-failed': (job, d) => c.finish(job, { state: 'failed', error: d.reason }),
    violation: (_job, d, turn) => {
      const link = turn.from?.key === d.peer ? turn.from : c.linkOf(d.peer)
      if (link) c.violation(link, d.reason)
    }
  }
}
