/// <reference path="./types/hyperswarm/index.d.ts" preserve="true" />
/// <reference path="./types/hyperdht/index.d.ts" preserve="true" />
/// <reference path="./types/protomux/index.d.ts" preserve="true" />
/**
 * The swarmgrid library: start a peer, submit a job and follow its progress, await its result.
 *
 *   import { startPeer, tasks } from 'swarmgrid'
 *   const peer = await startPeer({ grid: 'lab', bootstrap: ['10.0.0.5:49737'] })
 *   const job = await peer.submit({ task: 'primes', params: { to: 1e7 }, units: 32 })
 *   peer.on('progress', (id) => console.log(peer.status(id)?.progress))
 *   console.log((await peer.wait(job.id)).result)
 */
import { Peer, type PeerOptions } from './node/peer/peer.js'
import type { JobSpec } from './node/coordinator/job-spec.js'
import type { JobView } from './node/coordinator/job-view.js'
import type { TaskModule } from './tasks/contract.js'
import { builtinTasks, typedTasks } from './tasks/index.js'

export { Peer, gridTopic, type PeerOptions, type PeerView } from './node/peer/peer.js'
export type { LogEntry } from './node/coordinator/coordinator.js'
export type { JobSpec } from './node/coordinator/job-spec.js'
export type { JobView } from './node/coordinator/job-view.js'
export { JobMachine } from './node/job/machine.js'
export { LeaseCounter } from './node/job/lease-counter.js'
export { type JobPolicy, type UnitState, type JobState, type Decision, type MachineEvent } from './node/job/types.js'
export { runBootstrapNode, parseBootstrap } from './node/peer/bootstrap.js'
export { FixedQuorum } from './node/job/acceptance.js'
export { type Acceptance, type Explanation } from './node/job/types.js'
export { CredibilityAcceptance } from './node/trust/credibility-acceptance.js'
export { type TrustSpec } from './node/job/types.js'
export { AdaptiveReplication } from './node/trust/adaptive-replication.js'
export { TrustLedger } from './node/trust/ledger.js'
export type { UnitReport } from './node/coordinator/unit-explain.js'
export type { UnitSizing, Cut as SizingCut } from './node/job/types.js'
export { TaskRegistry } from './tasks/registry.js'
export { ParamError, type TaskModule, type RunContext, type Params } from './tasks/contract.js'
export { encodeValue, decodeValue } from './tasks/values.js'

/** Starts a peer; resolves once it has joined its grid. */
export function startPeer(options?: PeerOptions): Promise<Peer> {
  return Peer.start(options)
}

/** The built-in task modules by name, each with its own types: `tasks.primes` merges to `{ count: number }`. */
export const tasks = builtinTasks as typeof typedTasks & Record<string, TaskModule>

/** The type of a task module's job result: what its merge returns. */
export type ResultOf<M> = M extends { merge(...args: any[]): infer R } ? R : unknown

/** A job's view with its result typed by its task (null until the job is done). */
export type TypedJobView<R> = Omit<JobView, 'result'> & { result: R | null }

/**
 * Submits a job of `task` to the peer and resolves with its final view, the result typed by the
 * task: `(await runJob(peer, tasks.primes, { params: { to: 1e6 } })).result?.count` is a number.
 */
export async function runJob<M extends { name: string; merge(...args: any[]): unknown }>(
  peer: Peer, task: M, spec: Omit<JobSpec, 'task'> = {}): Promise<TypedJobView<ResultOf<M>>> {
  const job = await peer.submit({ ...spec, task: task.name })
  return await peer.wait(job.id) as TypedJobView<ResultOf<M>>
}
