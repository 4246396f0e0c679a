/**
 * Donors that lie in well-formed messages (issue 13: findings 1, 2, 6), against the real
 * Coordinator and store, and over a real connection: results, failures and progress for
 * leases they do not hold, outputs built to stall the main thread, and leases hoarded.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { performance } from 'node:perf_hooks'
import HyperDHT from 'hyperdht'
import { decodeValue, encodeValue } from '../../tasks/values.js'
import { checkValue, DEFAULT_OUTPUT_LIMITS, limitsOf, MalformedValueError, ValueLimitError } from '../../tasks/value-limits.js'
import { fixtureDir } from '../support/process-grid.js'
import { resultOf, withCoordinator } from '../support/donor-links.js'
import * as wire from '../../node/protocol/wire.js'
import { printable } from '../../node/protocol/printable.js'

const isLimit = (e: unknown) => e instanceof ValueLimitError
const isMalformed = (e: unknown) => e instanceof MalformedValueError
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/** A CBOR array header of n items (major type 4, 4-byte length), then n empty arrays: n + 1 items in n + 5 bytes. */
function arrayOfEmptyArrays(n: number): Uint8Array {
  const bytes = new Uint8Array(5 + n).fill(0x80)
  bytes[0] = 0x9a
  new DataView(bytes.buffer).setUint32(1, n)
  return bytes
}

test('a result for a lease another donor holds is a violation on its own link, before it is credited, decoded or kept', async () => {
  await withCoordinator(fixtureDir('fuzzy'), async ({ coordinator, store, violations, donor }) => {
    const job = await coordinator.submit({ task: 'fuzzy', units: 1, quorum: 2 })
    const a = donor('a')
    const b = donor('b')
    const outsider = donor('m')
    coordinator.want(a, { slots: 1 })
    coordinator.want(b, { slots: 1 })
    // The outsider never asked for work: a task whose `equal` calls everything alike would have kept its answer first.
    coordinator.result(outsider, resultOf(a.leaseOf(0), encodeValue({ planted: 'by M' })))
    const mebibyte = encodeValue(new Uint8Array(1024 * 1024))
    for (let i = 0; i < 20; i++) coordinator.result(outsider, resultOf(b.leaseOf(0), mebibyte))
    assert.is(violations.length, 21)
    assert.ok(
      violations.every((v) => v.link === outsider),
      'raised on the sender, which never sent want'
    )
    assert.match(violations[0].reason, /result for lease \d+, which it does not hold/)
    assert.is(coordinator.status(job.id)!.results, 0, 'none of it was counted')
    assert.is(coordinator.credit.get(outsider.key), undefined)

    coordinator.result(a, resultOf(a.leaseOf(0), encodeValue({ i: 0 })))
    coordinator.result(b, resultOf(b.leaseOf(0), encodeValue({ i: 0, other: 'words' })))
    const done = await coordinator.waitFor(job.id)!
    assert.is(done.state, 'done')
    assert.equal(decodeValue(store.acceptedOutput(job.id, 0)!.output), { i: 0 }, 'the honest answer is the one stored')
    assert.equal(store.acceptedOutput(job.id, 0)!.peers.sort(), [a.key, b.key].sort())
  })
})

test('results naming an answered lease cost no decoding: every one is a violation, on the link that sent it', async () => {
  await withCoordinator(fixtureDir('fuzzy'), async ({ coordinator, violations, donor }) => {
    const job = await coordinator.submit({ task: 'fuzzy', units: 2, quorum: 1 })
    const a = donor('a')
    const outsider = donor('m')
    coordinator.want(a, { slots: 1 })
    coordinator.result(a, resultOf(a.leaseOf(0), encodeValue({ i: 0 })))
    await new Promise((resolve) => setImmediate(resolve))
    assert.is(coordinator.status(job.id)!.accepted, 1)
    const started = performance.now()
    for (let i = 0; i < 200; i++) coordinator.result(outsider, resultOf(a.leaseOf(0), encodeValue({ i: 0 })))
    const ms = performance.now() - started
    assert.is(violations.length, 200)
    assert.ok(violations.every((v) => v.link === outsider))
    assert.ok(ms < 1000, `200 outsider results took ${ms.toFixed(0)} ms of the main thread`)
    coordinator.result(a, resultOf(a.leaseOf(0), encodeValue({ i: 0 })))
    assert.match(violations.at(-1)!.reason, /second result for lease/)
    assert.is(violations.at(-1)!.link, a)
    assert.is(coordinator.status(job.id)!.results, 1)
  })
})

test('failures and progress for a lease the sender does not hold are violations; nothing is logged, counted or refused', async () => {
  await withCoordinator(undefined, async ({ coordinator, store, violations, log, donor }) => {
    const job = await coordinator.submit({ task: 'primes', params: { to: 1000 }, units: 1, quorum: 2 })
    const a = donor('a')
    const outsider = donor('m')
    coordinator.want(a, { slots: 1 })
    const lease = a.leaseOf(0)
    coordinator.failure(outsider, { lease, kind: 'refused', reason: 'no' })
    coordinator.failure(outsider, { lease, kind: 'error', reason: 'boom' })
    coordinator.progress(outsider, { lease, fraction: 0.5 })
    assert.is(violations.length, 3)
    assert.ok(violations.every((v) => v.link === outsider))
    assert.equal(coordinator.status(job.id)!.refusals, [])
    assert.is(store.reputation(outsider.key)?.errors ?? 0, 0)
    assert.not.ok(
      log.some((e) => e.kind === 'failure'),
      'no failure was logged'
    )
    assert.is(coordinator.status(job.id)!.unitStates.running, 1, "a's lease is still out")
    coordinator.progress(a, { lease, fraction: 0.25 })
    assert.is(violations.length, 3, 'progress from the holder is fine')
  })
})

test('a remote reason loses its control characters before it is logged, stored or shown', async () => {
  const hostile = 'boom\u001b]0;pwned\u0007\u001b[2J\nfake log line\u202e'
  const decoded = wire.decodeMessage(wire.failure, wire.encodeMessage(wire.failure, { lease: 1, kind: 'error', reason: hostile }))
  assert.not.ok(CONTROL.test(decoded.reason), JSON.stringify(decoded.reason))
  assert.ok(decoded.reason.startsWith('boom ]0;pwned [2J fake log line'))
  // Names and ids are never free text: control characters in them make the message malformed.
  const assign = {
    job: 'ab\u001bcd',
    task: 'primes',
    taskVersion: 1,
    deadlineMs: 1000,
    units: [{ lease: 1, unit: 0, input: new Uint8Array(1) }],
    expires: 0,
    signer: new Uint8Array(0),
    signature: new Uint8Array(0)
  }
  assert.throws(() => wire.decodeMessage(wire.assign, wire.encodeMessage(wire.assign, assign)), /job id/)
  assert.is(printable('fine text'), 'fine text')
  await withCoordinator(undefined, async ({ coordinator, log, donor }) => {
    const job = await coordinator.submit({ task: 'primes', params: { to: 1000 }, units: 1, quorum: 1 })
    const a = donor('a')
    coordinator.want(a, { slots: 1 })
    const lease = a.leaseOf(0)
    // A reason that reached the coordinator another way than the wire is cleaned all the same.
    coordinator.failure(a, { lease, kind: 'error', reason: hostile })
    const line = log.find((e) => e.kind === 'failure')!
    assert.ok(line, 'the failure is logged')
    assert.not.ok(CONTROL.test(line.text), JSON.stringify(line.text))
    coordinator.want(a, { slots: 1 })
    void job
  })
})

test('an output past its item, depth or byte bound is refused just past it, reading no more than that', () => {
  const limits = DEFAULT_OUTPUT_LIMITS
  checkValue(arrayOfEmptyArrays(limits.items - 1), limits)
  assert.throws(
    () => checkValue(arrayOfEmptyArrays(limits.items), limits),
    (e: unknown) => e instanceof ValueLimitError && /more than 4096 items/.test((e as Error).message)
  )
  const text = (n: number) => encodeValue(['x'.repeat(n - 1), 'y'])
  checkValue(text(limits.textBytes), limits)
  assert.throws(() => checkValue(text(limits.textBytes + 1), limits), /more than 1048576 bytes of text/)
  const nested = (depth: number) => new Uint8Array(depth).fill(0x81).map((b, i, all) => (i === all.length - 1 ? 0x80 : b))
  checkValue(nested(limits.depth), limits)
  assert.throws(() => checkValue(nested(limits.depth + 1), limits), isLimit)
  assert.throws(() => checkValue(new Uint8Array(limits.bytes + 1).fill(0x40, 0, 1), limits), /bytes, more than/)
  // A shared reference (tag 28/29) could decode into a cycle or a value far bigger than its bytes.
  assert.throws(() => checkValue(Uint8Array.of(0xd8, 0x1c, 0x80), limits), /CBOR tag 28/)
  assert.throws(() => checkValue(Uint8Array.of(0x82, 0x01), limits), isMalformed)
  assert.throws(() => checkValue(Uint8Array.of(0x01, 0x02), limits), isMalformed)
  assert.throws(() => checkValue(Uint8Array.of(0x9f, 0xff), limits), /indefinite/)
  // What the tasks write passes: maps, strings, byte strings, floats, typed arrays.
  checkValue(
    encodeValue({ png: new Uint8Array(1000), width: 10, pi: 3.14, list: [1, -2, 'x', null, true], f: new Float64Array(4) }),
    limits
  )
  assert.equal(limitsOf({ outputLimits: { items: 10 } }), { ...limits, items: 10 })
  // 15 MiB of empty arrays is refused at the header, without walking it.
  const huge = arrayOfEmptyArrays(wire.LIMITS.payload - 5)
  const started = performance.now()
  assert.throws(() => checkValue(huge, limits), isLimit)
  const ms = performance.now() - started
  assert.ok(ms < 50, `${ms.toFixed(1)} ms`)
})

test('one hostile output costs the coordinator a few ms, and counts as a failure of that unit on that donor', async () => {
  await withCoordinator(undefined, async ({ coordinator, store, violations, donor }) => {
    const job = await coordinator.submit({ task: 'primes', params: { to: 1000 }, units: 1, quorum: 1 })
    const a = donor('a')
    coordinator.want(a, { slots: 1 })
    // Items one by one, so the header hides nothing: 15 MiB of [[],[],…] in nested arrays of 23 (one-byte headers).
    const chunk = new Uint8Array(24).fill(0x80)
    chunk[0] = 0x97
    const body = new Uint8Array(Math.floor((wire.LIMITS.payload - 5) / 24) * 24)
    for (let at = 0; at < body.length; at += 24) body.set(chunk, at)
    const output = new Uint8Array(5 + body.length)
    output[0] = 0x9a
    new DataView(output.buffer).setUint32(1, body.length / 24)
    output.set(body, 5)
    const started = performance.now()
    coordinator.result(a, resultOf(a.leaseOf(0), output))
    const ms = performance.now() - started
    assert.ok(ms < 200, `one 15 MiB result took ${ms.toFixed(0)} ms of the main thread`)
    assert.is(violations.length, 0, 'a large answer is no lie: an honest task can give one')
    assert.is(store.reputation(a.key)?.errors, 1)
    assert.is(coordinator.status(job.id)!.unitStates.waiting, 1, 'the unit goes to another donor')
  })
})

test('a donor that declared one thread holds two units however much it asks for, and more only as its results come back', async () => {
  await withCoordinator(undefined, async ({ coordinator, donor }) => {
    await coordinator.submit({ task: 'primes', params: { to: 100_000 }, units: 100, quorum: 1 })
    const hoarder = donor('h', 1)
    for (let i = 0; i < 6; i++) coordinator.want(hoarder, { slots: wire.LIMITS.slots })
    assert.is(hoarder.assigned.length, wire.LIMITS.heldPerThreadAtFirst, 'a unit running and one waiting')
    const four = donor('f', 4)
    coordinator.want(four, { slots: 4 * wire.LIMITS.heldPerThreadAtFirst + 1 })
    assert.is(four.assigned.length, 4 * wire.LIMITS.heldPerThreadAtFirst, 'just past its limit, the last slot is not filled')
    // A result per thread back earns a slot per thread: the standing offer is filled as far as that.
    for (const { lease } of four.assigned.slice(0, 4)) coordinator.result(four, resultOf(lease, encodeValue({ count: 0 })))
    await Promise.resolve() // the coordinator leases again once the turn's results are all in
    assert.is(four.assigned.length, 4 * wire.LIMITS.heldPerThreadAtFirst + 1, 'four leases closed, one slot was still offered')
    coordinator.want(four, { slots: 100 })
    assert.is(four.assigned.length - 4, 4 * (wire.LIMITS.heldPerThreadAtFirst + 1))
  })
})

test('a missed deadline counts against the donor, not the unit: three hoarders cannot fail a job, and lose what they may hold', async () => {
  await withCoordinator(undefined, async ({ coordinator, store, donor, now }) => {
    const job = await coordinator.submit({ task: 'primes', params: { to: 100_000 }, units: 2, quorum: 1, deadline: 1, maxErrors: 1 })
    const hoarders = [donor('h1'), donor('h2'), donor('h3')]
    for (const round of [0, 1, 2]) {
      for (const h of hoarders) coordinator.want(h, { slots: 2 })
      now.ms += 1500
      await new Promise((resolve) => setTimeout(resolve, 700))
      assert.is(coordinator.status(job.id)!.state, 'running', `round ${round}`)
    }
    for (const h of hoarders) {
      assert.ok((store.reputation(h.key)?.errors ?? 0) >= 1, 'the donor pays for it')
    }
    // A donor's own report that it ran out of time is an error of the unit: one that no one can finish still fails.
    const honest = donor('honest')
    coordinator.want(honest, { slots: 1 })
    coordinator.failure(honest, { lease: honest.leaseOf(honest.assigned[0].unit), kind: 'timeout', reason: 'ran past its deadline' })
    assert.is((await coordinator.waitFor(job.id)!).state, 'failed')
  })
})

test("over a real connection, a result for another donor's lease closes the sender's connection and counts as a strike", async () => {
  const { startTestGrid, until } = await import('../support/helpers.js')
  const { connect } = await import('../support/fuzz-session.js')
  const { WireChannel } = await import('../../node/protocol/channel.js')
  const grid = await startTestGrid()
  try {
    const coordinator = await grid.add({ donate: false, tasksDir: fixtureDir('slow') })
    const honest = await grid.add({ coordinate: false, tasksDir: fixtureDir('slow') })
    await until(() => coordinator.parts.coordinator.donorCount() === 1, 20_000, 'the donor to connect')
    const job = await coordinator.submit({ task: 'slow', params: { ms: 2000 }, units: 1, quorum: 1 })
    const leases = coordinator.parts.store.sub('leases') as unknown as { getRange(): Iterable<{ key: number; value: { peer: string } }> }
    await until(() => [...leases.getRange()].some((e) => e.value.peer === honest.key), 10_000, 'the honest lease')
    const lease = [...leases.getRange()].find((e) => e.value.peer === honest.key)!.key
    const node = grid.testnet.createNode()
    const keyPair = HyperDHT.keyPair()
    const conn = await connect(node, coordinator, keyPair)
    const outsider = keyPair.publicKey.toString('hex')
    const noop = () => {}
    let closed = false
    const channel: InstanceType<typeof WireChannel> = new WireChannel(
      conn,
      {
        hello: () => channel.sendResult(resultOf(lease, encodeValue({ i: 0, square: 0, planted: true }))),
        want: noop,
        assign: noop,
        progress: noop,
        result: noop,
        failure: noop,
        cancel: noop,
        verdict: noop,
        fetch: noop,
        piece: noop,
        close: () => {
          closed = true
        }
      },
      { version: wire.PROTOCOL_VERSION, roles: wire.ROLE_DONOR, threads: 1, tasks: [{ name: 'slow', version: 1 }] }
    )
    await until(() => closed, 10_000, 'the coordinator to close the connection')
    await until(() => coordinator.log.some((e) => e.peer === outsider && e.kind === 'violation'), 5000, 'the violation in the log')
    assert.ok(coordinator.log.some((e) => e.peer === outsider && /which it does not hold/.test(e.text)))
    const done = await coordinator.wait(job.id)
    assert.is(done.state, 'done')
    assert.equal(done.result, { sum: 0, units: 1 })
    assert.equal(coordinator.parts.store.acceptedOutput(job.id, 0)!.peers, [honest.key])
    await node.destroy()
  } finally {
    await grid.destroy()
  }
})

test.run()
