/**
 * node/coordinator/ — the networked side of the job machine: this class routes donors' messages in and carries
 * decisions out, one handler per decision type (decision-handlers.ts); beside it, taking jobs in
 * (job-intake.ts, job-spec.ts, unit-sizing.ts, piece-runner.ts), routing leases (lease-routes.ts),
 * donors' offers and sending assigns (donor-offers.ts, assign-batches.ts), results and verdicts
 * (result-groups.ts, unit-acceptance.ts, left-out-units.ts), a job's end: merging, stopping, writing
 * it (job-ending.ts, job-merge.ts), credit (credit.ts) and the views of a job (job-view.ts,
 * unit-explain.ts).
 *
 * The coordinator: owns the jobs submitted to this peer. It splits them, leases units to the
 * donors that ask (pull, never push), cross-checks what comes back through each job's
 * JobMachine and carries out the machine's decisions: store first, then verdicts.
 */
import { EventEmitter } from 'node:events'
import { short, type LogEntry } from '../../base/log.js'
import type { TaskModule } from '../../tasks/contract.js'
import type { TaskRegistry } from '../../tasks/registry.js'
import { JobMachine } from '../job/machine.js'
import type { Decision, MachineEvent } from '../job/types.js'
import type { CoordinatorSide, DonorLink } from '../protocol/links.js'
import type { Store } from '../store/store.js'
import type { JobRecord } from '../store/records.js'
import { LeftOutUnits } from './left-out-units.js'
import { CreditLedger } from './credit.js'
import { jobView, type JobView } from './job-view.js'
import { TrustKeeper } from '../trust/keeper.js'
import { activeJob, type ActiveJob } from './active-job.js'
import { LeaseRoutes } from './lease-routes.js'
import { SharedSender } from './shared-sender.js'
import { candidateOf } from './result-groups.js'
import { limitsOf, ValueLimitError } from '../../tasks/value-limits.js'
import { JobEnding } from './job-ending.js'
import type { JobSpec } from './job-spec.js'
import { describeSizing } from './unit-sizing.js'
import { takeIn } from './job-intake.js'
import { DonorOffers, runsTask, threads, type Offer } from './donor-offers.js'
import { sendAssigns, type AssignContext } from './assign-batches.js'
import { acceptUnit, unacceptUnit, type AcceptanceContext } from './unit-acceptance.js'
import { decisionHandlers, type DecisionHandler, type DecisionHandlers, type Turn } from './decision-handlers.js'
import type * as wire from '../protocol/wire.js'
import { printable } from '../protocol/printable.js'

const TICK_MS = 500

export interface CoordinatorOptions {
  /** Two keys on one host count as one replica, for jobs that do not say (default true; off on loopback grids). */
  distinctHosts?: boolean
  /** Signs every assign sent out with the submitter's key; unsigned when absent. */
  signAssign?: (msg: wire.AssignMessage) => wire.AssignMessage
  clock?: () => number
}

export class Coordinator extends EventEmitter implements CoordinatorSide {
  private readonly jobs = new Map<string, ActiveJob>()
  /** Donors by key, with the slots each has offered and not yet been leased. */
  private readonly donors = new DonorOffers()
  /** Which job and unit each open lease belongs to, and what tells a late message from a lie (node/coordinator/lease-routes.ts). */
  private readonly leases: LeaseRoutes
  private readonly leftOut: LeftOutUnits
  /** Sends donors the shared bytes (programs) their units name, when they ask (shared-sender.ts). */
  private readonly sharedSender: SharedSender
  /** Each job's accepted outputs still on their way to disk. */
  private readonly writing = new WeakMap<ActiveJob, Promise<void>>()
  /** Merging, stopping and writing the end of a job (job-ending.ts). */
  private readonly ending: JobEnding
  /** What writing a unit's verdict (unit-acceptance.ts) and sending assigns (assign-batches.ts) see of this coordinator. */
  private readonly acceptance: AcceptanceContext
  private readonly assigning: AssignContext
  private readonly timer: NodeJS.Timeout
  /** Ends the measuring of jobs being sized for --unit-seconds when this peer stops. */
  private readonly stopping = new AbortController()
  /** Credit granted to donors for validated results (node/coordinator/credit.ts). */
  readonly credit: CreditLedger
  /** Signs every assign sent out with the submitter's key (protocol/signing.ts). */
  signAssign: (msg: wire.AssignMessage) => wire.AssignMessage
  /** Reputation, credibility and blacklist (node/trust/keeper.ts): every reputation change goes through it. */
  readonly trust: TrustKeeper
  /** Whether two keys on one host count as one replica, for jobs that do not say. */
  private readonly distinctHosts: boolean
  private readonly clock: () => number
  /** Donors whose leases closed in this turn, to be leased to once the turn's messages are all in (dispatchSoon). */
  private readonly dispatchDue = new Set<DonorLink>()
  /** One handler per decision type (decision-handlers.ts). */
  private readonly handlers: DecisionHandlers

  constructor(
    private readonly store: Store,
    private readonly registry: TaskRegistry,
    options: CoordinatorOptions = {}
  ) {
    super()
    this.distinctHosts = options.distinctHosts ?? true
    this.signAssign = options.signAssign ?? ((msg) => msg)
    this.clock = options.clock ?? Date.now
    this.handlers = decisionHandlers({
      linkOf: (key) => this.linkOf(key),
      missed: (peer) => this.donors.missed(peer),
      log: (kind, text, job, peer) => this.log(kind, text, job, peer),
      writing: this.writing,
      accept: (job, d) => acceptUnit(this.acceptance, job, d),
      unaccept: (job, d) => unacceptUnit(this.acceptance, job, d),
      leftOut: (job, unit, reason) => this.leftOut.record(job, unit, reason),
      complete: (job) => this.ending.complete(job),
      finish: (job, change) => this.ending.finish(job, change),
      violation: (link, reason) => this.violation(link, reason)
    })
    this.leases = new LeaseRoutes(store, (link, reason) => this.violation(link, reason))
    this.leftOut = new LeftOutUnits(store)
    this.sharedSender = new SharedSender(
      store,
      (link, reason) => this.violation(link, reason),
      (sent) => this.emit('shared-sent', sent)
    )
    this.credit = new CreditLedger(store)
    this.trust = new TrustKeeper(store)
    const clock = () => this.clock()
    const linkOf = (key: string) => this.linkOf(key)
    const log = (kind: string, text: string, job?: string, peer?: string) => this.log(kind, text, job, peer)
    this.acceptance = { store, trust: this.trust, credit: this.credit, clock, log, hostOf: (key) => this.hostOf(key) }
    this.assigning = { store, leases: this.leases, clock, linkOf, signAssign: (msg) => this.signAssign(msg) }
    this.ending = new JobEnding({
      store,
      credit: this.credit,
      leases: this.leases,
      clock,
      isLive: (job) => this.jobs.get(job.record.id) === job,
      linkOf,
      view: (job) => this.view(job),
      log,
      ended: (job, view) => {
        this.jobs.delete(job.record.id)
        this.emit('progress', job.record.id)
        this.emit('finished', view)
      }
    })
    this.timer = setInterval(() => this.tick(), TICK_MS)
    this.timer.unref()
    store.failures.on((failure) => this.log('store', failure.message))
  }

  /** Takes up the jobs that were running when this peer last stopped. */
  resume(): void {
    const records = this.store.listJobs().filter((r) => r.state === 'running' && !this.jobs.has(r.id))
    const outstanding = this.leases.outstanding(new Set(records.map((r) => r.id)))
    for (const record of records) {
      const task = this.registry.get(record.task)
      if (!task) continue
      const job = this.activate(record, task, this.store.acceptedUnits(record.id))
      const adopted = outstanding.get(record.id) ?? []
      job.machine.adopt(adopted)
      job.machine.resultsReceived = record.results
      if (record.policy.partial && job.machine.state === 'running' && job.machine.restoreFailed(this.leftOut.of(record.id))) {
        void this.ending.complete(job)
      }
      for (const lease of adopted) this.leases.adopt(lease.id, job, lease.unit)
      this.log('job', `resumed ${record.task} job ${record.id.slice(0, 8)} at ${record.accepted}/${record.units} units`, record.id)
    }
    this.dispatchAll()
  }

  async submit(spec: JobSpec): Promise<JobView> {
    const { task, record, inputs, shared, params } = await takeIn(spec, this.registry, {
      distinctHosts: this.distinctHosts,
      now: this.clock(),
      signal: this.stopping.signal
    })
    const { policy } = record
    await this.store.failures.watch(this.store.createJob(record, inputs, { shared, params }))
    const job = this.activate(record, task, [])
    const rule = policy.trust ? `credibility 1 − ${policy.trust.errorRate}` : `quorum ${policy.quorum}`
    this.log('job', `submitted ${task.name} job ${record.id.slice(0, 8)}: ${record.units} units, ${rule}`, record.id)
    if (record.sizing) this.log('job', `sized ${task.name} job ${record.id.slice(0, 8)} to ${describeSizing(record.sizing)}`, record.id)
    this.dispatchAll()
    return this.view(job)
  }

  async cancel(id: string): Promise<JobView | undefined> {
    const job = this.jobs.get(id)
    if (!job) return undefined
    await this.execute(job, job.machine.handle({ type: 'cancel', now: this.clock() }))
    await this.ending.finish(job, { state: 'cancelled', error: 'cancelled by its submitter' })
    return this.view(job)
  }

  /** Resolves with the job's final view once it is done, failed or cancelled. */
  waitFor(id: string): Promise<JobView> | undefined {
    return this.jobs.get(id)?.settled
  }

  status(id: string): JobView | undefined {
    const job = this.jobs.get(id)
    return job ? this.view(job) : undefined
  }

  /** The machine of a job running here, for explaining where its units stand (node/coordinator/unit-explain.ts). */
  liveMachine(id: string): JobMachine | undefined {
    return this.jobs.get(id)?.machine
  }

  activeJobs(): JobView[] {
    return [...this.jobs.values()].map((job) => this.view(job))
  }

  donorCount(): number {
    return this.donors.size
  }

  // --- CoordinatorSide: what donors say ---

  want(link: DonorLink, msg: wire.WantMessage): void {
    const { offer, change } = this.donors.want(link, msg)
    // A peer back on a new connection before its old one closed: what the old one held is lost
    // with it (else those leases would wait for their deadline, and count as its errors).
    if (change === 'new link') this.handleAll({ type: 'disconnect', peer: link.key, now: this.clock() })
    if (change !== 'same link') {
      this.log('peer', `donor ${short(link.key)} (${link.host}) offers ${threads(link)}`, undefined, link.key)
    }
    this.dispatch(offer)
  }

  progress(link: DonorLink, msg: wire.ProgressMessage): void {
    const lease = this.leases.held(link, msg.lease, 'progress')
    if (!lease) return
    const { job, unit } = lease
    if (job.machine.answeredBy(msg.lease) !== null || job.machine.unitState(unit) === 'accepted') return
    job.progress.set(unit, msg.fraction)
    this.emit('progress', job.record.id)
  }

  result(link: DonorLink, msg: wire.ResultMessage): void {
    // Before anything is logged, credited, decoded or stored: only the lease's holder may answer it, once.
    const lease = this.leases.held(link, msg.lease, 'result')
    if (!lease) return
    const { job, unit } = lease
    // A donor resends what a dying connection may have swallowed: the copy is not a second answer.
    if (this.leases.isResend(link, msg.lease, job.machine.answeredBy(msg.lease))) return
    if (job.machine.answeredBy(msg.lease) !== null) return this.violation(link, `second result for lease ${msg.lease}`)
    let group: string
    try {
      group = job.candidates.groupOf(unit, candidateOf(msg.output, limitsOf(job.task)), job.machine.unitState(unit) === 'accepted')
    } catch (err) {
      // Past the task's limits, an output is no answer the coordinator will read: the unit failed there.
      if (err instanceof ValueLimitError)
        return this.failure(link, { lease: msg.lease, kind: 'error', reason: `output too large: ${err.message}` })
      this.violation(link, `undecodable output for lease ${msg.lease}: ${(err as Error).message}`)
      return
    }
    if (this.leases.takeAdopted(msg.lease)) {
      this.log(
        'late',
        `unit ${unit}: ${short(link.key)} delivers a result it kept while this coordinator was down`,
        job.record.id,
        link.key
      )
    }
    this.leases.answered(msg.lease)
    this.donors.returned(link.key)
    this.credit.claim(job.record.id, unit, link.key, msg.cpuMs, msg.speed)
    void this.execute(job, job.machine.handle({ type: 'result', lease: msg.lease, peer: link.key, group, now: this.clock() }), link)
    this.dispatchSoon(link)
  }

  failure(link: DonorLink, msg: wire.FailureMessage): void {
    const lease = this.leases.held(link, msg.lease, 'failure report')
    if (!lease) return
    const { job } = lease
    if (job.machine.answeredBy(msg.lease) !== null)
      return this.violation(link, `failure report for lease ${msg.lease}, which it answered already`)
    this.leases.answered(msg.lease)
    if (msg.kind === 'refused') this.refused(job, link, msg.reason)
    else if (msg.kind !== 'handback') {
      this.log('failure', `unit ${lease.unit} failed on ${short(link.key)}: ${msg.kind}: ${msg.reason}`, job.record.id, link.key)
      this.trust.ledger.update(link.key, link.host, (r) => {
        r.errors++
      })
    }
    // A refusal is no error of the unit: it goes back to the others, never again to this donor.
    const kind = msg.kind === 'refused' ? 'handback' : msg.kind
    void this.execute(
      job,
      job.machine.handle({ type: 'failure', lease: msg.lease, peer: link.key, kind, reason: msg.reason, now: this.clock() }),
      link
    )
    this.dispatchSoon(link)
  }

  fetch(link: DonorLink, msg: wire.FetchMessage): void {
    this.sharedSender.fetch(link, msg, this.jobs.values())
  }

  /** A donor left: its leases go to others. */
  removeDonor(link: DonorLink): void {
    if (!this.donors.remove(link)) return
    this.log('peer', `donor ${short(link.key)} left`, undefined, link.key)
    this.handleAll({ type: 'disconnect', peer: link.key, now: this.clock() })
  }

  close(): void {
    clearInterval(this.timer)
    this.stopping.abort()
  }

  // --- inside ---

  private activate(record: JobRecord, task: TaskModule, accepted: number[]): ActiveJob {
    const machine = new JobMachine(record.units, record.policy, this.leases.counter, accepted, this.trust.acceptanceFor(record.policy))
    const job = activeJob(this.store, record, task, machine)
    this.jobs.set(record.id, job)
    if (machine.state === 'done') void this.ending.complete(job)
    return job
  }

  private dispatchAll(): void {
    for (const offer of this.donors.all()) this.dispatch(offer)
  }

  /**
   * Leases of this donor's closed: it may hold more, once the rest of what it sent in this turn
   * is in. A donor's results of a batch come in one frame; leasing after each of them sent an
   * assign, and a signature for both ends to make and check, per unit: 2,245 assigns for a
   * fresh donor's 4,800 units, where two carry them once its hold limit has grown.
   */
  private dispatchSoon(link: DonorLink): void {
    if (this.dispatchDue.size === 0) queueMicrotask(() => this.dispatchDueLinks())
    this.dispatchDue.add(link)
  }

  private dispatchDueLinks(): void {
    const due = [...this.dispatchDue]
    this.dispatchDue.clear()
    for (const link of due) this.dispatchTo(link)
  }

  /** A lease of this donor's closed: it may hold another, if it offered one. */
  private dispatchTo(link: DonorLink): void {
    const offer = this.donors.offerOf(link)
    if (offer && offer.credit > 0) this.dispatch(offer)
  }

  /** Leases units to a donor up to the slots it offered and the units it may hold, oldest job first. */
  private dispatch(donor: Offer): void {
    const { link } = donor
    const now = this.clock()
    let room = this.donors.holdLimit(link)
    for (const job of this.jobs.values()) room -= job.machine.leasesOut(link.key)
    for (const job of this.jobs.values()) {
      if (donor.credit <= 0 || room <= 0) return
      if (!job.machine.wantsWork() || !runsTask(link, job.record) || job.record.refusals?.some((r) => r.peer === link.key)) continue
      const decisions = job.machine.assign({ key: link.key, host: link.host }, Math.min(donor.credit, room), now)
      room -= decisions.length
      donor.credit -= decisions.length
      void this.execute(job, decisions)
    }
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

  private handleAll(event: MachineEvent): void {
    for (const job of this.jobs.values()) {
      if (job.machine.state === 'running') void this.execute(job, job.machine.handle(event))
    }
  }

  /** Carries out a machine's decisions; a store write that fails stops the job, saying why, and never throws. */
  private execute(job: ActiveJob, decisions: Decision[], from?: DonorLink): Promise<void> {
    return this.carryOut(job, decisions, from).catch((err) => this.ending.stopOnStoreFailure(job, err))
  }

  /**
   * In order, one handler per decision type; an accepted output is on disk before its verdicts
   * leave. `from`: the link whose message the machine decided on, which a violation names even
   * if that peer never asked for work.
   */
  private async carryOut(job: ActiveJob, decisions: Decision[], from?: DonorLink): Promise<void> {
    const turn: Turn = { written: Promise.resolve(), reopened: false, assigns: [], from }
    const blacklisted = this.trust.observe(job.record.id, decisions, (key) => this.hostOf(key))
    if (blacklisted.length > 0) queueMicrotask(() => this.backtrack(blacklisted))
    for (const d of decisions) {
      // Only the handlers that must wait are awaited, so that sends keep their order in the turn.
      const waiting = (this.handlers[d.type] as DecisionHandler<Decision>)(job, d, turn)
      if (waiting) await waiting
    }
    if (turn.assigns.length > 0) sendAssigns(this.assigning, job, turn.assigns)
    if (turn.reopened) this.dispatchAll()
    this.emit('progress', job.record.id)
    await turn.written
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
    this.store.updateJob(job.record.id, { refusals }).catch((err: unknown) => this.ending.stopOnStoreFailure(job, err))
    this.log('refused', `donor ${short(link.key)} refused job ${job.record.id.slice(0, 8)}: ${reason}`, job.record.id, link.key)
  }

  private violation(link: DonorLink, reason: string): void {
    this.log('violation', `${short(link.key)} broke the protocol: ${reason}`, undefined, link.key)
    this.emit('violation', link, reason)
  }

  private linkOf(key: string): DonorLink | undefined {
    return this.donors.linkOf(key)
  }

  private hostOf(key: string): string {
    return this.linkOf(key)?.host ?? this.store.reputation(key)?.host ?? 'unknown'
  }

  private log(kind: string, text: string, job?: string, peer?: string): void {
    // Remote words are cleaned as they are decoded; this holds for any that come another way.
    const entry: LogEntry = { at: this.clock(), kind, text: printable(text), job, peer }
    this.emit('log', entry)
  }
}
