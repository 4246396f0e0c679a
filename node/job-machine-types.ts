/**
 * The vocabulary of the job machine (job-machine.ts): the states a unit and a job can be in,
 * the policy a job runs under, and the events it takes in and the decisions it gives out.
 * Kept apart so that the store, the trust code and the views can name them without the machine.
 */
import type { Explanation } from './acceptance.js'
import type { TrustSpec } from './credibility-acceptance.js'

export type UnitState = 'waiting' | 'running' | 'awaiting-agreement' | 'accepted' | 'failed'
export type JobState = 'running' | 'done' | 'failed' | 'cancelled'

export interface JobPolicy {
  /** Results from distinct peers that must agree before a unit is accepted. */
  quorum: number
  /** Results a unit may gather without reaching a quorum before it fails. */
  maxResults: number
  /** Errors and missed deadlines a unit may suffer before it fails (BOINC's max_error_results). */
  maxErrors: number
  /** How long a donor holds a lease before the unit is handed to someone else. */
  leaseMs: number
  /** The task takes partial results: a unit that fails is left out, and the job goes on without it. */
  partial?: boolean
  /** Two keys on one host never count as independent replicas of a unit (off only where every peer shares a host, as on loopback). */
  distinctHosts?: boolean
  /** Credibility-based acceptance instead of the fixed quorum (see credibility-acceptance.ts). */
  trust?: TrustSpec
}

export interface PeerRef { key: string; host: string }

export type MachineEvent =
  | { type: 'result'; lease: number; peer: string; group: string; now: number }
  | { type: 'failure'; lease: number; peer: string; kind: 'error' | 'timeout' | 'memory' | 'handback' | 'output'; reason: string; now: number }
  | { type: 'disconnect'; peer: string; now: number }
  | { type: 'tick'; now: number }
  | { type: 'cancel'; now: number }

export type Decision =
  | { type: 'assign'; lease: number; unit: number; peer: string; deadline: number }
  | { type: 'cancel-lease'; lease: number; unit: number; peer: string }
  | { type: 'verdict'; lease: number; peer: string; accepted: boolean }
  | { type: 'accept'; unit: number; group: string; agreeing: string[]; outvoted: string[]; why?: Explanation }
  | { type: 'spot-check'; lease: number; unit: number; peer: string; passed: boolean }
  /** Backtracking: an accepted unit lost the credibility it was accepted on and is open again. */
  | { type: 'unaccept'; unit: number; group: string; reason: string }
  | { type: 'reissue'; unit: number; reason: string }
  | { type: 'unit-failed'; unit: number; reason: string }
  | { type: 'job-done' }
  | { type: 'job-failed'; reason: string }
  | { type: 'violation'; peer: string; reason: string }
