/**
 * Figure 6: what the js task's sandbox costs. The same function over the same inputs, timed in
 * this process on this thread: in QuickJS through the task's own run (module evaluated, inputs
 * and outputs crossing as JSON, seeded Math.random, caps on), and in V8 imported as a plain
 * module. Interleaved rounds, best of each kept. The ratio says how much more CPU a `js` unit
 * takes than the same code would natively; a job that is mostly compute is better as `wasi`.
 */
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import js, { type JsUnit } from '../tasks/js.js'
import { parseJsonLines } from '../tasks/js-files.js'
import { readFileSync } from 'node:fs'

const ROUNDS = 3

export interface JsRow {
  name: string
  calls: number
  quickjsMs: number
  v8Ms: number
  ratio: number
  rounds: { quickjs: number[]; v8: number[] }
}
export interface JsFigure {
  rows: JsRow[]
}

interface Kernel {
  name: string
  code: string
  inputs: unknown[]
}

const PRIMES = `export default function countPrimes([from, to]) {
  let count = 0
  for (let n = Math.max(from, 2); n < to; n++) {
    let prime = true
    for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break }
    if (prime) count++
  }
  return count
}`

const RECORDS = `export default function topWords(seed) {
  const words = []
  let x = seed
  for (let i = 0; i < 4000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648
    words.push({ word: 'w' + (x % 997), weight: x % 13 })
  }
  const totals = {}
  for (const { word, weight } of words) totals[word] = (totals[word] ?? 0) + weight
  return Object.entries(totals).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5)
}`

async function kernels(): Promise<Kernel[]> {
  const exampleDir = fileURLToPath(new URL('../../examples/js/', import.meta.url))
  const bundled = await build({
    entryPoints: [exampleDir + 'spell.mjs'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent'
  })
  return [
    {
      name: 'integer loops: primes by trial division',
      code: PRIMES,
      inputs: Array.from({ length: 8 }, (_, i) => [i * 25_000, (i + 1) * 25_000])
    },
    { name: 'objects, strings, sort: word totals', code: RECORDS, inputs: Array.from({ length: 40 }, (_, i) => i + 1) },
    {
      name: 'npm library: examples/js spelling (fastest-levenshtein)',
      code: bundled.outputFiles[0].text,
      inputs: Array(4)
        .fill(parseJsonLines(readFileSync(exampleDir + 'inputs.jsonl', 'utf8'), 'inputs.jsonl'))
        .flat()
    }
  ]
}

async function timeQuickJs(kernel: Kernel): Promise<{ ms: number; outputs: unknown[] }> {
  const [unit] = [...js.split({ code: kernel.code, inputs: kernel.inputs }, 1, { id: 'bench', createdAt: 0 })] as JsUnit[]
  const started = performance.now()
  const outputs = await js.run(unit, { unitIndex: 0, progress() {}, limits: { wasmMemoryMb: 256, wasmTimeMs: 60_000 } })
  return { ms: performance.now() - started, outputs }
}

async function timeV8(fn: (input: unknown) => unknown, inputs: unknown[]): Promise<{ ms: number; outputs: unknown[] }> {
  const started = performance.now()
  const outputs = inputs.map((input) => JSON.parse(JSON.stringify(fn(input)) ?? 'null'))
  return { ms: performance.now() - started, outputs }
}

export async function jsFigure(): Promise<JsFigure> {
  await js.prepare()
  const rows: JsRow[] = []
  for (const kernel of await kernels()) {
    const native = (await import(`data:text/javascript;base64,${Buffer.from(kernel.code).toString('base64')}`)).default
    // Warm both: QuickJS's build is loaded, V8's JIT has seen the function.
    await timeQuickJs(kernel)
    await timeV8(native, kernel.inputs)
    const quickjs: number[] = []
    const v8: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const q = await timeQuickJs(kernel)
      const n = await timeV8(native, kernel.inputs)
      if (JSON.stringify(q.outputs) !== JSON.stringify(n.outputs)) throw new Error(`${kernel.name}: QuickJS and V8 disagree`)
      quickjs.push(q.ms)
      v8.push(n.ms)
    }
    const [bestQ, bestV] = [Math.min(...quickjs), Math.min(...v8)]
    rows.push({
      name: kernel.name,
      calls: kernel.inputs.length,
      quickjsMs: bestQ,
      v8Ms: bestV,
      ratio: bestQ / bestV,
      rounds: { quickjs, v8 }
    })
  }
  return { rows }
}
