/**
 * Run as a process of its own by test/piscina-entry.test.ts: starts and stops POOLS Piscina pools
 * through every entry swarmgrid gives Piscina, a few at a time, one task on each. If Node's
 * require(esm) path aborts it (as it did in issue 11), the test sees the signal, not a hang.
 * Prints `ran N` on success.
 */
import { Piscina } from 'piscina'
import { fileURLToPath } from 'node:url'
import { createUnitPool } from '../../worker/unit-pool.js'
import { decodeValue, encodeValue } from '../../tasks/values.js'

const POOLS = Number(process.argv[2] ?? 40)
const AT_ONCE = 4
const BASELINE_ENTRY = fileURLToPath(new URL('../../bench/primes-worker-entry.cjs', import.meta.url))
const QUIET = { progress() {}, started() {} }

async function unitPoolOnce(): Promise<void> {
  const pool = createUnitPool({ threads: 1 })
  try {
    const {
      outcomes: [outcome]
    } = await pool.run(
      { task: 'primes', tasksDir: null, units: [{ unit: 0, input: encodeValue({ from: 0, to: 1000 }) }] },
      { reporter: QUIET }
    )
    if (!outcome.ok) throw new Error(`unit failed: ${outcome.error.message}`)
    const { count } = decodeValue(outcome.output) as { count: number }
    if (count !== 168) throw new Error(`primes below 1000: ${count}, not 168`)
  } finally {
    await pool.destroy()
  }
}

async function baselinePoolOnce(): Promise<void> {
  const pool = new Piscina({ filename: BASELINE_ENTRY, minThreads: 1, maxThreads: 1 })
  try {
    const { count } = (await pool.run({ from: 0, to: 1000 })) as { count: number }
    if (count !== 168) throw new Error(`baseline primes below 1000: ${count}, not 168`)
    if ((await pool.run(7, { name: 'noop' })) !== 7) throw new Error('baseline noop did not echo its input')
  } finally {
    await pool.destroy()
  }
}

let ran = 0
for (let start = 0; start < POOLS; start += AT_ONCE) {
  const wave = Array.from({ length: Math.min(AT_ONCE, POOLS - start) }, (_, i) => ((start + i) % 2 ? baselinePoolOnce() : unitPoolOnce()))
  await Promise.all(wave)
  ran += wave.length
}
console.log(`ran ${ran}`)
