/**
 * The end of a job whose units are all settled: their accepted outputs, read back from the
 * store in unit order, merged by the task into the job's result. A task that takes partial
 * results gets null for each unit left out, and the job says which.
 */
import { decodeValue, encodeValue } from '../../tasks/values.js'
import type { ActiveJob } from './active-job.js'
import type { Store } from '../store/store.js'

/** The merged result, and the note a partial result carries (null when whole); throws when the merge cannot be made. */
export function mergeOutputs(store: Store, job: ActiveJob): { result: Uint8Array; partial: string | null } {
  const { record } = job
  const outputs: unknown[] = []
  const leftOut: number[] = []
  for (let unit = 0; unit < record.units; unit++) {
    const accepted = store.acceptedOutput(record.id, unit)
    // A task that takes partial results gets null for each unit left out.
    if (!accepted && record.policy.partial && job.machine.unitState(unit) === 'failed') {
      leftOut.push(unit)
      outputs.push(null)
      continue
    }
    if (!accepted) throw new Error(`accepted output of unit ${unit} is missing from the store`)
    outputs.push(decodeValue(accepted.output))
  }
  // The whole params, stored once apart; a job stored before they were kept apart has them in its record.
  const stored = store.jobParams(record.id)
  const params = stored ? decodeValue<typeof record.params>(stored) : record.params
  const result = encodeValue(job.task.merge(outputs, params, { id: record.id, createdAt: record.createdAt }))
  const partial =
    leftOut.length > 0
      ? `partial result: ${leftOut.length} of ${record.units} units left out (${leftOut.slice(0, 10).join(', ')}${leftOut.length > 10 ? ', …' : ''}; the log says why)`
      : null
  return { result, partial }
}
