/** The typed messages between a donor and the Piscina thread that runs one unit. */
import type { MessagePort } from 'node:worker_threads'

export interface RunRequest {
  task: string
  /** A --tasks directory whose modules may replace the built-ins, or null. */
  tasksDir: string | null
  unit: number
  input: Uint8Array
  /** Carries progress back to the donor through comlink. */
  port: MessagePort
  /** The donor's caps for tasks that run code of their own (wasm). */
  limits?: { wasmMemoryMb?: number }
  /** Niceness for the thread (Linux, where it is per thread): units yield to the owner's programs. */
  nice?: number
}

export interface RunResponse {
  output: Uint8Array
  runMs: number
  /** CPU time of the thread for this unit where the OS tells it (Linux), else runMs. */
  cpuMs?: number
}

/** What the donor exposes to a running unit over its port. */
export interface UnitReporter {
  progress(fraction: number): void
  /** The unit left the queue and runs on a thread now. */
  started?(): void
}
