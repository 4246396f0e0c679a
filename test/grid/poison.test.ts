/**
 * Poison and runaway units: a unit that throws, spins forever or eats memory is killed in its
 * thread and reported; after max-errors (3) such failures its job fails and says why, while the
 * same donors go on serving other jobs.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { startTestGrid, tempDir, until, within, type TestGrid } from '../support/helpers.js'
import { fixtureDir } from '../support/process-grid.js'
import type { Peer } from '../../node/peer/peer.js'

const POISON = fixtureDir('poison')
const PRIMES_TO_1M = 78498

async function poisonGrid(): Promise<{ grid: TestGrid; coordinator: Peer; donors: Peer[] }> {
  const grid = await startTestGrid()
  const coordinator = await grid.add({ donate: false, tasksDir: POISON })
  const donors = []
  for (let i = 0; i < 3; i++) donors.push(await grid.add({ coordinate: false, tasksDir: POISON, memoryMb: 64 }))
  await until(() => coordinator.parts.coordinator.donorCount() === 3, 60_000, 'three donors to connect')
  return { grid, coordinator, donors }
}

test('units that throw, hang past their deadline or run out of memory fail their job with the reason; other jobs finish', async () => {
  const { grid, coordinator, donors } = await poisonGrid()
  const beats = await tempDir('swarmgrid-beats-')
  try {
    const healthy = await coordinator.submit({ task: 'primes', params: { to: 1_000_000 }, units: 8, quorum: 2 })
    const bad = await Promise.all([
      coordinator.submit({ task: 'poison', params: { mode: 'throw', at: 1 }, units: 4, quorum: 2 }),
      coordinator.submit({ task: 'poison', params: { mode: 'hang', at: 2, beats }, units: 4, quorum: 2, deadline: 2 }),
      coordinator.submit({ task: 'poison', params: { mode: 'oom', at: 0 }, units: 4, quorum: 2 })
    ])
    const [thrown, hung, oom] = await within(Promise.all(bad.map((job) => coordinator.wait(job.id))), 60_000, 'the poisoned jobs to end')
    assert.is(thrown.state, 'failed')
    assert.match(thrown.error!, /^unit 1 failed: 3 errors, the last: error: Error: poison unit 1 threw/)
    assert.is(hung.state, 'failed')
    assert.match(hung.error!, /^unit 2 failed: 3 errors, the last: (deadline passed on [0-9a-f]{8}|timeout: ran past its \d+ ms deadline)/)
    // Each thread that ran the hanging unit wrote the time every 50 ms while it lived: all have stopped.
    const lastBeats = async () =>
      Object.fromEntries(await Promise.all((await readdir(beats)).map(async (f) => [f, await readFile(join(beats, f), 'utf8')])))
    const seen = await lastBeats()
    assert.ok(Object.keys(seen).length >= 3, `threads that ran the hanging unit: ${Object.keys(seen)}`)
    // What is checked is an absence (no beat for a second), so a fixed wait is the test itself here.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    assert.equal(await lastBeats(), seen, 'no thread that hung is still running: the donors killed them')
    assert.is(oom.state, 'failed')
    assert.match(oom.error!, /^unit 0 failed: 3 errors, the last: memory: ran out of memory/)

    const done = await within(coordinator.wait(healthy.id), 60_000, 'the healthy job to end')
    assert.is(done.state, 'done')
    assert.equal(done.result, { count: PRIMES_TO_1M })

    // Every donor that ran a poisoned unit still runs units: the killed threads were replaced.
    const after = await coordinator.submit({ task: 'poison', params: { mode: 'none' }, units: 6, quorum: 3 })
    const fine = await within(coordinator.wait(after.id), 30_000, 'a job after the poison')
    assert.is(fine.state, 'done', fine.error ?? '')
    assert.equal(fine.result, { sum: 0 + 1 + 4 + 9 + 16 + 25, units: 6 })
    for (const donor of donors) {
      const stats = donor.donorStats()!
      assert.ok(stats.failed > 0, `donor ${donor.key.slice(0, 8)} reported failures`)
      assert.is(stats.busy, 0, 'no thread is left spinning')
    }
    assert.is(coordinator.parts.coordinator.donorCount(), 3, 'no donor was dropped for a poisoned unit')
  } finally {
    await grid.destroy()
    await rm(beats, { recursive: true, force: true })
  }
})

test('a task that takes partial results leaves a failing unit out: the job ends done and says what it lacks', async () => {
  const { grid, coordinator } = await poisonGrid()
  try {
    const job = await coordinator.submit({ task: 'poison-partial', params: { mode: 'throw', at: 1 }, units: 4, quorum: 2 })
    const done = await within(coordinator.wait(job.id), 30_000, 'the job to end')
    assert.is(done.state, 'done', done.error ?? '')
    assert.equal(done.result, { sum: 0 + 4 + 9, units: 4 })
    assert.match(done.error!, /^partial result: 1 of 4 units left out \(1; the log says why\)$/)
    assert.ok(
      coordinator.log.some((e) => /unit 1 failed: 3 errors, the last: error: Error: poison unit 1 threw/.test(e.text)),
      'the log says why'
    )
    assert.is(done.accepted, 3)
  } finally {
    await grid.destroy()
  }
})

test.run()
