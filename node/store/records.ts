/**
 * The shapes of what the store keeps: a job, an accepted output, a peer's reputation. Apart
 * from store.ts so that whoever names them, the library's types among them, needs no lmdb.
 */
import type { Params } from '../../tasks/contract.js'
import type { Explanation, JobPolicy, JobState, UnitSizing } from '../job/types.js'

export interface JobRecord {
  id: string
  task: string
  taskVersion: number
  /**
   * The params as shown: long strings, byte strings and lists go by their size, since this record
   * is rewritten behind every result. The job's whole params are stored once beside it (Store.jobParams).
   */
  params: Params
  /** Hex SHA-256 of the shared bytes its units name (tasks/shared-bytes.ts), each stored once (Store.sharedBytes). */
  shared?: string[]
  units: number
  policy: JobPolicy
  state: JobState
  createdAt: number
  finishedAt: number | null
  error: string | null
  /** Every result received, replicas included. */
  results: number
  accepted: number
  /** Peers whose results lost a vote in this job. */
  outvoted: string[]
  /** Donors that would not run this job, and why (node/donor/policy.ts). */
  refusals?: Array<{ peer: string; reason: string; at: number }>
  /** How the units were sized, for a job submitted with --unit-seconds (node/coordinator/unit-sizing.ts). */
  sizing?: UnitSizing
}

export interface AcceptedOutput {
  output: Uint8Array
  digest: string
  peers: string[]
  at: number
  /** Why it was accepted: the rule, the agreeing peers and their credibility (node/job/acceptance.ts). */
  why?: Explanation
}

export interface Reputation {
  key: string
  host: string
  validated: number
  invalidated: number
  errors: number
  /** Results in a row that agreed with the accepted answer. */
  consecutiveValid: number
  lastSeen: number
  /** Results that matched an answer accepted on credibility, beside another peer's (node/trust/ledger.ts). */
  corroborated?: number
  spotChecksPassed?: number
  spotChecksFailed?: number
  /** Why this peer gets no more work and its results weigh nothing; null while in good standing. */
  blacklisted?: string | null
  /** The job and unit whose accepted answer it contradicted, if that was why: overturning it reinstates the peer. */
  blacklistedOn?: string | null
}
