/**
 * `swarmgrid/machine`: the pure job machine and the acceptance policies, for simulators and
 * advanced use. The same code drives every coordinator (node/coordinator) and `npm run sim`.
 */
export { JobMachine } from './node/job/machine.js'
export { LeaseCounter } from './node/job/lease-counter.js'
export { FixedQuorum } from './node/job/acceptance.js'
export type {
  JobPolicy,
  UnitState,
  JobState,
  Decision,
  MachineEvent,
  PeerRef,
  Acceptance,
  Explanation,
  TrustSpec,
  Ballot,
  UnitTally,
  Verdict
} from './node/job/types.js'
export { CredibilityAcceptance, DEFAULT_TRUST } from './node/trust/credibility-acceptance.js'
export { AdaptiveReplication } from './node/trust/adaptive-replication.js'
export { TrustLedger } from './node/trust/ledger.js'
