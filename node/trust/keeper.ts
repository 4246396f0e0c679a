/**
 * node/trust/ — who to believe: credibility from checks passed (credibility.ts), the acceptance policies that
 * weigh peers (credibility-acceptance.ts, adaptive-replication.ts), the ledger of each peer's
 * record (ledger.ts) and this keeper, which ties them to the store for a coordinator.
 *
 * The coordinator's side of trust: the ledger backed by the store, the acceptance policy each
 * job asks for, and what a job's decisions mean for the peers (checks passed, blacklisting).
 * The coordinator only routes decisions here and re-verifies what a blacklisting puts in doubt.
 */
import { ParamError } from '../../tasks/contract.js'
import { FixedQuorum, quorumExplanation } from '../job/acceptance.js'
import { type Acceptance, type Explanation } from '../job/types.js'
import { CredibilityAcceptance, DEFAULT_TRUST } from './credibility-acceptance.js'
import { type TrustSpec } from '../job/types.js'
import { newcomersNeeded } from './credibility.js'
import type { Decision, JobPolicy } from '../job/types.js'
import type { Store } from '../store/store.js'
import { TrustLedger } from './ledger.js'

/** What a job spec may say about trust (JobSpec's fields, flags `--error-rate`, `--saboteurs`, `--spot-checks`). */
export interface TrustOptions {
  errorRate?: number
  saboteurs?: number
  spotChecks?: number
  /** Whether two keys on one host may count as two replicas of a unit (default: no). */
  sameHostReplicas?: boolean
}

/** The trust part of a job's policy: credibility when any of its knobs is given, else the fixed quorum. */
export function trustPolicy(spec: TrustOptions, distinctHostsDefault: boolean): Pick<JobPolicy, 'trust' | 'distinctHosts'> {
  const distinctHosts = spec.sameHostReplicas === undefined ? distinctHostsDefault : !spec.sameHostReplicas
  if (spec.errorRate === undefined && spec.saboteurs === undefined && spec.spotChecks === undefined) return { distinctHosts }
  const trust: TrustSpec = {
    errorRate: within(spec.errorRate ?? DEFAULT_TRUST.errorRate, 'error-rate', false, 1),
    // At half or more, agreement among newcomers would be evidence of a lie: voting cannot help.
    saboteurs: within(spec.saboteurs ?? DEFAULT_TRUST.saboteurs, 'saboteurs', true, 0.5),
    spotCheckRate: within(spec.spotChecks ?? DEFAULT_TRUST.spotCheckRate, 'spot-checks', true, 1)
  }
  return { distinctHosts, trust }
}

/** Results a credibility unit may gather: room for a newcomers' quorum twice over, as 2Q + 1 is for a quorum. */
export function defaultMaxResults(trust: TrustSpec | undefined, quorum: number): number {
  return trust ? 2 * newcomersNeeded(trust.errorRate, trust.saboteurs) + 1 : 2 * quorum + 1
}

function within(value: number, flag: string, zeroAllowed: boolean, below: number): number {
  const low = zeroAllowed ? value >= 0 : value > 0
  if (typeof value !== 'number' || !Number.isFinite(value) || !low || value >= below) throw outOfRange(flag, value, zeroAllowed, below)
  return value
}

export function outOfRange(flag: string, value: unknown, zeroAllowed: boolean, below: number): ParamError {
  return new ParamError(`--${flag} takes a number ${zeroAllowed ? 'from 0' : 'above 0'} and below ${below}, not ${value}`)
}

export class TrustKeeper {
  readonly ledger: TrustLedger

  constructor(store: Store) {
    this.ledger = new TrustLedger({
      load: (key) => store.reputation(key),
      save: (record) => store.saveReputation({ ...record })
    })
  }

  acceptanceFor(policy: JobPolicy): Acceptance {
    return policy.trust ? new CredibilityAcceptance(policy.trust, this.ledger) : new FixedQuorum(policy.quorum)
  }

  /** Records what a job's decisions say of the peers; returns those blacklisted by them. */
  observe(job: string, decisions: readonly Decision[], hostOf: (key: string) => string): string[] {
    return this.ledger.observe(decisions, hostOf, job)
  }

  /** The explanation stored with an accepted output; under a fixed quorum the decision itself says it all. */
  explanation(policy: JobPolicy, d: Extract<Decision, { type: 'accept' }>, hostOf: (key: string) => string): Explanation {
    if (d.why) return d.why
    const standing = (peer: string) => ({ peer, host: hostOf(peer), credibility: null, checks: null })
    return quorumExplanation(policy.quorum, d.agreeing.map(standing), d.outvoted.map(standing))
  }
}
