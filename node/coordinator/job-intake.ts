/**
 * What a submitted job becomes before its coordinator stores it: the spec checked, its units
 * sized when it asks for --unit-seconds, split and encoded, and the record that will track it.
 */
import { randomBytes } from 'node:crypto'
import { ParamError, type TaskModule } from '../../tasks/contract.js'
import type { TaskRegistry } from '../../tasks/registry.js'
import { encodeValue } from '../../tasks/values.js'
import { resolveSpec, type JobSpec } from './job-spec.js'
import type { JobRecord } from '../store/records.js'
import { sizeUnits } from './unit-sizing.js'
import { outlineOf } from './params-outline.js'
import { LIMITS } from '../protocol/wire.js'
import { collectShared, MAX_SHARED_BYTES } from '../../tasks/shared-bytes.js'

export interface Intake {
  task: TaskModule
  record: JobRecord
  inputs: Uint8Array[]
  /** The shared bytes the units name by hash (tasks/shared-bytes.ts): stored once, sent once per donor. */
  shared: Map<string, Uint8Array>
  /** The job's whole params, as canonical CBOR: stored once, read for the merge. */
  params: Uint8Array
}

/**
 * A job's unit inputs, encoded, come to at most this much: every one is kept in the store
 * until the job ends. Shared bytes (a program) are not in them: they are stored once.
 */
export const MAX_JOB_INPUT_BYTES = 256 * 1024 * 1024
/** The split gives the event loop back this often, so that a peer splitting a huge job still answers. */
const SLICE_MS = 10
const CHECK_EVERY = 256

/** Encodes the split's units in slices off the event loop's back, and stops as soon as they come to more than `maxBytes`. */
async function encodeInputs(units: Iterable<unknown>, maxBytes: number, shared: Map<string, Uint8Array>): Promise<Uint8Array[]> {
  const inputs: Uint8Array[] = []
  let bytes = 0
  let sliceStart = performance.now()
  for (const input of units) {
    const encoded = encodeValue(input)
    collectShared(input, shared)
    bytes += encoded.byteLength
    if (bytes > maxBytes) {
      throw new ParamError(
        `the job's unit inputs come to more than ${mib(maxBytes)} (over it at unit ${inputs.length}): ` +
          'use fewer units or smaller inputs'
      )
    }
    inputs.push(encoded)
    if (inputs.length % CHECK_EVERY === 0 && performance.now() - sliceStart > SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve))
      sliceStart = performance.now()
    }
  }
  return inputs
}

const mib = (bytes: number) => `${Math.round(bytes / (1024 * 1024))} MiB`

export interface IntakeOptions {
  /** Whether two keys on one host count as one replica, for jobs that do not say. */
  distinctHosts: boolean
  now: number
  /** Ends the measuring of a job being sized (its coordinator stopped). */
  signal: AbortSignal
  /** The cap on the job's encoded unit inputs; MAX_JOB_INPUT_BYTES unless given. */
  maxInputBytes?: number
}

export async function takeIn(spec: JobSpec, registry: TaskRegistry, options: IntakeOptions): Promise<Intake> {
  const task = registry.require(spec.task)
  await task.prepare?.()
  const params = spec.params ?? {}
  const { policy, units, unitSeconds } = resolveSpec(spec, task, options.distinctHosts)
  const sized =
    unitSeconds === undefined
      ? null
      : await sizeUnits(task, params, unitSeconds, { tasksDir: registry.dir ?? null, signal: options.signal })
  // The id is made first: a task whose units depend on the job (a seed, its clock) reads it in split.
  const id = randomBytes(8).toString('hex')
  const shared = new Map<string, Uint8Array>()
  const inputs = await encodeInputs(
    task.split(params, sized?.units ?? units, { id, createdAt: options.now }),
    options.maxInputBytes ?? MAX_JOB_INPUT_BYTES,
    shared
  )
  for (const [hash, bytes] of shared) {
    if (bytes.byteLength > MAX_SHARED_BYTES)
      throw new ParamError(
        `${task.name} shares ${bytes.byteLength} bytes among its units (${hash.slice(0, 12)}), at most ${MAX_SHARED_BYTES}`
      )
  }
  if (inputs.length === 0) throw new ParamError(`${task.name} made no units from these parameters`)
  // A unit that cannot cross the wire would be sent, and fail to leave, on every connection.
  const oversized = inputs.findIndex((input) => input.byteLength > LIMITS.payload)
  if (oversized >= 0) {
    throw new ParamError(
      `unit ${oversized} of this ${task.name} job is ${inputs[oversized].byteLength} bytes, more than the ${LIMITS.payload} a unit may carry; split it into more units`
    )
  }
  const record: JobRecord = {
    id,
    task: task.name,
    taskVersion: task.version,
    params: outlineOf(params) as JobRecord['params'],
    ...(shared.size > 0 ? { shared: [...shared.keys()] } : {}),
    units: inputs.length,
    policy,
    state: 'running',
    createdAt: options.now,
    finishedAt: null,
    error: null,
    results: 0,
    accepted: 0,
    outvoted: [],
    ...(sized ? { sizing: { ...sized, units: inputs.length } } : {})
  }
  return { task, record, inputs, shared, params: encodeValue(params) }
}
