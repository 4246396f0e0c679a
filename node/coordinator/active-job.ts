/**
 * A job running on this coordinator: its record as last written, the machine that decides its
 * units, and what the coordinator keeps beside it until the job ends (answers being voted on,
 * progress, who was outvoted, and the promise its submitter waits on).
 */
import type { TaskModule } from '../../tasks/contract.js'
import type { JobMachine } from '../job/machine.js'
import type { JobView } from './job-view.js'
import { ResultGroups } from './result-groups.js'
import type { Store } from '../store/store.js'
import type { JobRecord } from '../store/records.js'

export interface ActiveJob {
  record: JobRecord
  machine: JobMachine
  task: TaskModule
  /** Outputs of units still being voted on, by group, until the unit is settled. */
  candidates: ResultGroups
  progress: Map<number, number>
  outvoted: Set<string>
  /** Set once the job's end is being written, so it is written once. */
  finishing: boolean
  settled: Promise<JobView>
  settle: (view: JobView) => void
}

export function activeJob(store: Store, record: JobRecord, task: TaskModule, machine: JobMachine): ActiveJob {
  let settle!: (view: JobView) => void
  const settled = new Promise<JobView>((resolve) => {
    settle = resolve
  })
  return {
    record,
    machine,
    task,
    candidates: new ResultGroups(store, record.id, task),
    progress: new Map(),
    outvoted: new Set(record.outvoted),
    finishing: false,
    settled,
    settle
  }
}

/**
 * The record's counters follow the machine's, in place: a copy of the record at every result
 * was a large share of a busy coordinator's garbage, and the store's write-behind (which holds
 * this same object) then writes the latest.
 */
export function countResults(job: ActiveJob): void {
  job.record.results = job.machine.resultsReceived
  job.record.accepted = job.machine.acceptedCount
}
