/**
 * Donor churn with real processes: donors killed with SIGKILL mid-unit, a donor stopped with
 * SIGSTOP (alive, connection open, silent), donors stopped politely; the answer stays exact.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Background, until, untilAsync } from '../support/helpers.js'
import { ProcessGrid, TEST_ENV, calmRun, fixtureDir } from '../support/process-grid.js'

const SLOW = fixtureDir('slow')
const donorFlags = ['--no-coordinate', '--threads', '1', '--tasks', SLOW]
/** Far beyond the test: whatever reissues a unit here, it is not its deadline. */
const DEADLINE_S = 120
/** Three missed keep-alives of a second each, and slack for a machine shared with other test runs. */
const DETECT_MS = 10_000

test('donors killed with SIGKILL or frozen with SIGSTOP mid-unit lose their leases; the answer is exact', async () => {
  const grid = await ProcessGrid.start()
  try {
    const [, k1, k2] = await grid.coordinatorWithDonors(3, donorFlags, ['--no-donate', '--tasks', SLOW])
    const c = grid.peers.get('c')!

    const params = { ms: 300 }
    const job = await grid.submit('c', { task: 'slow', params, units: 30, quorum: 2, deadline: DEADLINE_S })
    let killedAt = 0
    let stoppedAt = 0
    const done = await grid.wait('c', job.id, 90_000, {
      each: (view) => {
        if (!killedAt && view.accepted >= 3) {
          grid.peers.get('d1')!.signal('SIGKILL')
          killedAt = Date.now()
          grid.start('d4', donorFlags)
        }
        if (killedAt && !stoppedAt && view.accepted >= 10) {
          grid.peers.get('d2')!.signal('SIGSTOP')
          stoppedAt = Date.now()
          grid.start('d1', donorFlags)
        }
      }
    })
    assert.ok(killedAt && stoppedAt, 'the job outlived both faults')
    assert.is(done.state, 'done', done.error ?? '')
    // The slow task's outputs do not depend on how long a unit sleeps.
    assert.equal(done.result, await calmRun(join(SLOW, 'slow.mjs'), { ms: 0 }, 30))
    assert.is(done.accepted, 30)

    const killSeen = await c.logTime(new RegExp(`donor ${k1.slice(0, 8)} left`), 1)
    const stallSeen = await c.logTime(new RegExp(`donor ${k2.slice(0, 8)} left`), DETECT_MS)
    assert.ok(killSeen - killedAt < DETECT_MS, `the killed donor was seen gone after ${killSeen - killedAt} ms`)
    assert.ok(stallSeen - stoppedAt < DETECT_MS, `the frozen donor was seen gone after ${stallSeen - stoppedAt} ms`)
    assert.ok(c.count(/reissued: donor left/) >= 1, 'units of the departed donors were reissued')

    const agreed = await grid.readStore('c', (store) => Array.from({ length: 30 }, (_, unit) => store.acceptedOutput(job.id, unit)!.peers))
    for (const peers of agreed) assert.is(new Set(peers).size, 2, `accepted by ${peers}`)
  } finally {
    await grid.destroy()
  }
})

test('SIGTERM and SIGINT: a donor hands back its unit, a coordinator or submit closes its store; all within seconds', async () => {
  const grid = await ProcessGrid.start()
  try {
    grid.start('c', ['--no-donate', '--tasks', SLOW])
    for (const name of ['d1', 'd2']) grid.start(name, donorFlags)
    await grid.ready('c', 'd1', 'd2')
    const c = grid.peers.get('c')!
    await grid.donorsOffered('c', 2)

    const job = await grid.submit('c', { task: 'slow', params: { ms: 1500 }, units: 4, quorum: 2, deadline: DEADLINE_S })
    // Stopped while it holds units it has begun: their progress has reached the coordinator.
    await grid.wait('c', job.id, 20_000, { until: (view) => view.progress > 0 })
    let started = Date.now()
    assert.is(await grid.peers.get('d1')!.stop('SIGTERM'), 0)
    assert.ok(Date.now() - started < 5000, `the donor took ${Date.now() - started} ms to stop`)
    await c.log(/reissued: handed back/, 5000)

    grid.start('d3', donorFlags)
    started = Date.now()
    // Status 0 comes only once the peer's stop has run to its end, the store's close its last step;
    // that stop also removes peer.json, which a SIGKILL leaves behind.
    assert.is(await c.stop('SIGINT'), 0)
    assert.ok(Date.now() - started < 5000, `the coordinator took ${Date.now() - started} ms to stop`)
    assert.not.ok(existsSync(join(grid.dataDir('c'), 'peer.json')), 'the coordinator stopped in order: peer.json is gone')
    const stored = await grid.readStore('c', (store) => store.job(job.id)!)
    assert.is(stored.state, 'running', 'a stopped coordinator leaves its job running in the store')

    grid.start('c', ['--no-donate', '--tasks', SLOW])
    await grid.ready('c')
    const done = await grid.wait('c', job.id, 60_000)
    assert.is(done.state, 'done', done.error ?? '')
    assert.equal(done.result, await calmRun(join(SLOW, 'slow.mjs'), { ms: 0 }, 4))

    // `submit` with a peer of its own: Ctrl-C stops that peer cleanly, and a peer started on its data dir finishes the job.
    const submit = new Background(
      [
        'submit',
        'slow',
        '--param',
        'ms=1500',
        '--units',
        '4',
        '--quorum',
        '2',
        '--json',
        '--data',
        grid.dataDir('s'),
        '--bootstrap',
        grid.address,
        '--grid',
        'proc',
        '--no-donate',
        '--no-http',
        '--tasks',
        SLOW
      ],
      { env: TEST_ENV }
    )
    const keptJob = () => grid.readStore('s', (store) => store.listJobs()[0]).catch(() => undefined)
    await until(() => existsSync(join(grid.dataDir('s'), 'store')), 20_000, 'the submit peer to open its store')
    await untilAsync(async () => (await keptJob())?.state === 'running', 20_000, 'the submit peer to store its job')
    started = Date.now()
    assert.is(await submit.stop('SIGINT'), 130)
    assert.ok(Date.now() - started < 5000, `submit took ${Date.now() - started} ms to stop`)
    assert.ok(
      submit.logs.some((l) => /SIGINT: stopped; job [0-9a-f]{8} is kept in/.test(l)),
      submit.logs.join(' | ')
    )
    const kept = await keptJob()
    assert.is(kept?.state, 'running')
    grid.start('s', ['--no-donate', '--tasks', SLOW])
    await grid.ready('s')
    const finished = await grid.wait('s', kept!.id, 60_000)
    assert.is(finished.state, 'done', finished.error ?? '')
    assert.equal(finished.result, await calmRun(join(SLOW, 'slow.mjs'), { ms: 0 }, 4))
  } finally {
    await grid.destroy()
  }
})

test.run()
