/**
 * Hostile input against a live coordinator while a job runs: many thousands of random and
 * mutated frames from hostile connections, a repeat offender banned through the firewall, and
 * a frame announced larger than the limit refused before it is buffered. The job's answer is
 * checked exactly afterwards, and the honest donors must never lose their connections.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import HyperDHT from 'hyperdht'
import Protomux from 'protomux'
import c from 'compact-encoding'
import type { SecretStream } from 'hyperswarm'
import { startTestGrid, until, within, type TestGrid } from './helpers.js'
import { calmRun, fixtureDir } from './process-grid.js'
import { Random, fuzzFrame } from './fuzz-frames.js'
import * as wire from '../node/wire.js'
import type { Peer } from '../node/peer.js'

const SLOW = fixtureDir('slow')
const SEED = Number(process.env.FUZZ_SEED ?? 20251121)
/** Frames to send in all, and how many of them random or mutated; the first sessions go over real Hyperswarm connections. */
const FRAMES = 20_000
const MUTATED = 4000
const NETWORK_SESSIONS = 150
const FUZZ_BUDGET_MS = 30_000
/** Share of frames drawn whole from the schema, so that sessions last long enough to reach deep states. */
const BENIGN = 0.8

interface Stats { frames: number; mutated: number; sessions: number; malformed: number; refused: number; unrefused: string[]; falseAlarms: string[] }

let grid: TestGrid
let coordinator: Peer
let honest: Peer[]
let node: HyperDHT

test.before(async () => {
  grid = await startTestGrid()
  coordinator = await grid.add({ donate: false, tasksDir: SLOW })
  honest = [await grid.add({ coordinate: false, tasksDir: SLOW }), await grid.add({ coordinate: false, tasksDir: SLOW })]
  await until(() => coordinator.coordinator.donorCount() === 2, 60_000, 'the honest donors to connect')
  node = grid.testnet.createNode()
})

test.after(async () => {
  await node?.destroy()
  await grid?.destroy()
})

function connect(keyPair = HyperDHT.keyPair()): Promise<SecretStream> {
  const conn = (node as any).connect(Buffer.from(coordinator.key, 'hex'), { keyPair }) as SecretStream
  conn.on('error', () => {})
  return new Promise((resolve, reject) => {
    conn.once('open', () => resolve(conn))
    conn.once('close', () => reject(new Error('refused')))
  })
}

/** Opens the swarmgrid channel and says a valid hello as a donor, so later frames reach the protocol. */
function openChannel(conn: SecretStream): void {
  const channel = new Protomux(conn).createChannel({ protocol: wire.PROTOCOL })!
  const hello = channel.addMessage({ encoding: c.raw as any })
  channel.open()
  hello.send(wire.encodeMessage(wire.hello, { version: wire.PROTOCOL_VERSION, roles: wire.ROLE_DONOR, threads: 1, tasks: [{ name: 'slow', version: 1 }] }))
}

function closedWithin(conn: SecretStream, ms: number): Promise<boolean> {
  if (conn.destroyed) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    conn.once('close', () => { clearTimeout(timer); resolve(true) })
  })
}

/** One hostile session: frames until one that is not plainly well-formed, then see what the peer did. */
async function session(conn: SecretStream, random: Random, stats: Stats): Promise<void> {
  stats.sessions++
  openChannel(conn)
  let last = fuzzFrame(random, 1, BENIGN)
  for (let sent = 0; sent < 60 && !conn.destroyed; sent++) {
    if (sent > 0) last = fuzzFrame(random, 1, BENIGN)
    conn.write(last.bytes)
    stats.frames++
    if (last.mutated) stats.mutated++
    if (last.verdict !== 'well-formed') break
  }
  if (last.verdict === 'malformed') {
    stats.malformed++
    if (await closedWithin(conn, 5000)) stats.refused++
    else stats.unrefused.push(last.kind)
  } else if (last.verdict === 'well-formed' && await closedWithin(conn, 20)) {
    stats.falseAlarms.push(last.kind)
  }
  conn.destroy()
}

/** An encrypted stream pair in this process, its far end handed to the peer as the swarm would. */
async function injected(Stream: new (initiator: boolean) => SecretStream): Promise<{ mine: SecretStream; theirs: SecretStream }> {
  const mine = new Stream(true)
  const theirs = new Stream(false)
  ;(mine as any).rawStream.pipe((theirs as any).rawStream).pipe((mine as any).rawStream)
  mine.on('error', () => {})
  theirs.on('error', () => {})
  await new Promise((resolve) => theirs.once('open', resolve))
  coordinator.swarm.emit('connection', theirs, { publicKey: theirs.remotePublicKey, topics: [], client: false, ban() {} })
  return { mine, theirs }
}

test('20 000 frames, thousands of them random or mutated, from hostile peers while a job runs: each malformed frame costs its connection, the answer is exact', async () => {
  const job = await coordinator.submit({ task: 'slow', params: { ms: 100 }, units: 60, quorum: 2, deadline: 30 })
  const honestLinks = honest.map((h) => h.key)
  const stats: Stats = { frames: 0, mutated: 0, sessions: 0, malformed: 0, refused: 0, unrefused: [], falseAlarms: [] }
  const random = new Random(SEED)
  const started = Date.now()

  let Stream: (new (initiator: boolean) => SecretStream) | null = null
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (stats.sessions < NETWORK_SESSIONS) {
      const conn = await connect()
      Stream ??= conn.constructor as any
      await session(conn, random, stats)
    }
  }))
  const overNetwork = stats.frames
  const runningWhileFuzzed = coordinator.status(job.id)?.state === 'running'
  while ((stats.frames < FRAMES || stats.mutated < MUTATED) && Date.now() - started < FUZZ_BUDGET_MS) {
    await session((await injected(Stream!)).mine, random, stats)
  }
  console.log(`fuzz seed ${SEED}: ${stats.frames} frames (${stats.mutated} random or mutated, ${overNetwork} over real connections) ` +
    `in ${stats.sessions} sessions, ${stats.malformed} plainly malformed and ${stats.refused} of those refused, in ${Date.now() - started} ms`)

  assert.ok(stats.frames >= FRAMES && stats.mutated >= MUTATED, `only ${stats.frames} frames (${stats.mutated} mutated) within the time budget`)
  assert.ok(runningWhileFuzzed, 'the job was still running while the peer was being fuzzed')
  assert.equal(stats.unrefused, [], 'every malformed frame closed its connection')
  assert.equal(stats.falseAlarms, [], 'no well-formed frame closed a connection')
  const done = await within(coordinator.wait(job.id), 60_000, 'the job to end')
  assert.is(done.state, 'done', done.error ?? '')
  assert.equal(done.result, await calmRun(`${SLOW}/slow.mjs`, { ms: 0 }, 60))
  assert.is(coordinator.coordinator.donorCount() >= 2, true)
  for (const key of honestLinks) {
    // Hyperswarm may swap a connection for a newer one to the same peer (both dialled at once): that is no loss.
    const lost = coordinator.log.filter((e) => e.peer === key && /^peer \S+ left/.test(e.text) && !/Duplicate connection/.test(e.text))
    assert.equal(lost.map((e) => e.text), [], `honest donor ${key.slice(0, 8)} kept its connection`)
  }
})

test('a peer that breaks the protocol three times is banned: the firewall refuses its next connection', async () => {
  const keyPair = HyperDHT.keyPair()
  const offender = keyPair.publicKey.toString('hex')
  for (let strike = 0; strike < 3; strike++) {
    const conn = await connect(keyPair)
    openChannel(conn)
    conn.write(Uint8Array.from([1, 200, 1, 2, 3]))
    assert.ok(await closedWithin(conn, 5000), `strike ${strike + 1} closed the connection`)
  }
  await until(() => coordinator.bans.isBanned(offender), 5000, 'the ban')
  assert.ok(coordinator.log.some((e) => e.kind === 'ban' && e.peer === offender), 'the ban is logged')
  const refused = await within(connect(keyPair), 15_000, 'a banned connection').then(() => false, () => true)
  assert.ok(refused, 'the banned key cannot connect')
  assert.ok(coordinator.coordinator.donorCount() >= 2, 'the honest donors are still served')
})

test('a frame announced larger than the limit is refused as soon as its length arrives, before it is buffered', async () => {
  const Stream = (await connect()).constructor as new (initiator: boolean) => SecretStream
  for (const afterHello of [false, true]) {
    const { mine, theirs } = await injected(Stream)
    if (afterHello) openChannel(mine)
    await new Promise((resolve) => setTimeout(resolve, 50))
    // As if from the network: the secret-stream length prefix of a 16 MiB frame and a few bytes of it; the rest never comes.
    ;(theirs as any).rawStream.write(Buffer.from([0xff, 0xff, 0xff, 1, 2, 3]))
    assert.ok(await closedWithin(mine, 5000), `the peer hung up without waiting for 16 MiB (after hello: ${afterHello})`)
    assert.is((theirs as any)._message, null, 'nothing was allocated for the frame')
  }
  const conn = await connect()
  conn.write(new Uint8Array(256 * 1024))
  assert.ok(await closedWithin(conn, 5000), 'a 256 KiB frame before hello is refused')
  assert.ok(coordinator.log.filter((e) => /frame of \d+ bytes announced/.test(e.text)).length >= 3, 'the reasons are logged')
})

test.run()
