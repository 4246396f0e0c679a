/**
 * What the job machine keeps about one unit, and the questions it asks of it. Plain records and
 * pure functions, after dask's worker state: the machine (node/job/machine.ts) owns the transitions,
 * these only read. The unit's state is derived from the record, never stored beside it, so the
 * two cannot drift apart.
 */
import type { Ballot, UnitTally } from './types.js'
import type { UnitState } from './types.js'

export interface Lease {
  id: number
  unit: number
  peer: string
  deadline: number
  host?: string
  spot?: boolean
  /** Set once a result or failure report came for it: one record serves the unit and the job's log of leases. */
  answered: boolean
}
export interface Vote {
  peer: string
  lease: number
  group: string
  host: string
  judged?: boolean
}

export interface Unit {
  index: number
  active: Map<number, Lease>
  votes: Vote[]
  /**
   * Peers that ran or are running this unit: a replica never goes twice to one peer. An array,
   * as it holds one to a few keys, where a Set costs ~80 B more per unit a job keeps to its end.
   */
  tried: string[]
  errors: number
  accepted: string | null
  failed: string | null
}

/**
 * Shared by every unit not yet leased (most of a huge job's units, most of its life), so that
 * a million-unit job does not make millions of empty collections before it can start. A unit
 * gets its own on its first lease (leasedTo, addTried, addVote); the shared ones refuse writes.
 */
class NoLeases extends Map<number, Lease> {
  override set(): this {
    throw new Error("a unit's own leases are made by leasedTo()")
  }
}
const NO_LEASES = new NoLeases()
/** Frozen, so that a write throws: a unit's own lists are made by addTried() and addVote(). */
const NO_PEERS: string[] = Object.freeze([]) as unknown as string[]
const NO_VOTES: Vote[] = Object.freeze([]) as unknown as Vote[]

export function newUnit(index: number): Unit {
  return { index, active: NO_LEASES, votes: NO_VOTES, tried: NO_PEERS, errors: 0, accepted: null, failed: null }
}

/** The unit's own map of leases out, made the first time it is leased. */
export function leasedTo(unit: Unit): Map<number, Lease> {
  if (unit.active === NO_LEASES) unit.active = new Map()
  return unit.active
}

/**
 * Takes a lease off the unit; false when it did not hold it. A unit left with none shares the
 * empty map again, so that a finished million-unit job does not keep a million empty maps alive.
 */
export function unlease(unit: Unit, id: number): boolean {
  if (!unit.active.delete(id)) return false
  if (unit.active.size === 0) unit.active = NO_LEASES
  return true
}

/** Counts `peer` among those that ran or run the unit. */
export function addTried(unit: Unit, peer: string): void {
  // A first entry gets a list of its own sized to it: a push onto an empty array reserves 17 slots.
  if (unit.tried === NO_PEERS) unit.tried = [peer]
  else if (!unit.tried.includes(peer)) unit.tried.push(peer)
}

/** The peer may run the unit again (it handed it back, or left without answering). */
export function forgetTried(unit: Unit, peer: string): void {
  const at = unit.tried.indexOf(peer)
  if (at >= 0) unit.tried.splice(at, 1)
}

export function addVote(unit: Unit, vote: Vote): void {
  if (unit.votes === NO_VOTES) unit.votes = [vote]
  else unit.votes.push(vote)
}

export function unitStateOf(unit: Unit): UnitState {
  if (unit.accepted !== null) return 'accepted'
  if (unit.failed !== null) return 'failed'
  if (unit.votes.length > 0) return 'awaiting-agreement'
  return unit.active.size > 0 ? 'running' : 'waiting'
}

/** Accepted, or failed: nothing more is wanted of it unless backtracking opens it again. */
export function isSettled(unit: Unit): boolean {
  return unit.accepted !== null || unit.failed !== null
}

/** The unit as a policy sees it: one ballot per peer, or per host when hosts must differ. */
export function tallyOf(unit: Unit, distinctHosts: boolean | undefined): UnitTally {
  let ballots: Ballot[] = unit.votes
  if (distinctHosts) {
    const hosts = new Set<string>()
    ballots = unit.votes.filter((v) => !hosts.has(v.host) && !!hosts.add(v.host))
  }
  const running = []
  for (const lease of unit.active.values()) running.push({ key: lease.peer, host: lease.host ?? lease.peer })
  return { index: unit.index, ballots, running }
}

/** Whether a peer on this host runs or ran the unit: replicas on one host are not independent. */
export function hostTried(unit: Unit, host: string): boolean {
  for (const lease of unit.active.values()) if (lease.host === host) return true
  return unit.votes.some((v) => v.host === host)
}

/** How many results each distinct answer has, for telling why a unit failed. */
export function groupSizes(unit: Unit): number[] {
  const sizes = new Map<string, number>()
  for (const v of unit.votes) sizes.set(v.group, (sizes.get(v.group) ?? 0) + 1)
  return [...sizes.values()]
}

export function hasDisagreement(unit: Unit): boolean {
  return groupSizes(unit).length > 1
}
