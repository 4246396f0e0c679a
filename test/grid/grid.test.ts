/** A real grid on 127.0.0.1: a testnet DHT, peers with real swarms, worker threads and stores. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import Hyperswarm, { type SecretStream } from 'hyperswarm'
import Protomux from 'protomux'
import c from 'compact-encoding'
import { startTestGrid, until, within, type TestGrid } from '../support/helpers.js'
import { gridTopic, type Peer } from '../../node/peer/peer.js'
import * as wire from '../../node/protocol/wire.js'

const PRIMES_TO_3M = 216816
const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url))

/** A coordinator that does not donate, and `donors` donors, all connected. */
type Options = Parameters<TestGrid['add']>[0]

async function gridWith(donors: Options[], coordinatorOptions: Options = {}): Promise<{ grid: TestGrid; coordinator: Peer; donors: Peer[] }> {
  const grid = await startTestGrid()
  const coordinator = await grid.add({ donate: false, ...coordinatorOptions })
  const started = []
  for (const options of donors) started.push(await grid.add({ coordinate: false, ...options }))
  await until(() => coordinator.parts.coordinator.donorCount() === donors.length, 20_000, 'donors to connect')
  return { grid, coordinator, donors: started }
}

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
    await coordinator.wait(job.id)
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
    quitter.parts.donor!.once('unit-start', () => { started = true })
    const job = await coordinator.submit({ task: 'slow', params: { ms: 300 }, units: 6, quorum: 2 })
    await until(() => started, 10_000, 'the quitter to start a unit')
    await quitter.parts.swarm.destroy()
    const done = await within(coordinator.wait(job.id), 60_000, 'the job to end')
    assert.is(done.state, 'done')
    assert.equal(done.result, { sum: 0 + 1 + 4 + 9 + 16 + 25, units: 6 })
    assert.ok(coordinator.log.some((e) => e.kind === 'reissue' && e.text.includes('donor left')), 'a unit was reissued because its donor left')
  } finally {
    await grid.destroy()
  }
})

/** A swarm on the grid that is no swarmgrid peer: it says whatever `speak` makes it say. */
async function intruder(grid: TestGrid, speak: (conn: SecretStream) => void): Promise<{ swarm: Hyperswarm; closed: Promise<void> }> {
  const swarm = new Hyperswarm({ dht: grid.testnet.createNode() })
  let onClosed!: () => void
  const closed = new Promise<void>((resolve) => { onClosed = resolve })
  swarm.on('connection', (conn: SecretStream) => {
    conn.on('error', () => {})
    conn.on('close', onClosed)
    speak(conn)
  })
  swarm.join(gridTopic('test'), { server: true, client: true })
  return { swarm, closed }
}

/** Opens a swarmgrid channel whose messages are raw bytes, so it can send anything. */
function rawChannel(conn: SecretStream) {
  const channel = new Protomux(conn).createChannel({ protocol: wire.PROTOCOL })!
  const send = ['hello', 'want', 'assign', 'progress', 'result', 'failure', 'cancel', 'verdict']
    .map(() => channel.addMessage({ encoding: c.raw as any }))
  channel.open()
  const hello = wire.encodeMessage(wire.hello, { version: wire.PROTOCOL_VERSION, roles: wire.ROLE_DONOR, threads: 1, tasks: [{ name: 'primes', version: 1 }] })
  send[0].send(hello)
  return { hello: send[0], want: send[1], result: send[4] }
}

async function jobSurvives(attack: (conn: SecretStream) => void): Promise<void> {
  const { grid, coordinator } = await gridWith([{}, {}])
  const attacker = await intruder(grid, attack)
  try {
    const job = await coordinator.submit({ task: 'primes', params: { from: 0, to: 3_000_000 }, units: 8, quorum: 2 })
    await within(attacker.closed, 10_000, 'the peer to close the intruder connection')
    const done = await within(coordinator.wait(job.id), 60_000, 'the job to end')
    assert.is(done.state, 'done')
    assert.equal(done.result, { count: PRIMES_TO_3M })
    assert.is(coordinator.parts.coordinator.donorCount(), 2, 'the honest donors stay connected')
  } finally {
    await attacker.swarm.destroy()
    await grid.destroy()
  }
}

test('garbage bytes on a connection close it while the job goes on', async () => {
  await jobSurvives((conn) => {
    for (let i = 0; i < 20; i++) conn.write(randomBytes(1 + (i * 37) % 200))
  })
})

test('a malformed message closes the connection while the job goes on', async () => {
  await jobSurvives((conn) => {
    const channel = rawChannel(conn)
    // A want for more slots than any peer has: out of bounds.
    channel.want.send(c.encode(c.uint, wire.LIMITS.slots + 1))
  })
})

test('a result for a lease never issued closes the connection while the job goes on', async () => {
  await jobSurvives((conn) => {
    const channel = rawChannel(conn)
    channel.result.send(wire.encodeMessage(wire.result, { lease: 999_999, runMs: 1, output: new Uint8Array([0xa0]), cpuMs: 1, speed: 1000 }))
  })
})

test.run()
