/**
 * Hostile input against a live coordinator while a job runs: many thousands of random and
 * mutated frames from hostile connections, a repeat offender banned through the firewall, and
 * a frame announced larger than the limit refused before it is buffered. The job's answer is
 * checked exactly afterwards, and the honest donors must never lose their connections.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import HyperDHT from 'hyperdht'
import { startTestGrid, until, within, type TestGrid } from '../support/helpers.js'
import { calmRun, fixtureDir } from '../support/process-grid.js'
import { HARMLESS_TO_COORDINATOR, Random } from '../support/fuzz-frames.js'
import {
  campaign,
  tooFew,
  closedWithin,
  connect,
  describe,
  injected,
  lostConnections,
  openChannel,
  type Posture,
  type StreamClass
} from '../support/fuzz-session.js'
import { freshLeases } from '../support/wire-oracle.js'
import * as wire from '../../node/protocol/wire.js'
import type { Peer } from '../../node/peer/peer.js'

const SLOW = fixtureDir('slow')
const SEED = Number(process.env.FUZZ_SEED ?? 20251121)
/** Frames to send in all, and how many of them random or mutated; the first sessions go over real Hyperswarm connections. */
const FRAMES = 20_000
const MUTATED = 4000
const NETWORK_SESSIONS = 150
const FUZZ_BUDGET_MS = 30_000
/** Each kind of frame (every mutation, message type, noise and bad header) at least this often; few the oracle cannot judge; many malformed. */
const MIN_EACH_KIND = 100
const MAX_UNKNOWN_SHARE = 0.01
const MIN_MALFORMED = 3000
/** Share of frames drawn whole from the schema, so that sessions last long enough to reach deep states. */
const BENIGN = 0.8

let grid: TestGrid
let coordinator: Peer
let honest: Peer[]
let node: HyperDHT

test.before(async () => {
  grid = await startTestGrid()
  coordinator = await grid.add({ donate: false, tasksDir: SLOW })
  honest = [await grid.add({ coordinate: false, tasksDir: SLOW }), await grid.add({ coordinate: false, tasksDir: SLOW })]
  await until(() => coordinator.parts.coordinator.donorCount() === 2, 60_000, 'the honest donors to connect')
  node = grid.testnet.createNode()
})

test.after(async () => {
  await node?.destroy()
  await grid?.destroy()
})

const AS_DONOR: Posture = {
  roles: wire.ROLE_DONOR,
  harmless: HARMLESS_TO_COORDINATOR,
  benign: BENIGN,
  target: { coordinates: true, donates: false, leases: freshLeases() }
}
const connectToCoordinator = (keyPair?: ReturnType<typeof HyperDHT.keyPair>) => connect(node, coordinator, keyPair)

test('20 000 frames, thousands of them random or mutated, from hostile peers while a job runs: each malformed frame costs its connection, the answer is exact', async () => {
  const job = await coordinator.submit({ task: 'slow', params: { ms: 100 }, units: 60, quorum: 2, deadline: 30 })
  const honestLinks = honest.map((h) => h.key)
  let runningWhileFuzzed = false
  const report = await campaign({
    target: coordinator,
    node,
    random: new Random(SEED),
    posture: AS_DONOR,
    networkSessions: NETWORK_SESSIONS,
    frames: FRAMES,
    mutated: MUTATED,
    budgetMs: FUZZ_BUDGET_MS,
    between: () => {
      runningWhileFuzzed = coordinator.status(job.id)?.state === 'running'
    }
  })
  const { stats } = report
  console.log(`fuzz ${describe(SEED, report)}`)

  // The oracle's verdicts first: a peer that takes what it should refuse also slows the campaign below its counts.
  assert.equal(stats.unrefused, [], 'every malformed frame closed its connection')
  assert.equal(stats.falseAlarms, [], 'no well-formed frame closed a connection')
  assert.ok(
    stats.frames >= FRAMES && stats.mutated >= MUTATED,
    `only ${stats.frames} frames (${stats.mutated} mutated) within the time budget`
  )
  assert.ok(runningWhileFuzzed, 'the job was still running while the peer was being fuzzed')
  assert.equal(tooFew(stats, MIN_EACH_KIND), [], 'enough frames of every kind')
  assert.ok(
    stats.verdicts.unknown <= stats.frames * MAX_UNKNOWN_SHARE,
    `the oracle could not judge ${stats.verdicts.unknown} of ${stats.frames} frames`
  )
  assert.ok(stats.malformed >= MIN_MALFORMED, `only ${stats.malformed} malformed frames were sent`)
  const done = await within(coordinator.wait(job.id), 60_000, 'the job to end')
  assert.is(done.state, 'done', done.error ?? '')
  assert.equal(done.result, await calmRun(`${SLOW}/slow.mjs`, { ms: 0 }, 60))
  assert.is(coordinator.parts.coordinator.donorCount() >= 2, true)
  for (const key of honestLinks) assert.equal(lostConnections(coordinator, key), [], `honest donor ${key.slice(0, 8)} kept its connection`)
})

test('a peer that breaks the protocol three times is banned: the firewall refuses its next connection', async () => {
  const keyPair = HyperDHT.keyPair()
  const offender = keyPair.publicKey.toString('hex')
  for (let strike = 0; strike < 3; strike++) {
    const conn = await connectToCoordinator(keyPair)
    openChannel(conn, wire.ROLE_DONOR)
    conn.write(Uint8Array.from([1, 200, 1, 2, 3]))
    assert.ok(await closedWithin(conn, 5000), `strike ${strike + 1} closed the connection`)
  }
  await until(() => coordinator.parts.bans.isBanned(offender), 5000, 'the ban')
  assert.ok(
    coordinator.log.some((e) => e.kind === 'ban' && e.peer === offender),
    'the ban is logged'
  )
  const refused = await within(connectToCoordinator(keyPair), 15_000, 'a banned connection').then(
    () => false,
    () => true
  )
  assert.ok(refused, 'the banned key cannot connect')
  assert.ok(coordinator.parts.coordinator.donorCount() >= 2, 'the honest donors are still served')
})

test('a frame announced larger than the limit is refused as soon as its length arrives, before it is buffered', async () => {
  const Stream = (await connectToCoordinator()).constructor as StreamClass
  for (const afterHello of [false, true]) {
    const { mine, theirs } = await injected(coordinator, Stream)
    if (afterHello) {
      openChannel(mine, wire.ROLE_DONOR)
      const key = (mine as any).publicKey.toString('hex')
      await until(() => coordinator.log.some((e) => e.peer === key && /joined/.test(e.text)), 5000, 'the coordinator to read the hello')
    }
    // As if from the network: the secret-stream length prefix of a 16 MiB frame and a few bytes of it; the rest never comes.
    ;(theirs as any).rawStream.write(Buffer.from([0xff, 0xff, 0xff, 1, 2, 3]))
    assert.ok(await closedWithin(mine, 5000), `the peer hung up without waiting for 16 MiB (after hello: ${afterHello})`)
    assert.is((theirs as any)._message, null, 'nothing was allocated for the frame')
  }
  const conn = await connectToCoordinator()
  conn.write(new Uint8Array(256 * 1024))
  assert.ok(await closedWithin(conn, 5000), 'a 256 KiB frame before hello is refused')
  assert.ok(coordinator.log.filter((e) => /frame of \d+ bytes announced/.test(e.text)).length >= 3, 'the reasons are logged')
})

test.run()
