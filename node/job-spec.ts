/**
 * What a submitter asks for (JobSpec) and how it becomes the policy a job machine runs under:
 * defaults filled in and every number checked, so a bad flag fails the submit and never a job.
 */
import { ParamError, type TaskModule } from '../tasks/contract.js'
import type { Params } from '../tasks/contract.js'
import type { JobPolicy } from './job-machine.js'
import { defaultMaxResults, trustPolicy, type TrustOptions } from './trust-keeper.js'

export const DEFAULT_UNITS = 16
export const DEFAULT_QUORUM = 2
const DEFAULT_LEASE_MS = 5 * 60 * 1000
const DEFAULT_MAX_ERRORS = 3
const MAX_UNITS = 10_000_000

export interface JobSpec extends TrustOptions {
  task: string
  params?: Params
  units?: number
  quorum?: number
  /** Results a unit may gather without agreement before it fails; default 2·quorum + 1. */
  maxResults?: number
  maxErrors?: number
  /** Seconds a donor has for one unit before it is given to another. */
  deadline?: number
}

/** The job's policy and the number of units to split it into; throws ParamError on a bad value. */
export function resolveSpec(spec: JobSpec, task: TaskModule, distinctHosts: boolean): { policy: JobPolicy; units: number } {
  const quorum = positiveInteger(spec.quorum ?? DEFAULT_QUORUM, 'quorum')
  const trust = trustPolicy(spec, distinctHosts)
  const policy: JobPolicy = {
    quorum,
    ...trust,
    maxResults: positiveInteger(spec.maxResults ?? defaultMaxResults(trust.trust, quorum), 'max-results'),
    maxErrors: positiveInteger(spec.maxErrors ?? DEFAULT_MAX_ERRORS, 'max-errors'),
    leaseMs: Math.round(positiveNumber(spec.deadline ?? DEFAULT_LEASE_MS / 1000, 'deadline') * 1000),
    ...(task.partial ? { partial: true } : {})
  }
  if (policy.maxResults < quorum && !policy.trust) throw new ParamError(`--max-results (${policy.maxResults}) must be at least --quorum (${quorum})`)
  const units = positiveInteger(spec.units ?? DEFAULT_UNITS, 'units')
  if (units > MAX_UNITS) throw new ParamError(`--units is at most ${MAX_UNITS}`)
  return { policy, units }
}

function positiveInteger(value: number, flag: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new ParamError(`--${flag} takes a whole number of at least 1, not ${value}`)
  return value
}

function positiveNumber(value: number, flag: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new ParamError(`--${flag} takes a number above 0, not ${value}`)
  return value
}
