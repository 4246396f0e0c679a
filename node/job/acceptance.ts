/**
 * The acceptance-policy hook of the JobMachine: the machine keeps leases, votes and the unit
 * life cycle; a policy says who may run a unit, how many more results a unit needs, and when
 * one answer has won. A fixed quorum is one policy; credibility (node/trust/credibility-acceptance.ts) and
 * BOINC's adaptive replication (node/trust/adaptive-replication.ts) are others, and the simulator drives
 * all of them through the same machine.
 */
import type { Acceptance, Ballot, Explanation, PeerStanding, UnitTally, Verdict } from './types.js'

/** Answer group sizes in order of first appearance, counting each ballot once. */
export function groupCounts(ballots: readonly Ballot[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const b of ballots) counts.set(b.group, (counts.get(b.group) ?? 0) + 1)
  return counts
}

/** The plain policy: `quorum` independent results that agree. No weighing, no blacklist. */
export class FixedQuorum implements Acceptance {
  constructor(readonly quorum: number) {}

  admits(): boolean {
    return true
  }

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
