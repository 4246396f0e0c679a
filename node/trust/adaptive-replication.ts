/**
 * BOINC's adaptive replication, as a JobMachine policy for comparison: a unit whose first
 * replica goes to a host with at least 10 consecutive valid results (CV) runs unreplicated with
 * probability 1 − 1/CV, and its lone result is accepted; every other unit needs two agreeing
 * results. A lost vote resets CV to 0. No spot-checks, no blacklist.
 */
import { groupCounts } from '../job/acceptance.js'
import type { Acceptance, UnitTally, Verdict } from '../job/types.js'
import type { TrustLedger } from './ledger.js'

/** BOINC's threshold of consecutive valid results before a host is trusted. */
export const TRUSTED_AFTER = 10

export class AdaptiveReplication implements Acceptance {
  /** The quorum chosen for each unit when its first replica went out. */
  private readonly quorums = new Map<number, number>()

  constructor(
    private readonly ledger: TrustLedger,
    private readonly random: () => number = Math.random
  ) {}

  admits(): boolean {
    return true
  }

  decide(unit: UnitTally): Verdict | null {
    const quorum = this.quorumOf(unit)
    for (const [group, count] of groupCounts(unit.ballots)) {
      if (count < quorum) continue
      this.quorums.delete(unit.index)
      const agreeing = unit.ballots.filter((b) => b.group === group)
      const standing = (b: { peer: string; host: string }) => ({
        peer: b.peer,
        host: b.host,
        credibility: null,
        checks: this.ledger.consecutiveValid(b.peer)
      })
      return {
        group,
        why: {
          rule: 'adaptive',
          credibility: null,
          threshold: null,
          required: quorum,
          agreeing: agreeing.map(standing),
          against: unit.ballots.filter((b) => b.group !== group).map(standing)
        }
      }
    }
    return null
  }

  wanted(unit: UnitTally): number {
    let largest = 0
    for (const count of groupCounts(unit.ballots).values()) largest = Math.max(largest, count)
    return Math.max(0, this.quorumOf(unit) - largest - unit.running.length)
  }

  private quorumOf(unit: UnitTally): number {
    const chosen = this.quorums.get(unit.index)
    if (chosen !== undefined) return chosen
    const first = unit.ballots[0]?.peer ?? unit.running[0]?.key
    if (first === undefined) return 2
    const cv = this.ledger.consecutiveValid(first)
    const quorum = cv >= TRUSTED_AFTER && this.random() > 1 / cv ? 1 : 2
    this.quorums.set(unit.index, quorum)
    return quorum
  }
}
