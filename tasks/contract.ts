/**
 * The task-module contract of the design brief. A task kind is an ES module whose default
 * export satisfies TaskModule. Inputs, outputs and results are plain CBOR-able values.
 */

export type Params = Record<string, unknown>

export interface RunContext {
  /** Reports how far the unit has come, from 0 to 1. Cheap to call often: it is throttled. */
  progress(fraction: number): void
  /** Index of the unit within its job. */
  unitIndex: number
  /** Caps the donor's owner set, for tasks that run code of their own (wasm). */
  limits?: { wasmMemoryMb?: number }
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
  /** `job` is given by the coordinator; a local run (sizing, calm runs) may leave it out. */
  split(params: Params, units: number, job?: JobContext): Iterable<Input>
  run(input: Input, ctx: RunContext): Output | Promise<Output>
  merge(outputs: Output[], params: Params): Result
  /**
   * True when merge can do without some outputs: a unit that fails (max-errors reached) is
   * then left out, merge gets null in its place, and the job ends done, saying what it lacks.
   */
  partial?: boolean
  /** Fuzzy agreement between two outputs of the same unit; default: identical canonical bytes. */
  equal?(a: Output, b: Output): boolean
}

/** A parameter error a user can act on: the message says what to pass instead. */
export class ParamError extends Error {
  override name = 'ParamError'
}

export function isTaskModule(value: unknown): value is TaskModule {
  const t = value as TaskModule | null
  return !!t && typeof t.name === 'string' && Number.isInteger(t.version) &&
    typeof t.split === 'function' && typeof t.run === 'function' && typeof t.merge === 'function' &&
    (t.equal === undefined || typeof t.equal === 'function')
}
