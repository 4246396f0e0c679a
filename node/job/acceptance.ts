/**
 * The acceptance-policy hook of the JobMachine: the machine keeps leases, votes and the unit
 * life cycle; a policy says who may run a unit, how many more results a unit needs, and when
 * one answer has won. A fixed quorum is one policy; credibility (credibility-acceptance.ts) and
 * BOINC's adaptive replication (adaptive-replication.ts) are others, and the simulator drives
 * all of them through the same machine.
 */
import type { PeerRef } from './machine.js'

/** One independent result of a unit: who gave it, from which host, which answer group it is in. */
export interface Ballot { peer: string; host: string; group: string }

/** What a policy sees of an open unit. */
export interface UnitTally {
  index: number
  /** One per independent identity (per host when hosts must differ), in arrival order. */
  ballots: readonly Ballot[]
  /** Peers running it now. */
  running: readonly PeerRef[]
}

/** A peer as an explanation shows it; credibility is null under rules that do not weigh peers. */
export interface PeerStanding { peer: string; host: string; credibility: number | null; checks: number | null }

/** Why a unit was accepted: stored with its output, shown by `status --unit` and the API. */
export interface Explanation {
  rule: 'quorum' | 'credibility' | 'adaptive'
  /** Credibility of the accepted answer, and the 1 − ε it had to reach. */
  credibility: number | null
  threshold: number | null
  /** Results the rule asked for (a quorum), when it is a count. */
  required: number | null
  agreeing: PeerStanding[]
  /** Results that gave another answer. */
  against: PeerStanding[]
}

export interface Verdict { group: string; why?: Explanation }

export interface Acceptance {
  /** May this peer run units of the job at all (a blacklisted one may not)? */
  admits(peer: PeerRef): boolean
  /** The answer to accept now, or null to wait for more results. */
  decide(unit: UnitTally): Verdict | null
  /** Replicas to lease now, beyond those running, so that the unit could be decided. */
  wanted(unit: UnitTally): number
  /** Whether this peer's lone result would be accepted: it then takes fresh units before others' replicas. */
  standsAlone?(peer: PeerRef): boolean
  /** A draw in [0, 1) to pick an accepted unit to spot-check this peer with, or null for ordinary work. */
  spotCheck?(peer: PeerRef): number | null
}

/** Answer group sizes in order of first appearance, counting each ballot once. */
export function groupCounts(ballots: readonly Ballot[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const b of ballots) counts.set(b.group, (counts.get(b.group) ?? 0) + 1)
  return counts
}

/** The plain policy: `quorum` independent results that agree. No weighing, no blacklist. */
export class FixedQuorum implements Acceptance {
  constructor(readonly quorum: number) {}

  admits(): boolean { return true }

  decide(unit: UnitTally): Verdict | null {
    for (const [group, count] of groupCounts(unit.ballots)) if (count >= this.quorum) return { group }
    return null
  }

  wanted(unit: UnitTally): number {
    let largest = 0
    for (const count of groupCounts(unit.ballots).values()) largest = Math.max(largest, count)
    return Math.max(0, this.quorum - largest - unit.running.length)
  }
}

/** A quorum explanation from an accept decision, for jobs whose rule is a fixed quorum. */
export function quorumExplanation(quorum: number, agreeing: PeerStanding[], against: PeerStanding[]): Explanation {
  return { rule: 'quorum', credibility: null, threshold: null, required: quorum, agreeing, against }
}
