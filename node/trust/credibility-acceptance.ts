/**
 * Credibility-based acceptance (Sarmenta 2002) as a JobMachine policy: a unit is accepted when
 * the credibility of one answer group reaches 1 − ε. A well-proven peer's lone result can be
 * enough; a newcomer's needs company; a blacklisted peer gets no work and its results weigh
 * nothing. Peers trusted alone are spot-checked at rate q with units whose answer is known.
 */
import type { Acceptance, Ballot, Explanation, PeerStanding, UnitTally, Verdict } from '../job/types.js'
import { groupDoubt, logOdds, peerCredibility } from './credibility.js'
import type { PeerRef, TrustSpec } from '../job/types.js'
import { checksPassed, type TrustLedger } from './ledger.js'

export const DEFAULT_TRUST: TrustSpec = { errorRate: 1e-4, saboteurs: 0.2, spotCheckRate: 0.02 }

const BLACKLISTED = logOdds(0)

interface Weighed {
  group: string
  sum: number
  ballots: Ballot[]
}

export class CredibilityAcceptance implements Acceptance {
  /** Log-odds by checks passed: asked for on every result, and there are few distinct counts. */
  private readonly weights: number[] = []

  constructor(
    readonly spec: TrustSpec,
    private readonly ledger: TrustLedger,
    private readonly random: () => number = Math.random
  ) {}

  admits(peer: PeerRef): boolean {
    return !this.ledger.blacklisted(peer.key)
  }

  credibility(key: string): number {
    const record = this.ledger.get(key)
    return record?.blacklisted ? 0 : peerCredibility(checksPassed(record), this.spec.saboteurs)
  }

  private weight(key: string): number {
    const record = this.ledger.get(key)
    if (record?.blacklisted) return BLACKLISTED
    const checks = checksPassed(record)
    return (this.weights[checks] ??= logOdds(peerCredibility(checks, this.spec.saboteurs)))
  }

  decide(unit: UnitTally): Verdict | null {
    const standing = this.assess(unit)
    if (!standing || 1 - standing.why.credibility! > this.spec.errorRate) return null
    return standing
  }

  /** The answer in the lead and how credible it is, whether or not that is enough yet. */
  assess(unit: UnitTally): Required<Verdict> | null {
    const groups = this.weigh(unit.ballots)
    const best = leading(groups)
    if (!best) return null
    const doubt = groupDoubt(
      best.sum,
      groups.map((g) => g.sum)
    )
    return { group: best.group, why: this.explain(best, groups, 1 - doubt) }
  }

  /** One more replica while the answer in the lead, joined by every running replica, would still fall short. */
  wanted(unit: UnitTally): number {
    const groups = this.weigh(unit.ballots)
    const best = leading(groups)
    let projected = best?.sum ?? 0
    for (const peer of unit.running) projected += this.weight(peer.key)
    if (!best && unit.running.length === 0) return 1
    const sums = groups.filter((g) => g !== best).map((g) => g.sum)
    return groupDoubt(projected, [projected, ...sums]) > this.spec.errorRate ? 1 : 0
  }

  /**
   * Only a peer trusted alone is spot-checked: everyone else's results are replicated anyway,
   * and a replica checks two peers for the price of one extra result where a spot-check checks one.
   */
  spotCheck(peer: PeerRef): number | null {
    if (this.spec.spotCheckRate <= 0 || this.random() >= this.spec.spotCheckRate) return null
    return this.standsAlone(peer) ? this.random() : null
  }

  standsAlone(peer: PeerRef): boolean {
    const weight = this.weight(peer.key)
    return groupDoubt(weight, [weight]) <= this.spec.errorRate
  }

  standing(ballot: Ballot): PeerStanding {
    const record = this.ledger.get(ballot.peer)
    const checks = checksPassed(record)
    return {
      peer: ballot.peer,
      host: ballot.host,
      checks,
      credibility: record?.blacklisted ? 0 : peerCredibility(checks, this.spec.saboteurs)
    }
  }

  private weigh(ballots: readonly Ballot[]): Weighed[] {
    const groups: Weighed[] = []
    for (const ballot of ballots) {
      const weight = this.weight(ballot.peer)
      // A blacklisted peer's results are dropped, as Sarmenta does, not counted as evidence either way.
      if (weight === BLACKLISTED) continue
      let group = groups.find((g) => g.group === ballot.group)
      if (!group) groups.push((group = { group: ballot.group, sum: 0, ballots: [] }))
      group.sum += weight
      group.ballots.push(ballot)
    }
    return groups
  }

  private explain(best: Weighed, groups: Weighed[], credibility: number): Explanation {
    return {
      rule: 'credibility',
      credibility,
      threshold: 1 - this.spec.errorRate,
      required: null,
      agreeing: best.ballots.map((b) => this.standing(b)),
      against: groups.filter((g) => g !== best).flatMap((g) => g.ballots.map((b) => this.standing(b)))
    }
  }
}

function leading(groups: Weighed[]): Weighed | undefined {
  let best: Weighed | undefined
  for (const g of groups) if (!best || g.sum > best.sum) best = g
  return best
}
