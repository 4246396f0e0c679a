/** The parts that keep a grid whole, without sockets: kept results, bans, the lease log, adopted leases, partial jobs. */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { rm } from 'node:fs/promises'
import { tempDir } from '../support/helpers.js'
import { DEFAULT_PENDING_LIMITS, PendingResults } from '../../node/donor/pending-results.js'
import { BanList, DEFAULT_BAN_POLICY } from '../../node/peer/ban-list.js'
import { LeaseLog } from '../../node/store/lease-log.js'
import { Store } from '../../node/store/store.js'
import { JobMachine } from '../../node/job/machine.js'
import { LeaseCounter } from '../../node/job/lease-counter.js'
import type { JobPolicy } from '../../node/job/types.js'
import { Coordinator } from '../../node/coordinator/coordinator.js'
import { TaskRegistry } from '../../tasks/registry.js'
import type { DonorLink } from '../../node/protocol/links.js'
import * as wire from '../../node/protocol/wire.js'

const result = (lease: number, bytes = 10) => ({ lease, runMs: 1, output: new Uint8Array(bytes) }) as any
const policy: JobPolicy = { quorum: 2, maxResults: 5, maxErrors: 3, leaseMs: 1000 }

async function withStore(body: (open: () => Store) => Promise<void>): Promise<void> {
  const dir = await tempDir()
  try {
    await body(() => Store.open(dir))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

test('kept results go to the coordinator they were for, within bounds of count, bytes and age', () => {
  let now = 0
  const pending = new PendingResults({ count: 3, bytes: 100, ageMs: 1000 }, () => now)
  pending.keep('a', result(1))
  pending.keep('b', result(2))
  pending.keep('a', result(3))
  assert.equal(
    pending.take('a').map((r) => r.lease),
    [1, 3]
  )
  assert.equal(pending.take('a'), [])
  for (let lease = 10; lease < 15; lease++) pending.keep('c', result(lease))
  assert.equal(
    pending.take('c').map((r) => r.lease),
    [12, 13, 14],
    'the oldest went first'
  )
  pending.keep('d', result(20, 60))
  pending.keep('d', result(21, 60))
  assert.equal(
    pending.take('d').map((r) => r.lease),
    [21],
    'no more than 100 bytes are kept'
  )
  pending.keep('e', result(30))
  now = 2000
  assert.equal(pending.take('e'), [], 'an hour-old result is of no use')
})

test('kept results at the limits a donor really uses: 256 results, 64 MiB, one hour (as the README says)', () => {
  assert.equal(DEFAULT_PENDING_LIMITS, { count: 256, bytes: 64 * 1024 * 1024, ageMs: 60 * 60 * 1000 })
  const { count, bytes, ageMs } = DEFAULT_PENDING_LIMITS
  let now = 0
  // What the donor builds (node/donor/donor.ts): the default limits, with a clock of the test's.
  const pending = new PendingResults(undefined, () => now)
  for (let lease = 1; lease <= count + 1; lease++) pending.keep('a', result(lease))
  const kept = pending.take('a').map((r) => r.lease)
  assert.is(kept.length, count)
  assert.is(kept[0], 2, 'the oldest went first')
  const mib = 1024 * 1024
  const output = new Uint8Array(mib)
  for (let lease = 1; lease <= bytes / mib + 1; lease++) pending.keep('b', { lease, runMs: 1, output } as any)
  assert.is(pending.take('b').length, bytes / mib, 'no more than 64 MiB are kept')
  pending.keep('c', { lease: 1, runMs: 1, output: new Uint8Array(bytes + 1) } as any)
  assert.equal(pending.take('c'), [], 'one result larger than all the room is not kept')
  pending.keep('d', result(1))
  now = ageMs
  assert.is(pending.take('d').length, 1, 'an hour old, just: still kept')
  pending.keep('e', result(2))
  now += ageMs + 1
  assert.equal(pending.take('e'), [], 'past an hour: gone')
})

test('three violations within the window ban a key, in the store too; older strikes are forgiven', async () => {
  await withStore(async (open) => {
    let now = 0
    const store = open()
    const bans = new BanList(store, { strikes: 3, windowMs: 1000, banMs: 10_000 }, () => now)
    assert.is(bans.strike('k', 'one'), null)
    now = 2000
    assert.is(bans.strike('k', 'two'), null)
    assert.is(bans.strike('k', 'three'), null, 'the first strike fell out of the window')
    const ban = bans.strike('k', 'four')
    assert.ok(ban && bans.isBanned('k'))
    assert.match(ban!.reason, /3 protocol violations, the last: four/)
    await store.close()
    const again = new BanList(open(), undefined, () => now)
    assert.ok(again.isBanned('k'), 'a restart forgives no one')
    now = 13_000
    assert.not.ok(again.isBanned('k'), 'a ban ends')
  })
})

test('bans at the limits a peer really uses: three violations within 10 minutes ban a key for 24 hours (as the README says)', async () => {
  assert.equal(DEFAULT_BAN_POLICY, { strikes: 3, windowMs: 10 * 60 * 1000, banMs: 24 * 60 * 60 * 1000 })
  const { windowMs, banMs } = DEFAULT_BAN_POLICY
  await withStore(async (open) => {
    let now = 0
    const store = open()
    // What the peer builds (node/peer/peer.ts): the default policy, with a clock of the test's.
    const bans = new BanList(store, undefined, () => now)
    assert.is(bans.strike('k', 'one'), null)
    now = windowMs / 2
    assert.is(bans.strike('k', 'two'), null)
    now = windowMs
    assert.is(bans.strike('k', 'three'), null, 'the first strike is 10 minutes old: out of the window')
    now = windowMs + 1
    const ban = bans.strike('k', 'four')
    assert.ok(ban && bans.isBanned('k'), 'three strikes within 10 minutes')
    now += banMs - 1
    assert.ok(bans.isBanned('k'), 'still banned just short of 24 hours')
    now += 1
    assert.not.ok(bans.isBanned('k'), 'the ban ends after 24 hours')
    await store.close()
  })
})

test('each run of a coordinator issues lease ids above every earlier run, and finds the leases still out', async () => {
  await withStore(async (open) => {
    let store = open()
    const first = new LeaseLog(store)
    first.record({ id: first.base + 1, job: 'j1', unit: 4, peer: 'p' })
    first.record({ id: first.base + 2, job: 'j2', unit: 0, peer: 'q' })
    first.record({ id: first.base + 3, job: 'j1', unit: 5, peer: 'q' })
    first.forget(first.base + 3)
    await store.close()
    store = open()
    const second = new LeaseLog(store)
    assert.ok(second.base > first.base + 3)
    const out = second.outstanding(new Set(['j1']))
    assert.equal(out.get('j1'), [{ id: first.base + 1, job: 'j1', unit: 4, peer: 'p' }])
    assert.is(out.has('j2'), false, 'leases of jobs no longer running are dropped')
    await store.close()
  })
})

test('a result under a lease of an earlier run counts while its unit is open; a resend of one result is known', () => {
  const machine = new JobMachine(2, policy, new LeaseCounter(100))
  machine.adopt([
    { id: 7, unit: 1, peer: 'a' },
    { id: 8, unit: 1, peer: 'b' }
  ])
  assert.equal(machine.handle({ type: 'result', lease: 7, peer: 'a', group: 'g', now: 0 }), [])
  assert.is(machine.answeredBy(7), 'a')
  assert.is(machine.answeredBy(8), null)
  const decisions = machine.handle({ type: 'result', lease: 8, peer: 'b', group: 'g', now: 0 })
  assert.ok(
    decisions.some((d) => d.type === 'accept' && d.unit === 1),
    'two kept results accept the unit'
  )
  assert.is(machine.unitState(1), 'accepted')
  assert.equal(
    machine.handle({ type: 'result', lease: 7, peer: 'x', group: 'g', now: 0 })[0]?.type,
    'violation',
    'only its holder may answer it'
  )
})

test('a peer answering one unit under two leases votes once, and the unit goes on to another peer', () => {
  const machine = new JobMachine(1, policy, new LeaseCounter(100))
  machine.adopt([{ id: 7, unit: 0, peer: 'a' }])
  const assigned = [...machine.assign({ key: 'a', host: 'h1' }, 1, 0), ...machine.assign({ key: 'b', host: 'h2' }, 1, 0)]
  assert.is(assigned.length, 2)
  machine.handle({ type: 'result', lease: 7, peer: 'a', group: 'g', now: 0 })
  machine.handle({ type: 'disconnect', peer: 'b', now: 0 })
  const again = machine.handle({ type: 'result', lease: (assigned[0] as { lease: number }).lease, peer: 'a', group: 'g', now: 0 })
  assert.ok(
    again.some((d) => d.type === 'reissue'),
    'the unit is open for another peer'
  )
  assert.equal(
    machine.assign({ key: 'c', host: 'h3' }, 1, 0).map((d) => d.type === 'assign' && d.unit),
    [0]
  )
})

test('a job whose task takes partial results leaves a failing unit out and ends done', () => {
  const machine = new JobMachine(2, { ...policy, maxErrors: 1, partial: true }, new LeaseCounter())
  const leases = machine.assign({ key: 'a', host: 'h1' }, 4, 0).concat(machine.assign({ key: 'b', host: 'h2' }, 4, 0))
  const lease = (unit: number, peer: string) =>
    (leases.find((d) => d.type === 'assign' && d.unit === unit && d.peer === peer) as { lease: number }).lease
  const failed = machine.handle({ type: 'failure', lease: lease(0, 'a'), peer: 'a', kind: 'error', reason: 'boom', now: 0 })
  assert.ok(failed.some((d) => d.type === 'unit-failed' && d.unit === 0))
  assert.not.ok(failed.some((d) => d.type === 'job-failed'))
  machine.handle({ type: 'result', lease: lease(1, 'a'), peer: 'a', group: 'g', now: 0 })
  const done = machine.handle({ type: 'result', lease: lease(1, 'b'), peer: 'b', group: 'g', now: 0 })
  assert.ok(done.some((d) => d.type === 'job-done'))
  assert.is(machine.state, 'done')
  assert.equal([machine.unitState(0), machine.unitState(1)], ['failed', 'accepted'])
  const restored = new JobMachine(2, { ...policy, partial: true }, new LeaseCounter(), [1])
  assert.ok(restored.restoreFailed([[0, 'boom']]), 'a restart restores the unit left out, and the job is settled')
})

test('a donor back on a new connection before its old one closed gets its units again at once, not after their deadline', async () => {
  await withStore(async (open) => {
    const store = open()
    const coordinator = new Coordinator(store, await TaskRegistry.load())
    const assigned: Array<{ link: number; unit: number }> = []
    const link = (n: number): DonorLink => ({
      key: 'ab'.repeat(32),
      host: '127.0.0.1',
      hello: {
        version: wire.PROTOCOL_VERSION,
        roles: wire.ROLE_DONOR,
        threads: 1,
        tasks: [{ name: 'primes', version: 1 }]
      } as wire.HelloMessage,
      sendAssign: (msg) => {
        for (const { unit } of msg.units) assigned.push({ link: n, unit })
      },
      sendCancel: () => {},
      sendVerdict: () => {},
      sendPiece: () => {}
    })
    try {
      await coordinator.submit({ task: 'primes', params: { to: 1000 }, units: 2, quorum: 2, deadline: 300 })
      coordinator.want(link(1), { slots: 1 })
      assert.equal(assigned, [{ link: 1, unit: 0 }])
      coordinator.want(link(2), { slots: 1 })
      assert.equal(assigned[1], { link: 2, unit: 0 }, 'unit 0 came back to the same peer on its new connection')
    } finally {
      coordinator.close()
      await store.close()
    }
  })
})

test.run()
