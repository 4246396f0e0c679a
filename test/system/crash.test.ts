/**
 * A coordinator killed with SIGKILL and started again with the same --data: what it accepted
 * stays accepted (never recomputed), what was in flight is reissued, results its donors kept
 * while it was down are delivered and counted, and the answer is the calm run's.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { ProcessGrid, calmRun, fixtureDir } from '../support/process-grid.js'
import { until } from '../support/helpers.js'
import { RUN_SPAN } from '../../node/store/lease-log.js'

const SLOW = fixtureDir('slow')
const SLOW_TASK = join(SLOW, 'slow.mjs')
const coordinatorFlags = ['--no-donate', '--tasks', SLOW]
const donorFlags = ['--no-coordinate', '--threads', '1', '--tasks', SLOW]

interface Accepted {
  digest: string
  at: number
  peers: string[]
}

/** The leases out when the coordinator died (its lease log), and the run they belong to (the lease epoch). */
async function leasesOut(grid: ProcessGrid): Promise<{ epoch: number; ids: number[] }> {
  return grid.readStore('c', (store) => ({
    epoch: store.sub<number, string>('meta').get('lease-epoch') as number,
    ids: [...store.sub<unknown, number>('leases').getKeys()] as number[]
  }))
}

async function acceptedSoFar(grid: ProcessGrid, job: string, units: number): Promise<Map<number, Accepted>> {
  return grid.readStore('c', (store) => {
    const found = new Map<number, Accepted>()
    for (let unit = 0; unit < units; unit++) {
      const output = store.acceptedOutput(job, unit)
      if (output) found.set(unit, { digest: output.digest, at: output.at, peers: output.peers })
    }
    return found
  })
}

test("a coordinator SIGKILLed four times mid-job resumes: nothing accepted is lost or recomputed, lease ids of each run lie above the last run's, the answer is exact", async () => {
  const grid = await ProcessGrid.start()
  const UNITS = 30
  try {
    grid.start('c', coordinatorFlags)
    for (const name of ['d1', 'd2', 'd3']) grid.start(name, donorFlags)
    const [coordinatorKey] = await grid.ready('c', 'd1', 'd2', 'd3')
    const donors = ['d1', 'd2', 'd3'].map((name) => grid.peers.get(name)!)
    const sawLeave = new RegExp(`peer ${coordinatorKey.slice(0, 8)} left`)
    await grid.donorsOffered('c', 3)
    const job = await grid.submit('c', { task: 'slow', params: { ms: 300 }, units: UNITS, quorum: 2, deadline: 120 })

    const snapshots: Array<Map<number, Accepted>> = []
    const runs: Array<{ epoch: number; ids: number[] }> = []
    // Killed before anything is accepted (its donors at work), then at three points on the way.
    for (const [kill, threshold] of [0, 5, 15, 24].entries()) {
      await grid.wait('c', job.id, 60_000, { until: (view) => view.accepted >= threshold && view.progress > 0 })
      // The view counts an accept as it is decided; its output reaches the disk a commit later.
      const deadline = Date.now() + 10_000
      while ((await acceptedSoFar(grid, job.id, UNITS)).size < threshold && Date.now() < deadline) await sleep(20)
      const left = donors.map((d) => d.count(sawLeave))
      await grid.peers.get('c')!.stop('SIGKILL')
      const before = await acceptedSoFar(grid, job.id, UNITS)
      assert.ok(before.size >= threshold, `${before.size} units were on disk when the coordinator died`)
      snapshots.push(before)
      runs.push(await leasesOut(grid))
      // Back at once (its donors still hold their old connections) or only once every donor has seen it gone.
      if (kill % 2 === 1)
        await until(() => donors.every((d, i) => d.count(sawLeave) > left[i]), 20_000, 'the donors to see the coordinator gone')
      grid.start('c', coordinatorFlags)
      await grid.ready('c')
    }

    // Every run has an epoch of its own, and issued only ids in its range: above every earlier run's, so none collide.
    assert.equal(
      runs.map((r) => r.epoch),
      runs.map((_, i) => runs[0].epoch + i),
      'one lease epoch per run'
    )
    assert.ok(runs.filter((r) => r.ids.length > 0).length >= 3, `leases were out at most kills: ${runs.map((r) => r.ids.length)}`)
    for (let i = 0; i < runs.length; i++) {
      // A lease still out from the run before was adopted, not issued again: only the others are this run's.
      const fresh = runs[i].ids.filter((id) => !(runs[i - 1]?.ids ?? []).includes(id))
      for (const id of fresh) {
        assert.is(Math.floor(id / RUN_SPAN), runs[i].epoch, `lease ${id} of run ${i + 1} lies in that run's range`)
        assert.ok(id > Math.max(0, ...runs.slice(0, i).flatMap((r) => r.ids)), `lease ${id} of run ${i + 1} lies above every earlier run's`)
      }
    }

    const done = await grid.wait('c', job.id, 90_000)
    assert.is(done.state, 'done', done.error ?? '')
    assert.equal(done.result, await calmRun(SLOW_TASK, { ms: 0 }, UNITS))
    const after = await acceptedSoFar(grid, job.id, UNITS)
    assert.is(after.size, UNITS)
    for (const before of snapshots) {
      for (const [unit, accepted] of before) assert.equal(after.get(unit), accepted, `unit ${unit} was accepted once and never again`)
    }
  } catch (err) {
    // What each peer logged is the only account of a failure across restarts.
    for (const [name, peer] of grid.peers) console.log(`--- log of ${name}\n${peer.logs.join('\n')}`)
    throw err
  } finally {
    await grid.destroy()
  }
})

test('donors keep the results they finish while their coordinator is down, and deliver them when it is back', async () => {
  const grid = await ProcessGrid.start()
  try {
    grid.start('c', coordinatorFlags)
    for (const name of ['d1', 'd2']) grid.start(name, donorFlags)
    await grid.ready('c', 'd1', 'd2')
    await grid.donorsOffered('c', 2)
    // Two units of 3 s: each donor takes both (a thread and a prefetch slot), so one runs after the other.
    const job = await grid.submit('c', { task: 'slow', params: { ms: 3000 }, units: 2, quorum: 2, deadline: 120 })
    // Killed once the donors are at work on their first units (their progress reached it).
    await grid.wait('c', job.id, 20_000, { until: (view) => view.progress > 0 })
    await grid.peers.get('c')!.stop('SIGKILL')
    // Down long enough for the units in flight to finish, and for the donors to notice it is gone.
    await new Promise((resolve) => setTimeout(resolve, 7000))
    const c = grid.start('c', coordinatorFlags)
    await grid.ready('c')
    const done = await grid.wait('c', job.id, 60_000)
    assert.is(done.state, 'done', done.error ?? '')
    assert.equal(done.result, await calmRun(SLOW_TASK, { ms: 0 }, 2))
    assert.ok(
      c.count(/delivers a result it kept while this coordinator was down/) >= 2,
      `kept results delivered: ${c.logs.filter((l) => /kept/.test(l)).join(' | ')}`
    )
  } finally {
    await grid.destroy()
  }
})

test.run()
