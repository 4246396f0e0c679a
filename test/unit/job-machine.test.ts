/**
 * The unit life cycle, driven event by event without sockets or timers: every test passes
 * `now` explicitly and reads the decisions the machine hands back.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { JobMachine } from '../../node/job/machine.js'
import { LeaseCounter } from '../../node/job/lease-counter.js'
import type { Decision, JobPolicy, MachineEvent, UnitState } from '../../node/job/types.js'

type Assign = Extract<Decision, { type: 'assign' }>
type FailureKind = Extract<MachineEvent, { type: 'failure' }>['kind']

// Peer keys look like the hex public keys the coordinator uses.
const A = 'a'.repeat(64)
const B = 'b'.repeat(64)
const C = 'c'.repeat(64)
const D = 'd'.repeat(64)

const LEASE_MS = 1000

function machine(
  units: number,
  policy: Partial<JobPolicy> = {},
  options: { counter?: LeaseCounter; accepted?: number[] } = {}
): JobMachine {
  const full: JobPolicy = { quorum: 1, maxResults: 5, maxErrors: 3, leaseMs: LEASE_MS, ...policy }
  const m = new JobMachine(units, full, options.counter ?? new LeaseCounter(), options.accepted ?? [])
  m.validating = true
  return m
}

function assign(m: JobMachine, peer: string, slots: number, now = 0): Assign[] {
  const decisions = m.assign({ key: peer, host: '127.0.0.1' }, slots, now)
  for (const d of decisions) assert.is(d.type, 'assign', 'assign() only ever decides assigns')
  return decisions as Assign[]
}

/** Leases exactly one unit to `peer` and returns the lease. */
function assignOne(m: JobMachine, peer: string, now = 0): Assign {
  const decisions = assign(m, peer, 1, now)
  assert.is(decisions.length, 1, `one unit should be leased to ${peer.slice(0, 8)}`)
  return decisions[0]
}

function result(m: JobMachine, lease: Assign | number, group: string, options: { peer?: string; now?: number } = {}): Decision[] {
  const id = typeof lease === 'number' ? lease : lease.lease
  const peer = options.peer ?? (typeof lease === 'number' ? A : lease.peer)
  return m.handle({ type: 'result', lease: id, peer, group, now: options.now ?? 0 })
}

function failure(m: JobMachine, lease: Assign, kind: FailureKind, reason = 'boom', now = 0): Decision[] {
  return m.handle({ type: 'failure', lease: lease.lease, peer: lease.peer, kind, reason, now })
}

function types(decisions: Decision[]): string[] {
  return decisions.map((d) => d.type)
}

function only<T extends Decision['type']>(decisions: Decision[], type: T): Array<Extract<Decision, { type: T }>> {
  return decisions.filter((d): d is Extract<Decision, { type: T }> => d.type === type)
}

function states(m: JobMachine): UnitState[] {
  return Array.from({ length: m.unitCount }, (_, i) => m.unitState(i))
}

// --- assign ---

test('assign leases units in unit order, no more than the slots offered', () => {
  const m = machine(5)
  const leased = assign(m, A, 3)
  assert.equal(
    leased.map((d) => d.unit),
    [0, 1, 2]
  )
  assert.ok(leased.every((d) => d.peer === A))
})

test('assign gives the next donor the units the first one did not take, then has nothing left', () => {
  const m = machine(5)
  assign(m, A, 3)
  assert.equal(
    assign(m, B, 10).map((d) => d.unit),
    [3, 4]
  )
  assert.is(m.wantsWork(), false)
  assert.equal(assign(m, C, 10), [])
})

test('assign sets the deadline to now + leaseMs and hands out distinct lease ids', () => {
  const m = machine(3)
  const leased = assign(m, A, 3, 5000)
  assert.ok(leased.every((d) => d.deadline === 5000 + LEASE_MS))
  assert.is(new Set(leased.map((d) => d.lease)).size, 3)
  assert.ok(leased.every((d) => m.owns(d.lease)))
})

test('assign with zero slots leases nothing', () => {
  const m = machine(3)
  assert.equal(assign(m, A, 0), [])
  assert.is(m.counts().waiting, 3)
})

test('assign never gives two replicas of one unit to the same peer', () => {
  const m = machine(1, { quorum: 3 })
  assert.equal(
    assign(m, A, 5).map((d) => d.unit),
    [0],
    'one replica only, though A offers 5 slots'
  )
  assert.equal(assign(m, A, 5), [], 'A asking again gets nothing')
  assert.equal(
    assign(m, B, 5).map((d) => d.unit),
    [0]
  )
  assert.equal(
    assign(m, C, 5).map((d) => d.unit),
    [0]
  )
  assert.is(m.wantsWork(), false, 'three replicas are out for quorum 3')
})

test('with quorum 2 one donor gets one replica of each unit and a second donor the other', () => {
  const m = machine(2, { quorum: 2 })
  assert.equal(
    assign(m, A, 4).map((d) => d.unit),
    [0, 1]
  )
  assert.equal(
    assign(m, B, 4).map((d) => d.unit),
    [0, 1]
  )
  assert.equal(assign(m, C, 4), [])
})

// --- acceptance ---

test('quorum 1: one result accepts the unit and, as the last unit, ends the job', () => {
  const m = machine(1)
  const a = assignOne(m, A)
  const decisions = result(m, a, 'g')
  assert.equal(decisions, [
    { type: 'accept', unit: 0, group: 'g', agreeing: [A], outvoted: [] },
    { type: 'verdict', lease: a.lease, peer: A, accepted: true },
    { type: 'job-done' }
  ])
  assert.is(m.state, 'done')
  assert.is(m.unitState(0), 'accepted')
  assert.is(m.acceptedCount, 1)
  assert.is(m.resultsReceived, 1)
  assert.equal(m.agreeingPeers(0), [A])
})

test('quorum 2: a first result waits for agreement, a second agreeing one from another peer accepts', () => {
  const m = machine(1, { quorum: 2 })
  const a = assignOne(m, A)
  const b = assignOne(m, B)
  assert.equal(result(m, a, 'g'), [])
  assert.is(m.unitState(0), 'awaiting-agreement')
  assert.is(m.state, 'running')

  const decisions = result(m, b, 'g')
  assert.equal(decisions, [
    { type: 'accept', unit: 0, group: 'g', agreeing: [A, B], outvoted: [] },
    { type: 'verdict', lease: a.lease, peer: A, accepted: true },
    { type: 'verdict', lease: b.lease, peer: B, accepted: true },
    { type: 'job-done' }
  ])
  assert.is(m.unitState(0), 'accepted')
  assert.is(m.resultsReceived, 2)
  assert.equal(m.agreeingPeers(0), [A, B])
})

test('accept sends verdicts to every voter and cancels the leases still out for that unit', () => {
  const m = machine(1, { quorum: 2 })
  const a = assignOne(m, A, 0)
  const b = assignOne(m, B, 500)
  // A misses its deadline (B does not yet): the unit goes to C.
  assert.equal(types(m.handle({ type: 'tick', now: LEASE_MS })), ['lease-expired', 'reissue'])
  const c = assignOne(m, C, LEASE_MS)
  assert.equal(result(m, a, 'g', { now: LEASE_MS + 1 }), [])
  const decisions = result(m, b, 'g', { now: LEASE_MS + 2 })
  assert.equal(decisions, [
    { type: 'accept', unit: 0, group: 'g', agreeing: [A, B], outvoted: [] },
    { type: 'verdict', lease: a.lease, peer: A, accepted: true },
    { type: 'verdict', lease: b.lease, peer: B, accepted: true },
    { type: 'cancel-lease', lease: c.lease, unit: 0, peer: C },
    { type: 'job-done' }
  ])
  assert.is(m.counts().running, 0)
})

test('job-done comes only with the last unit accepted', () => {
  const m = machine(2)
  const [u0, u1] = assign(m, A, 2)
  const first = result(m, u0, 'g')
  assert.equal(types(first), ['accept', 'verdict'])
  assert.is(m.state, 'running')
  const last = result(m, u1, 'h')
  assert.equal(types(last), ['accept', 'verdict', 'job-done'])
  assert.is(m.state, 'done')
  assert.is(m.acceptedCount, 2)
})

// --- disagreement ---

test('disagreeing results reissue the unit to a third peer, who breaks the tie; the outvoted peer is listed', () => {
  const m = machine(1, { quorum: 2, maxResults: 5 })
  const a = assignOne(m, A)
  const b = assignOne(m, B)
  assert.equal(result(m, a, 'g'), [])
  assert.equal(result(m, b, 'h'), [{ type: 'reissue', unit: 0, reason: 'results disagree' }])
  assert.is(m.unitState(0), 'awaiting-agreement')
  assert.is(m.wantsWork(), true)
  assert.equal(assign(m, A, 1), [], 'A already answered this unit')
  assert.equal(assign(m, B, 1), [], 'B already answered this unit')

  const c = assignOne(m, C)
  assert.is(c.unit, 0)
  const decisions = result(m, c, 'g')
  assert.equal(decisions, [
    { type: 'accept', unit: 0, group: 'g', agreeing: [A, C], outvoted: [B] },
    { type: 'verdict', lease: a.lease, peer: A, accepted: true },
    { type: 'verdict', lease: b.lease, peer: B, accepted: false },
    { type: 'verdict', lease: c.lease, peer: C, accepted: true },
    { type: 'job-done' }
  ])
  assert.equal(m.agreeingPeers(0), [A, C])
  assert.is(m.resultsReceived, 3)
})

test('maxResults reached without agreement fails the unit and the job with a clear reason', () => {
  const m = machine(2, { quorum: 2, maxResults: 3 })
  const a0 = assign(m, A, 2)
  const b0 = assign(m, B, 2)
  assert.equal(result(m, a0[0], 'g'), [])
  assert.equal(types(result(m, b0[0], 'h')), ['reissue'])
  const c = assignOne(m, C)
  assert.is(c.unit, 0)

  const decisions = result(m, c, 'k')
  assert.equal(types(decisions), ['unit-failed', 'cancel-lease', 'cancel-lease', 'job-failed'])
  const [unitFailed] = only(decisions, 'unit-failed')
  assert.is(unitFailed.unit, 0)
  assert.match(unitFailed.reason, 'no 2 agreeing results among 3')
  assert.match(unitFailed.reason, 'the limit is 3')
  assert.equal(
    only(decisions, 'cancel-lease')
      .map((d) => [d.unit, d.peer])
      .sort(),
    [
      [1, A],
      [1, B]
    ],
    "the other unit's leases are called back"
  )
  const [jobFailed] = only(decisions, 'job-failed')
  assert.match(jobFailed.reason, /^unit 0 failed: no 2 agreeing results/)

  assert.is(m.state, 'failed')
  assert.is(m.failureReason, jobFailed.reason)
  assert.is(m.unitState(0), 'failed')
  assert.is(m.wantsWork(), false)
  assert.equal(assign(m, D, 5), [])
})

// --- errors, handbacks, departures ---

test('an error reissues the unit to another peer and only the maxErrors-th error fails the job', () => {
  const m = machine(1, { maxErrors: 2 })
  const a = assignOne(m, A)
  assert.equal(failure(m, a, 'error', 'division by zero'), [{ type: 'reissue', unit: 0, reason: 'error: division by zero' }])
  assert.is(m.state, 'running')
  assert.is(m.unitState(0), 'waiting')
  assert.equal(assign(m, A, 1), [], 'the peer that failed does not get the unit again')

  const b = assignOne(m, B)
  const decisions = failure(m, b, 'memory', 'heap limit')
  assert.equal(decisions, [
    { type: 'unit-failed', unit: 0, reason: '2 errors, the last: memory: heap limit' },
    { type: 'job-failed', reason: 'unit 0 failed: 2 errors, the last: memory: heap limit' }
  ])
  assert.is(m.state, 'failed')
  assert.is(m.unitState(0), 'failed')
})

test('error, timeout and memory failures all count as errors', () => {
  for (const kind of ['error', 'timeout', 'memory'] as const) {
    const m = machine(1, { maxErrors: 1 })
    const decisions = failure(m, assignOne(m, A), kind)
    assert.equal(types(decisions), ['unit-failed', 'job-failed'], kind)
    assert.is(m.state, 'failed', kind)
  }
})

test('a handback does not count as an error and lets the same peer take the unit again', () => {
  const m = machine(1, { maxErrors: 1 })
  for (let round = 0; round < 3; round++) {
    const a = assignOne(m, A)
    assert.is(a.unit, 0)
    assert.equal(failure(m, a, 'handback', 'shutting down'), [{ type: 'reissue', unit: 0, reason: 'handed back' }])
    assert.is(m.state, 'running')
    assert.is(m.unitState(0), 'waiting')
  }
  assert.equal(types(result(m, assignOne(m, A), 'g')), ['accept', 'verdict', 'job-done'])
})

test("a disconnect reopens that peer's leases, without counting an error, for other peers to take", () => {
  const m = machine(2, { maxErrors: 1 })
  assign(m, A, 2)
  const decisions = m.handle({ type: 'disconnect', peer: A, now: 10 })
  assert.equal(decisions, [
    { type: 'reissue', unit: 0, reason: 'donor left' },
    { type: 'reissue', unit: 1, reason: 'donor left' }
  ])
  assert.is(m.state, 'running')
  assert.equal(states(m), ['waiting', 'waiting'])
  assert.equal(
    assign(m, B, 2).map((d) => d.unit),
    [0, 1]
  )
})

test("a disconnect touches only the departing peer's leases", () => {
  const m = machine(2)
  assignOne(m, A)
  assignOne(m, B)
  assert.equal(m.handle({ type: 'disconnect', peer: C, now: 10 }), [])
  assert.equal(m.handle({ type: 'disconnect', peer: A, now: 10 }), [{ type: 'reissue', unit: 0, reason: 'donor left' }])
  assert.equal(states(m), ['waiting', 'running'])
  assert.equal(
    assign(m, C, 5).map((d) => d.unit),
    [0]
  )
})

test('a peer that left before answering may take the unit again when it comes back', () => {
  const m = machine(1)
  assignOne(m, A)
  m.handle({ type: 'disconnect', peer: A, now: 10 })
  const again = assignOne(m, A, 20)
  assert.is(again.unit, 0)
  assert.equal(types(result(m, again, 'g')), ['accept', 'verdict', 'job-done'])
})

// --- deadlines ---

test('a tick before the deadline does nothing; at the deadline the lease expires and the unit is reissued', () => {
  const m = machine(1)
  const a = assignOne(m, A, 0)
  assert.equal(m.handle({ type: 'tick', now: LEASE_MS - 1 }), [])
  assert.is(m.unitState(0), 'running')
  const decisions = m.handle({ type: 'tick', now: LEASE_MS })
  assert.equal(types(decisions), ['lease-expired', 'reissue'])
  assert.equal(decisions[0], { type: 'lease-expired', lease: a.lease, unit: 0, peer: A }, 'not cancelled: its result may still come')
  const [reissue] = only(decisions, 'reissue')
  assert.is(reissue.unit, 0)
  assert.match(reissue.reason, `deadline passed on ${A.slice(0, 8)}`)
  assert.is(m.unitState(0), 'waiting')
  assert.equal(assign(m, A, 1, LEASE_MS), [], 'the late peer does not get it back')
  assert.is(assignOne(m, B, LEASE_MS).unit, 0)
  assert.equal(m.handle({ type: 'tick', now: LEASE_MS + 1 }), [], 'an expired lease expires once')
})

test('a missed deadline counts against the donor, not the unit: three hoarders cannot fail it', () => {
  const m = machine(1, { maxErrors: 2 })
  for (const [n, peer] of [A, B, C].entries()) {
    assignOne(m, peer, n * LEASE_MS)
    const decisions = m.handle({ type: 'tick', now: (n + 1) * LEASE_MS })
    assert.equal(types(decisions), ['lease-expired', 'reissue'])
    assert.equal(only(decisions, 'lease-expired')[0].peer, peer)
  }
  assert.is(m.state, 'running')
  assert.is(m.unitState(0), 'waiting')
})

test('a timeout the donor reports after its lease expired is an error of the unit, counted once', () => {
  const m = machine(1, { maxErrors: 2 })
  const a = assignOne(m, A, 0)
  m.handle({ type: 'tick', now: LEASE_MS })
  assert.equal(types(failure(m, a, 'timeout', 'too slow', LEASE_MS + 1)), ['reissue'])
  assert.equal(types(failure(m, a, 'timeout', 'too slow', LEASE_MS + 2)), ['violation'], 'a second report for one lease')
  const b = assignOne(m, B, LEASE_MS)
  assert.equal(types(failure(m, b, 'timeout', 'too slow', LEASE_MS + 3)), ['unit-failed', 'job-failed'])
  assert.is(m.state, 'failed')
})

test('a late result from an expired lease still counts while the unit is open', () => {
  const m = machine(1)
  const a = assignOne(m, A, 0)
  m.handle({ type: 'tick', now: LEASE_MS })
  const b = assignOne(m, B, LEASE_MS)
  const decisions = result(m, a, 'g', { now: LEASE_MS + 1 })
  assert.equal(decisions, [
    { type: 'accept', unit: 0, group: 'g', agreeing: [A], outvoted: [] },
    { type: 'verdict', lease: a.lease, peer: A, accepted: true },
    { type: 'cancel-lease', lease: b.lease, unit: 0, peer: B },
    { type: 'job-done' }
  ])
  assert.is(m.resultsReceived, 1)
})

/** Two units: A's lease on unit 0 expires and B takes unit 0 over; C keeps unit 1 (so the job goes on). */
function expiredOnUnit0(): { m: JobMachine; a: Assign; b: Assign } {
  const m = machine(2)
  const a = assignOne(m, A, 0)
  assert.is(assignOne(m, C, LEASE_MS / 2).unit, 1)
  m.handle({ type: 'tick', now: LEASE_MS })
  const b = assignOne(m, B, LEASE_MS)
  assert.is(b.unit, 0)
  return { m, a, b }
}

test('a result for a unit already accepted gets a verdict only and changes nothing', () => {
  const { m, a, b } = expiredOnUnit0()
  assert.equal(types(result(m, b, 'g')), ['accept', 'verdict'])
  const before = { counts: m.counts(), accepted: m.acceptedCount, state: m.state, agreeing: m.agreeingPeers(0) }

  assert.equal(result(m, a, 'h'), [{ type: 'verdict', lease: a.lease, peer: A, accepted: false }])
  assert.equal({ counts: m.counts(), accepted: m.acceptedCount, state: m.state, agreeing: m.agreeingPeers(0) }, before)
  assert.is(m.resultsReceived, 2, 'every result received is counted')
})

test('a late result that matches the accepted one gets a positive verdict', () => {
  const { m, a, b } = expiredOnUnit0()
  result(m, b, 'g')
  assert.equal(result(m, a, 'g'), [{ type: 'verdict', lease: a.lease, peer: A, accepted: true }])
  assert.is(m.acceptedCount, 1)
})

// --- protocol violations ---

test('a result for a lease never issued is a violation', () => {
  const m = machine(1)
  assignOne(m, A)
  const decisions = result(m, 999, 'g', { peer: A })
  assert.equal(types(decisions), ['violation'])
  assert.is(only(decisions, 'violation')[0].peer, A)
  assert.is(m.resultsReceived, 0)
  assert.is(m.unitState(0), 'running')
})

test('a result from a peer that does not hold the lease is a violation and leaves the lease to its holder', () => {
  const m = machine(1)
  const a = assignOne(m, A)
  const decisions = result(m, a, 'forged', { peer: B })
  assert.equal(types(decisions), ['violation'])
  assert.is(only(decisions, 'violation')[0].peer, B)
  assert.match(only(decisions, 'violation')[0].reason, String(a.lease))
  assert.is(m.resultsReceived, 0)
  assert.equal(result(m, a, 'g')[0], { type: 'accept', unit: 0, group: 'g', agreeing: [A], outvoted: [] })
})

test('a second result for the same lease is a violation and is not counted', () => {
  const m = machine(2, { quorum: 2 })
  const a = assignOne(m, A)
  assert.equal(result(m, a, 'g'), [])
  const decisions = result(m, a, 'g')
  assert.equal(decisions, [{ type: 'violation', peer: A, reason: `second result for lease ${a.lease}` }])
  assert.is(m.resultsReceived, 1)
  assert.is(m.unitState(0), 'awaiting-agreement')
})

test('a failure report for a lease the peer does not hold is a violation', () => {
  const m = machine(1)
  const a = assignOne(m, A)
  const decisions = m.handle({ type: 'failure', lease: a.lease, peer: B, kind: 'error', reason: 'x', now: 0 })
  assert.equal(types(decisions), ['violation'])
  assert.is(only(decisions, 'violation')[0].peer, B)
  assert.is(m.unitState(0), 'running')
})

// --- cancel ---

test('cancel calls back every lease, ends the job as cancelled and assigns nothing more', () => {
  const m = machine(3, { quorum: 2 })
  const leased = [...assign(m, A, 2), ...assign(m, B, 1)]
  const decisions = m.handle({ type: 'cancel', now: 5 })
  assert.equal(types(decisions), ['cancel-lease', 'cancel-lease', 'cancel-lease'])
  assert.equal(
    only(decisions, 'cancel-lease')
      .map((d) => d.lease)
      .sort((x, y) => x - y),
    leased.map((d) => d.lease).sort((x, y) => x - y)
  )
  assert.is(m.state, 'cancelled')
  assert.is(m.wantsWork(), false)
  assert.equal(assign(m, C, 5), [])
  assert.is(m.counts().running, 0)
})

test('after cancel, another cancel, a tick or a disconnect decide nothing', () => {
  const m = machine(2)
  assign(m, A, 2)
  m.handle({ type: 'cancel', now: 5 })
  assert.equal(m.handle({ type: 'cancel', now: 6 }), [])
  assert.equal(m.handle({ type: 'tick', now: 10 * LEASE_MS }), [])
  assert.equal(m.handle({ type: 'disconnect', peer: A, now: 7 }), [])
  assert.is(m.state, 'cancelled')
})

// --- restore ---

test('a machine restored with already accepted units leases only the others', () => {
  const m = machine(3, {}, { accepted: [0, 2] })
  assert.is(m.state, 'running')
  assert.is(m.acceptedCount, 2)
  assert.equal(states(m), ['accepted', 'waiting', 'accepted'])
  const leased = assign(m, A, 5)
  assert.equal(
    leased.map((d) => d.unit),
    [1]
  )
  assert.equal(types(result(m, leased[0], 'g')), ['accept', 'verdict', 'job-done'])
  assert.is(m.state, 'done')
})

test('a machine restored with every unit accepted is done and wants no work', () => {
  const m = machine(3, {}, { accepted: [0, 1, 2] })
  assert.is(m.state, 'done')
  assert.is(m.wantsWork(), false)
  assert.equal(assign(m, A, 5), [])
  assert.equal(m.counts(), { waiting: 0, running: 0, 'awaiting-agreement': 0, accepted: 3, failed: 0 })
})

// --- states and counts ---

test('counts() and unitState() show waiting, running, awaiting-agreement and accepted units', () => {
  const m = machine(5, { quorum: 2 })
  assert.equal(m.counts(), { waiting: 5, running: 0, 'awaiting-agreement': 0, accepted: 0, failed: 0 })
  const a = assign(m, A, 4) // units 0..3
  const b = assign(m, B, 2) // units 0..1
  result(m, a[0], 'g')
  result(m, b[0], 'g') // unit 0 accepted
  result(m, a[1], 'g') // unit 1 has one answer, B still running it
  assert.equal(states(m), ['accepted', 'awaiting-agreement', 'running', 'running', 'waiting'])
  assert.equal(m.counts(), { waiting: 1, running: 2, 'awaiting-agreement': 1, accepted: 1, failed: 0 })
})

test('a failed unit shows as failed and the units whose leases were called back as waiting', () => {
  const m = machine(4, { quorum: 2, maxErrors: 1 })
  const a = assign(m, A, 3) // units 0..2
  const b = assign(m, B, 1) // unit 0
  result(m, a[0], 'g')
  result(m, b[0], 'g') // unit 0 accepted
  result(m, a[1], 'g') // unit 1 awaiting agreement
  failure(m, a[2], 'error') // unit 2 fails, and with it the job
  assert.equal(states(m), ['accepted', 'awaiting-agreement', 'failed', 'waiting'])
  assert.equal(m.counts(), { waiting: 1, running: 0, 'awaiting-agreement': 1, accepted: 1, failed: 1 })
})

// --- lease ids ---

test('LeaseCounter hands out ids unique across machines sharing it, and issued() knows them', () => {
  const counter = new LeaseCounter()
  const m1 = machine(3, {}, { counter })
  const m2 = machine(3, {}, { counter })
  const ids = [...assign(m1, A, 2), ...assign(m2, A, 3), ...assign(m1, B, 1)].map((d) => d.lease)
  assert.is(ids.length, 6)
  assert.is(new Set(ids).size, 6)
  for (const id of ids) assert.ok(counter.issued(id), `issued(${id})`)
  assert.is(counter.issued(0), false)
  assert.is(counter.issued(-1), false)
  assert.is(counter.issued(Math.max(...ids) + 1), false)
  // Each machine owns only the leases it issued.
  assert.ok(ids.every((id) => m1.owns(id) !== m2.owns(id)))
})

test('LeaseCounter.take() counts up from 1', () => {
  const counter = new LeaseCounter()
  assert.is(counter.issued(1), false)
  assert.equal([counter.take(), counter.take(), counter.take()], [1, 2, 3])
  assert.ok(counter.issued(1) && counter.issued(3))
  assert.is(counter.issued(4), false)
})

// --- regressions ---

test('a result for a lease issued before the job was cancelled or failed gets only a negative verdict', () => {
  const cancelled = machine(1)
  const a = assignOne(cancelled, A)
  cancelled.handle({ type: 'cancel', now: 5 })
  assert.equal(result(cancelled, a, 'g', { now: 6 }), [{ type: 'verdict', lease: a.lease, peer: A, accepted: false }])
  assert.is(cancelled.state, 'cancelled')
  assert.is(cancelled.acceptedCount, 0)
  assert.is.not(cancelled.unitState(0), 'accepted')

  // Unit 0 fails the job; the lease on unit 1, issued before, is answered afterwards.
  const failed = machine(2, { maxErrors: 1 })
  const [u0, u1] = assign(failed, A, 2)
  assert.equal(types(failure(failed, u0, 'error')), ['unit-failed', 'cancel-lease', 'job-failed'])
  assert.equal(result(failed, u1, 'g'), [{ type: 'verdict', lease: u1.lease, peer: A, accepted: false }])
  assert.is(failed.state, 'failed')
  assert.is(failed.acceptedCount, 0)
  assert.is.not(failed.unitState(1), 'accepted')
})

test('a peer answering one unit under two leases votes once, so a disagreement still reissues the unit', () => {
  const m = machine(1, { quorum: 2, maxResults: 5 })
  const l1 = assignOne(m, A)
  const l2 = assignOne(m, B)
  assert.equal(m.handle({ type: 'disconnect', peer: A, now: 10 }), [{ type: 'reissue', unit: 0, reason: 'donor left' }])
  const l3 = assignOne(m, A, 20)
  assert.is(l3.unit, 0, 'A left before answering, so it may take the unit again')

  // A's first lease answers late, then its second one with the same answer.
  assert.equal(result(m, l1, 'g', { now: 30 }), [])
  assert.equal(result(m, l3, 'g', { now: 31 }), [], "A's second vote is not counted")
  assert.is(m.unitState(0), 'awaiting-agreement')
  assert.is(m.acceptedCount, 0)

  // One vote each from A and B that disagree: the unit needs a third peer.
  assert.equal(result(m, l2, 'h', { now: 32 }), [{ type: 'reissue', unit: 0, reason: 'results disagree' }])
  assert.is(m.wantsWork(), true)
  const c = assignOne(m, C, 40)
  assert.is(c.unit, 0)
  const decisions = result(m, c, 'g', { now: 41 })
  assert.equal(only(decisions, 'accept'), [{ type: 'accept', unit: 0, group: 'g', agreeing: [A, C], outvoted: [B] }])
  assert.is(m.unitState(0), 'accepted')
  assert.equal(m.agreeingPeers(0), [A, C])
})

test('a reopened unit is served before units never leased', () => {
  const m = machine(3)
  const a = assignOne(m, A)
  assert.is(a.unit, 0)
  assert.equal(types(failure(m, a, 'error')), ['reissue'])
  assert.equal(
    assign(m, B, 1).map((d) => d.unit),
    [0]
  )
})

test('validate() names the invariant a machine breaks', () => {
  const m = machine(2)
  const [a] = assign(m, 'A', 1)
  result(m, a, 'x', { peer: 'A' })
  m.validate()
  m.acceptedCount = 2
  assert.throws(() => m.validate(), /acceptedCount is 2, 1 units are accepted/)
})

test.run()
