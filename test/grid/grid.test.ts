/** A real grid on 127.0.0.1: a testnet DHT, peers with real swarms, worker threads and stores. */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { fileURLToPath } from 'node:url'
import { gridWith, until, within } from '../support/helpers.js'

const PRIMES_TO_3M = 216816
const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url))

test('a job over 3 donors with quorum 2 gives the exact answer', async () => {
  const { grid, coordinator } = await gridWith([{}, {}, {}])
  try {
    const job = await coordinator.submit({ task: 'primes', params: { from: 0, to: 3_000_000 }, units: 12, quorum: 2 })
    const done = await within(coordinator.wait(job.id), 60_000, 'the job to end')
    assert.is(done.state, 'done')
    assert.equal(done.result, { count: PRIMES_TO_3M })
    assert.is(done.accepted, 12)
    assert.ok(done.results >= 24, `every unit needs two results, got ${done.results}`)
    assert.equal(done.outvoted, [])
  } finally {
    await grid.destroy()
  }
})

test('every accepted unit was agreed by two distinct donors', async () => {
  const { grid, coordinator } = await gridWith([{}, {}, {}])
  try {
    const job = await coordinator.submit({ task: 'primes', params: { to: 200_000 }, units: 8, quorum: 2 })
    await within(coordinator.wait(job.id), 60_000, 'the job to end')
    for (let unit = 0; unit < 8; unit++) {
      const peers = coordinator.parts.store.acceptedOutput(job.id, unit)!.peers
      assert.is(new Set(peers).size, 2, `unit ${unit} accepted on ${peers}`)
    }
  } finally {
    await grid.destroy()
  }
})

test('a donor that returns wrong answers is outvoted and the answer stays exact', async () => {
  const { grid, coordinator, donors } = await gridWith([{}, {}, { tasksDir: fixture('liar') }])
  const liar = donors[2]
  try {
    const job = await coordinator.submit({ task: 'primes', params: { from: 0, to: 3_000_000 }, units: 12, quorum: 2 })
    const done = await within(coordinator.wait(job.id), 60_000, 'the job to end')
    assert.is(done.state, 'done')
    assert.equal(done.result, { count: PRIMES_TO_3M })
    assert.ok(done.outvoted.includes(liar.key), 'the liar is listed as outvoted')
    assert.ok((coordinator.parts.store.reputation(liar.key)?.invalidated ?? 0) > 0, 'the liar lost votes in its reputation')
    assert.is(coordinator.parts.store.reputation(liar.key)?.validated ?? 0, 0)
    const shown = coordinator.peers().find((p) => p.key === liar.key)
    assert.ok(shown?.outvoted, 'status shows the liar as outvoted')
  } finally {
    await grid.destroy()
  }
})

test('a donor that disconnects mid-unit has its units reissued and the job completes', async () => {
  const slow = fixture('slow')
  const { grid, coordinator, donors } = await gridWith([{ tasksDir: slow }, { tasksDir: slow }, { tasksDir: slow }], { tasksDir: slow })
  try {
    const quitter = donors[0]
    let started = false
    quitter.parts.donor!.once('unit-start', () => {
      started = true
    })
    const job = await coordinator.submit({ task: 'slow', params: { ms: 300 }, units: 6, quorum: 2 })
    await until(() => started, 10_000, 'the quitter to start a unit')
    await quitter.parts.swarm.destroy()
    const done = await within(coordinator.wait(job.id), 60_000, 'the job to end')
    assert.is(done.state, 'done')
    assert.equal(done.result, { sum: 0 + 1 + 4 + 9 + 16 + 25, units: 6 })
    assert.ok(
      coordinator.log.some((e) => e.kind === 'reissue' && e.text.includes('donor left')),
      'a unit was reissued because its donor left'
    )
  } finally {
    await grid.destroy()
  }
})

// Intruders (messages that break the protocol, over real connections) are in violations.test.ts.

test.run()
