/**
 * A peer's DHT node, in a process of its own as `swarmgrid submit` runs it: checking which
 * local addresses it can share must not hold the process open once it is done. hyperdht's own
 * check left a 500 ms timer armed after its answer, and every `submit` of a short job waited
 * it out after the job was done.
 */
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runNode } from '../support/helpers.js'

const dist = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url))
/** Exit comes within a millisecond or two of the last close; the timer held it ~500 ms. */
const LINGER_BOUND_MS = 250

const script = `
import { performance } from 'node:perf_hooks'
import { makeDht } from ${JSON.stringify(dist('node/peer/dht-node.js'))}
import { runBootstrapNode } from ${JSON.stringify(dist('node/peer/bootstrap.js'))}
const boot = await runBootstrapNode('127.0.0.1', 0)
const dht = makeDht({ bootstrap: ['127.0.0.1:' + boot.address().port] })
await dht.ready()
const own = { host: '127.0.0.1', port: dht.address().port }
// An address of no interface here: no socket binds to it, so it is not shared.
const usable = await dht.validateLocalAddresses([own, { host: '192.0.2.99', port: own.port }])
await dht.destroy()
await boot.destroy()
const closed = performance.now()
process.on('exit', () => console.log(JSON.stringify({ usable, own, lingerMs: performance.now() - closed })))
`

test(`a DHT node's check of its local addresses answers, and leaves nothing that holds its process open`, async () => {
  const run = await runNode(['--input-type=module', '-e', script], { ms: 20_000 })
  assert.is(run.code, 0, run.stderr)
  const { usable, own, lingerMs } = JSON.parse(run.stdout)
  assert.equal(usable, [own], 'the loopback address answers itself; the foreign one is left out')
  assert.ok(lingerMs < LINGER_BOUND_MS, `the process stayed up ${lingerMs.toFixed(0)} ms after its DHT nodes closed`)
})

test.run()
