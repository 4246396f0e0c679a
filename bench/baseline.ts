/** The plain-Piscina baselines: the same work with no grid around it, in the same process. */
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { Piscina } from 'piscina'

// Through its CommonJS door, as the unit threads: Piscina's require() of an ES module can abort the process.
const WORKER = fileURLToPath(new URL('./primes-worker-entry.cjs', import.meta.url))

function pool(threads: number): Piscina {
  return new Piscina({ filename: WORKER, minThreads: threads, maxThreads: threads })
}

/**
 * Runs every input at once on a fresh pool and times the batch; each thread first runs one
 * task untimed, as the grid's donor threads have already loaded their task code by then.
 */
export async function piscinaBatch(threads: number, inputs: unknown[], name = 'default'): Promise<number> {
  const piscina = pool(threads)
  try {
    await Promise.all(Array.from({ length: threads }, () => piscina.run(inputs[0], { name })))
    const started = performance.now()
    await Promise.all(inputs.map((input) => piscina.run(input, { name })))
    return performance.now() - started
  } finally {
    await piscina.destroy()
  }
}

/** From creating a pool to its first trivial task done: the in-process floor of joining. */
export async function piscinaFirstTask(threads: number): Promise<number> {
  const started = performance.now()
  const piscina = pool(threads)
  try {
    await piscina.run(0, { name: 'noop' })
    return performance.now() - started
  } finally {
    await piscina.destroy()
  }
}

/** The batch with the pool's start inside the timing: what `swarmgrid start` + `submit` is set against. */
export async function piscinaColdBatch(threads: number, inputs: unknown[]): Promise<number> {
  const started = performance.now()
  const piscina = pool(threads)
  try {
    await Promise.all(inputs.map((input) => piscina.run(input)))
    return performance.now() - started
  } finally {
    await piscina.destroy()
  }
}
