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
}

export interface RunResponse {
  output: Uint8Array
  runMs: number
}

/** What the donor exposes to a running unit over its port. */
export interface UnitReporter {
  progress(fraction: number): void
}
