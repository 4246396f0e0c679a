/**
 * The swarmgrid library: start a peer, submit a job and follow its progress, await its result.
 *
 *   import { startPeer, tasks } from 'swarmgrid'
 *   const peer = await startPeer({ grid: 'lab', bootstrap: ['10.0.0.5:49737'] })
 *   const job = await peer.submit({ task: 'primes', params: { to: 1e7 }, units: 32 })
 *   peer.on('progress', (id) => console.log(peer.status(id)?.progress))
 *   console.log((await peer.wait(job.id)).result)
 */
import { Peer, type PeerOptions } from './node/peer.js'

export { Peer, gridTopic, type PeerOptions, type PeerView } from './node/peer.js'
export type { JobSpec, LogEntry } from './node/coordinator.js'
export type { JobView } from './node/job-view.js'
export { JobMachine, LeaseCounter, type JobPolicy, type UnitState, type JobState, type Decision, type MachineEvent } from './node/job-machine.js'
export { runBootstrapNode, parseBootstrap } from './node/bootstrap.js'
export { FixedQuorum, type Acceptance, type Explanation } from './node/acceptance.js'
export { CredibilityAcceptance, type TrustSpec } from './node/credibility-acceptance.js'
export { AdaptiveReplication } from './node/adaptive-replication.js'
export { TrustLedger } from './node/trust-ledger.js'
export type { UnitReport } from './node/unit-explain.js'
export type { UnitSizing, Cut as SizingCut } from './node/unit-sizing.js'
export { builtinTasks as tasks } from './tasks/index.js'
export { TaskRegistry } from './tasks/registry.js'
export { ParamError, type TaskModule, type RunContext, type Params, type JobContext } from './tasks/contract.js'
export { encodeValue, decodeValue } from './tasks/values.js'

/** Starts a peer; resolves once it has joined its grid. */
export function startPeer(options?: PeerOptions): Promise<Peer> {
  return Peer.start(options)
}
