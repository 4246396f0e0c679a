/**
 * Coordinators that lie in well-formed messages, and limits only a receiver used to check
 * (issue 13: findings 4, 5, 13): units beyond a donor's offer, outputs past the wire, a
 * deadline past a timer's range, batches signed for someone else or long ago, and values past
 * the wire's limits at the places they enter.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import Hyperswarm, { type SecretStream } from 'hyperswarm'
import HyperDHT from 'hyperdht'
import createTestnet from 'hyperdht/testnet.js'
import { Donor } from '../../node/donor/donor.js'
import { donorThreads, ThreadsError } from '../../node/donor/threads.js'
import type { CoordinatorLink } from '../../node/protocol/links.js'
import { WireChannel } from '../../node/protocol/channel.js'
import { guardConnection, MAX_FRAME } from '../../node/protocol/connection-guard.js'
import { ProtocolViolation } from '../../node/protocol/violation.js'
import { assignSigner } from '../../node/protocol/signing.js'
import * as wire from '../../node/protocol/wire.js'
import { gridTopic } from '../../node/peer/peer.js'
import { createUnitPool } from '../../worker/unit-pool.js'
import { TaskRegistry } from '../../tasks/registry.js'
import { ParamError } from '../../tasks/contract.js'
import { decodeValue, encodeValue } from '../../tasks/values.js'
import { fixtureDir } from '../support/process-grid.js'
import { runCli, startTestGrid, until, type TestGrid } from '../support/helpers.js'
import { withCoordinator } from '../support/donor-links.js'

const UNSIGNED = new Uint8Array(0)

/** A coordinator's side of a donor, in memory: it records what the donor says. */
class RecordingLink implements CoordinatorLink {
  readonly host = 'local'
  readonly wants: number[] = []
  readonly results = new Map<number, wire.ResultMessage>()
  readonly failures = new Map<number, wire.FailureMessage>()
  constructor(readonly key = 'cd'.repeat(32)) {}
  sendWant(msg: wire.WantMessage): void {
    this.wants.push(msg.slots)
  }
  sendProgress(): void {}
  sendResult(msg: wire.ResultMessage): void {
    this.results.set(msg.lease, msg)
  }
  sendFailure(msg: wire.FailureMessage): void {
    this.failures.set(msg.lease, msg)
  }
  sendFetch(): void {}
  offered(): number {
    return this.wants.reduce((a, b) => a + b, 0)
  }
}

let nextLease = 1
function assignOf(task: string, inputs: unknown[], deadlineMs = 30_000): wire.AssignMessage {
  return {
    job: 'feedfacefeedface',
    task,
    taskVersion: 1,
    deadlineMs,
    expires: 0,
    signer: UNSIGNED,
    signature: UNSIGNED,
    units: inputs.map((input, unit) => ({ lease: nextLease++, unit, input: encodeValue(input) }))
  }
}

async function withDonor(tasks: string, run: (donor: Donor, link: RecordingLink) => Promise<void>): Promise<void> {
  const registry = await TaskRegistry.load(fixtureDir(tasks))
  const donor = new Donor({ threads: 1, registry, pool: createUnitPool({ threads: 1 }) })
  const link = new RecordingLink()
  donor.attach(link)
  try {
    await run(donor, link)
  } finally {
    await donor.close()
  }
}

const isViolation = (pattern: RegExp) => (err: unknown) => err instanceof ProtocolViolation && pattern.test((err as Error).message)

test('units beyond what a donor offered are a violation, before any is kept; a withdrawn offer still takes what was leased against it', async () => {
  await withDonor('slow', async (donor, link) => {
    assert.equal(link.wants, [wire.LIMITS.heldPerThreadAtFirst])
    const slow = (n: number) => Array.from({ length: n }, () => ({ i: 0, ms: 20 }))
    assert.throws(
      () => donor.assign(link, assignOf('slow', slow(link.offered() + 1))),
      isViolation(/3 units assigned where 2 slots were open/)
    )
    assert.is(donor.snapshot().busy, 0, 'none of them is held')
    donor.assign(link, assignOf('slow', slow(link.offered())))
    await until(() => link.results.size === 2, 10_000, 'the two it asked for')
    // The coordinator may have leased against an offer before its withdrawal reached it.
    const open = link.offered() - 2
    donor.setGate('closed')
    donor.assign(link, assignOf('slow', slow(open)))
    await until(() => link.failures.size === open, 5000, 'the late units to be handed back')
    assert.ok([...link.failures.values()].every((f) => f.kind === 'handback'))
    assert.throws(() => donor.assign(link, assignOf('slow', slow(1))), isViolation(/1 units assigned where 0 slots/))
  })
})

test('a cancel finds a unit its coordinator left behind by (coordinator, lease)', async () => {
  await withDonor('slow', async (donor, link) => {
    const msg = assignOf('slow', [{ i: 1, ms: 5000 }])
    donor.assign(link, msg)
    await new Promise((resolve) => setTimeout(resolve, 300))
    donor.detach(link)
    const again = new RecordingLink(link.key)
    donor.attach(again)
    const ended = new Promise((resolve) => donor.once('unit-end', resolve))
    const started = Date.now()
    donor.cancel(again, { lease: msg.units[0].lease })
    await ended
    assert.ok(Date.now() - started < 4000, 'stopped, not run to its end')
    assert.is(donor.pending.size, 0, 'nothing kept to resend')
  })
})

test('an output past the wire is a failure of that unit, told once, never a result kept to resend; one at the limit goes', async () => {
  await withDonor('big', async (donor, link) => {
    // A byte string this long has a 5-byte CBOR header: the first output is exactly the limit, the second one byte past it.
    const msg = assignOf('big', [{ bytes: wire.LIMITS.payload - 5 }, { bytes: wire.LIMITS.payload - 4 }])
    donor.assign(link, msg)
    await until(() => link.results.size + link.failures.size === 2, 30_000, 'both units')
    const [atLimit, pastIt] = msg.units.map((u) => u.lease)
    assert.is(link.results.get(atLimit)?.output.byteLength, wire.LIMITS.payload)
    assert.is(link.failures.get(pastIt)?.kind, 'error')
    assert.match(link.failures.get(pastIt)!.reason, /output too large: 15728641 bytes, more than the 15728640 allowed/)
    assert.not.ok(link.results.has(pastIt))
    assert.is(donor.pending.size, 0)
  })
})

test('a deadline past 2^31 ms, on a link that skips the wire, does not fire at once', async () => {
  await withDonor('slow', async (donor, link) => {
    const msg = assignOf('slow', [{ i: 3, ms: 300 }], 2 ** 31 + 1000)
    donor.assign(link, msg)
    await until(() => link.results.size + link.failures.size === 1, 10_000, 'the unit')
    assert.equal(decodeValue(link.results.get(msg.units[0].lease)!.output), { i: 3, square: 9 })
  })
})

test('over a real connection: two large results sent at once leave in frames the other side accepts', async () => {
  const testnet = await createTestnet(3)
  const server = (testnet.createNode() as any).createServer()
  const accepted = new Promise<SecretStream>((resolve) => server.on('connection', resolve))
  await server.listen(HyperDHT.keyPair())
  const client = testnet.createNode()
  const mine = (client as any).connect(server.publicKey) as SecretStream
  const theirs = await accepted
  const errors: string[] = []
  mine.on('error', (e: Error) => errors.push(e.message))
  theirs.on('error', (e: Error) => errors.push(e.message))
  guardConnection(theirs, { maxFrame: () => MAX_FRAME })
  const sizes: number[] = []
  const noop = () => {}
  const handlers = (result: (m: wire.ResultMessage) => void) => ({
    hello: noop,
    want: noop,
    assign: noop,
    progress: noop,
    result,
    failure: noop,
    cancel: noop,
    verdict: noop,
    fetch: noop,
    piece: noop,
    close: noop
  })
  const hello = { version: wire.PROTOCOL_VERSION, roles: wire.ROLE_DONOR | wire.ROLE_COORDINATOR, threads: 1, tasks: [] }
  const sender = new WireChannel(mine, handlers(noop), hello)
  const receiver = new WireChannel(
    theirs,
    handlers((m) => sizes.push(m.output.byteLength)),
    hello
  )
  try {
    await until(() => !!sender.hello && !!receiver.hello, 10_000, 'the hellos')
    // Protomux would batch these into one 22 MiB frame: past what secret-stream writes at once
    // ("Message is too large for an atomic write"), and past what the other side's guard takes.
    sender.sendResult({ lease: 1, runMs: 1, output: new Uint8Array(7 * 1024 * 1024), cpuMs: 1, speed: 1 })
    sender.sendResult({ lease: 2, runMs: 1, output: new Uint8Array(wire.LIMITS.payload), cpuMs: 1, speed: 1 })
    await until(() => sizes.length === 2 || errors.length > 0, 20_000, 'both results')
    assert.equal(errors, [])
    assert.equal(sizes, [7 * 1024 * 1024, wire.LIMITS.payload])
  } finally {
    mine.destroy()
    theirs.destroy()
    await server.close()
    await testnet.destroy()
    await client.destroy()
  }
})

test('deadlines and threads are checked against the wire where they enter: just past them is refused, at them taken', async () => {
  await withCoordinator(undefined, async ({ coordinator }) => {
    const most = wire.LIMITS.deadlineMs / 1000
    const job = await coordinator.submit({ task: 'primes', params: { to: 1000 }, deadline: most })
    assert.is((await coordinator.cancel(job.id))?.state, 'cancelled')
    for (const deadline of [most + 0.001, 1e300, 2 ** 31]) {
      await coordinator.submit({ task: 'primes', params: { to: 1000 }, deadline }).then(
        () => assert.unreachable(`deadline ${deadline} was taken`),
        (err) => assert.ok(err instanceof ParamError && /--deadline takes seconds from 0.001 to 604800/.test(err.message), err.message)
      )
    }
  })
  // Task names and unit inputs the wire could not carry are refused where they enter too.
  const tasks = await mkdtemp(join(tmpdir(), 'swarmgrid-tasks-'))
  try {
    const module = (name: string) =>
      `export default { name: ${JSON.stringify(name)}, version: 1, *split(p, n) { for (let i = 0; i < n; i++) yield { pad: new Uint8Array(Number(p.bytes)) } }, run() { return 0 }, merge() { return 0 } }`
    await writeFile(join(tasks, 'wide.mjs'), module('w'.repeat(wire.LIMITS.taskName)))
    await withCoordinator(tasks, async ({ coordinator }) => {
      const overhead = encodeValue({ pad: new Uint8Array(100_000) }).byteLength - 100_000
      const task = 'w'.repeat(wire.LIMITS.taskName)
      const fits = await coordinator.submit({ task, params: { bytes: wire.LIMITS.payload - overhead }, units: 1 })
      await coordinator.cancel(fits.id)
      await coordinator.submit({ task, params: { bytes: wire.LIMITS.payload - overhead + 1 }, units: 1 }).then(
        () => assert.unreachable('a unit past the wire was taken'),
        (err) => assert.match(err.message, /unit 0 of this w+ job is 15728641 bytes, more than the 15728640 a unit may carry/)
      )
    })
    await writeFile(join(tasks, 'long.mjs'), module('l'.repeat(wire.LIMITS.taskName + 1)))
    await TaskRegistry.load(tasks).then(
      () => assert.unreachable('a 65-character task name was loaded'),
      (err) => assert.match(err.message, /name must be a string of 1 to 64 characters/)
    )
  } finally {
    await rm(tasks, { recursive: true, force: true })
  }
  assert.is(donorThreads(wire.LIMITS.threads), wire.LIMITS.threads)
  assert.throws(
    () => donorThreads(wire.LIMITS.threads + 1),
    (e: unknown) => e instanceof ThreadsError && /from 1 to 1024/.test((e as Error).message)
  )
  const dir = await mkdtemp(join(tmpdir(), 'swarmgrid-limits-'))
  try {
    const start = await runCli(['start', '--threads', '1025', '--data', dir, '--bootstrap', '127.0.0.1:1', '--no-http'])
    assert.is.not(start.code, 0)
    assert.match(start.stderr, /--threads takes a whole number from 1 to 1024/)
    const submit = await runCli([
      'submit',
      'primes',
      '--param',
      'to=1000',
      '--deadline',
      '700000',
      '--data',
      dir,
      '--bootstrap',
      '127.0.0.1:1',
      '--no-donate'
    ])
    assert.is.not(submit.code, 0)
    assert.match(submit.stderr, /--deadline takes seconds from 0.001 to 604800/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

/** A swarm on the grid acting as a coordinator: on a donor's first want it sends what `assigns` makes of the connection. */
async function hostileCoordinator(grid: TestGrid, assigns: (channel: WireChannel) => wire.AssignMessage[]) {
  const swarm = new Hyperswarm({ dht: grid.testnet.createNode() })
  const failures: wire.FailureMessage[] = []
  const results: wire.ResultMessage[] = []
  let closed = 0
  swarm.on('connection', (conn: SecretStream) => {
    conn.on('error', () => {})
    let sent = false
    const noop = () => {}
    const channel: WireChannel = new WireChannel(
      conn,
      {
        hello: noop,
        progress: noop,
        assign: noop,
        cancel: noop,
        verdict: noop,
        fetch: noop,
        piece: noop,
        close: () => {
          closed++
        },
        want: () => {
          if (sent) return
          sent = true
          for (const msg of assigns(channel)) channel.sendAssign(msg)
        },
        result: (msg) => results.push(msg),
        failure: (msg) => failures.push(msg)
      },
      { version: wire.PROTOCOL_VERSION, roles: wire.ROLE_COORDINATOR, threads: 0, tasks: [] }
    )
  })
  swarm.join(gridTopic('test'), { server: true, client: true })
  return { swarm, failures, results, closed: () => closed }
}

const primes = (units: number) => Array.from({ length: units }, (_, i) => ({ from: i * 100, to: i * 100 + 100 }))

test('over a real connection: a coordinator that sends one unit more than offered loses the connection, and the donor keeps none', async () => {
  const grid = await startTestGrid()
  try {
    const donor = await grid.add({ coordinate: false })
    let sign: ((msg: wire.AssignMessage) => wire.AssignMessage) | null = null
    const hostile = await hostileCoordinator(grid, () => [sign!(assignOf('primes', primes(wire.LIMITS.heldPerThreadAtFirst + 1)))])
    sign = assignSigner(hostile.swarm.keyPair)
    try {
      await until(() => hostile.closed() > 0, 20_000, 'the donor to close the connection')
      await until(() => donor.log.some((e) => e.kind === 'violation'), 5000, 'the violation in its log')
      assert.match(donor.log.find((e) => e.kind === 'violation')!.text, /3 units assigned where 2 slots were open/)
      assert.is(donor.donorStats()!.unitsRun, 0)
      assert.is(hostile.results.length + hostile.failures.length, 0)
    } finally {
      await hostile.swarm.destroy()
    }
  } finally {
    await grid.destroy()
  }
})

test("over a real connection: a batch signed for another coordinator, or by a key that is not the coordinator's, is refused", async () => {
  const grid = await startTestGrid()
  try {
    const donor = await grid.add({ coordinate: false })
    const alice = HyperDHT.keyPair(randomBytes(32))
    const hostile = await hostileCoordinator(grid, (channel) => {
      const mallory = Buffer.from(channel.connection.publicKey)
      return [
        // What Alice signed for her own coordinator, replayed by Mallory.
        assignSigner(alice)(assignOf('primes', primes(1))),
        // Signed by Alice for Mallory: valid, but by default a donor runs only what its coordinator signed.
        assignSigner(alice, mallory)(assignOf('primes', primes(1)))
      ]
    })
    try {
      await until(() => hostile.failures.length === 2, 20_000, 'both refusals')
      const [replayed, foreign] = hostile.failures
      assert.is(replayed.kind, 'refused')
      assert.match(replayed.reason, /does not match the units and their coordinator/)
      assert.is(foreign.kind, 'refused')
      assert.match(foreign.reason, /not by its coordinator [0-9a-f]{8}; list the signer with --trust/)
      assert.is(donor.donorStats()!.unitsRun, 0)
    } finally {
      await hostile.swarm.destroy()
    }
  } finally {
    await grid.destroy()
  }
})

test.run()
