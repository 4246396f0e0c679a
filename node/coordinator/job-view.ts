/**
 * The view of a job that `submit --json`, `status --json`, the control API and the dashboard
 * all show: one shape, built from the store alone or from a running job's machine.
 */
import type { Params } from '../../tasks/contract.js'
import { decodeValue } from '../../tasks/values.js'
import type { JobMachine } from '../job/machine.js'
import type { JobState, UnitState } from '../job/types.js'
import type { JobRecord } from '../store/records.js'
import type { TrustSpec } from '../job/types.js'
import type { UnitSizing } from '../job/types.js'

/** A job as it stands; `R` is its result's type when the task is known (see ResultFor in tasks/index.ts). */
export interface JobView<R = unknown> {
  id: string
  task: string
  params: Params
  state: JobState
  units: number
  accepted: number
  /** Every result received, replicas included. */
  results: number
  quorum: number
  /**
   * How units are accepted: a fixed quorum, or credibility 1 − ε under an assumed saboteur
   * fraction with spot-checks; each unit's reasons are at GET /api/jobs/:id/units/:n and
   * `swarmgrid status JOB --unit N`.
   */
  acceptance: { rule: 'quorum'; quorum: number } | ({ rule: 'credibility' } & TrustSpec)
  unitStates: Record<UnitState, number>
  /** Accepted units plus the progress of those running, over all units: 0 to 1. */
  progress: number
  /** Results received per accepted unit. */
  redundancy: number | null
  /** Peers whose results lost a vote in this job. */
  outvoted: string[]
  /** Donors that refused to run this job, and why: unsigned, untrusted signer, task kind not allowed. */
  refusals: Array<{ peer: string; reason: string }>
  /** For a job submitted with --unit-seconds: what was measured and how many units that made; else null. */
  sizing: UnitSizing | null
  createdAt: number
  finishedAt: number | null
  error: string | null
  /** The merged result once the job is done, else null. */
  result: R | null
}

export interface LiveJob {
  machine: JobMachine
  outvoted: string[]
  progress: Map<number, number>
  result?: Uint8Array
}

export function jobView(record: JobRecord, live?: LiveJob, storedResult?: Uint8Array): JobView {
  const accepted = live?.machine.acceptedCount ?? record.accepted
  const results = live?.machine.resultsReceived ?? record.results
  const unitStates = live?.machine.counts() ?? storedCounts(record)
  let partial = 0
  for (const fraction of live?.progress.values() ?? []) partial += fraction
  const resultBytes = live?.result ?? storedResult
  return {
    id: record.id,
    task: record.task,
    params: record.params,
    state: record.state,
    units: record.units,
    accepted,
    results,
    quorum: record.policy.quorum,
    acceptance: record.policy.trust ? { rule: 'credibility', ...record.policy.trust } : { rule: 'quorum', quorum: record.policy.quorum },
    unitStates,
    progress: record.state === 'done' ? 1 : Math.min(1, (accepted + partial) / record.units),
    redundancy: accepted > 0 ? results / accepted : null,
    outvoted: live?.outvoted ?? record.outvoted,
    refusals: (record.refusals ?? []).map(({ peer, reason }) => ({ peer, reason })),
    sizing: record.sizing ?? null,
    createdAt: record.createdAt,
    finishedAt: record.finishedAt,
    error: record.error,
    result: resultBytes ? decodeValue(resultBytes) : null
  }
}

/** Without a live machine the store knows only which units were accepted. */
function storedCounts(record: JobRecord): Record<UnitState, number> {
  const open = record.units - record.accepted
  const settledAsFailed = record.state === 'failed' ? 1 : 0
  return {
    waiting: record.state === 'running' ? open : 0,
    running: 0,
    'awaiting-agreement': 0,
    accepted: record.accepted,
    failed: Math.min(open, settledAsFailed)
  }
}
