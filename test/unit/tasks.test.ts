import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { ParamError, type Params, type TaskModule } from '../../tasks/contract.js'
import { builtinTasks } from '../../tasks/index.js'
import mandelbrot from '../../tasks/mandelbrot.js'
import pi from '../../tasks/pi.js'
import { PNG_SIGNATURE, pngSize } from '../../tasks/png.js'
import primes from '../../tasks/primes.js'
import { TaskRegistry, UnknownTaskError } from '../../tasks/registry.js'
import { decodeValue, digestBytes, encodeValue } from '../../tasks/values.js'

const ctx = { progress() {}, unitIndex: 0 }

/** What a grid does with a job, minus the network: inputs and outputs go through CBOR. */
async function runJob<R>(task: TaskModule<any, any, R>, params: Params, units: number): Promise<{ result: R; units: number }> {
  const inputs = [...task.split(params, units)]
  const outputs = []
  for (const input of inputs) {
    const output = await task.run(decodeValue(encodeValue(input)), ctx)
    outputs.push(decodeValue(encodeValue(output)))
  }
  return { result: task.merge(outputs, params), units: inputs.length }
}

function naivePrimeCount(from: number, to: number): number {
  let count = 0
  for (let n = Math.max(from, 2); n < to; n++) {
    let prime = true
    for (let d = 2; d * d <= n; d++)
      if (n % d === 0) {
        prime = false
        break
      }
    if (prime) count++
  }
  return count
}

test('primes below 3,000,000 number 216816 whatever the unit count', async () => {
  for (const units of [1, 7, 64]) {
    const { result, units: made } = await runJob(primes, { to: '3000000' }, units)
    assert.equal(made, units)
    assert.equal(result, { count: 216816 }, `units=${units}`)
  }
})

test('primes agrees with trial division on small ranges', async () => {
  const ranges = [
    [0, 1],
    [0, 2],
    [0, 3],
    [2, 3],
    [3, 4],
    [1, 100],
    [90, 97],
    [97, 98],
    [1000, 1500],
    [7919, 7920],
    [0, 20000]
  ]
  for (const [from, to] of ranges) {
    for (const units of [1, 3]) {
      const { result } = await runJob(primes, { from, to }, units)
      assert.equal(result.count, naivePrimeCount(from, to), `[${from}, ${to}) in ${units} units`)
    }
  }
})

test('primes never makes more units than numbers, nor an empty one', () => {
  const inputs = [...primes.split({ from: 10, to: 15 }, 64)]
  assert.equal(
    inputs,
    [10, 11, 12, 13, 14].map((n) => ({ from: n, to: n + 1 }))
  )
})

test('pi is identical across unit counts and close to 3.14', async () => {
  const params = { samples: 2_000_000, seed: 42 }
  const results = []
  for (const units of [1, 3, 10]) results.push((await runJob(pi, params, units)).result)
  assert.equal(results[1], results[0])
  assert.equal(results[2], results[0])
  assert.is(results[0].samples, 2_000_000)
  assert.ok(Math.abs(results[0].pi - Math.PI) < 0.01, `pi = ${results[0].pi}`)
})

test('pi depends on the seed', async () => {
  const a = (await runJob(pi, { samples: 100_000, seed: 1 }, 2)).result
  const b = (await runJob(pi, { samples: 100_000, seed: 2 }, 2)).result
  assert.is.not(a.inside, b.inside)
})

test('mandelbrot makes a PNG of the requested size', async () => {
  const { result } = await runJob(mandelbrot, { width: 120, height: 90, maxIter: 200 }, 4)
  assert.equal([...result.png.subarray(0, 8)], [...PNG_SIGNATURE])
  assert.equal(pngSize(result.png), { width: 120, height: 90 })
  assert.equal([result.width, result.height, result.maxIter], [120, 90, 200])
})

test('mandelbrot gives identical bytes across unit counts', async () => {
  const params = { width: '97', height: '61', maxIter: '300' }
  const digests = new Set<string>()
  for (const units of [1, 5, 61, 100]) digests.add(digestBytes((await runJob(mandelbrot, params, units)).result.png))
  assert.is(digests.size, 1)
})

test('mandelbrot paints the set black and the outside in colour', () => {
  const [band] = [...mandelbrot.split({ width: 3, height: 1, x0: -1.5, x1: 1.5, y0: -0.5, y1: 0.5 }, 1)]
  const { pixels } = mandelbrot.run(band, ctx) as { pixels: Uint8Array }
  // Pixel centres at x = -1, 0, 1 on the real axis: inside, inside, outside.
  assert.equal([...pixels.subarray(0, 6)], [0, 0, 0, 0, 0, 0])
  assert.ok(pixels[6] + pixels[7] + pixels[8] > 0)
})

const bad: Array<[TaskModule<any, any, any>, Params]> = [
  [primes, {}],
  [primes, { to: 'abc' }],
  [primes, { to: '' }],
  [primes, { to: 10.5 }],
  [primes, { to: -5 }],
  [primes, { from: 10, to: 10 }],
  [primes, { from: -1, to: 10 }],
  [primes, { to: Number.MAX_SAFE_INTEGER + 2 }],
  [primes, { to: 100, form: 3 }],
  [pi, {}],
  [pi, { samples: 0 }],
  [pi, { samples: 'NaN' }],
  [pi, { samples: 1000, seed: 1.5 }],
  [pi, { samples: 1000, seed: -1 }],
  [mandelbrot, { width: 0 }],
  [mandelbrot, { width: 5000, height: 5000 }],
  [mandelbrot, { maxIter: 'lots' }],
  [mandelbrot, { x0: 1, x1: -1 }],
  [mandelbrot, { y0: 'Infinity' }]
]

test('every task rejects bad params with a ParamError saying what to pass', () => {
  for (const [task, params] of bad) {
    try {
      task.split(params, 4)
      assert.unreachable(`${task.name} accepted ${JSON.stringify(params)}`)
    } catch (err) {
      assert.instance(err, ParamError, `${task.name} ${JSON.stringify(params)}: ${err}`)
      assert.match((err as Error).message, task.name)
    }
  }
})

test('tasks reject a unit count that is not a positive integer', () => {
  assert.throws(
    () => primes.split({ to: 100 }, 0),
    (err: unknown) => err instanceof ParamError
  )
})

test('every built-in describes its params', () => {
  for (const task of Object.values(builtinTasks)) {
    assert.ok(task.params && Object.keys(task.params).length > 0, task.name)
  }
})

test('encodeValue gives identical bytes whatever the key order', () => {
  const a = encodeValue({ b: 1, a: { y: [1, 2], x: 'z' } })
  const b = encodeValue({ a: { x: 'z', y: [1, 2] }, b: 1 })
  assert.equal([...a], [...b])
})

async function withDir(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'swarmgrid-tasks-'))
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
    await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const replacingPrimes = `
export default {
  name: 'primes', version: 7,
  split (params, units) { return [{ from: 0, to: Number(params.to) }] },
  run () { return { count: 42 } },
  merge (outputs) { return outputs[0] }
}
`

test('registry: a module in the task dir replaces the built-in of its name', async () => {
  await withDir({ 'fast-primes.mjs': replacingPrimes, 'notes.txt': 'not code' }, async (dir) => {
    const registry = await TaskRegistry.load(dir)
    assert.is(registry.dir, dir)
    assert.is(registry.require('primes').version, 7)
    assert.ok(registry.source('primes')?.endsWith('fast-primes.mjs'))
    assert.equal(
      registry.list().map((t) => t.name),
      ['js', 'mandelbrot', 'pi', 'primes', 'wasi', 'wasm']
    )
  })
})

test('registry: a file that is not a task module is refused, naming the file', async () => {
  await withDir({ 'broken.mjs': 'export default { name: "half", version: 1, split() {} }' }, async (dir) => {
    try {
      await TaskRegistry.load(dir)
      assert.unreachable('loaded a module without run and merge')
    } catch (err) {
      assert.match((err as Error).message, 'broken.mjs')
      assert.match((err as Error).message, 'run must be a function')
    }
  })
})

test('registry: an unknown task names the known ones', async () => {
  const registry = await TaskRegistry.load()
  assert.is(registry.dir, undefined)
  assert.is(registry.get('nope'), undefined)
  try {
    registry.require('nope')
    assert.unreachable()
  } catch (err) {
    assert.instance(err, UnknownTaskError)
    assert.match((err as Error).message, 'mandelbrot, pi, primes, wasi, wasm')
  }
})

test.run()
