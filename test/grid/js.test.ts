/**
 * The js task kind: a submitter's function bundled with esbuild runs in QuickJS on every donor
 * and gives what the same function gives in plain Node; hostile functions each fail alone,
 * with the reason, while the donors go on serving; clock and randomness agree across donors.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import js, { type JsUnit } from '../../tasks/js.js'
import { inlineJsFiles, parseJsonLines } from '../../tasks/js-files.js'
import { ParamError } from '../../tasks/contract.js'
import { asRunSees, decodeValue, encodeValue } from '../../tasks/values.js'
import { runCli as cli, startTestGrid, tempDir, until, within } from '../support/helpers.js'
import { ProcessGrid } from '../support/process-grid.js'

const exampleDir = fileURLToPath(new URL('../../../examples/js/', import.meta.url))
const JOB = { id: 'cafe0123', createdAt: Date.UTC(2026, 0, 2, 3, 4, 5) }
const caps = { wasmMemoryMb: 16, wasmTimeMs: 1000 }

/** The example, bundled as its README says, by esbuild into one module with no imports. */
async function bundledExample(): Promise<string> {
  const result = await build({
    entryPoints: [join(exampleDir, 'spell.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent'
  })
  return result.outputFiles[0].text
}

function exampleInputs(): unknown[] {
  return parseJsonLines(readFileSync(join(exampleDir, 'inputs.jsonl'), 'utf8'), 'inputs.jsonl')
}

/** Split, run every unit (its input and output through CBOR, as on the wire) and merge, in this process. */
async function runLocally(code: string, inputs: unknown[], units: number, limits = caps) {
  const parts = [...js.split({ code, inputs, memory: limits.wasmMemoryMb }, units, JOB)].map((unit) => asRunSees<JsUnit>(unit))
  const outputs: unknown[][] = []
  for (const [unitIndex, unit] of parts.entries())
    outputs.push(decodeValue(encodeValue(await js.run(unit, { progress() {}, unitIndex, limits }))))
  return { units: parts.length, result: js.merge(outputs, { code, inputs }, JOB) }
}

async function failure(code: string, pattern: RegExp, codeName: string, limits = caps): Promise<void> {
  try {
    await runLocally(code, [1], 1, limits)
  } catch (err) {
    assert.match((err as Error).message, pattern)
    assert.is((err as { code?: string }).code, codeName)
    return
  }
  assert.unreachable(`should have failed: ${code}`)
}

function refusedAtSubmit(code: string, pattern: RegExp): void {
  try {
    js.split({ code, inputs: [1] }, 1, JOB)
  } catch (err) {
    assert.instance(err, ParamError)
    assert.match((err as Error).message, pattern)
    return
  }
  assert.unreachable(`should have been refused: ${code}`)
}

test.before(async () => {
  await js.prepare()
})

test('inputs become one unit each up to --units, outputs come back in input order, merge gives the value', async () => {
  const code = 'export default (x) => x * x\nexport function merge(outputs) { return outputs.reduce((a, b) => a + b, 0) }'
  const inputs = Array.from({ length: 50 }, (_, i) => i)
  const squares = inputs.map((i) => i * i)
  const value = squares.reduce((a, b) => a + b, 0)
  assert.equal(await runLocally(code, inputs, js.defaultUnits!), { units: 50, result: { outputs: squares, value } })
  assert.equal(await runLocally(code, inputs, 7), { units: 7, result: { outputs: squares, value } })
  assert.equal((await runLocally('export default (x) => ({ b: 1, a: [x, null, "s"] })', [true], 1)).result, {
    outputs: [{ a: [true, null, 's'], b: 1 }]
  })
  // Outputs that agreed but do not fit the units' inputs are refused at merge.
  assert.throws(() => js.merge([[1], [2, 3]], { code, inputs: [1, 2] }, JOB), /unit 1 answered 2 outputs for its 1 inputs/)
  assert.throws(() => js.merge([[1], 4 as unknown as unknown[]], { code, inputs: [1, 2] }, JOB), /unit 1 answered no list/)
})

test("the sandbox holds no host: no process, require, timers or import(); Date is the job's creation time in UTC; Math.random is seeded", async () => {
  const probe = `export default () => [typeof process, typeof globalThis.process, typeof require, typeof setTimeout, typeof fetch, typeof WebAssembly,
    Date.now(), new Date().toString(), new Date(2026, 0, 1).getHours(), new Date(0).getTimezoneOffset(), Date.parse('2026-01-01T00:00:00'), Math.random(),
    new Date('Jan 1 2026 10:00').getTime(), new Date('2026-01-01 10:00').getTime(), Date.parse('2026-01-01T10:00:00+01:00'), Date.parse('2026-01-01')]`
  const run = async () => (await runLocally(probe, [0, 1], 2)).result.outputs as unknown[][]
  const before = process.env.TZ
  let first: unknown[][], inIndia: unknown[][]
  try {
    process.env.TZ = 'UTC'
    first = await run()
    process.env.TZ = 'Asia/Kolkata' // the host's zone must not show through QuickJS's Date
    inIndia = await run()
  } finally {
    if (before === undefined) delete process.env.TZ
    else process.env.TZ = before
  }
  assert.equal(inIndia, first, "the same outputs whatever the host's time zone")
  const [a, b] = first
  assert.equal(a.slice(0, 6), ['undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined'])
  assert.is(a[6], JOB.createdAt)
  assert.is(a[7], 'Fri Jan 02 2026 03:04:05 GMT+0000 (Coordinated Universal Time)')
  assert.equal(a.slice(8, 11), [0, 0, Date.UTC(2026, 0, 1)])
  assert.ok(typeof a[11] === 'number' && a[11] >= 0 && a[11] < 1)
  assert.is.not(a[11], b[11], 'each input has a stream of its own')
  assert.equal(
    a.slice(12),
    [Date.UTC(2026, 0, 1, 10), Date.UTC(2026, 0, 1, 10), Date.UTC(2026, 0, 1, 9), Date.UTC(2026, 0, 1)],
    'date strings without a zone are UTC'
  )
  assert.equal(await run(), first, 'and the same again')
})

test("Math.exp, Math.log and Math.hypot give the bits V8 gives (QuickJS's own differ in the last bit for some inputs)", async () => {
  const code =
    'export default ([x, y]) => [Math.exp(x), Math.log(x), Math.log(-x), Math.exp(x / 100), Math.hypot(x, y), Math.hypot(x, y, 1e-3), Math.sqrt(x)]'
  let seed = 11
  const next = () => (seed = (seed * 16807) % 2147483647) / 2147483647
  const inputs = [
    [0, 0],
    [1, 1],
    [-1, 2],
    [709.78, 1e308],
    [-745.2, 5e-324],
    [1e-300, 3e-9],
    ...Array.from({ length: 3000 }, () => [(next() - 0.3) * 10 ** Math.floor(next() * 8 - 4), (next() - 0.5) * 1e3])
  ]
  const native = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)).default
  const { result } = await runLocally(code, inputs, 1)
  assert.equal(
    result.outputs,
    inputs.map((x) => JSON.parse(JSON.stringify(native(x))))
  )
})

test('a module that imports anything, or whose default export is no function, is refused at submit', () => {
  refusedAtSubmit(
    'import { closest } from "fastest-levenshtein"\nexport default (w) => closest(w, ["a"])',
    /imports "fastest-levenshtein".*bundle it first: npx esbuild/
  )
  refusedAtSubmit('export const run = (x) => x', /default export is missing; it must be a function/)
  refusedAtSubmit('export default 42', /default export is a number/)
  refusedAtSubmit('export default (x) => {', /does not parse: SyntaxError/)
  assert.throws(() => js.split({ code: 'export default (x) => x', inputs: [] }, 1, JOB), /js needs inputs/)
  assert.throws(() => js.split({ code: 'export default (x) => x', inputs: [1], extra: 1 }, 1, JOB), /js has no param "extra"/)
})

test('hostile functions fail with the reason: endless loop, memory bomb, import(), deep recursion, process.exit', async () => {
  await failure('export default () => { for (;;) {} }', /js time cap: the function ran past the 1000 ms/, 'JS_TIME_CAP')
  // Memory bombs get time enough to reach the memory cap on a loaded machine.
  const roomy = { wasmMemoryMb: 16, wasmTimeMs: 30_000 }
  await failure(
    'export default () => { const a = []; for (let i = 0; ; i++) a.push({ i, s: "x" + i }) }',
    /js memory cap: the function used all 16 MiB/,
    'JS_MEMORY_CAP',
    roomy
  )
  // Small allocations leave QuickJS no room to make its error (it throws null): still told as memory.
  await failure(
    'export default () => { const a = []; for (let i = 0; ; i++) a.push([i, i, i]) }',
    /js memory cap: the function used all 16 MiB/,
    'JS_MEMORY_CAP',
    roomy
  )
  // ArrayBuffer contents escape QuickJS's own count; the build's memory maximum holds them.
  await failure(
    'export default () => { const a = []; for (;;) a.push(new Float64Array(1 << 20)) }',
    /js memory cap: the function used all 16 MiB/,
    'JS_MEMORY_CAP',
    roomy
  )
  await failure(
    'export default async () => (await import("node:fs")).readFileSync("/etc/passwd", "utf8")',
    /imports "node:fs"/,
    'JS_IMPORT'
  )
  await failure('export default () => { import("node:child_process"); return 1 }', /imports "node:child_process"/, 'JS_IMPORT')
  await failure('const f = (n) => f(n + 1) + 1\nexport default () => f(0)', /recursed past the sandbox's 256 KiB stack/, 'JS_STACK')
  await failure('export default () => process.exit(1)', /the function threw ReferenceError: .process. is not defined/, 'JS_THROWN')
  await failure('export default () => 1n', /serialize a BigInt/, 'JS_THROWN')
  await failure(
    'export default () => "x".repeat(5 * 1024 * 1024)',
    /an output is 5242\d{3} characters of JSON, at most 4194304/,
    'JS_OUTPUT'
  )
  assert.equal((await runLocally('export default (x) => x + 1', [1], 1)).result, { outputs: [2] }, 'the sandbox serves on')
})

test('job files name the code and inputs by file; inputs are JSON lines', () => {
  const files: Record<string, string> = { 'fn.mjs': 'export default (x) => x', 'in.jsonl': '1\n\n{"a": 2}\n"three"\n' }
  const read = (path: string) => new TextEncoder().encode(files[path])
  assert.equal(inlineJsFiles({ code: { file: 'fn.mjs' }, inputs: { file: 'in.jsonl' } }, read), {
    code: files['fn.mjs'],
    inputs: [1, { a: 2 }, 'three']
  })
  assert.throws(() => parseJsonLines('1\n{oops\n', 'in.jsonl'), /in\.jsonl line 2 is no JSON value/)
})

test('on a grid at quorum 2: the bundled npm example over 300 inputs gives what the same function gives in plain Node; hostile jobs fail alone', async () => {
  const code = await bundledExample()
  const inputs = exampleInputs()
  assert.ok(inputs.length >= 300)
  const original = await import(join(exampleDir, 'spell.mjs'))
  const expected = inputs.map((word) => original.default(word))
  const grid = await startTestGrid()
  try {
    const coordinator = await grid.add({ donate: false })
    const donation = { wasmTimeSeconds: 1, wasmMemoryMb: 16 }
    const donors = [await grid.add({ coordinate: false, donation }), await grid.add({ coordinate: false, donation })]
    await until(() => coordinator.parts.coordinator.donorCount() === 2, 20_000, 'donors to connect')

    const job = await coordinator.submit({ task: 'js', params: { code, inputs, memory: 16 }, quorum: 2 })
    const done = await within(coordinator.wait(job.id), 60_000, 'the example job')
    assert.is(done.state, 'done', done.error ?? '')
    assert.is(done.units, inputs.length)
    const result = done.result as { outputs: unknown[]; value: unknown }
    assert.equal(result.outputs, JSON.parse(JSON.stringify(expected)))
    assert.equal(result.value, original.merge(expected))

    const hostile: Array<[string, RegExp]> = [
      ['export default () => { for (;;) {} }', /timeout: js time cap: the function ran past the 1000 ms/],
      // Fast to reach the memory cap (ms), so the 1 s time cap never comes first on a loaded machine.
      [
        'export default () => { const a = []; for (;;) a.push(new Float64Array(1 << 18)) }',
        /memory: js memory cap: the function used all 16 MiB/
      ],
      ['export default () => globalThis.process.exit(1)', /error: JsSandboxError: the function threw TypeError/],
      [
        'export default async () => (await import("node:fs")).readFileSync("/etc/passwd", "utf8")',
        /error: JsSandboxError: the code imports "node:fs"/
      ]
    ]
    for (const [hostileCode, reason] of hostile) {
      const bad = await coordinator.submit({ task: 'js', params: { code: hostileCode, inputs: [0], memory: 16 }, quorum: 2, maxErrors: 2 })
      const failed = await within(coordinator.wait(bad.id), 30_000, `the hostile job ${hostileCode}`)
      assert.is(failed.state, 'failed', hostileCode)
      assert.match(failed.error ?? '', reason)
    }
    const probe = await coordinator.submit({
      task: 'js',
      params: { code: 'export default () => typeof process', inputs: [0, 1], memory: 16 },
      quorum: 2
    })
    assert.equal((await within(coordinator.wait(probe.id), 30_000, 'typeof process')).result, { outputs: ['undefined', 'undefined'] })
    for (const donor of donors) assert.ok(donor.donorStats()!.unitsRun >= inputs.length, "each donor ran the example's units and served on")
  } finally {
    await grid.destroy()
  }
})

test('on a grid at quorum 3: Math.random() and Date.now() give the same outputs on every donor', async () => {
  const code =
    'export default (i) => ({ i, r: [Math.random(), Math.random()], now: Date.now(), date: new Date().toString(), local: new Date(2026, 5, 1).getHours() })'
  const grid = await startTestGrid()
  try {
    const coordinator = await grid.add({ donate: false })
    for (let i = 0; i < 3; i++) await grid.add({ coordinate: false })
    await until(() => coordinator.parts.coordinator.donorCount() === 3, 20_000, 'donors to connect')
    const inputs = Array.from({ length: 40 }, (_, i) => i)
    const runs = []
    for (let n = 0; n < 2; n++) {
      const job = await coordinator.submit({ task: 'js', params: { code, inputs }, quorum: 3, maxResults: 3 })
      const done = await within(coordinator.wait(job.id), 60_000, 'the random job')
      assert.is(done.state, 'done', done.error ?? '')
      assert.is(done.results, inputs.length * 3, 'three results a unit, and no more were needed')
      assert.equal(done.outvoted, [])
      const outputs = (done.result as { outputs: Array<{ r: number[]; now: number; local: number }> }).outputs
      for (const o of outputs) assert.is(o.now, done.createdAt, "Date.now() is the job's creation time")
      assert.is(new Set(outputs.map((o) => o.r[0])).size, inputs.length, 'every input its own random stream')
      assert.ok(
        outputs.every((o) => o.local === 0),
        'local time is UTC'
      )
      runs.push(outputs.map((o) => o.r[0]))
    }
    assert.not.equal(runs[0], runs[1], 'another job, another seed')
  } finally {
    await grid.destroy()
  }
})

test('the CLI: submit --job examples/js/job.json --json prints the result; results --out DIR writes outputs.json', async () => {
  const grid = await ProcessGrid.start({ grid: 'jscli' })
  const dir = await tempDir()
  try {
    grid.start('a', ['--threads', '1'])
    grid.start('b', ['--threads', '1'])
    await grid.ready('a', 'b')
    await grid.donorsOffered('a', 2)
    const code = await bundledExample()
    // The job file as the example has it, but its code file here (the example's points into dist/, made by npm run build).
    const jobFile = join(dir, 'job.json')
    writeFileSync(join(dir, 'spell.mjs'), code)
    writeFileSync(join(dir, 'inputs.jsonl'), readFileSync(join(exampleDir, 'inputs.jsonl')))
    const example = JSON.parse(readFileSync(join(exampleDir, 'job.json'), 'utf8'))
    writeFileSync(jobFile, JSON.stringify({ ...example, params: { ...example.params, code: { file: 'spell.mjs' } } }))
    const submitted = await cli(['submit', '--job', jobFile, '--data', grid.dataDir('a'), '--json'])
    assert.is(submitted.code, 0, submitted.stderr)
    const view = JSON.parse(submitted.stdout)
    assert.is(view.state, 'done')
    assert.is(view.task, 'js')
    const original = await import(join(exampleDir, 'spell.mjs'))
    const expected = exampleInputs().map((w) => original.default(w))
    assert.equal(view.result, { outputs: JSON.parse(JSON.stringify(expected)), value: original.merge(expected) })
    const out = join(dir, 'results')
    const results = await cli(['results', view.id, '--data', grid.dataDir('a'), '--out', out])
    assert.is(results.code, 0, results.stderr)
    assert.equal(JSON.parse(readFileSync(join(out, 'outputs.json'), 'utf8')), view.result.outputs)
    assert.equal(JSON.parse(readFileSync(join(out, 'value.json'), 'utf8')), view.result.value)
    const refused = await cli([
      'submit',
      'js',
      '--param',
      'code=import x from "left-pad"; export default x',
      '--param',
      'inputs=[1]',
      '--data',
      grid.dataDir('a')
    ])
    assert.is.not(refused.code, 0)
    assert.match(refused.stderr, /imports "left-pad"/)
  } finally {
    await grid.destroy()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
