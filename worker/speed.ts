/**
 * This machine's speed on a short benchmark, which a donor states in its results so that
 * credit (node/coordinator/credit.ts) weighs a CPU-second on a fast machine above one on a slow one.
 */
import { performance } from 'node:perf_hooks'

/**
 * A machine that runs the benchmark loop this many times per ms scores 1000: one core of the
 * 2-core cloud VM swarmgrid was built on, with Node 20.
 */
const REFERENCE_LOOPS_PER_MS = 600_000
const BENCHMARK_ROUNDS = 7
const ROUND_LOOPS = 200_000

/**
 * A few milliseconds of integer and floating-point work; the fastest of several rounds, so
 * that a round the OS took the CPU away from does not count.
 */
export function measureSpeed(): number {
  let best = Infinity
  let sink = 0
  for (let round = 0; round < BENCHMARK_ROUNDS; round++) {
    const start = performance.now()
    let x = 0x9e3779b9 + round
    let f = 1.0001
    for (let i = 0; i < ROUND_LOOPS; i++) {
      x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 0
      f = f * 1.0000001 + (x & 0xff) * 1e-9
    }
    sink += x + f
    best = Math.min(best, performance.now() - start)
  }
  if (!Number.isFinite(sink)) return 1000
  const loopsPerMs = ROUND_LOOPS / Math.max(best, 0.01)
  return Math.max(1, Math.min(1_000_000, Math.round((loopsPerMs / REFERENCE_LOOPS_PER_MS) * 1000)))
}
