/**
 * The typed messages between a donor and the Piscina thread that runs its units. Short units
 * travel in batches (one thread task, one port, one response for many units), so a donor's
 * threads do not spend their time waiting on the main thread for the next tiny unit.
 */
import type { MessagePort } from 'node:worker_threads'
import { ERROR_CODES, SwarmgridError, type ErrorCode } from '../base/errors.js'

export interface UnitInput {
  unit: number
  input: Uint8Array
}

/** What a pool is asked to run: units of one task, one after another on one thread. */
export interface BatchRequest {
  task: string
  /** A --tasks directory whose modules may replace the built-ins, or null. */
  tasksDir: string | null
  units: UnitInput[]
  /**
   * The shared bytes the units name by hash (tasks/shared-bytes.ts), hex → bytes. In a donor the
   * bytes sit in a SharedArrayBuffer, so they reach the thread without a copy per batch.
   */
  shared?: Array<[string, Uint8Array]>
  /** The donor's caps for tasks that run code of their own (wasm). */
  limits?: { wasmMemoryMb?: number; wasmTimeMs?: number }
  /** Niceness for the thread (Linux, where it is per thread): units yield to the owner's programs. */
  nice?: number
}

/** The same request as the thread receives it: with the port that carries progress back through comlink. */
export interface RunRequest extends BatchRequest {
  port: MessagePort
}

/** An error as it crosses a thread or process boundary. */
export interface UnitError {
  name: string
  message: string
  code?: string
}

/** What of a thrown value survives the crossing: its name, message and code (ERR_WORKER_OUT_OF_MEMORY and the like). */
export function toUnitError(err: unknown): UnitError {
  const { name, message, code } = (err ?? {}) as { name?: unknown; message?: unknown; code?: unknown }
  return { name: String(name ?? 'Error'), message: String(message ?? err), ...(code !== undefined ? { code: String(code) } : {}) }
}

/** The error again on the other side, for the donor to tell a unit's failure kind by. */
export function fromUnitError({ name, message, code }: UnitError): Error {
  // One of ours keeps its code, and with it whose fault it is, on this side too.
  if (code !== undefined && code in ERROR_CODES) return Object.assign(new SwarmgridError(code as ErrorCode, message), { name })
  return Object.assign(new Error(message), { name, ...(code !== undefined ? { code } : {}) })
}

/** What became of one unit of a batch: a unit that throws fails alone, its batch goes on. */
export type UnitOutcome = { ok: true; output: Uint8Array; runMs: number; cpuMs: number } | { ok: false; error: UnitError }

export interface RunResponse {
  /** In the order of the request's units. */
  outcomes: UnitOutcome[]
}

/** What the donor exposes to a running batch over its port. */
export interface UnitReporter {
  /** `index` is the unit's place in its batch. */
  progress(index: number, fraction: number): void
  /** The batch left the queue and runs on a thread now. */
  started?(): void
}

/** The unit process (unit-process.ts), a child that runs units under --cpu-limit: how it is set up, and what crosses to and from it. */
export interface UnitProcessConfig {
  threads: number
  memoryMb: number
  nice?: number
}

/**
 * Shared bytes the unit process keeps, by hash, the last few that batches named. The peer
 * mirrors the same choice, so it sends each program's bytes once while kept and the hash alone
 * (null bytes) after.
 */
export const UNIT_PROCESS_SHARED_KEPT = 4

/** A batch as it crosses to the unit process: shared bytes it holds already come as null. */
export interface UnitProcessBatch extends Omit<BatchRequest, 'shared'> {
  shared?: Array<[string, Uint8Array | null]>
}

export type ToUnitProcess = { t: 'run'; id: number; request: UnitProcessBatch } | { t: 'cancel'; id: number }

export type FromUnitProcess =
  | { t: 'started'; id: number }
  | { t: 'progress'; id: number; index: number; fraction: number }
  | { t: 'done'; id: number; response: RunResponse }
  | { t: 'failed'; id: number; error: UnitError }
  | { t: 'cpu'; ms: number }
