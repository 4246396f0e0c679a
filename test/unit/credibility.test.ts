/**
 * Credibility-based acceptance without sockets: Sarmenta's formulas, the policies driven
 * through the real JobMachine, spot-checks, blacklisting and backtracking, the host rule,
 * BOINC's adaptive replication, the ledger in the store, and a small run of the simulator.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { rm } from 'node:fs/promises'
import { JobMachine } from '../../node/job/machine.js'
import { LeaseCounter } from '../../node/job/lease-counter.js'
import type { Decision, JobPolicy, PeerRef } from '../../node/job/types.js'
import { FixedQuorum } from '../../node/job/acceptance.js'
import {
  checksToStandAlone,
  groupDoubt,
  logOdds,
  majorityError,
  majorityNeeded,
  newcomersNeeded,
  peerCredibility
} from '../../node/trust/credibility.js'
import { CredibilityAcceptance } from '../../node/trust/credibility-acceptance.js'
import type { TrustSpec } from '../../node/job/types.js'
import { AdaptiveReplication } from '../../node/trust/adaptive-replication.js'
import { TrustLedger } from '../../node/trust/ledger.js'
import { TrustKeeper } from '../../node/trust/keeper.js'
import { trustPolicy } from '../../node/trust/trust-options.js'
import { Store } from '../../node/store/store.js'
import { describe } from '../../node/coordinator/unit-explain.js'
import { runScenario } from '../../sim/scenario.js'
import { tempDir } from '../support/helpers.js'

type Assign = Extract<Decision, { type: 'assign' }>
const SPEC: TrustSpec = { errorRate: 1e-3, saboteurs: 0.2, spotCheckRate: 0 }
const peer = (name: string, host = `10.0.0.${name.charCodeAt(0)}`): PeerRef => ({ key: name.repeat(64).slice(0, 64), host })
const [A, B, C, D, E, F, G] = 'abcdefg'.split('').map((n) => peer(n))

function credibilityJob(units: number, ledger: TrustLedger, spec: Partial<TrustSpec> = {}, random = () => 0.5): JobMachine {
  const trust = { ...SPEC, ...spec }
  const policy: JobPolicy = { quorum: 2, maxResults: 11, maxErrors: 3, leaseMs: 1000, distinctHosts: true, trust }
  const m = new JobMachine(units, policy, new LeaseCounter(), [], new CredibilityAcceptance(trust, ledger, random))
  m.validating = true
  return m
}

function give(m: JobMachine, p: PeerRef, slots = 1): Assign[] {
  return m.assign(p, slots, 0).filter((d): d is Assign => d.type === 'assign')
}

function answer(m: JobMachine, lease: Assign, group: string): Decision[] {
  return m.handle({ type: 'result', lease: lease.lease, peer: lease.peer, group, now: 0 })
}

/** A ledger in which `peers` have passed `checks` checks each. */
function proven(checks: number, ...peers: PeerRef[]): TrustLedger {
  const ledger = new TrustLedger()
  for (const p of peers)
    ledger.update(p.key, p.host, (r) => {
      r.corroborated = checks
    })
  return ledger
}

const hostOf = (key: string) => `host-${key.slice(0, 1)}`

// --- Sarmenta's formulas ---

test('a newcomer is as credible as a random peer, and credibility grows as 1 − f/((1 − f)·k·e)', () => {
  assert.is(peerCredibility(0, 0.2), 0.8)
  assert.ok(Math.abs(peerCredibility(1, 0.2) - (1 - 0.25 / Math.E)) < 1e-12)
  assert.ok(Math.abs(peerCredibility(92, 0.2) - (1 - 0.25 / (92 * Math.E))) < 1e-12)
  for (let k = 1; k < 200; k++) assert.ok(peerCredibility(k, 0.2) > peerCredibility(k - 1, 0.2))
  assert.is(peerCredibility(5, 0), 1, 'with no saboteurs assumed every result is credible')
})

test("group credibility is Sarmenta's P(good)·Π P(others bad) over every consistent outcome", () => {
  const g1 = [0.8, 0.9]
  const g2 = [0.7]
  const good = (g: number[]) => g.reduce((p, c) => p * c, 1)
  const bad = (g: number[]) => g.reduce((p, c) => p * (1 - c), 1)
  const total = bad(g1) * bad(g2) + good(g1) * bad(g2) + good(g2) * bad(g1)
  const direct = (good(g1) * bad(g2)) / total
  const sum = (g: number[]) => g.reduce((s, c) => s + logOdds(c), 0)
  assert.ok(Math.abs(1 - groupDoubt(sum(g1), [sum(g1), sum(g2)]) - direct) < 1e-12)
  const hundred = 100 * logOdds(0.99)
  assert.ok(groupDoubt(hundred, [hundred]) >= 0 && groupDoubt(hundred, [hundred]) < 1e-100, 'no overflow')
})

test('how many newcomers a unit needs, and how many checks before a peer stands alone', () => {
  assert.is(newcomersNeeded(1e-3, 0.2), 5)
  assert.is(newcomersNeeded(1e-4, 0.2), 7)
  assert.is(checksToStandAlone(1e-3, 0.2), 92)
  assert.is(checksToStandAlone(1e-3, 0), 0)
})

test('the closed form of majority voting: ε(1, φ) = φ, ε(2, φ) = 3φ²(1 − φ) + φ³, and M = 11 for 1e-3 at φ = 0.2', () => {
  assert.ok(Math.abs(majorityError(1, 0.3) - 0.3) < 1e-12)
  assert.ok(Math.abs(majorityError(2, 0.2) - (3 * 0.04 * 0.8 + 0.008)) < 1e-12)
  assert.is(majorityNeeded(1e-3, 0.2), 11)
  assert.is(majorityError(3, 0), 0)
})

// --- the credibility policy in the machine ---

test('newcomers: a unit goes to five peers at once and is accepted when all five agree', () => {
  const m = credibilityJob(2, new TrustLedger())
  const leases = [A, B, C, D, E].map((p) => give(m, p)[0])
  assert.ok(
    leases.every((l) => l.unit === 0),
    'unit 0 is replicated to the five newcomers its credibility needs'
  )
  assert.is(give(m, F)[0].unit, 1, 'the sixth peer gets the next unit')
  for (const l of leases.slice(0, 4))
    assert.equal(
      answer(m, l, 'g').filter((d) => d.type === 'accept'),
      []
    )
  const accept = answer(m, leases[4], 'g').find((d) => d.type === 'accept')
  assert.ok(accept && accept.type === 'accept' && accept.why?.rule === 'credibility')
  assert.ok(accept.why!.credibility! >= 0.999 && accept.why!.agreeing.length === 5)
})

test("a proven peer's lone result is accepted, and it takes fresh units before newcomers' replicas", () => {
  const ledger = proven(92, A)
  const m = credibilityJob(3, ledger)
  const b = give(m, B)[0]
  const a = give(m, A)[0]
  assert.is(b.unit, 0)
  assert.is(a.unit, 1, 'the proven peer skips the unit a newcomer started')
  const decisions = answer(m, a, 'g')
  const accept = decisions.find((d) => d.type === 'accept')
  assert.ok(accept && accept.type === 'accept')
  assert.equal(accept.agreeing, [A.key])
  assert.match(describe(accept.why!, true), /^accepted on one result, of aaaaaaaa 0\.999\d+ \(92 checks\)/)
})

test('a peer trusted alone is spot-checked with a unit whose answer is known, and failing blacklists it', () => {
  // A's answer is so well proven that it stays credible against B's contradiction.
  const ledger = proven(100, B)
  ledger.update(A.key, A.host, (r) => {
    r.corroborated = 200_000
  })
  const m = credibilityJob(3, ledger, { spotCheckRate: 1 })
  const first = give(m, A)[0]
  answer(m, first, 'g')
  const check = give(m, B)[0]
  assert.is(check.unit, first.unit, 'the only known answer is used as the spot-check')
  const decisions = answer(m, check, 'wrong')
  const spot = decisions.find((d) => d.type === 'spot-check')
  assert.equal(spot, { type: 'spot-check', lease: check.lease, unit: first.unit, peer: B.key, passed: false })
  assert.equal(ledger.observe(decisions, hostOf), [B.key])
  assert.ok(ledger.get(B.key)!.blacklisted)
  assert.is(ledger.get(B.key)!.spotChecksFailed, 1)
  assert.equal(give(m, B), [], 'a blacklisted peer gets no work')
})

test("a spot-check that contradicts an answer accepted on a liar's word opens the unit again, and the vote that follows blacklists the liar", () => {
  const ledger = proven(100, A, B, C)
  const m = credibilityJob(2, ledger, { spotCheckRate: 1 })
  const lie = give(m, A)[0]
  ledger.observe(answer(m, lie, 'lie'), hostOf)
  const check = give(m, B)[0]
  assert.is(check.unit, lie.unit)
  const reopened = answer(m, check, 'g')
  assert.equal(reopened, [{ type: 'unaccept', unit: lie.unit, group: 'lie', reason: 'a spot-check contradicted it' }])
  assert.equal(ledger.observe(reopened, hostOf), [], 'nobody is blacklisted before the vote')
  const decider = give(m, C)[0]
  assert.is(decider.unit, lie.unit, 'the reopened unit goes out first')
  const decisions = answer(m, decider, 'g')
  const accept = decisions.find((d) => d.type === 'accept')
  assert.ok(accept && accept.type === 'accept')
  assert.equal([accept.group, accept.agreeing, accept.outvoted], ['g', [B.key, C.key], [A.key]])
  assert.equal(ledger.observe(decisions, hostOf), [A.key])
})

test('a result that contradicts a credible answer blacklists its peer; agreeing beside another counts as a check', () => {
  const ledger = new TrustLedger()
  const m = credibilityJob(1, ledger)
  const leases = [A, B, C, D, E].map((p) => give(m, p)[0])
  const all: Decision[] = [...answer(m, leases[0], 'lie')]
  for (const l of leases.slice(1)) all.push(...answer(m, l, 'g'))
  // Against one newcomer's lie, four newcomers are not enough, nor six: it takes seven.
  for (const p of [F, G, peer('h')]) all.push(...answer(m, give(m, p)[0], 'g'))
  const accept = all.find((d) => d.type === 'accept')
  assert.ok(accept && accept.type === 'accept' && accept.outvoted.includes(A.key))
  assert.equal(ledger.observe(all, hostOf), [A.key])
  assert.is(ledger.checks(B.key), 1)
  assert.is(ledger.checks(A.key), 0)
})

test('backtracking: when a peer is blacklisted the units accepted on its word are opened again', () => {
  const ledger = proven(200, A)
  const m = credibilityJob(2, ledger)
  const a = give(m, A)[0]
  const accepted = answer(m, a, 'lie')
  assert.ok(accepted.some((d) => d.type === 'accept'))
  assert.is(m.acceptedCount, 1)
  ledger.blacklist(A.key, A.host, 'failed a spot-check')
  const decisions = m.reconsider(new Set([A.key]))
  assert.equal(decisions, [{ type: 'unaccept', unit: a.unit, group: 'lie', reason: 'a peer that vouched for it was blacklisted' }])
  assert.is(m.acceptedCount, 0)
  assert.is(m.unitState(a.unit), 'awaiting-agreement')
  const again = [B, C, D, E, F].map((p) => give(m, p, 1)[0])
  assert.ok(again.filter((l) => l.unit === a.unit).length >= 1, 'the reopened unit goes out again')
})

test('a unit short of credibility is accepted once its peers earn more (reconsider on tick)', () => {
  const ledger = new TrustLedger()
  const m = credibilityJob(1, ledger)
  const leases = [A, B].map((p) => give(m, p)[0])
  for (const l of leases) answer(m, l, 'g')
  assert.equal(m.reconsider(), [])
  for (const p of [A, B])
    ledger.update(p.key, p.host, (r) => {
      r.corroborated = 10
    })
  const decisions = m.reconsider()
  assert.ok(decisions.some((d) => d.type === 'accept'))
  assert.is(m.state, 'done')
})

// --- the host rule ---

test('two keys on one host are never two replicas of a unit when hosts must differ', () => {
  const twin1 = peer('x', '192.0.2.1')
  const twin2 = peer('y', '192.0.2.1')
  const m = new JobMachine(1, { quorum: 2, maxResults: 5, maxErrors: 3, leaseMs: 1000, distinctHosts: true }, new LeaseCounter())
  const first = give(m, twin1)[0]
  assert.equal(give(m, twin2), [], 'the second key on that host gets nothing of this unit')
  const other = give(m, A)[0]
  answer(m, first, 'g')
  assert.ok(answer(m, other, 'g').some((d) => d.type === 'accept'))
})

test('without the host rule (loopback grids) two keys on one host are two peers, as before', () => {
  const m = new JobMachine(1, { quorum: 2, maxResults: 5, maxErrors: 3, leaseMs: 1000 }, new LeaseCounter())
  const leases = [peer('x', '127.0.0.1'), peer('y', '127.0.0.1')].map((p) => give(m, p)[0])
  answer(m, leases[0], 'g')
  assert.ok(answer(m, leases[1], 'g').some((d) => d.type === 'accept'))
})

test('a fixed quorum stays plain: blacklisted peers still run its units, no explanation in its decisions', () => {
  const ledger = new TrustLedger()
  ledger.blacklist(A.key, A.host, 'elsewhere')
  const keeper = { acceptance: new FixedQuorum(1) }
  const m = new JobMachine(1, { quorum: 1, maxResults: 3, maxErrors: 3, leaseMs: 1000 }, new LeaseCounter(), [], keeper.acceptance)
  const decisions = answer(m, give(m, A)[0], 'g')
  assert.equal(decisions[0], { type: 'accept', unit: 0, group: 'g', agreeing: [A.key], outvoted: [] })
  assert.equal(ledger.observe(decisions, hostOf), [], 'a quorum acceptance blacklists nobody')
})

// --- BOINC's adaptive replication ---

test('BOINC adaptive replication: a host with 10+ consecutive valid results runs units alone with probability 1 − 1/CV', () => {
  const ledger = new TrustLedger()
  ledger.update(A.key, A.host, (r) => {
    r.consecutiveValid = 20
  })
  const policy = { quorum: 2, maxResults: 5, maxErrors: 3, leaseMs: 1000 }
  const lucky = new JobMachine(1, policy, new LeaseCounter(), [], new AdaptiveReplication(ledger, () => 0.99))
  assert.ok(answer(lucky, give(lucky, A)[0], 'g').some((d) => d.type === 'accept'))
  const unlucky = new JobMachine(1, policy, new LeaseCounter(), [], new AdaptiveReplication(ledger, () => 0.01))
  assert.not.ok(
    answer(unlucky, give(unlucky, A)[0], 'g').some((d) => d.type === 'accept'),
    '1/CV of the time it is replicated'
  )
  const newcomer = new JobMachine(1, policy, new LeaseCounter(), [], new AdaptiveReplication(ledger, () => 0.99))
  assert.not.ok(answer(newcomer, give(newcomer, B)[0], 'g').some((d) => d.type === 'accept'))
})

// --- policy options and the store ---

test('credibility is chosen by any of its knobs, checked, and off otherwise', () => {
  assert.equal(trustPolicy({}, true), { distinctHosts: true })
  assert.equal(trustPolicy({ errorRate: 1e-3 }, true), {
    distinctHosts: true,
    trust: { errorRate: 1e-3, saboteurs: 0.2, spotCheckRate: 0.02 }
  })
  assert.equal(trustPolicy({ saboteurs: 0.1, sameHostReplicas: true }, true).distinctHosts, false)
  assert.throws(() => trustPolicy({ errorRate: 0 }, true), /--error-rate takes a number above 0 and below 1/)
  assert.throws(() => trustPolicy({ saboteurs: 0.5 }, true), /--saboteurs takes a number from 0 and below 0.5/)
})

test('reputation fields persist in the store: checks, spot-checks, blacklist', async () => {
  const dir = await tempDir()
  try {
    let store = Store.open(dir)
    const keeper = new TrustKeeper(store)
    keeper.ledger.update(A.key, A.host, (r) => {
      r.corroborated = 3
      r.spotChecksPassed = 2
    })
    keeper.ledger.observe([{ type: 'spot-check', lease: 1, unit: 4, peer: B.key, passed: false }], () => B.host)
    // Closing the store writes what the ledger still holds back (write-behind.test.ts): no wait needed.
    await store.close()
    store = Store.open(dir, { readOnly: true })
    const again = new TrustKeeper(store).ledger
    assert.is(again.checks(A.key), 5)
    assert.is(again.get(B.key)?.spotChecksFailed, 1)
    assert.match(again.get(B.key)?.blacklisted ?? '', /failed a spot-check on unit 4/)
    await store.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

// --- the simulator drives the same code ---

test('a small simulation: colluders fool quorum 2 as the closed form says, and not credibility', () => {
  const base = {
    quorum: 2,
    trust: { ...SPEC, spotCheckRate: 0.02 },
    f: 0.2,
    s: 1,
    colluding: true,
    peers: 300,
    units: 6000,
    jobSize: 1000,
    window: 16,
    seed: 7
  }
  const voting = runScenario({ ...base, policy: 'quorum' })
  const ours = runScenario({ ...base, policy: 'credibility' })
  const expected = majorityError(2, 0.2)
  assert.ok(Math.abs(voting.wrong / voting.units - expected) < 0.03, `quorum 2 error ${voting.wrong / voting.units} vs ${expected}`)
  assert.is(ours.wrong, 0)
  assert.is(ours.units, 6000)
  assert.is(ours.saboteursBlacklisted, 60)
  assert.is(ours.honestBlacklisted, 0)
})

test.run()
