/**
 * What a submitter asks for (JobSpec) and how it becomes the policy a job machine runs under:
 * defaults filled in and every number checked, so a bad flag fails the submit and never a job.
 */
import { ParamError, type TaskModule } from '../../tasks/contract.js'
import type { Params } from '../../tasks/contract.js'
import type { JobPolicy } from '../job/types.js'
import { LIMITS } from '../protocol/wire.js'
import { defaultMaxResults, trustPolicy, type TrustOptions } from '../trust/trust-options.js'

export const DEFAULT_UNITS = 16
export const DEFAULT_QUORUM = 2
const DEFAULT_LEASE_MS = 5 * 60 * 1000
const DEFAULT_MAX_ERRORS = 3
const MAX_UNITS = 10_000_000
/** Units much shorter than this cost more to hand out and check than to run. */
export const MIN_UNIT_SECONDS = 0.01

export interface JobSpec extends TrustOptions {
  task: string
  params?: Params
  units?: number
  /**
   * Instead of units: the seconds one unit should take; the coordinator measures a few pieces
   * of the job and splits it into units of about this long (node/coordinator/unit-sizing.ts).
   */
  unitSeconds?: number
  quorum?: number
  /** Results a unit may gather without agreement before it fails; default 2·quorum + 1. */
  maxResults?: number
  maxErrors?: number
  /** Seconds a donor has for one unit before it is given to another. */
  deadline?: number
}

/**
 * The job's policy and the number of units to split it into, or the seconds a unit should
 * take when the coordinator is to size them; throws ParamError on a bad value.
 */
export function resolveSpec(
  spec: JobSpec,
  task: TaskModule,
  distinctHosts: boolean
): { policy: JobPolicy; units: number; unitSeconds?: number } {
  const quorum = positiveInteger(spec.quorum ?? DEFAULT_QUORUM, 'quorum')
  const trust = trustPolicy(spec, distinctHosts)
  const policy: JobPolicy = {
    quorum,
    ...trust,
    maxResults: positiveInteger(spec.maxResults ?? defaultMaxResults(trust.trust, quorum), 'max-results'),
    maxErrors: positiveInteger(spec.maxErrors ?? DEFAULT_MAX_ERRORS, 'max-errors'),
    leaseMs: deadlineMs(spec.deadline ?? DEFAULT_LEASE_MS / 1000),
    ...(task.partial ? { partial: true } : {})
  }
  if (policy.maxResults < quorum && !policy.trust)
    throw new ParamError(`--max-results (${policy.maxResults}) must be at least --quorum (${quorum})`)
  if (spec.unitSeconds !== undefined && spec.unitSeconds !== null) {
    if (spec.units !== undefined && spec.units !== null) {
      throw new ParamError(`give --units N or --unit-seconds T, not both (--units ${spec.units}, --unit-seconds ${spec.unitSeconds})`)
    }
    return { policy, units: DEFAULT_UNITS, unitSeconds: unitSeconds(spec.unitSeconds, policy.leaseMs / 1000) }
  }
  const units = positiveInteger(spec.units ?? task.defaultUnits ?? DEFAULT_UNITS, 'units')
  if (units > MAX_UNITS) throw new ParamError(`--units is at most ${MAX_UNITS}`)
  return { policy, units }
}

/** Donors differ in speed from the peer that measured: a unit gets twice the time asked for before its deadline. */
function unitSeconds(value: unknown, deadline: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < MIN_UNIT_SECONDS) {
    throw new ParamError(`--unit-seconds takes a number of seconds of at least ${MIN_UNIT_SECONDS}, not ${JSON.stringify(value)}`)
  }
  if (value > deadline / 2) {
    throw new ParamError(
      `--unit-seconds ${value} is over half the ${deadline} s a donor has for a unit: ask for shorter units, or raise --deadline to at least ${value * 2}`
    )
  }
  return value
}

/**
 * The deadline in ms, within what the wire carries: a donor takes a deadline past it for a
 * lie, and would ban the honest coordinator that sent it, so it is refused here, at submit.
 */
function deadlineMs(seconds: number): number {
  const most = LIMITS.deadlineMs / 1000
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0.001 || seconds > most) {
    throw new ParamError(`--deadline takes seconds from 0.001 to ${most} (7 days, the most a donor accepts), not ${seconds}`)
  }
  return Math.round(seconds * 1000)
}

function positiveInteger(value: number, flag: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new ParamError(`--${flag} takes a whole number of at least 1, not ${value}`)
  return value
}
