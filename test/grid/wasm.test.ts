/**
 * The wasm task kind: the submitter's module runs in the sandbox with nothing of the host but
 * its interface; a module that loops forever or grows its memory without bound is stopped by
 * the donor's caps, and the donor goes on serving.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import wasm from '../../tasks/wasm.js'
import { ParamError } from '../../tasks/contract.js'
import { asRunSees, decodeValue, encodeValue } from '../../tasks/values.js'
import { checkModule, isMemoryCapError, runWasmUnit } from '../../worker/sandbox/wasm-sandbox.js'
import { capModule, inspectModule, pagesFor, WasmRejectedError } from '../../worker/sandbox/wasm-binary.js'
import { startTestGrid, until, within } from '../support/helpers.js'
import { UnitDeclinedError } from '../../tasks/sandboxed.js'
import * as modules from '../support/wasm-modules.js'

const ctx = { progress() {}, unitIndex: 0 }
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64')

function runLocally(params: Record<string, unknown>, units: number): unknown {
  const outputs = [...wasm.split(params, units)].map((input) => {
    const output = wasm.run(asRunSees(input), ctx)
    return decodeValue(encodeValue(output))
  })
  return wasm.merge(outputs, params)
}

function refused(fn: () => unknown, what: RegExp): void {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof WasmRejectedError || err instanceof ParamError, `expected a refusal, got ${String(err)}`)
    assert.match((err as Error).message, what)
    return
  }
  assert.unreachable(`should have been refused (${what})`)
}

test('the README example counts the primes below 200000 whatever the unit count', () => {
  const module = base64(modules.examplePrimes())
  for (const units of [1, 7]) {
    assert.equal(runLocally({ module, range: [0, 200_000], reduce: 'sum' }, units), { value: 17984 }, `${units} units`)
  }
})

test('i64 arguments and results, and memory of its own, cross the sandbox as plain numbers', () => {
  const module = base64(modules.sumsInMemory)
  assert.equal(runLocally({ module, inputs: [[10], ['100000']], reduce: 'list' }, 2), { values: [45, 4_999_950_000] })
})

test('JavaScript sent as a module is refused at its header and never runs', () => {
  const js = new TextEncoder().encode('globalThis.ran = true; require("fs").writeFileSync("/tmp/pwned", "x")')
  refused(() => checkModule(js, 'run'), /WebAssembly header.*JavaScript and other code never run/)
  refused(() => wasm.split({ module: base64(js), range: [0, 10] }, 1), /WebAssembly header/)
  assert.is((globalThis as any).ran, undefined)
})

test('a module may import nothing of the host beyond the sandbox interface', () => {
  refused(() => checkModule(modules.importsEval, 'run'), /imports env\.eval/)
  refused(() => checkModule(modules.importsWasi, 'run'), /imports wasi_snapshot_preview1\.fd_write/)
  refused(() => checkModule(modules.importsMemory, 'run'), /not a function/)
  refused(() => checkModule(modules.sharedMemory, 'run'), /shared memory/)
  refused(() => checkModule(modules.examplePrimes(), 'main'), /exports no function "main"/)
  refused(() => wasm.split({ module: base64(modules.examplePrimes()), inputs: [[1, 2, 3]] }, 1), /takes 2 arguments/)
})

test("a module's memory becomes the host's, capped; one that starts above the cap is refused", () => {
  const { bytes, memory } = capModule(modules.sumsInMemory, pagesFor(16), 1000)
  assert.equal(memory, { initial: 1, maximum: 4 }, 'its own smaller maximum stays')
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes as BufferSource))
  assert.equal(imports, [{ module: 'swarmgrid', name: 'memory', kind: 'memory' }], 'the host makes its memory')
  assert.equal(
    inspectModule(modules.examplePrimes()).imports.map((i) => i.name),
    ['progress']
  )
  assert.is(capModule(modules.growsWithoutBound, pagesFor(16), 1000).memory?.maximum, 256, '16 MiB is 256 pages')
  refused(() => capModule(modules.hugeMemory, pagesFor(16), 1000), /starts with 1250 MiB of memory; its job allows 16 MiB/)
})

test('memory growth stops at the cap and the unit fails as out of memory', () => {
  try {
    runWasmUnit({ module: modules.growsWithoutBound, entry: 'run', args: [0] }, pagesFor(16), () => {})
    assert.unreachable('the module should have trapped')
  } catch (err) {
    assert.ok(isMemoryCapError(err), String(err))
    assert.match((err as Error).message, /used all 16 MiB its job allows each unit/)
  }
})

test('on a grid: a module that loops forever or grows memory without bound is stopped by its caps, and the donors go on serving', async () => {
  const grid = await startTestGrid()
  const caps = { wasmTimeSeconds: 1, wasmMemoryMb: 16 }
  try {
    const coordinator = await grid.add({ donate: false })
    const donors = [await grid.add({ coordinate: false, donation: caps }), await grid.add({ coordinate: false, donation: caps })]
    await until(() => coordinator.parts.coordinator.donorCount() === 2, 20_000, 'donors to connect')

    const started = Date.now()
    const forever = await coordinator.submit({
      task: 'wasm',
      params: { module: base64(modules.loopsForever), inputs: [[0]], memory: 16 },
      units: 1,
      quorum: 2,
      maxErrors: 2
    })
    const looped = await within(coordinator.wait(forever.id), 20_000, 'the looping job to fail')
    const loopMs = Date.now() - started
    assert.is(looped.state, 'failed')
    assert.match(looped.error ?? '', /timeout: ran past this donor's 1000 ms time cap for wasm units/)

    const bomb = await coordinator.submit({
      task: 'wasm',
      params: { module: base64(modules.growsWithoutBound), inputs: [[0]], memory: 16 },
      units: 1,
      quorum: 2,
      maxErrors: 2
    })
    const grew = await within(coordinator.wait(bomb.id), 20_000, 'the memory bomb to fail')
    assert.is(grew.state, 'failed')
    assert.match(grew.error ?? '', /memory: wasm memory cap: the module used all 16 MiB its job allows each unit/)

    const good = await coordinator.submit({
      task: 'wasm',
      params: { module: base64(modules.examplePrimes()), range: [0, 200_000], reduce: 'sum', memory: 16 },
      units: 8,
      quorum: 2
    })
    const done = await within(coordinator.wait(good.id), 30_000, 'the good job after them')
    assert.is(done.state, 'done')
    assert.equal(done.result, { value: 17984 })
    for (const donor of donors) assert.ok(donor.donorStats()!.unitsRun >= 8, "each donor ran the good job's units")
    console.log(`  looping unit stopped by a 1 s cap: job failed after ${loopMs} ms; memory bomb stopped at 16 MiB`)
  } finally {
    await grid.destroy()
  }
})

test("the memory a unit may use is its job's: a module that probes it answers the same on every donor that lends enough, and one that lends less declines", () => {
  const [unit] = [...wasm.split({ module: base64(modules.probesMemory), inputs: [[0]], memory: 64 }, 1)].map((u) => asRunSees(u))
  const on = (lent: number) => wasm.run(unit as never, { ...ctx, limits: { wasmMemoryMb: lent } })
  assert.is(on(64), 1024, '64 MiB is 1024 pages')
  assert.is(on(256), 1024, 'a donor lending more gives the unit no more')
  assert.is(on(4096), 1024)
  assert.throws(
    () => on(16),
    (err: unknown) =>
      err instanceof UnitDeclinedError &&
      /the job asks 64 MiB for each wasm unit; this donor lends at most 16 \(--wasm-memory\)/.test((err as Error).message)
  )
  assert.throws(
    () => wasm.split({ module: base64(modules.probesMemory), inputs: [[0]], memory: 4097 }, 1),
    /memory is a whole number of MiB from 1 to 4096, not 4097/
  )
})

test('on a grid: a donor that lends less memory than a job asks refuses its units, saying why, and one that lends enough runs them', async () => {
  const grid = await startTestGrid()
  try {
    const coordinator = await grid.add({ donate: false })
    const small = await grid.add({ coordinate: false, donation: { wasmMemoryMb: 16 } })
    await until(() => coordinator.parts.coordinator.donorCount() === 1, 20_000, 'the small donor to connect')
    const job = await coordinator.submit({
      task: 'wasm',
      params: { module: base64(modules.probesMemory), inputs: [[0], [1]], memory: 64 },
      units: 2,
      quorum: 1
    })
    await until(() => (coordinator.status(job.id)?.refusals.length ?? 0) > 0, 20_000, 'the small donor to refuse the job')
    const view = coordinator.status(job.id)!
    assert.is(view.state, 'running', 'the job waits for a donor that lends enough')
    assert.equal(
      view.refusals.map((r) => r.peer),
      [small.key]
    )
    assert.match(view.refusals[0].reason, /the job asks 64 MiB for each wasm unit; this donor lends at most 16/)
    await grid.add({ coordinate: false, donation: { wasmMemoryMb: 256 } })
    const done = await within(coordinator.wait(job.id), 30_000, 'the job on the donor that lends enough')
    assert.is(done.state, 'done', done.error ?? '')
    assert.equal(done.result, { values: [1024, 1024] })
  } finally {
    await grid.destroy()
  }
})

test.run()
