/**
 * The coordinator: owns the jobs submitted to this peer. It splits them, leases units to the
 * donors that ask (pull, never push), cross-checks what comes back through each job's
 * JobMachine and carries out the machine's decisions: store first, then verdicts.
 */
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { ParamError, type Params, type TaskModule } from '../tasks/contract.js'
import type { TaskRegistry } from '../tasks/registry.js'
import { decodeValue, digestBytes, encodeValue } from '../tasks/values.js'
import { JobMachine, LeaseCounter, type Decision, type JobPolicy, type MachineEvent } from './job-machine.js'
import type { CoordinatorSide, DonorLink } from './links.js'
import type { JobRecord, Store } from './store.js'
import { jobView, type JobView } from './job-view.js'
import type * as wire from './wire.js'

export const DEFAULT_UNITS = 16
export const DEFAULT_QUORUM = 2
const DEFAULT_LEASE_MS = 5 * 60 * 1000
const DEFAULT_MAX_ERRORS = 3
const MAX_UNITS = 10_000_000
const TICK_MS = 500

export interface JobSpec {
  task: string
  params?: Params
  units?: number
  quorum?: number
  /** Results a unit may gather without agreement before it fails; default 2·quorum + 1. */
  maxResults?: number
  maxErrors?: number
  /** Seconds a donor has for one unit before it is given to another. */
  deadline?: number
}

export interface LogEntry { at: number; kind: string; text: string; job?: string; peer?: string }

interface Candidate { bytes: Uint8Array; value: unknown }

interface ActiveJob {
  record: JobRecord
  machine: JobMachine
  task: TaskModule
  /** Outputs of units still being voted on, by group, until the unit is settled. */
  candidates: Map<number, Map<string, Candidate>>
  progress: Map<number, number>
  outvoted: Set<string>
  /** Set once the job's end is being written, so it is written once. */
  finishing: boolean
  settled: Promise<JobView>
  settle: (view: JobView) => void
}

export class Coordinator extends EventEmitter implements CoordinatorSide {
  private readonly jobs = new Map<string, ActiveJob>()
  /** Donors by key, with the slots each has offered and not yet been leased. */
  private readonly donors = new Map<string, { link: DonorLink; credit: number }>()
  /** Which job and unit each lease of a running job belongs to. */
  private readonly leases = new Map<number, { job: ActiveJob; unit: number }>()
  private readonly counter = new LeaseCounter()
  private readonly timer: NodeJS.Timeout

  constructor(private readonly store: Store, private readonly registry: TaskRegistry,
    private readonly clock: () => number = Date.now) {
    super()
    this.timer = setInterval(() => this.tick(), TICK_MS)
    this.timer.unref()
  }

  /** Takes up the jobs that were running when this peer last stopped. */
  resume(): void {
    for (const record of this.store.listJobs()) {
      if (record.state !== 'running' || this.jobs.has(record.id)) continue
      const task = this.registry.get(record.task)
      if (!task) continue
      this.activate(record, task, this.store.acceptedUnits(record.id))
      this.log('job', `resumed ${record.task} job ${record.id.slice(0, 8)} at ${record.accepted}/${record.units} units`, record.id)
    }
    this.dispatchAll()
  }

  async submit(spec: JobSpec): Promise<JobView> {
    const task = this.registry.require(spec.task)
    const params = spec.params ?? {}
    const quorum = positiveInteger(spec.quorum ?? DEFAULT_QUORUM, 'quorum')
    const policy: JobPolicy = {
      quorum,
      maxResults: positiveInteger(spec.maxResults ?? 2 * quorum + 1, 'max-results'),
      maxErrors: positiveInteger(spec.maxErrors ?? DEFAULT_MAX_ERRORS, 'max-errors'),
      leaseMs: Math.round(positiveNumber(spec.deadline ?? DEFAULT_LEASE_MS / 1000, 'deadline') * 1000)
    }
    if (policy.maxResults < quorum) throw new ParamError(`--max-results (${policy.maxResults}) must be at least --quorum (${quorum})`)
    const units = positiveInteger(spec.units ?? DEFAULT_UNITS, 'units')
    if (units > MAX_UNITS) throw new ParamError(`--units is at most ${MAX_UNITS}`)
    const inputs = [...task.split(params, units)].map((input) => encodeValue(input))
    if (inputs.length === 0) throw new ParamError(`${task.name} made no units from these parameters`)

    const record: JobRecord = {
      id: randomBytes(8).toString('hex'), task: task.name, taskVersion: task.version, params,
      units: inputs.length, policy, state: 'running', createdAt: this.clock(), finishedAt: null,
      error: null, results: 0, accepted: 0, outvoted: []
    }
    await this.store.createJob(record, inputs)
    const job = this.activate(record, task, [])
    this.log('job', `submitted ${task.name} job ${record.id.slice(0, 8)}: ${record.units} units, quorum ${quorum}`, record.id)
    this.dispatchAll()
    return this.view(job)
  }

  async cancel(id: string): Promise<JobView | undefined> {
    const job = this.jobs.get(id)
    if (!job) return undefined
    await this.execute(job, job.machine.handle({ type: 'cancel', now: this.clock() }))
    await this.finish(job, { state: 'cancelled', error: 'cancelled by its submitter' })
    return this.view(job)
  }

  /** Resolves with the job's final view once it is done, failed or cancelled. */
  waitFor(id: string): Promise<JobView> | undefined { return this.jobs.get(id)?.settled }

  status(id: string): JobView | undefined {
    const job = this.jobs.get(id)
    return job ? this.view(job) : undefined
  }

  activeJobs(): JobView[] { return [...this.jobs.values()].map((job) => this.view(job)) }

  donorCount(): number { return this.donors.size }

  // --- CoordinatorSide: what donors say ---

  want(link: DonorLink, msg: wire.WantMessage): void {
    let donor = this.donors.get(link.key)
    if (donor?.link !== link) {
      donor = { link, credit: 0 }
      this.donors.set(link.key, donor)
      this.log('peer', `donor ${short(link.key)} (${link.host}) offers ${plural(link.hello?.threads ?? 0, 'thread')}`, undefined, link.key)
    }
    donor.credit += msg.slots
    this.dispatch(donor)
  }

  progress(link: DonorLink, msg: wire.ProgressMessage): void {
    const lease = this.leases.get(msg.lease)
    if (!lease) return
    lease.job.progress.set(lease.unit, msg.fraction)
    this.emit('progress', lease.job.record.id)
  }

  result(link: DonorLink, msg: wire.ResultMessage): void {
    const lease = this.routeLease(link, msg.lease, 'result')
    if (!lease) return
    const { job, unit } = lease
    let group: string
    let candidate: Candidate
    try {
      const value = decodeValue(msg.output)
      candidate = { bytes: encodeValue(value), value }
      group = this.groupOf(job, unit, candidate)
    } catch (err) {
      this.violation(link, `undecodable output for lease ${msg.lease}: ${(err as Error).message}`)
      return
    }
    void this.execute(job, job.machine.handle({ type: 'result', lease: msg.lease, peer: link.key, group, now: this.clock() }))
  }

  failure(link: DonorLink, msg: wire.FailureMessage): void {
    const lease = this.routeLease(link, msg.lease, 'failure')
    if (!lease) return
    const { job } = lease
    if (msg.kind !== 'handback') {
      this.log('failure', `unit ${lease.unit} failed on ${short(link.key)}: ${msg.kind}: ${msg.reason}`, job.record.id, link.key)
      void this.store.updateReputation(link.key, link.host, (r) => { r.errors++ })
    }
    void this.execute(job, job.machine.handle({ type: 'failure', lease: msg.lease, peer: link.key, kind: msg.kind, reason: msg.reason, now: this.clock() }))
  }

  /** A donor left: its leases go to others. */
  removeDonor(link: DonorLink): void {
    if (this.donors.get(link.key)?.link !== link) return
    this.donors.delete(link.key)
    this.log('peer', `donor ${short(link.key)} left`, undefined, link.key)
    this.handleAll({ type: 'disconnect', peer: link.key, now: this.clock() })
  }

  close(): void {
    clearInterval(this.timer)
  }

  // --- inside ---

  private activate(record: JobRecord, task: TaskModule, accepted: number[]): ActiveJob {
    let settle!: (view: JobView) => void
    const settled = new Promise<JobView>((resolve) => { settle = resolve })
    const machine = new JobMachine(record.units, record.policy, this.counter, accepted)
    const job: ActiveJob = { record, machine, task, candidates: new Map(), progress: new Map(),
      outvoted: new Set(record.outvoted), finishing: false, settled, settle }
    this.jobs.set(record.id, job)
    if (machine.state === 'done') void this.complete(job)
    return job
  }

  private dispatchAll(): void {
    for (const donor of this.donors.values()) this.dispatch(donor)
  }

  /** Leases units to a donor up to the slots it offered, oldest job first. */
  private dispatch(donor: { link: DonorLink; credit: number }): void {
    const { link } = donor
    const now = this.clock()
    for (const job of this.jobs.values()) {
      if (donor.credit <= 0) return
      if (!job.machine.wantsWork() || !runsTask(link, job.record)) continue
      const decisions = job.machine.assign({ key: link.key, host: link.host }, donor.credit, now)
      donor.credit -= decisions.length
      void this.execute(job, decisions)
    }
  }

  private routeLease(link: DonorLink, id: number, what: string): { job: ActiveJob; unit: number } | undefined {
    const lease = this.leases.get(id)
    // A lease of a job that has ended is stale, not a lie: its result crossed our cancel.
    if (!lease && !this.counter.issued(id)) this.violation(link, `${what} for lease ${id}, which was never issued`)
    return lease
  }

  /** Outputs that the task calls equal share a group, named by the digest of the first. */
  private groupOf(job: ActiveJob, unit: number, candidate: Candidate): string {
    const groups = job.candidates.get(unit) ?? new Map<string, Candidate>()
    job.candidates.set(unit, groups)
    const digest = digestBytes(candidate.bytes)
    if (groups.has(digest)) return digest
    if (job.task.equal) {
      for (const [group, other] of groups) if (job.task.equal(other.value, candidate.value)) return group
    }
    groups.set(digest, candidate)
    return digest
  }

  private tick(): void {
    this.handleAll({ type: 'tick', now: this.clock() })
  }

  private handleAll(event: MachineEvent): void {
    for (const job of this.jobs.values()) {
      if (job.machine.state === 'running') void this.execute(job, job.machine.handle(event))
    }
  }

  /** Carries out a machine's decisions in order; an accepted output is on disk before its verdicts leave. */
  private async execute(job: ActiveJob, decisions: Decision[]): Promise<void> {
    let written: Promise<void> = Promise.resolve()
    let reopened = false
    for (const d of decisions) {
      switch (d.type) {
        case 'assign': this.sendAssign(job, d); break
        case 'cancel-lease': this.linkOf(d.peer)?.sendCancel({ lease: d.lease }); break
        case 'verdict': {
          const link = this.linkOf(d.peer)
          void written.then(() => link?.sendVerdict({ lease: d.lease, accepted: d.accepted }))
          break
        }
        case 'accept': written = this.accept(job, d); break
        case 'reissue':
          reopened = true
          this.log('reissue', `unit ${d.unit} reissued: ${d.reason}`, job.record.id)
          break
        case 'unit-failed': this.log('failure', `unit ${d.unit} failed: ${d.reason}`, job.record.id); break
        case 'job-done': await written; await this.complete(job); break
        case 'job-failed': await this.finish(job, { state: 'failed', error: d.reason }); break
        case 'violation': {
          const link = this.linkOf(d.peer)
          if (link) this.violation(link, d.reason)
          break
        }
      }
    }
    if (reopened) this.dispatchAll()
    this.emit('progress', job.record.id)
    await written
  }

  private sendAssign(job: ActiveJob, d: Extract<Decision, { type: 'assign' }>): void {
    const link = this.linkOf(d.peer)
    const input = this.store.input(job.record.id, d.unit)
    if (!link || !input) return
    this.leases.set(d.lease, { job, unit: d.unit })
    link.sendAssign({ lease: d.lease, job: job.record.id, unit: d.unit, task: job.record.task,
      taskVersion: job.record.taskVersion, deadlineMs: d.deadline - this.clock(), input })
  }

  private async accept(job: ActiveJob, d: Extract<Decision, { type: 'accept' }>): Promise<void> {
    const candidate = job.candidates.get(d.unit)?.get(d.group)
    job.candidates.delete(d.unit)
    job.progress.delete(d.unit)
    if (!candidate) return
    for (const peer of d.outvoted) {
      job.outvoted.add(peer)
      this.log('disagreement', `unit ${d.unit}: ${short(peer)} was outvoted by ${d.agreeing.map(short).join(', ')}`, job.record.id, peer)
    }
    const { machine } = job
    job.record = { ...job.record, results: machine.resultsReceived, accepted: machine.acceptedCount }
    await this.store.accept(job.record.id, d.unit,
      { output: candidate.bytes, digest: d.group, peers: d.agreeing, at: this.clock() },
      { results: machine.resultsReceived, accepted: machine.acceptedCount })
    await Promise.all([
      ...d.agreeing.map((peer) => this.store.updateReputation(peer, this.hostOf(peer), (r) => { r.validated++; r.consecutiveValid++ })),
      ...d.outvoted.map((peer) => this.store.updateReputation(peer, this.hostOf(peer), (r) => { r.invalidated++; r.consecutiveValid = 0 }))
    ])
  }

  /** All units accepted: merge their outputs in unit order into the job's result. */
  private async complete(job: ActiveJob): Promise<void> {
    const { record } = job
    try {
      const outputs: unknown[] = []
      for (let unit = 0; unit < record.units; unit++) {
        const accepted = this.store.acceptedOutput(record.id, unit)
        if (!accepted) throw new Error(`accepted output of unit ${unit} is missing from the store`)
        outputs.push(decodeValue(accepted.output))
      }
      const result = encodeValue(job.task.merge(outputs, record.params))
      await this.finish(job, { state: 'done' }, result)
    } catch (err) {
      await this.finish(job, { state: 'failed', error: `merge failed: ${(err as Error).message}` })
    }
  }

  private async finish(job: ActiveJob, change: Pick<JobRecord, 'state'> & Partial<JobRecord>, result?: Uint8Array): Promise<void> {
    if (job.finishing) return
    job.finishing = true
    const finished = { ...job.record, ...change, finishedAt: this.clock(), outvoted: [...job.outvoted],
      results: job.machine.resultsReceived, accepted: job.machine.acceptedCount }
    await this.store.finishJob(finished.id, finished, result)
    // Only now, with the result on disk, may anyone see the job as finished.
    job.record = finished
    for (const [id, lease] of this.leases) if (lease.job === job) this.leases.delete(id)
    const view = this.view(job)
    this.log('job', `${job.record.task} job ${job.record.id.slice(0, 8)} ${job.record.state}` +
      (job.record.error ? `: ${job.record.error}` : ''), job.record.id)
    this.jobs.delete(job.record.id)
    this.emit('progress', job.record.id)
    this.emit('finished', view)
    job.settle(view)
  }

  private view(job: ActiveJob): JobView {
    const result = job.record.state === 'done' ? this.store.result(job.record.id) : undefined
    return jobView(job.record, { machine: job.machine, outvoted: [...job.outvoted], result, progress: job.progress })
  }

  private violation(link: DonorLink, reason: string): void {
    this.log('violation', `${short(link.key)} broke the protocol: ${reason}`, undefined, link.key)
    this.emit('violation', link, reason)
  }

  private linkOf(key: string): DonorLink | undefined { return this.donors.get(key)?.link }

  private hostOf(key: string): string { return this.linkOf(key)?.host ?? this.store.reputation(key)?.host ?? 'unknown' }

  private log(kind: string, text: string, job?: string, peer?: string): void {
    const entry: LogEntry = { at: this.clock(), kind, text, job, peer }
    this.emit('log', entry)
  }
}

function runsTask(link: DonorLink, record: JobRecord): boolean {
  return !!link.hello?.tasks.some((t) => t.name === record.task && t.version === record.taskVersion)
}

function positiveInteger(value: number, flag: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new ParamError(`--${flag} takes a whole number of at least 1, not ${value}`)
  return value
}

function positiveNumber(value: number, flag: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new ParamError(`--${flag} takes a number above 0, not ${value}`)
  return value
}

export function short(key: string): string { return key.slice(0, 8) }

function plural(n: number, noun: string): string { return `${n} ${noun}${n === 1 ? '' : 's'}` }
