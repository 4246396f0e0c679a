/**
 * The plain-Piscina baseline's worker: runs a unit with nothing around it (no CBOR, no
 * comlink port, no registry), so the grid's figures show what the grid itself costs.
 */
import primes, { type PrimesInput, type PrimesOutput } from '../tasks/primes.js'
import wasi, { type WasiUnit } from '../tasks/wasi.js'
import type { RunOutput } from '../worker/sandbox/wasi/run.js'

const ctx = { unitIndex: 0, progress() {} }

export default function runPrimes(input: PrimesInput): PrimesOutput {
  return primes.run(input, ctx) as PrimesOutput
}

/** The trivial task of the dispatch-rate baseline: Piscina's own per-task cost and nothing else. */
export function noop(input: unknown): unknown {
  return input
}

/** The wasi baseline: one run in the same shim as the grid's, with nothing around it. */
export function runWasiUnit(input: WasiUnit): RunOutput {
  return wasi.run(input, ctx) as RunOutput
}
