/**
 * Deleting finished jobs from a real lmdb store: a deleted job takes everything stored for it,
 * other jobs keep theirs, and the retention sweep deletes only finished jobs past their time.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { rm } from 'node:fs/promises'
import { Store } from '../../node/store/store.js'
import type { JobRecord } from '../../node/store/records.js'
import { LeftOutUnits } from '../../node/coordinator/left-out-units.js'
import { parseRetention, sweepFinishedJobs } from '../../node/peer/retention.js'
import { tempDir } from '../support/helpers.js'

const UNITS = 5

function record(id: string, state: JobRecord['state'], finishedAt: number | null): JobRecord {
  return {
    id,
    task: 't',
    taskVersion: 1,
    params: {},
    units: UNITS,
    policy: { quorum: 1, maxResults: 3, maxErrors: 3, leaseMs: 1000 },
    state,
    createdAt: 0,
    finishedAt,
    error: null,
    results: 0,
    accepted: 0,
    outvoted: []
  }
}

async function withStore(body: (store: Store) => Promise<void>): Promise<void> {
  const dir = await tempDir()
  const store = Store.open(dir)
  try {
    await body(store)
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

async function addJob(store: Store, job: JobRecord): Promise<void> {
  await store.createJob(
    job,
    Array.from({ length: UNITS }, (_, i) => new Uint8Array([i]))
  )
  for (let unit = 0; unit < UNITS; unit++)
    await store.accept(job, unit, { output: new Uint8Array([unit]), digest: 'd', peers: ['p'], at: 0 })
  new LeftOutUnits(store).record(job.id, 1, 'reason')
  if (job.state !== 'running') await store.finishJob(job.id, { state: job.state, finishedAt: job.finishedAt }, new Uint8Array([9]))
}

test('deleteJob removes the job, its inputs, accepted outputs, result and left-out units, and nothing of another job', async () => {
  await withStore(async (store) => {
    await addJob(store, record('aa', 'done', 1))
    await addJob(store, record('bb', 'done', 1))
    assert.is(await store.deleteJob('aa'), true)
    assert.is(store.job('aa'), undefined)
    assert.is(store.result('aa'), undefined)
    assert.equal(store.acceptedUnits('aa'), [])
    for (let unit = 0; unit < UNITS; unit++) assert.is(store.input('aa', unit), undefined)
    assert.equal(new LeftOutUnits(store).of('aa'), [])
    assert.equal(store.acceptedUnits('bb'), [0, 1, 2, 3, 4])
    assert.ok(store.result('bb'))
    assert.equal(new LeftOutUnits(store).of('bb'), [[1, 'reason']])
    assert.is(await store.deleteJob('aa'), false)
  })
})

test('the sweep deletes finished jobs older than the retention, never running or recent ones', async () => {
  await withStore(async (store) => {
    await addJob(store, record('01d', 'done', 1000))
    await addJob(store, record('02f', 'failed', 2000))
    await addJob(store, record('03c', 'cancelled', 9000))
    await addJob(store, record('04r', 'running', null))
    assert.equal((await sweepFinishedJobs(store, 5000, 10_000)).sort(), ['01d', '02f'])
    assert.equal(
      store
        .listJobs()
        .map((j) => j.id)
        .sort(),
      ['03c', '04r']
    )
  })
})

test('retention times: 90s, 30m, 12h, 7d, bare days; nonsense is null', () => {
  assert.is(parseRetention('90s'), 90_000)
  assert.is(parseRetention('30m'), 1_800_000)
  assert.is(parseRetention('12h'), 43_200_000)
  assert.is(parseRetention('7d'), 604_800_000)
  assert.is(parseRetention('2'), 172_800_000)
  for (const bad of ['', 'soon', '0s', '-1d', '5w']) assert.is(parseRetention(bad), null, bad)
})

test.run()
