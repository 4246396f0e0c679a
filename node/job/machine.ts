/**
 * node/job/ — the pure core: a job's vocabulary (types.ts, which imports nothing), this machine, the
 * fixed-quorum policy (acceptance.ts), and the records the machine keeps per unit and lease
 * (unit-record.ts, unit-queue.ts, leases.ts, lease-counter.ts). No I/O, no clock, no sockets: the
 * coordinator and the simulator drive the same code.
 *
 * The life cycle of a job's units as a pure state machine, after dask/distributed's worker
 * state machine: events in, decisions out, no I/O and no clock of its own. The coordinator
 * feeds it what the network says and carries out what it decides; tests and the simulator
 * drive the very same code without sockets.
 */
import { FixedQuorum } from './acceptance.js'
import type { Acceptance, Explanation, UnitTally } from './types.js'
import type { Decision, JobPolicy, JobState, MachineEvent, PeerRef, UnitState } from './types.js'
import type { LeaseCounter } from './lease-counter.js'
import { JobLeases } from './leases.js'
import { UnitQueue } from './unit-queue.js'
import {
  addTried,
  addVote,
  forgetTried,
  groupSizes,
  hasDisagreement,
  hostTried,
  isSettled,
  newUnit,
  tallyOf,
  unitStateOf,
  type Lease,
  type Unit,
  type Vote
} from './unit-record.js'

export class JobMachine {
  state: JobState = 'running'
  resultsReceived = 0
  acceptedCount = 0
  failureReason: string | null = null
  /** Units left out of a job that takes partial results. */
  failedCount = 0
  /** Check every invariant after each step (validate()): for tests and the simulator, not for a coordinator. */
  validating = false

  private readonly units: Unit[] = []
  /** Units that want more replicas, reopened ones first (node/job/unit-queue.ts). */
  private readonly queue: UnitQueue
  /** Every lease issued and those out now (node/job/leases.ts). */
  private readonly leases = new JobLeases()
  /** Open units holding votes: a policy that weighs peers may accept them later, as credibility grows. */
  private readonly undecided = new Set<number>()
  /** Accepted units that can serve as spot-checks: their answer is known. */
  private readonly known: number[] = []

  constructor(
    unitCount: number,
    readonly policy: JobPolicy,
    private readonly counter: LeaseCounter,
    alreadyAccepted: Iterable<number> = [],
    readonly acceptance: Acceptance = new FixedQuorum(policy.quorum)
  ) {
    for (let index = 0; index < unitCount; index++) this.units.push(newUnit(index))
    this.queue = new UnitQueue(unitCount)
    for (const index of alreadyAccepted) this.markAccepted(this.units[index], 'restored')
    for (const unit of this.units) if (!isSettled(unit)) this.queue.addFresh(unit.index)
    if (this.acceptedCount === unitCount) this.state = 'done'
  }

  get unitCount(): number {
    return this.units.length
  }

  unitState(index: number): UnitState {
    return unitStateOf(this.units[index])
  }

  counts(): Record<UnitState, number> {
    const counts = { waiting: 0, running: 0, 'awaiting-agreement': 0, accepted: 0, failed: 0 }
    for (let i = 0; i < this.units.length; i++) counts[this.unitState(i)]++
    return counts
  }

  /** Peers whose results agree with the accepted one, for a unit that is accepted. */
  agreeingPeers(index: number): string[] {
    const unit = this.units[index]
    return unit.votes.filter((v) => v.group === unit.accepted).map((v) => v.peer)
  }

  /** A unit's results as its policy weighs them, for explaining where it stands. */
  tallyOf(index: number): UnitTally {
    return this.tally(this.units[index])
  }

  wantsWork(): boolean {
    return this.state === 'running' && !this.queue.isEmpty()
  }

  /** A donor offers `slots` runs: lease it units it has not run yet, in unit order. */
  assign(peer: PeerRef, slots: number, now: number): Decision[] {
    const decisions: Decision[] = []
    if (this.state !== 'running' || !this.acceptance.admits(peer)) return decisions
    for (let i = 0; i < slots && this.acceptance.spotCheck; i++) {
      const draw = this.acceptance.spotCheck(peer)
      const unit = draw === null ? undefined : this.spotCheckUnit(peer, draw)
      if (unit) decisions.push(this.lease(unit, peer, now, true))
    }
    // A peer trusted alone takes disputed and fresh units first, so that newcomers' replicas go to newcomers.
    const passes = this.acceptance.standsAlone?.(peer) ? [true, false] : [false]
    for (const freshOnly of passes) {
      for (const index of this.queue.wanting()) {
        if (decisions.length >= slots) break
        const unit = this.units[index]
        if (freshOnly && !this.queue.isRetry(index) && (unit.active.size > 0 || unit.votes.length > 0)) continue
        if (unit.tried.includes(peer.key) || (this.policy.distinctHosts && hostTried(unit, peer.host))) continue
        const decision = this.lease(unit, peer, now, false)
        if (this.replicasWanted(unit) === 0) this.queue.remove(index)
        decisions.push(decision)
      }
    }
    return this.checked(decisions)
  }

  /**
   * Decides again on the units whose standing may have changed since their last result: open
   * units with votes (their peers may have earned credibility since), and, for backtracking,
   * accepted units that a newly blacklisted `suspect` vouched for. A unit that no longer holds
   * is opened again, and its leases go out as for any unit that needs replicas.
   */
  reconsider(suspects: ReadonlySet<string> = new Set()): Decision[] {
    const decisions: Decision[] = []
    if (this.state !== 'running') return decisions
    if (suspects.size > 0) {
      for (const unit of this.units) {
        if (unit.accepted === null || !unit.votes.some((v) => v.group === unit.accepted && suspects.has(v.peer))) continue
        const verdict = this.acceptance.decide(this.tally(unit))
        if (verdict?.group !== unit.accepted) decisions.push(this.unaccept(unit, 'a peer that vouched for it was blacklisted'))
      }
    }
    for (const index of [...this.undecided]) {
      const unit = this.units[index]
      const verdict = this.acceptance.decide(this.tally(unit))
      if (verdict) decisions.push(...this.accept(unit, verdict.group, verdict.why))
      else if (this.replicasWanted(unit) > 0) this.queue.addRetry(index)
      if (this.state !== 'running') break
    }
    return this.checked(decisions)
  }

  handle(event: MachineEvent): Decision[] {
    return this.checked(this.step(event))
  }

  private step(event: MachineEvent): Decision[] {
    switch (event.type) {
      case 'result':
        return this.onResult(event.lease, event.peer, event.group)
      case 'failure':
        return this.onFailure(event.lease, event.peer, event.kind, event.reason)
      case 'disconnect':
        return this.onDisconnect(event.peer)
      case 'tick':
        return this.onTick(event.now)
      case 'cancel':
        return this.onCancel()
    }
  }

  /**
   * Leases an earlier run of this coordinator issued and got no answer for: a donor that kept
   * its result while the coordinator was down may still deliver it, and it counts while the
   * unit is open. They are not live (the unit is reissued as usual) and add no one to `tried`.
   */
  adopt(leases: Iterable<{ id: number; unit: number; peer: string }>): void {
    for (const { id, unit, peer } of leases) {
      if (unit >= 0 && unit < this.units.length) this.leases.adopt(id, unit, peer)
    }
  }

  /** The key of the peer that answered this lease, or null while it is unanswered (or unknown). */
  answeredBy(id: number): string | null {
    const lease = this.leases.get(id)
    return lease?.answered ? lease.peer : null
  }

  /** The key of the peer a lease was issued to, or null when this job never issued it. */
  holderOf(id: number): string | null {
    return this.leases.get(id)?.peer ?? null
  }

  /** Leases of this job out now with this peer. */
  leasesOut(peer: string): number {
    return this.leases.outWith(peer)
  }

  /** Whether a lease id was issued by this job: the coordinator routes messages with it. */
  owns(lease: number): boolean {
    return this.leases.has(lease)
  }

  private onResult(leaseId: number, peer: string, group: string): Decision[] {
    const lease = this.leases.get(leaseId)
    if (!lease || lease.peer !== peer) return [{ type: 'violation', peer, reason: `result for lease ${leaseId} it does not hold` }]
    if (lease.answered) return [{ type: 'violation', peer, reason: `second result for lease ${leaseId}` }]
    lease.answered = true
    this.resultsReceived++
    const unit = this.units[lease.unit]
    this.leases.close(unit, leaseId)
    if (unit.accepted !== null) {
      // Under a policy that spot-checks, a late replica of a unit accepted in this run (not restored
      // from the store, whose votes are gone) is one too: its peer could not tell.
      const late = this.acceptance.spotCheck && unit.votes.length > 0 && !unit.votes.some((v) => v.peer === peer)
      if (lease.spot || late) {
        return this.onSpotCheck(unit, leaseId, peer, lease.host ?? peer, group)
      }
      return [{ type: 'verdict', lease: leaseId, peer, accepted: group === unit.accepted }]
    }
    if (unit.failed !== null || this.state !== 'running') return [{ type: 'verdict', lease: leaseId, peer, accepted: false }]
    // A peer that left and came back may answer one unit under two leases: it votes once. The
    // lease it answered is closed all the same, so the unit may want another peer now.
    if (unit.votes.some((v) => v.peer === peer)) return this.reopen(unit, 'a peer answered it twice')

    // A late result from a lease that expired still counts while the unit is open.
    addVote(unit, { peer, lease: leaseId, group, host: lease.host ?? peer })
    const verdict = this.acceptance.decide(this.tally(unit))
    if (verdict !== null) return this.accept(unit, verdict.group, verdict.why)
    this.undecided.add(unit.index)

    const decisions: Decision[] = []
    if (this.replicasWanted(unit) > 0) {
      if (unit.votes.length + unit.active.size >= this.policy.maxResults) {
        const wanted = this.policy.trust ? 'no answer credible enough' : `no ${this.policy.quorum} agreeing results`
        return this.failUnit(
          unit,
          `${wanted} among ${unit.votes.length} ` + `(answers: ${groupSizes(unit).join(', ')}), the limit is ${this.policy.maxResults}`
        )
      }
      if (hasDisagreement(unit)) decisions.push({ type: 'reissue', unit: unit.index, reason: 'results disagree' })
      this.queue.addRetry(unit.index)
    }
    return decisions
  }

  /**
   * A spot-check is one more vote on a unit whose answer is known. Disagreeing fails it only if
   * the known answer stays credible against this result too; if it does not (the answer was
   * accepted on the word of a peer that lied), the unit is open again and more results decide,
   * and whoever loses that vote is blacklisted.
   */
  private onSpotCheck(unit: Unit, lease: number, peer: string, host: string, group: string): Decision[] {
    const vote: Vote = { peer, lease, group, host, judged: true }
    addVote(unit, vote)
    const known = unit.accepted!
    const passed = group === known
    if (passed || this.acceptance.decide(this.tally(unit))?.group === known) {
      return [
        { type: 'verdict', lease, peer, accepted: passed },
        { type: 'spot-check', lease, unit: unit.index, peer, passed }
      ]
    }
    vote.judged = false
    return [this.unaccept(unit, 'a spot-check contradicted it')]
  }

  private unaccept(unit: Unit, reason: string): Decision {
    const decision: Decision = { type: 'unaccept', unit: unit.index, group: unit.accepted!, reason }
    unit.accepted = null
    this.acceptedCount--
    this.undecided.add(unit.index)
    if (this.replicasWanted(unit) > 0) this.queue.addRetry(unit.index)
    return decision
  }

  private onFailure(leaseId: number, peer: string, kind: string, reason: string): Decision[] {
    const lease = this.leases.get(leaseId)
    if (!lease || lease.peer !== peer || lease.answered) {
      return [{ type: 'violation', peer, reason: `failure report for lease ${leaseId} it does not hold` }]
    }
    lease.answered = true
    const unit = this.units[lease.unit]
    const live = this.leases.close(unit, leaseId)
    if (isSettled(unit) || this.state !== 'running') return []
    // The donor's own word that the unit ran out of time (or broke) counts against the unit even
    // after the lease expired: else a unit no donor can finish would go round for ever.
    if (!live) return kind === 'handback' ? [] : this.countError(unit, `${kind}: ${reason}`)
    if (kind === 'handback') {
      forgetTried(unit, peer)
      return this.reopen(unit, 'handed back')
    }
    return this.countError(unit, `${kind}: ${reason}`)
  }

  private onDisconnect(peer: string): Decision[] {
    const decisions: Decision[] = []
    for (const lease of this.leases.outNow()) {
      if (lease.peer !== peer) continue
      const unit = this.units[lease.unit]
      this.leases.close(unit, lease.id)
      // Never answered, so it may run this unit again should it come back.
      if (!unit.votes.some((v) => v.peer === peer)) forgetTried(unit, peer)
      decisions.push(...this.reopen(unit, 'donor left'))
    }
    return decisions
  }

  private onTick(now: number): Decision[] {
    const decisions: Decision[] = []
    for (const lease of this.leases.outNow()) {
      if (lease.deadline > now) continue
      const unit = this.units[lease.unit]
      this.leases.close(unit, lease.id)
      // Silence is the donor's fault, not the unit's: hoarders must not be able to fail a job. The
      // lease is not cancelled, as in BOINC: a late result still counts, and an honest donor's own
      // report that the unit ran out of time counts against the unit (onFailure).
      decisions.push({ type: 'lease-expired', lease: lease.id, unit: unit.index, peer: lease.peer })
      decisions.push(...this.reopen(unit, `deadline passed on ${lease.peer.slice(0, 8)}`))
    }
    return decisions
  }

  private onCancel(): Decision[] {
    if (this.state !== 'running') return []
    this.state = 'cancelled'
    this.queue.clear()
    return this.cancelAllLeases()
  }

  private countError(unit: Unit, reason: string): Decision[] {
    unit.errors++
    if (unit.errors >= this.policy.maxErrors) {
      return this.failUnit(unit, `${unit.errors} errors, the last: ${reason}`)
    }
    return this.reopen(unit, reason)
  }

  /**
   * Checks the machine's invariants and throws naming each one broken, as dask's
   * validate_state does. Tests and the simulator call it (or set `validating`, which runs it
   * after every step); it walks every unit, so a coordinator does not.
   */
  private checked(decisions: Decision[]): Decision[] {
    if (this.validating) this.validate()
    return decisions
  }

  validate(): void {
    const broken: string[] = []
    let accepted = 0
    let failed = 0
    for (const unit of this.units) {
      const at = `unit ${unit.index}`
      if (unit.accepted !== null) accepted++
      if (unit.failed !== null) failed++
      if (unit.accepted !== null && unit.failed !== null) broken.push(`${at} is both accepted and failed`)
      if (unit.failed !== null && unit.active.size > 0) broken.push(`${at} failed but holds ${unit.active.size} leases`)
      if (unit.accepted !== null && [...unit.active.values()].some((l) => !l.spot))
        broken.push(`${at} is accepted but holds a lease that is no spot-check`)
      for (const [id, lease] of unit.active) {
        if (lease.unit !== unit.index) broken.push(`${at} holds lease ${id} of unit ${lease.unit}`)
        if (this.leases.get(id)?.answered !== false) broken.push(`${at} holds lease ${id}, which was answered or never issued`)
      }
      if (new Set(unit.votes.map((v) => v.peer)).size !== unit.votes.length) broken.push(`${at} counts a peer's vote twice`)
      if (isSettled(unit) && this.queue.has(unit.index)) broken.push(`${at} is settled but queued for replicas`)
      if (this.undecided.has(unit.index) && (isSettled(unit) || unit.votes.length === 0))
        broken.push(`${at} is undecided without open votes`)
    }
    for (const lease of this.leases.outNow()) {
      if (this.units[lease.unit]?.active.get(lease.id) !== lease)
        broken.push(`lease ${lease.id} is out but its unit ${lease.unit} does not hold it`)
    }
    if (accepted !== this.acceptedCount) broken.push(`acceptedCount is ${this.acceptedCount}, ${accepted} units are accepted`)
    if (this.policy.partial ? failed !== this.failedCount : this.failedCount !== 0)
      broken.push(`failedCount is ${this.failedCount}, ${failed} units failed`)
    const settled = this.acceptedCount + this.failedCount
    if (this.state === 'done' && settled !== this.units.length)
      broken.push(`the job is done with ${settled} of ${this.units.length} units settled`)
    if (this.state === 'running' && settled === this.units.length && this.units.length > 0)
      broken.push('every unit is settled but the job still runs')
    if (broken.length > 0) throw new Error(`job machine invariants broken: ${broken.join('; ')}`)
  }

  private reopen(unit: Unit, reason: string): Decision[] {
    if (isSettled(unit) || this.replicasWanted(unit) === 0) return []
    this.queue.addRetry(unit.index)
    return [{ type: 'reissue', unit: unit.index, reason }]
  }

  private accept(unit: Unit, group: string, why?: Explanation): Decision[] {
    this.markAccepted(unit, group)
    this.queue.remove(unit.index)
    this.undecided.delete(unit.index)
    this.known.push(unit.index)
    const agreeing = unit.votes.filter((v) => v.group === group)
    const outvoted = unit.votes.filter((v) => v.group !== group)
    const decisions: Decision[] = [
      {
        type: 'accept',
        unit: unit.index,
        group,
        agreeing: agreeing.map((v) => v.peer),
        outvoted: outvoted.map((v) => v.peer),
        ...(why ? { why } : {})
      }
    ]
    for (const v of unit.votes) {
      // A unit accepted again after backtracking tells each donor its verdict once.
      if (v.judged) continue
      v.judged = true
      decisions.push({ type: 'verdict', lease: v.lease, peer: v.peer, accepted: v.group === group })
    }
    for (const lease of unit.active.values()) {
      decisions.push({ type: 'cancel-lease', lease: lease.id, unit: unit.index, peer: lease.peer })
      this.leases.close(unit, lease.id)
    }
    decisions.push(...this.doneIfSettled())
    return decisions
  }

  /** Every unit accepted, or left out of a job that takes partial results. */
  private doneIfSettled(): Decision[] {
    if (this.state !== 'running' || this.acceptedCount + this.failedCount < this.units.length) return []
    this.state = 'done'
    return [{ type: 'job-done' }]
  }

  /** A job that takes partial results goes on without this unit. */
  private leaveOut(unit: Unit, reason: string): Decision[] {
    this.queue.remove(unit.index)
    this.failedCount++
    const decisions: Decision[] = [{ type: 'unit-failed', unit: unit.index, reason }]
    for (const lease of unit.active.values()) {
      decisions.push({ type: 'cancel-lease', lease: lease.id, unit: unit.index, peer: lease.peer })
      this.leases.close(unit, lease.id)
    }
    return [...decisions, ...this.doneIfSettled()]
  }

  /** Units a job that takes partial results had left out when its coordinator last stopped; true when that settles the job. */
  restoreFailed(failed: Iterable<[number, string]>): boolean {
    for (const [index, reason] of failed) {
      const unit = this.units[index]
      if (!unit || isSettled(unit)) continue
      unit.failed = reason
      this.leaveOut(unit, reason)
    }
    return this.state === 'done'
  }

  private failUnit(unit: Unit, reason: string): Decision[] {
    unit.failed = reason
    this.undecided.delete(unit.index)
    if (this.policy.partial) return this.leaveOut(unit, reason)
    this.state = 'failed'
    this.failureReason = `unit ${unit.index} failed: ${reason}`
    this.queue.clear()
    return [
      { type: 'unit-failed', unit: unit.index, reason },
      ...this.cancelAllLeases(),
      { type: 'job-failed', reason: this.failureReason }
    ]
  }

  private cancelAllLeases(): Decision[] {
    const decisions: Decision[] = []
    for (const lease of this.leases.outNow()) {
      decisions.push({ type: 'cancel-lease', lease: lease.id, unit: lease.unit, peer: lease.peer })
      this.leases.close(this.units[lease.unit], lease.id)
    }
    return decisions
  }

  private markAccepted(unit: Unit, group: string): void {
    unit.accepted = group
    this.acceptedCount++
  }

  /** More results needed, beyond those on their way, before the policy could decide. */
  private replicasWanted(unit: Unit): number {
    if (isSettled(unit)) return 0
    return this.acceptance.wanted(this.tally(unit))
  }

  /** The unit as the policy sees it: one ballot per peer, or per host when hosts must differ. */
  private tally(unit: Unit): UnitTally {
    return tallyOf(unit, this.policy.distinctHosts)
  }

  private lease(unit: Unit, peer: PeerRef, now: number, spot: boolean): Decision {
    const lease: Lease = {
      id: this.counter.take(),
      unit: unit.index,
      peer: peer.key,
      deadline: now + this.policy.leaseMs,
      host: peer.host,
      spot,
      answered: false
    }
    this.leases.open(unit, lease)
    addTried(unit, peer.key)
    return { type: 'assign', lease: lease.id, unit: unit.index, peer: peer.key, deadline: lease.deadline }
  }

  /** An accepted unit this peer (and its host) has not run, picked by `draw`, or none after a few tries. */
  private spotCheckUnit(peer: PeerRef, draw: number): Unit | undefined {
    for (let attempt = 0; attempt < 4 && this.known.length > 0; attempt++) {
      const at = Math.floor(((draw + attempt * 0.618034) % 1) * this.known.length)
      const unit = this.units[this.known[at]]
      if (unit.accepted === null) continue
      if (unit.tried.includes(peer.key) || (this.policy.distinctHosts && hostTried(unit, peer.host))) continue
      return unit
    }
    return undefined
  }
}
