/**
 * The plain-Piscina baseline's worker: runs a unit with nothing around it (no CBOR, no
 * comlink port, no registry), so the grid's figures show what the grid itself costs.
 */
import primes, { type PrimesInput, type PrimesOutput } from '../tasks/primes.js'

const ctx = { unitIndex: 0, progress() {} }

export default function runPrimes(input: PrimesInput): PrimesOutput {
  return primes.run(input, ctx) as PrimesOutput
}

/** The trivial task of the dispatch-rate baseline: Piscina's own per-task cost and nothing else. */
export function noop(input: unknown): unknown {
  return input
}
