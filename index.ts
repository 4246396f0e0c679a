/// <reference path="./types/hyperswarm/index.d.ts" preserve="true" />
/// <reference path="./types/hyperdht/index.d.ts" preserve="true" />
/// <reference path="./types/protomux/index.d.ts" preserve="true" />
/// <reference path="./types/comlink-esm.d.ts" preserve="true" />
/**
 * The swarmgrid library: start a peer, submit a job and follow its progress, await its result.
 *
 *   import { startPeer, tasks } from 'swarmgrid'
 *   const peer = await startPeer({ grid: 'lab', bootstrap: ['10.0.0.5:49737'] })
 *   const job = await peer.submit({ task: 'primes', params: { to: 1e7 }, units: 32 })
 *   peer.on('progress', (id) => console.log(peer.status(id)?.progress))
 *   console.log((await peer.wait(job.id)).result)
 *
 * The job machine and the acceptance policies, for simulators and advanced use, are behind
 * their own entry: `import { JobMachine } from 'swarmgrid/machine'`.
 */
import { Peer, type PeerOptions } from './node/peer/peer.js'

export { Peer, gridTopic, type PeerOptions, type PeerView } from './node/peer/peer.js'
export type { JobSpec } from './node/coordinator/job-spec.js'
export type { LogEntry } from './base/log.js'
export type { JobView } from './node/coordinator/job-view.js'
export type { UnitReport } from './node/job/types.js'
export type { UnitSizing, Cut as SizingCut, JobState, UnitState, Explanation, TrustSpec } from './node/job/types.js'
export { runBootstrapNode, parseBootstrap } from './node/peer/bootstrap.js'
export { builtinTasks as tasks, type ResultOf, type ResultFor } from './tasks/index.js'
export { TaskRegistry } from './tasks/registry.js'
export { ParamError, type TaskModule, type RunContext, type Params, type JobContext } from './tasks/contract.js'
export { encodeValue, decodeValue } from './tasks/values.js'
export { SwarmgridError, ERROR_CODES, type ErrorCode } from './base/errors.js'

/** Starts a peer; resolves once it has joined its grid. */
export function startPeer(options?: PeerOptions): Promise<Peer> {
  return Peer.start(options)
}
