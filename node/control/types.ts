/**
 * What the control API and the live feed use of a peer, stated here so that they depend on
 * these few verbs and not on the Peer class above them: the peer implements this interface
 * (node/peer/peer.ts), tests can serve any object that does.
 */
import type { LogEntry } from '../../base/log.js'
import type { ParamSchema } from '../../tasks/contract.js'
import type { JobSpec } from '../coordinator/job-spec.js'
import type { JobView } from '../coordinator/job-view.js'
import type { UnitReport } from '../job/types.js'
import type { DonorControls } from '../donor/controls.js'
import type { DonorStats } from '../donor/donor.js'
import type { Reputation } from '../store/records.js'

/** A peer of the grid as this peer knows it: connected now, or remembered by its reputation. */
export interface PeerView {
  key: string
  host: string
  connected: boolean
  roles: string[]
  tasks: string[]
  threads: number
  validated: number
  invalidated: number
  errors: number
  agreement: number | null
  outvoted: boolean
  /** Credit this peer granted it, in reference CPU-seconds of accepted work. */
  credit: number
  /** Checks passed toward credibility: accepted results alone, corroborated ones and spot-checks. */
  checks: number
  /** Why it is barred from this peer's credibility jobs, or null. */
  blacklisted: string | null
}

/** A task this peer runs; `schema` is the JSON Schema of its params, which the dashboard's form is built from. */
export interface TaskListing {
  name: string
  version: number
  params: Record<string, string>
  schema: ParamSchema | null
}

/** The events a controlled peer emits: 'progress' (job id), 'log' (LogEntry) and 'donor' (its donor ran, ended or heard of a unit). */
export type ControlEvent = 'progress' | 'log' | 'donor'

export interface ControlledPeer {
  readonly key: string
  readonly grid: string
  /** The HTTP address of the control API, or null when HTTP is off. */
  readonly url: string | null
  readonly roles: { donate: boolean; coordinate: boolean }
  readonly log: readonly LogEntry[]
  tasks(): TaskListing[]
  jobs(): JobView[]
  status(id: string): JobView | undefined
  submit(spec: JobSpec): Promise<JobView>
  cancel(id: string): Promise<JobView | undefined>
  /** The stored result's bytes of a finished job. */
  result(id: string): Uint8Array | undefined
  /** Why a unit was accepted, or null when there is no such job. */
  unitReport(id: string, unit: number): UnitReport | null
  peers(): PeerView[]
  reputation(key: string): Reputation | undefined
  donorStats(): DonorStats | null
  /** The owner's commands to this peer's donor; null when it does not donate. */
  donorControls(): DonorControls | null
  on(event: ControlEvent, listener: (...args: any[]) => void): unknown
  off(event: ControlEvent, listener: (...args: any[]) => void): unknown
}
