/**
 * The vocabulary of a job, in one file that imports nothing: the states a unit and a job can
 * be in, the policy a job runs under, the events the machine (machine.ts) takes in and the
 * decisions it gives out, the ballots and tallies an acceptance policy weighs, the verdicts and
 * explanations it gives, and how a job was sized. The store, the trust code, the coordinator
 * and the views all name these without importing the machine or one another.
 */

export type UnitState = 'waiting' | 'running' | 'awaiting-agreement' | 'accepted' | 'failed'
export type JobState = 'running' | 'done' | 'failed' | 'cancelled'

export interface JobPolicy {
  /** Results from distinct peers that must agree before a unit is accepted. */
  quorum: number
  /** Results a unit may gather without reaching a quorum before it fails. */
  maxResults: number
  /**
   * Errors a unit may suffer before it fails (BOINC's max_error_results): failures its donors
   * report, a timeout reported after its lease expired included. A lease that expires in
   * silence is the donor's fault, not the unit's, and counts against the donor only.
   */
  maxErrors: number
  /** How long a donor holds a lease before the unit is handed to someone else. */
  leaseMs: number
  /** The task takes partial results: a unit that fails is left out, and the job goes on without it. */
  partial?: boolean
  /** Two keys on one host never count as independent replicas of a unit (off only where every peer shares a host, as on loopback). */
  distinctHosts?: boolean
  /** Credibility-based acceptance instead of the fixed quorum (see node/trust/credibility-acceptance.ts). */
  trust?: TrustSpec
}

export interface PeerRef {
  key: string
  host: string
}

export type MachineEvent =
  | { type: 'result'; lease: number; peer: string; group: string; now: number }
  | {
      type: 'failure'
      lease: number
      peer: string
      kind: 'error' | 'timeout' | 'memory' | 'handback' | 'output'
      reason: string
      now: number
    }
  | { type: 'disconnect'; peer: string; now: number }
  | { type: 'tick'; now: number }
  | { type: 'cancel'; now: number }

export type Decision =
  | { type: 'assign'; lease: number; unit: number; peer: string; deadline: number }
  | { type: 'cancel-lease'; lease: number; unit: number; peer: string }
  /** A donor let a lease run past its deadline without a word: that counts against the donor, not the unit; the lease is not cancelled. */
  | { type: 'lease-expired'; lease: number; unit: number; peer: string }
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

/** Credibility-based acceptance (trust/credibility-acceptance.ts): what a job tolerates and assumes. */
export interface TrustSpec {
  /** ε: the chance of a wrong accepted unit the job tolerates. */
  errorRate: number
  /** f: the fraction of saboteurs assumed, at worst, among the peers. */
  saboteurs: number
  /** q: the chance that a unit leased to a peer trusted alone is a spot-check instead. */
  spotCheckRate: number
}

/** One independent result of a unit: who gave it, from which host, which answer group it is in. */
export interface Ballot {
  peer: string
  host: string
  group: string
}

/** What a policy sees of an open unit. */
export interface UnitTally {
  index: number
  /** One per independent identity (per host when hosts must differ), in arrival order. */
  ballots: readonly Ballot[]
  /** Peers running it now. */
  running: readonly PeerRef[]
}

/** A peer as an explanation shows it; credibility is null under rules that do not weigh peers. */
export interface PeerStanding {
  peer: string
  host: string
  credibility: number | null
  checks: number | null
}

/** Why a unit was accepted: stored with its output, shown by `status --unit` and the API. */
export interface Explanation {
  rule: 'quorum' | 'credibility' | 'adaptive'
  /** Credibility of the accepted answer, and the 1 − ε it had to reach. */
  credibility: number | null
  threshold: number | null
  /** Results the rule asked for (a quorum), when it is a count. */
  required: number | null
  agreeing: PeerStanding[]
  /** Results that gave another answer. */
  against: PeerStanding[]
}

export interface Verdict {
  group: string
  why?: Explanation
}

/** Why a unit was accepted, or where it stands: what `status JOB --unit N` and GET /api/jobs/:id/units/:n show. */
export interface UnitReport {
  job: string
  unit: number
  state: UnitState
  why: Explanation | null
  reason: string
}

export interface Acceptance {
  /** May this peer run units of the job at all (a blacklisted one may not)? */
  admits(peer: PeerRef): boolean
  /** The answer to accept now, or null to wait for more results. */
  decide(unit: UnitTally): Verdict | null
  /** Replicas to lease now, beyond those running, so that the unit could be decided. */
  wanted(unit: UnitTally): number
  /** Whether this peer's lone result would be accepted: it then takes fresh units before others' replicas. */
  standsAlone?(peer: PeerRef): boolean
  /** A draw in [0, 1) to pick an accepted unit to spot-check this peer with, or null for ordinary work. */
  spotCheck?(peer: PeerRef): number | null
}

export interface Cut {
  pieces: number
  samples: number
  msPerPiece: number
}

/** What the coordinator chose for a job submitted with --unit-seconds; kept in its record and shown. */
export interface UnitSizing {
  /** The run time asked for, per unit, in seconds. */
  unitSeconds: number
  /** The fine cut, then the cut at the first estimate when there was time to measure it. */
  cuts: Cut[]
  /** What each unit costs whatever its size (set-up, allocation), in ms; 0 when only the fine cut was measured. */
  fixedMs: number
  /** A piece of the fine cut ran past the time budget and was stopped: pieces take at least its msPerPiece. */
  overBudget: boolean
  /** Units the job was split into. */
  units: number
  /** Time the measuring took, the thread's start included, in ms. */
  tookMs: number
}
