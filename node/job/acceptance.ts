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

/**
 * Ballots of a unit are one to a few, and these are asked on every assign and result: counted by
 * a walk, not a Map made each time, which a million-unit job would churn through GC (figure 4).
 */
const WALK_AT_MOST = 8

/** The first group, in order of first appearance, with at least `quorum` ballots; null if none. */
function firstWithQuorum(ballots: readonly Ballot[], quorum: number): string | null {
  if (ballots.length > WALK_AT_MOST) {
    for (const [group, count] of groupCounts(ballots)) if (count >= quorum) return group
    return null
  }
  for (let i = 0; i < ballots.length; i++) {
    const group = ballots[i].group
    if (firstIndexOf(ballots, group) < i) continue
    if (countOf(ballots, group, i) >= quorum) return group
  }
  return null
}

/** The size of the largest group of ballots (0 without any). */
function largestGroup(ballots: readonly Ballot[]): number {
  let largest = 0
  if (ballots.length > WALK_AT_MOST) {
    for (const count of groupCounts(ballots).values()) largest = Math.max(largest, count)
    return largest
  }
  for (let i = 0; i < ballots.length; i++) largest = Math.max(largest, countOf(ballots, ballots[i].group, i))
  return largest
}

function firstIndexOf(ballots: readonly Ballot[], group: string): number {
  for (let j = 0; j < ballots.length; j++) if (ballots[j].group === group) return j
  return -1
}

function countOf(ballots: readonly Ballot[], group: string, from: number): number {
  let count = 0
  for (let j = from; j < ballots.length; j++) if (ballots[j].group === group) count++
  return count
}

/** The plain policy: `quorum` independent results that agree. No weighing, no blacklist. */
export class FixedQuorum implements Acceptance {
  constructor(readonly quorum: number) {}

  admits(): boolean {
    return true
  }

  decide(unit: UnitTally): Verdict | null {
    const group = firstWithQuorum(unit.ballots, this.quorum)
    return group === null ? null : { group }
  }

  wanted(unit: UnitTally): number {
    return Math.max(0, this.quorum - largestGroup(unit.ballots) - unit.running.length)
  }
}

/** A quorum explanation from an accept decision, for jobs whose rule is a fixed quorum. */
export function quorumExplanation(quorum: number, agreeing: PeerStanding[], against: PeerStanding[]): Explanation {
  return { rule: 'quorum', credibility: null, threshold: null, required: quorum, agreeing, against }
}
