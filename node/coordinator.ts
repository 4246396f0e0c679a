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
import { LeaseLog } from './lease-log.js'
import { LeftOutUnits } from './left-out-units.js'
import { CreditLedger } from './credit.js'
import { jobView, type JobView } from './job-view.js'
import { TrustKeeper, defaultMaxResults, trustPolicy, type TrustOptions } from './trust-keeper.js'
import type * as wire from './wire.js'

export const DEFAULT_UNITS = 16
export const DEFAULT_QUORUM = 2
const DEFAULT_LEASE_MS = 5 * 60 * 1000
const DEFAULT_MAX_ERRORS = 3
const MAX_UNITS = 10_000_000
const TICK_MS = 500
/** Messages for closed leases one connection may send before it is taken for a liar. */
const MAX_STALE = 256

export interface JobSpec extends TrustOptions {
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
  private readonly counter: LeaseCounter
  /** Leases each connection answered, to tell a duplicate on one connection from a resend on a new one. */
  private readonly answeredOn = new WeakMap<DonorLink, Set<number>>()
  /** Messages each connection sent for leases that are closed (late, or of an earlier run). */
  private readonly stale = new WeakMap<DonorLink, number>()
  /** Leases of an earlier run of this coordinator, still unanswered when it stopped. */
  private readonly adopted = new Set<number>()
  private readonly leaseLog: LeaseLog
  private readonly leftOut: LeftOutUnits
  /** Each job's accepted outputs still on their way to disk. */
  private readonly writing = new WeakMap<ActiveJob, Promise<void>>()
  private readonly timer: NodeJS.Timeout
  /** Credit granted to donors for validated results (node/credit.ts). */
  readonly credit: CreditLedger
  /** Signs every unit sent out with the submitter's key (node/job-signing.ts); the peer sets it. */
  signAssign: (msg: wire.AssignMessage) => wire.AssignMessage = (msg) => msg
  /** Reputation, credibility and blacklist (node/trust-keeper.ts): every reputation change goes through it. */
  readonly trust: TrustKeeper
  /** Whether two keys on one host count as one replica, for jobs that do not say; the peer sets it. */
  distinctHosts = true

  constructor(private readonly store: Store, private readonly registry: TaskRegistry,
    private readonly clock: () => number = Date.now) {
    super()
    this.leaseLog = new LeaseLog(store)
    this.leftOut = new LeftOutUnits(store)
    this.credit = new CreditLedger(store)
    this.trust = new TrustKeeper(store)
    this.counter = new LeaseCounter(this.leaseLog.base)
    this.timer = setInterval(() => this.tick(), TICK_MS)
    this.timer.unref()
  }

  /** Takes up the jobs that were running when this peer last stopped. */
  resume(): void {
    const records = this.store.listJobs().filter((r) => r.state === 'running' && !this.jobs.has(r.id))
    const outstanding = this.leaseLog.outstanding(new Set(records.map((r) => r.id)))
    for (const record of records) {
      const task = this.registry.get(record.task)
      if (!task) continue
      const job = this.activate(record, task, this.store.acceptedUnits(record.id))
      const adopted = outstanding.get(record.id) ?? []
      job.machine.adopt(adopted)
      job.machine.resultsReceived = record.results
      if (record.policy.partial && job.machine.state === 'running' && job.machine.restoreFailed(this.leftOut.of(record.id))) {
        void this.complete(job)
      }
      for (const lease of adopted) {
        this.leases.set(lease.id, { job, unit: lease.unit })
        this.adopted.add(lease.id)
      }
      this.log('job', `resumed ${record.task} job ${record.id.slice(0, 8)} at ${record.accepted}/${record.units} units`, record.id)
    }
    this.dispatchAll()
  }

  async submit(spec: JobSpec): Promise<JobView> {
    const task = this.registry.require(spec.task)
    const params = spec.params ?? {}
    const quorum = positiveInteger(spec.quorum ?? DEFAULT_QUORUM, 'quorum')
    const trust = trustPolicy(spec, this.distinctHosts)
    const policy: JobPolicy = {
      quorum,
      ...trust,
      maxResults: positiveInteger(spec.maxResults ?? defaultMaxResults(trust.trust, quorum), 'max-results'),
      maxErrors: positiveInteger(spec.maxErrors ?? DEFAULT_MAX_ERRORS, 'max-errors'),
      leaseMs: Math.round(positiveNumber(spec.deadline ?? DEFAULT_LEASE_MS / 1000, 'deadline') * 1000),
      ...(task.partial ? { partial: true } : {})
    }
    if (policy.maxResults < quorum && !policy.trust) throw new ParamError(`--max-results (${policy.maxResults}) must be at least --quorum (${quorum})`)
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
    const rule = policy.trust ? `credibility 1 − ${policy.trust.errorRate}` : `quorum ${quorum}`
    this.log('job', `submitted ${task.name} job ${record.id.slice(0, 8)}: ${record.units} units, ${rule}`, record.id)
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

  /** The machine of a job running here, for explaining where its units stand (unit-explain.ts). */
  liveMachine(id: string): JobMachine | undefined { return this.jobs.get(id)?.machine }

  activeJobs(): JobView[] { return [...this.jobs.values()].map((job) => this.view(job)) }

  donorCount(): number { return this.donors.size }

  // --- CoordinatorSide: what donors say ---

  want(link: DonorLink, msg: wire.WantMessage): void {
    let donor = this.donors.get(link.key)
    if (donor?.link !== link) {
      // A peer back on a new connection before its old one closed: what the old one held is lost
      // with it (else those leases would wait for their deadline, and count as its errors).
      if (donor) this.handleAll({ type: 'disconnect', peer: link.key, now: this.clock() })
      donor = { link, credit: 0 }
      this.donors.set(link.key, donor)
      this.log('peer', `donor ${short(link.key)} (${link.host}) offers ${plural(link.hello?.threads ?? 0, 'thread')}`, undefined, link.key)
    }
    // No slots: the donor withdraws its standing offer (it paused).
    donor.credit = msg.slots === 0 ? 0 : donor.credit + msg.slots
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
    // A donor resends what a dying connection may have swallowed: the copy is not a second answer.
    const answered = this.answeredOn.get(link) ?? new Set<number>()
    this.answeredOn.set(link, answered)
    if (job.machine.answeredBy(msg.lease) === link.key && !answered.has(msg.lease)) return
    answered.add(msg.lease)
    if (this.adopted.delete(msg.lease)) {
      this.log('late', `unit ${unit}: ${short(link.key)} delivers a result it kept while this coordinator was down`, job.record.id, link.key)
    }
    this.leaseLog.forget(msg.lease)
    this.credit.claim(job.record.id, unit, link.key, msg.cpuMs, msg.speed)
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
    this.leaseLog.forget(msg.lease)
    const { job } = lease
    if (msg.kind === 'refused') this.refused(job, link, msg.reason)
    else if (msg.kind !== 'handback') {
      this.log('failure', `unit ${lease.unit} failed on ${short(link.key)}: ${msg.kind}: ${msg.reason}`, job.record.id, link.key)
      this.trust.ledger.update(link.key, link.host, (r) => { r.errors++ })
    }
    // A refusal is no error of the unit: it goes back to the others, never again to this donor.
    const kind = msg.kind === 'refused' ? 'handback' : msg.kind
    void this.execute(job, job.machine.handle({ type: 'failure', lease: msg.lease, peer: link.key, kind, reason: msg.reason, now: this.clock() }))
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
    const machine = new JobMachine(record.units, record.policy, this.counter, accepted, this.trust.acceptanceFor(record.policy))
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
      if (!job.machine.wantsWork() || !runsTask(link, job.record) || job.record.refusals?.some((r) => r.peer === link.key)) continue
      const decisions = job.machine.assign({ key: link.key, host: link.host }, donor.credit, now)
      donor.credit -= decisions.length
      void this.execute(job, decisions)
    }
  }

  private routeLease(link: DonorLink, id: number, what: string): { job: ActiveJob; unit: number } | undefined {
    const lease = this.leases.get(id)
    // A lease of a job that has ended is stale, not a lie: its result crossed our cancel. But a
    // peer cannot have many of those, and ids of earlier runs would otherwise be free to send.
    if (!lease && !this.counter.issued(id)) this.violation(link, `${what} for lease ${id}, which was never issued`)
    else if (!lease && (this.stale.set(link, (this.stale.get(link) ?? 0) + 1).get(link)! > MAX_STALE)) {
      this.violation(link, `more than ${MAX_STALE} messages for leases that are no longer open`)
    }
    return lease
  }

  /** Outputs that the task calls equal share a group, named by the digest of the first. */
  private groupOf(job: ActiveJob, unit: number, candidate: Candidate): string {
    // A spot-check or late replica of an accepted unit is judged against the stored answer, `equal` included.
    const accepted = job.machine.unitState(unit) === 'accepted'
    const groups = job.candidates.get(unit) ?? (accepted ? this.knownAnswer(job, unit) : new Map<string, Candidate>())
    if (!accepted) job.candidates.set(unit, groups)
    const digest = digestBytes(candidate.bytes)
    if (groups.has(digest)) return digest
    if (job.task.equal) {
      for (const [group, other] of groups) if (job.task.equal(other.value, candidate.value)) return group
    }
    groups.set(digest, candidate)
    return digest
  }

  private knownAnswer(job: ActiveJob, unit: number): Map<string, Candidate> {
    const known = this.store.acceptedOutput(job.record.id, unit)
    return new Map(known ? [[known.digest, { bytes: known.output, value: decodeValue(known.output) }]] : [])
  }

  private tick(): void {
    this.handleAll({ type: 'tick', now: this.clock() })
    // Peers earn credibility as other units are accepted: a unit short of it may not be any more.
    for (const job of this.jobs.values()) {
      const decisions = job.record.policy.trust && job.machine.state === 'running' ? job.machine.reconsider() : []
      if (decisions.length > 0) void this.execute(job, decisions)
    }
  }

  /** A blacklisting puts in doubt every open job's units that the peers vouched for: they are decided again. */
  private backtrack(peers: string[]): void {
    for (const peer of peers) {
      this.log('blacklist', `${short(peer)} is blacklisted: ${this.trust.ledger.get(peer)?.blacklisted}`, undefined, peer)
    }
    const suspects = new Set(peers)
    for (const job of this.jobs.values()) {
      if (job.machine.state === 'running') void this.execute(job, job.machine.reconsider(suspects))
    }
    this.dispatchAll()
  }

  /** Opens an accepted unit again; its answer stays a candidate, so that more votes for it need not bring it again. */
  private unaccept(job: ActiveJob, d: Extract<Decision, { type: 'unaccept' }>): Promise<void> {
    this.log('backtrack', `unit ${d.unit} is open again: ${d.reason}`, job.record.id)
    if (!job.candidates.has(d.unit)) job.candidates.set(d.unit, this.knownAnswer(job, d.unit))
    const { machine } = job
    job.record = { ...job.record, accepted: machine.acceptedCount }
    return this.store.unaccept(job.record.id, d.unit, { results: machine.resultsReceived, accepted: machine.acceptedCount })
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
    const blacklisted = this.trust.observe(job.record.id, decisions, (key) => this.hostOf(key))
    if (blacklisted.length > 0) queueMicrotask(() => this.backtrack(blacklisted))
    for (const d of decisions) {
      switch (d.type) {
        case 'assign': this.sendAssign(job, d); break
        case 'cancel-lease': this.linkOf(d.peer)?.sendCancel({ lease: d.lease }); break
        case 'verdict': {
          const link = this.linkOf(d.peer)
          void written.then(() => link?.sendVerdict({ lease: d.lease, accepted: d.accepted }))
          break
        }
        case 'accept':
          written = this.accept(job, d)
          this.writing.set(job, Promise.all([this.writing.get(job), written]).then(() => {}))
          break
        case 'unaccept': {
          reopened = true
          const removed = this.unaccept(job, d)
          written = written.then(() => removed)
          break
        }
        case 'spot-check':
          if (!d.passed) this.log('spot-check', `${short(d.peer)} failed a spot-check on unit ${d.unit}`, job.record.id, d.peer)
          break
        case 'reissue':
          reopened = true
          this.log('reissue', `unit ${d.unit} reissued: ${d.reason}`, job.record.id)
          break
        case 'unit-failed':
          this.log('failure', `unit ${d.unit} failed: ${d.reason}`, job.record.id)
          if (job.record.policy.partial) this.leftOut.record(job.record.id, d.unit, d.reason)
          break
        // A partial job may end on a failure while an accept of another batch is still being written.
        case 'job-done': await written; await this.writing.get(job); await this.complete(job); break
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
    this.leaseLog.record({ id: d.lease, job: job.record.id, unit: d.unit, peer: d.peer })
    link.sendAssign(this.signAssign({ lease: d.lease, job: job.record.id, unit: d.unit, task: job.record.task,
      taskVersion: job.record.taskVersion, deadlineMs: d.deadline - this.clock(), input, signer: UNSIGNED, signature: UNSIGNED }))
  }

  private async accept(job: ActiveJob, d: Extract<Decision, { type: 'accept' }>): Promise<void> {
    const groups = job.candidates.get(d.unit)
    const candidate = groups?.get(d.group)
    // A disputed unit under credibility keeps its rival answers: backtracking may yet accept one.
    if (!job.record.policy.trust || (groups?.size ?? 0) <= 1) job.candidates.delete(d.unit)
    job.progress.delete(d.unit)
    if (!candidate) return
    for (const peer of d.outvoted) {
      job.outvoted.add(peer)
      this.log('disagreement', `unit ${d.unit}: ${short(peer)} was outvoted by ${d.agreeing.map(short).join(', ')}`, job.record.id, peer)
    }
    const { machine } = job
    job.record = { ...job.record, results: machine.resultsReceived, accepted: machine.acceptedCount }
    const why = this.trust.explanation(job.record.policy, d, (key) => this.hostOf(key))
    await this.store.accept(job.record.id, d.unit,
      { output: candidate.bytes, digest: d.group, peers: d.agreeing, at: this.clock(), why },
      { results: machine.resultsReceived, accepted: machine.acceptedCount })
    // Reputation was updated as the decision came in (TrustKeeper.observe).
    await this.credit.grant(job.record.id, d.unit, d.agreeing)
  }

  /** All units accepted: merge their outputs in unit order into the job's result. */
  private async complete(job: ActiveJob): Promise<void> {
    const { record } = job
    try {
      const outputs: unknown[] = []
      const leftOut: number[] = []
      for (let unit = 0; unit < record.units; unit++) {
        const accepted = this.store.acceptedOutput(record.id, unit)
        // A task that takes partial results gets null for each unit left out.
        if (!accepted && record.policy.partial && job.machine.unitState(unit) === 'failed') { leftOut.push(unit); outputs.push(null); continue }
        if (!accepted) throw new Error(`accepted output of unit ${unit} is missing from the store`)
        outputs.push(decodeValue(accepted.output))
      }
      const result = encodeValue(job.task.merge(outputs, record.params))
      const partial = leftOut.length > 0
        ? `partial result: ${leftOut.length} of ${record.units} units left out (${leftOut.slice(0, 10).join(', ')}${leftOut.length > 10 ? ', …' : ''}; the log says why)`
        : null
      await this.finish(job, { state: 'done', error: partial }, result)
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
    this.credit.forget(finished.id)
    for (const [id, lease] of this.leases) {
      if (lease.job !== job) continue
      this.leases.delete(id)
      this.leaseLog.forget(id)
    }
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

  /** Once per donor and job: the submitter sees who would not run it, and why. */
  private refused(job: ActiveJob, link: DonorLink, reason: string): void {
    if (job.record.refusals?.some((r) => r.peer === link.key)) return
    const refusals = [...(job.record.refusals ?? []), { peer: link.key, reason, at: this.clock() }]
    job.record = { ...job.record, refusals }
    void this.store.updateJob(job.record.id, { refusals })
    this.log('refused', `donor ${short(link.key)} refused job ${job.record.id.slice(0, 8)}: ${reason}`, job.record.id, link.key)
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

const UNSIGNED = new Uint8Array(0)

export function short(key: string): string { return key.slice(0, 8) }

function plural(n: number, noun: string): string { return `${n} ${noun}${n === 1 ? '' : 's'}` }
