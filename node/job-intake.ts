/**
 * What a submitted job becomes before its coordinator stores it: the spec checked, its units
 * sized when it asks for --unit-seconds, split and encoded, and the record that will track it.
 */
import { randomBytes } from 'node:crypto'
import { ParamError, type TaskModule } from '../tasks/contract.js'
import type { TaskRegistry } from '../tasks/registry.js'
import { encodeValue } from '../tasks/values.js'
import { resolveSpec, type JobSpec } from './job-spec.js'
import type { JobRecord } from './store.js'
import { sizeUnits } from './unit-sizing.js'

export interface Intake { task: TaskModule; record: JobRecord; inputs: Uint8Array[] }

export interface IntakeOptions {
  /** Whether two keys on one host count as one replica, for jobs that do not say. */
  distinctHosts: boolean
  now: number
  /** Ends the measuring of a job being sized (its coordinator stopped). */
  signal: AbortSignal
}

export async function takeIn(spec: JobSpec, registry: TaskRegistry, options: IntakeOptions): Promise<Intake> {
  const task = registry.require(spec.task)
  const params = spec.params ?? {}
  const { policy, units, unitSeconds } = resolveSpec(spec, task, options.distinctHosts)
  const sized = unitSeconds === undefined ? null : await sizeUnits(task, params, unitSeconds, { tasksDir: registry.dir ?? null, signal: options.signal })
  const id = randomBytes(8).toString('hex')
  const inputs = [...task.split(params, sized?.units ?? units, { id, createdAt: options.now })].map((input) => encodeValue(input))
  if (inputs.length === 0) throw new ParamError(`${task.name} made no units from these parameters`)
  const record: JobRecord = {
    id, task: task.name, taskVersion: task.version, params,
    units: inputs.length, policy, state: 'running', createdAt: options.now, finishedAt: null,
    error: null, results: 0, accepted: 0, outvoted: [], ...(sized ? { sizing: { ...sized, units: inputs.length } } : {})
  }
  return { task, record, inputs }
}
