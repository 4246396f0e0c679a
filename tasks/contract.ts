/**
 * The task-module contract of the design brief. A task kind is an ES module whose default
 * export satisfies TaskModule. Inputs, outputs and results are plain CBOR-able values.
 */
import { SwarmgridError } from '../base/errors.js'

import type { ValueLimits } from './value-limits.js'

export type Params = Record<string, unknown>

export interface RunContext {
  /** Reports how far the unit has come, from 0 to 1. Cheap to call often: it is throttled. */
  progress(fraction: number): void
  /** Index of the unit within its job. */
  unitIndex: number
  /** Caps the donor's owner set, for tasks that run code of their own (wasm, js). */
  limits?: { wasmMemoryMb?: number; wasmTimeMs?: number }
}

/** The job a split or merge is for, where the coordinator knows it (tasks that seed or date their units use it). */
export interface JobContext {
  id: string
  /** ms since the epoch */
  createdAt: number
}

/** The job a split belongs to, for kinds whose units depend on it (wasi's clock and seed). */
export interface JobContext {
  id: string
  /** ms since 1970, as the coordinator stored it */
  createdAt: number
}

export interface TaskModule<Input = unknown, Output = unknown, Result = unknown> {
  name: string
  version: number
  /** Human-readable description of the parameters, shown by `--help` and errors. */
  params?: Record<string, string>
  /** JSON Schema of the params object: what the dashboard's form is built from (see paramSchema). */
  schema?: ParamSchema
  /** `job` is given by the coordinator; a local run (sizing, calm runs) may leave it out. */
  split(params: Params, units: number, job?: JobContext): Iterable<Input>
  run(input: Input, ctx: RunContext): Output | Promise<Output>
  merge(outputs: Output[], params: Params, job?: JobContext): Result
  /** Units to split into when the submitter gives no --units (default 16). */
  defaultUnits?: number
  /**
   * Loads what a synchronous split or merge needs (a sandbox). The coordinator awaits it before
   * a job of this kind is split or merged, not at every peer's start: QuickJS alone took a
   * peer's start 30-90 ms whether or not a js job ever came (bench figure 1p).
   */
  prepare?(): Promise<void>
  /**
   * True when merge can do without some outputs: a unit that fails (max-errors reached) is
   * then left out, merge gets null in its place, and the job ends done, saying what it lacks.
   */
  partial?: boolean
  /** Fuzzy agreement between two outputs of the same unit; default: identical canonical bytes. */
  equal?(a: Output, b: Output): boolean
  /**
   * How big one unit's output may be, in CBOR items, nesting and bytes (tasks/value-limits.ts);
   * each field defaults to DEFAULT_OUTPUT_LIMITS. A donor reports a larger output as a failure
   * of the unit, and a coordinator never decodes one.
   */
  outputLimits?: Partial<ValueLimits>
}

/** A parameter error a user can act on: the message says what to pass instead. */
export class ParamError extends SwarmgridError {
  override name = 'ParamError'
  constructor(message: string) {
    super('BAD_PARAM', message)
  }
}

/** The longest task name the wire carries; longer, and every peer would refuse the hello that names it. */
export const MAX_TASK_NAME = 64

/** A name the wire carries and a terminal shows as it is: 1 to 64 characters, none of them a control character. */
export function isTaskName(name: unknown): name is string {
  return typeof name === 'string' && name.length >= 1 && name.length <= MAX_TASK_NAME && !/[\u0000-\u001f\u007f-\u009f]/.test(name)
}

export function isTaskModule(value: unknown): value is TaskModule {
  const t = value as TaskModule | null
  return (
    !!t &&
    isTaskName(t.name) &&
    Number.isSafeInteger(t.version) &&
    t.version >= 0 &&
    typeof t.split === 'function' &&
    typeof t.run === 'function' &&
    typeof t.merge === 'function' &&
    (t.equal === undefined || typeof t.equal === 'function') &&
    (t.prepare === undefined || typeof t.prepare === 'function')
  )
}

/** One parameter's JSON Schema: the subset a form can offer. */
export interface ParamProperty {
  type: 'integer' | 'number' | 'string' | 'boolean'
  description: string
  default?: number | string | boolean
  minimum?: number
  maximum?: number
}

export interface ParamSchema {
  type: 'object'
  properties: Record<string, ParamProperty>
  required: string[]
  additionalProperties: false
}

/** A params schema whose descriptions are the task's own `params` texts, so the two cannot drift apart. */
export function paramSchema(
  described: Record<string, string>,
  types: Record<string, Omit<ParamProperty, 'description'> & { required?: boolean }>
): ParamSchema {
  const properties: Record<string, ParamProperty> = {}
  const required: string[] = []
  for (const [name, { required: needed, ...rule }] of Object.entries(types)) {
    if (!(name in described)) throw new Error(`schema names "${name}", which the task does not describe`)
    properties[name] = { ...rule, description: described[name] }
    if (needed) required.push(name)
  }
  return { type: 'object', properties, required, additionalProperties: false }
}
