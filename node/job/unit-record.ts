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
  /** Peers that ran or are running this unit: a replica never goes twice to one peer. */
  tried: Set<string>
  errors: number
  accepted: string | null
  failed: string | null
}

/**
 * Shared by every unit not yet leased (most of a huge job's units, most of its life), so that
 * a million-unit job does not make two million empty collections before it can start. A unit
 * gets its own on its first lease (leasedTo, triedBy); these two refuse to be written to.
 */
class NoLeases extends Map<number, Lease> {
  override set(): this {
    throw new Error("a unit's own leases are made by leasedTo()")
  }
}
class NoPeers extends Set<string> {
  override add(): this {
    throw new Error("a unit's own peers are made by triedBy()")
  }
}
const NO_LEASES = new NoLeases()
const NO_PEERS = new NoPeers()

export function newUnit(index: number): Unit {
  return { index, active: NO_LEASES, votes: [], tried: NO_PEERS, errors: 0, accepted: null, failed: null }
}

/** The unit's own map of leases out, made the first time it is leased. */
export function leasedTo(unit: Unit): Map<number, Lease> {
  if (unit.active === NO_LEASES) unit.active = new Map()
  return unit.active
}

/** The unit's own set of peers that ran it, made the first time it is leased. */
export function triedBy(unit: Unit): Set<string> {
  if (unit.tried === NO_PEERS) unit.tried = new Set()
  return unit.tried
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
