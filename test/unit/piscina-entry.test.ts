import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { unitWorkerEntry } from '../../worker/pool-entry.js'
import { runNode } from '../support/helpers.js'

const BASELINE_ENTRY = fileURLToPath(new URL('../../bench/primes-worker-entry.cjs', import.meta.url))
const CHURN = fileURLToPath(new URL('../support/pool-churn.js', import.meta.url))

const node = (args: string[], ms: number) => runNode(args, { ms })

/**
 * In a fresh process: require() the entry as Piscina does, await the exports Piscina looks up,
 * and list what went through require(): an ES module that did would be in require.cache.
 */
const PROBE = `
const entry = process.argv[1], names = JSON.parse(process.argv[2])
const exported = require(entry)
Promise.all(names.map((n) => exported[n])).then((fns) => {
  console.log(JSON.stringify({ esModule: exported.__esModule === true, types: fns.map((f) => typeof f),
    required: Object.keys(require.cache) }))
})`

for (const [label, entry, names] of [
  ['unit thread', () => unitWorkerEntry().filename, ['default']],
  ['plain-Piscina baseline', () => BASELINE_ENTRY, ['default', 'noop', 'runWasiUnit']]
] as const) {
  test(`the ${label} entry is CommonJS: require() loads no ES module, and each export Piscina awaits is a function`, async () => {
    const filename = entry()
    assert.ok(filename.endsWith('.cjs'), `${filename} is not a .cjs door`)
    const { code, stdout, stderr } = await node(['-e', PROBE, filename, JSON.stringify(names)], 20_000)
    assert.is(code, 0, stderr)
    const probe = JSON.parse(stdout)
    assert.ok(probe.esModule, 'marked __esModule, so that Piscina looks up the name and awaits it')
    assert.equal(
      probe.types,
      names.map(() => 'function')
    )
    const throughRequire = (probe.required as string[]).filter((file) => !file.endsWith('.cjs'))
    assert.equal(throughRequire, [], 'no file but CommonJS doors went through require()')
  })
}

test('40 pools started and stopped, 4 at a time, a task on each: no process aborts', async () => {
  const { code, signal, stdout, stderr } = await node([CHURN, '40'], 120_000)
  assert.is(signal, null, `the process died of ${signal}: ${stderr.slice(-2000)}`)
  assert.is(code, 0, stderr.slice(-2000))
  assert.match(stdout, /^ran 40$/m)
})

test.run()
