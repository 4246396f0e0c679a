/**
 * The life cycle of a job's units as a pure state machine, after dask/distributed's worker
 * state machine: events in, decisions out, no I/O and no clock of its own. The coordinator
 * feeds it what the network says and carries out what it decides; tests and the simulator
 * drive the very same code without sockets.
 */

export type UnitState = 'waiting' | 'running' | 'awaiting-agreement' | 'accepted' | 'failed'
export type JobState = 'running' | 'done' | 'failed' | 'cancelled'

export interface JobPolicy {
  /** Results from distinct peers that must agree before a unit is accepted. */
  quorum: number
  /** Results a unit may gather without reaching a quorum before it fails. */
  maxResults: number
  /** Errors and missed deadlines a unit may suffer before it fails (BOINC's max_error_results). */
  maxErrors: number
  /** How long a donor holds a lease before the unit is handed to someone else. */
  leaseMs: number
}

export interface PeerRef { key: string; host: string }

export type MachineEvent =
  | { type: 'result'; lease: number; peer: string; group: string; now: number }
  | { type: 'failure'; lease: number; peer: string; kind: 'error' | 'timeout' | 'memory' | 'handback'; reason: string; now: number }
  | { type: 'disconnect'; peer: string; now: number }
  | { type: 'tick'; now: number }
  | { type: 'cancel'; now: number }

export type Decision =
  | { type: 'assign'; lease: number; unit: number; peer: string; deadline: number }
  | { type: 'cancel-lease'; lease: number; unit: number; peer: string }
  | { type: 'verdict'; lease: number; peer: string; accepted: boolean }
  | { type: 'accept'; unit: number; group: string; agreeing: string[]; outvoted: string[] }
  | { type: 'reissue'; unit: number; reason: string }
  | { type: 'unit-failed'; unit: number; reason: string }
  | { type: 'job-done' }
  | { type: 'job-failed'; reason: string }
  | { type: 'violation'; peer: string; reason: string }

interface Lease { id: number; unit: number; peer: string; deadline: number }
interface Vote { peer: string; lease: number; group: string }

interface Unit {
  index: number
  active: Map<number, Lease>
  votes: Vote[]
  /** Peers that ran or are running this unit: a replica never goes twice to one peer. */
  tried: Set<string>
  errors: number
  accepted: string | null
  failed: string | null
}

/** Hands out lease ids unique across all the jobs of one coordinator. */
export class LeaseCounter {
  private next = 1
  take(): number { return this.next++ }
  /** Whether this id was ever handed out, so a message for it may be merely late. */
  issued(id: number): boolean { return id > 0 && id < this.next }
}

export class JobMachine {
  state: JobState = 'running'
  resultsReceived = 0
  acceptedCount = 0
  failureReason: string | null = null

  private readonly units: Unit[] = []
  /** Units that want more replicas, in unit order. */
  private readonly needy = new Set<number>()
  /** Units reopened after a failure, departure or disagreement: served first, as they hold the job up. */
  private readonly retry = new Set<number>()
  /** Every lease this job issued, settled or not, so late and bogus results can be told apart. */
  private readonly leases = new Map<number, Lease & { answered: boolean }>()
  /** Leases out now, so that ticks and departures look at those and not at every unit. */
  private readonly live = new Map<number, Lease>()

  constructor(unitCount: number, readonly policy: JobPolicy, private readonly counter: LeaseCounter,
    alreadyAccepted: Iterable<number> = []) {
    for (let index = 0; index < unitCount; index++) {
      this.units.push({ index, active: new Map(), votes: [], tried: new Set(), errors: 0, accepted: null, failed: null })
    }
    for (const index of alreadyAccepted) this.markAccepted(this.units[index], 'restored')
    for (const unit of this.units) if (!this.settled(unit)) this.needy.add(unit.index)
    if (this.acceptedCount === unitCount) this.state = 'done'
  }

  get unitCount(): number { return this.units.length }

  unitState(index: number): UnitState {
    const unit = this.units[index]
    if (unit.accepted !== null) return 'accepted'
    if (unit.failed !== null) return 'failed'
    if (unit.votes.length > 0) return 'awaiting-agreement'
    return unit.active.size > 0 ? 'running' : 'waiting'
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

  wantsWork(): boolean { return this.state === 'running' && (this.retry.size > 0 || this.needy.size > 0) }

  /** A donor offers `slots` runs: lease it units it has not run yet, in unit order. */
  assign(peer: PeerRef, slots: number, now: number): Decision[] {
    const decisions: Decision[] = []
    if (this.state !== 'running') return decisions
    for (const index of this.wanting()) {
      if (decisions.length >= slots) break
      const unit = this.units[index]
      if (unit.tried.has(peer.key)) continue
      const lease: Lease = { id: this.counter.take(), unit: index, peer: peer.key, deadline: now + this.policy.leaseMs }
      this.openLease(unit, lease)
      unit.tried.add(peer.key)
      this.leases.set(lease.id, { ...lease, answered: false })
      if (this.replicasWanted(unit) === 0) this.unqueue(index)
      decisions.push({ type: 'assign', lease: lease.id, unit: index, peer: peer.key, deadline: lease.deadline })
    }
    return decisions
  }

  handle(event: MachineEvent): Decision[] {
    switch (event.type) {
      case 'result': return this.onResult(event.lease, event.peer, event.group)
      case 'failure': return this.onFailure(event.lease, event.peer, event.kind, event.reason)
      case 'disconnect': return this.onDisconnect(event.peer)
      case 'tick': return this.onTick(event.now)
      case 'cancel': return this.onCancel()
    }
  }

  /** Whether a lease id was issued by this job: the coordinator routes messages with it. */
  owns(lease: number): boolean { return this.leases.has(lease) }

  private onResult(leaseId: number, peer: string, group: string): Decision[] {
    const lease = this.leases.get(leaseId)
    if (!lease || lease.peer !== peer) return [{ type: 'violation', peer, reason: `result for lease ${leaseId} it does not hold` }]
    if (lease.answered) return [{ type: 'violation', peer, reason: `second result for lease ${leaseId}` }]
    lease.answered = true
    this.resultsReceived++
    const unit = this.units[lease.unit]
    this.closeLease(unit, leaseId)
    if (unit.accepted !== null) return [{ type: 'verdict', lease: leaseId, peer, accepted: group === unit.accepted }]
    if (unit.failed !== null || this.state !== 'running') return [{ type: 'verdict', lease: leaseId, peer, accepted: false }]
    // A peer that left and came back may answer one unit under two leases: it votes once.
    if (unit.votes.some((v) => v.peer === peer)) return []

    // A late result from a lease that expired still counts while the unit is open.
    unit.votes.push({ peer, lease: leaseId, group })
    const winner = this.quorumGroup(unit)
    if (winner !== null) return this.accept(unit, winner)

    const decisions: Decision[] = []
    if (this.replicasWanted(unit) > 0) {
      if (unit.votes.length + unit.active.size >= this.policy.maxResults) {
        return this.failUnit(unit, `no ${this.policy.quorum} agreeing results among ${unit.votes.length} ` +
          `(answers: ${this.groupSizes(unit).join(', ')}), the limit is ${this.policy.maxResults}`)
      }
      if (this.hasDisagreement(unit)) decisions.push({ type: 'reissue', unit: unit.index, reason: 'results disagree' })
      this.retry.add(unit.index)
    }
    return decisions
  }

  private onFailure(leaseId: number, peer: string, kind: string, reason: string): Decision[] {
    const lease = this.leases.get(leaseId)
    if (!lease || lease.peer !== peer || lease.answered) {
      return [{ type: 'violation', peer, reason: `failure report for lease ${leaseId} it does not hold` }]
    }
    lease.answered = true
    const unit = this.units[lease.unit]
    if (!this.closeLease(unit, leaseId) || this.settled(unit)) return []
    if (kind === 'handback') {
      unit.tried.delete(peer)
      return this.reopen(unit, 'handed back')
    }
    return this.countError(unit, `${kind}: ${reason}`)
  }

  private onDisconnect(peer: string): Decision[] {
    const decisions: Decision[] = []
    for (const lease of this.live.values()) {
      if (lease.peer !== peer) continue
      const unit = this.units[lease.unit]
      this.closeLease(unit, lease.id)
      // Never answered, so it may run this unit again should it come back.
      if (!unit.votes.some((v) => v.peer === peer)) unit.tried.delete(peer)
      decisions.push(...this.reopen(unit, 'donor left'))
    }
    return decisions
  }

  private onTick(now: number): Decision[] {
    const decisions: Decision[] = []
    for (const lease of this.live.values()) {
      if (lease.deadline > now) continue
      const unit = this.units[lease.unit]
      this.closeLease(unit, lease.id)
      decisions.push({ type: 'cancel-lease', lease: lease.id, unit: unit.index, peer: lease.peer })
      decisions.push(...this.countError(unit, `deadline passed on ${lease.peer.slice(0, 8)}`))
      if (this.state !== 'running') return decisions
    }
    return decisions
  }

  private onCancel(): Decision[] {
    if (this.state !== 'running') return []
    this.state = 'cancelled'
    this.unqueueAll()
    return this.cancelAllLeases()
  }

  private countError(unit: Unit, reason: string): Decision[] {
    unit.errors++
    if (unit.errors >= this.policy.maxErrors) {
      return this.failUnit(unit, `${unit.errors} errors, the last: ${reason}`)
    }
    return this.reopen(unit, reason)
  }

  private reopen(unit: Unit, reason: string): Decision[] {
    if (this.settled(unit) || this.replicasWanted(unit) === 0) return []
    this.retry.add(unit.index)
    return [{ type: 'reissue', unit: unit.index, reason }]
  }

  private accept(unit: Unit, group: string): Decision[] {
    this.markAccepted(unit, group)
    this.unqueue(unit.index)
    const agreeing = unit.votes.filter((v) => v.group === group)
    const outvoted = unit.votes.filter((v) => v.group !== group)
    const decisions: Decision[] = [{ type: 'accept', unit: unit.index, group,
      agreeing: agreeing.map((v) => v.peer), outvoted: outvoted.map((v) => v.peer) }]
    for (const v of unit.votes) decisions.push({ type: 'verdict', lease: v.lease, peer: v.peer, accepted: v.group === group })
    for (const lease of unit.active.values()) {
      decisions.push({ type: 'cancel-lease', lease: lease.id, unit: unit.index, peer: lease.peer })
      this.closeLease(unit, lease.id)
    }
    if (this.acceptedCount === this.units.length) {
      this.state = 'done'
      decisions.push({ type: 'job-done' })
    }
    return decisions
  }

  private failUnit(unit: Unit, reason: string): Decision[] {
    unit.failed = reason
    this.state = 'failed'
    this.failureReason = `unit ${unit.index} failed: ${reason}`
    this.unqueueAll()
    return [{ type: 'unit-failed', unit: unit.index, reason }, ...this.cancelAllLeases(),
      { type: 'job-failed', reason: this.failureReason }]
  }

  private cancelAllLeases(): Decision[] {
    const decisions: Decision[] = []
    for (const lease of this.live.values()) {
      decisions.push({ type: 'cancel-lease', lease: lease.id, unit: lease.unit, peer: lease.peer })
      this.closeLease(this.units[lease.unit], lease.id)
    }
    return decisions
  }

  private *wanting(): Iterable<number> {
    yield* this.retry
    yield* this.needy
  }

  private unqueue(index: number): void {
    this.retry.delete(index)
    this.needy.delete(index)
  }

  private unqueueAll(): void {
    this.retry.clear()
    this.needy.clear()
  }

  private openLease(unit: Unit, lease: Lease): void {
    unit.active.set(lease.id, lease)
    this.live.set(lease.id, lease)
  }

  private closeLease(unit: Unit, id: number): boolean {
    this.live.delete(id)
    return unit.active.delete(id)
  }

  private markAccepted(unit: Unit, group: string): void {
    unit.accepted = group
    this.acceptedCount++
  }

  private settled(unit: Unit): boolean { return unit.accepted !== null || unit.failed !== null }

  /** More results needed, beyond those on their way, before some answer could reach a quorum. */
  private replicasWanted(unit: Unit): number {
    if (this.settled(unit)) return 0
    const largest = Math.max(0, ...this.groupSizes(unit))
    return Math.max(0, this.policy.quorum - largest - unit.active.size)
  }

  private quorumGroup(unit: Unit): string | null {
    const peersByGroup = new Map<string, Set<string>>()
    for (const v of unit.votes) {
      const peers = peersByGroup.get(v.group) ?? new Set()
      peers.add(v.peer)
      peersByGroup.set(v.group, peers)
      if (peers.size >= this.policy.quorum) return v.group
    }
    return null
  }

  private groupSizes(unit: Unit): number[] {
    const sizes = new Map<string, number>()
    for (const v of unit.votes) sizes.set(v.group, (sizes.get(v.group) ?? 0) + 1)
    return [...sizes.values()]
  }

  private hasDisagreement(unit: Unit): boolean { return this.groupSizes(unit).length > 1 }
}
