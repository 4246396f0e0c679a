/**
 * Hostile input against a live donor while it runs an honest coordinator's job: thousands of
 * random and mutated frames from connections that say they coordinate. Each malformed frame
 * costs its connection, verdicts on results the donor never gave count for nothing, the donor
 * keeps its honest coordinator throughout, and the job's answer is exact.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import type HyperDHT from 'hyperdht'
import { startTestGrid, until, within, type TestGrid } from '../support/helpers.js'
import { calmRun, fixtureDir } from '../support/process-grid.js'
import { HARMLESS_TO_DONOR, Random } from '../support/fuzz-frames.js'
import { campaign, tooFew, describe, lostConnections, type Posture } from '../support/fuzz-session.js'
import { freshLeases } from '../support/wire-oracle.js'
import * as wire from '../../node/protocol/wire.js'
import type { Peer } from '../../node/peer/peer.js'

const SLOW = fixtureDir('slow')
const SEED = Number(process.env.FUZZ_SEED ?? 20261121)
const FRAMES = 8000
const MUTATED = 1600
const NETWORK_SESSIONS = 60
const FUZZ_BUDGET_MS = 20_000
/** Each kind of frame (every mutation, message type, noise and bad header) at least this often; few the oracle cannot judge; many malformed. */
const MIN_EACH_KIND = 50
const MAX_UNKNOWN_SHARE = 0.01
const MIN_MALFORMED = 1200
const UNITS = 200
/** Cancels and verdicts for random leases make up most frames, so sessions reach deep states. */
const AS_COORDINATOR: Posture = {
  roles: wire.ROLE_COORDINATOR,
  harmless: HARMLESS_TO_DONOR,
  benign: 0.8,
  target: { coordinates: false, donates: true, leases: freshLeases() }
}

let grid: TestGrid
let coordinator: Peer
let donor: Peer
let node: HyperDHT

test.before(async () => {
  grid = await startTestGrid()
  coordinator = await grid.add({ donate: false, tasksDir: SLOW })
  donor = await grid.add({ coordinate: false, tasksDir: SLOW })
  await until(() => coordinator.parts.coordinator.donorCount() === 1, 60_000, 'the donor to connect')
  node = grid.testnet.createNode()
})

test.after(async () => {
  await node?.destroy()
  await grid?.destroy()
})

test('8 000 frames from hostile coordinators while a donor runs a job: each malformed frame costs its connection, the answer is exact', async () => {
  const job = await coordinator.submit({ task: 'slow', params: { ms: 50 }, units: UNITS, quorum: 1, deadline: 60 })
  let runningWhileFuzzed = false
  const report = await campaign({
    target: donor,
    node,
    random: new Random(SEED),
    posture: AS_COORDINATOR,
    networkSessions: NETWORK_SESSIONS,
    frames: FRAMES,
    mutated: MUTATED,
    budgetMs: FUZZ_BUDGET_MS,
    between: () => {
      runningWhileFuzzed = coordinator.status(job.id)?.state === 'running'
    }
  })
  const { stats } = report
  console.log(`donor fuzz ${describe(SEED, report)}`)

  // The oracle's verdicts first: a peer that takes what it should refuse also slows the campaign below its counts.
  assert.equal(stats.unrefused, [], 'every malformed frame closed its connection')
  assert.equal(stats.falseAlarms, [], 'no well-formed frame closed a connection')
  assert.ok(
    stats.frames >= FRAMES && stats.mutated >= MUTATED,
    `only ${stats.frames} frames (${stats.mutated} mutated) within the time budget`
  )
  assert.ok(runningWhileFuzzed, 'the job was still running while the donor was being fuzzed')
  assert.equal(tooFew(stats, MIN_EACH_KIND), [], 'enough frames of every kind')
  assert.ok(
    stats.verdicts.unknown <= stats.frames * MAX_UNKNOWN_SHARE,
    `the oracle could not judge ${stats.verdicts.unknown} of ${stats.frames} frames`
  )
  assert.ok(stats.malformed >= MIN_MALFORMED, `only ${stats.malformed} malformed frames were sent`)
  const done = await within(coordinator.wait(job.id), 60_000, 'the job to end')
  assert.is(done.state, 'done', done.error ?? '')
  assert.equal(done.result, await calmRun(`${SLOW}/slow.mjs`, { ms: 0 }, UNITS))
  assert.equal(lostConnections(donor, coordinator.key), [], 'the donor kept its coordinator')
  assert.equal(lostConnections(coordinator, donor.key), [], 'the coordinator kept its donor')
  const counts = donor.donorStats()!
  // Quorum 1 and one donor: each unit ran once, and its one verdict was an acceptance; the hostile verdicts counted for nothing.
  assert.is(counts.unitsRun, UNITS, 'units the donor ran')
  assert.is(counts.accepted, UNITS, 'acceptances counted')
  assert.is(counts.rejected, 0, 'rejections counted')
})

test.run()
