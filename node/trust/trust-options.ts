/**
 * What a job spec may say about trust, and the policy it makes: pure, with no store, so that
 * a job spec (and the library's types) can name it without the keeper.
 */
import { ParamError } from '../../tasks/contract.js'
import type { JobPolicy, TrustSpec } from '../job/types.js'
import { DEFAULT_TRUST } from './credibility-acceptance.js'
import { newcomersNeeded } from './credibility.js'

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
