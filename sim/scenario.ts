/**
 * One simulated grid: thousands of peers, some of them saboteurs, a stream of jobs, one
 * acceptance policy. It drives the real JobMachine and the real policy and ledger, exactly as
 * the coordinator does, only with results made up on the spot instead of computed by donors.
 */
import { JobMachine } from '../node/job/machine.js'
import { LeaseCounter } from '../node/job/lease-counter.js'
import type { Decision, JobPolicy, PeerRef } from '../node/job/types.js'
import type { Acceptance } from '../node/job/types.js'
import { AdaptiveReplication } from '../node/trust/adaptive-replication.js'
import { CredibilityAcceptance } from '../node/trust/credibility-acceptance.js'
import type { TrustSpec } from '../node/job/types.js'
import { TrustLedger } from '../node/trust/ledger.js'
import { mulberry32 } from './seeded-random.js'

export type PolicyKind = 'quorum' | 'adaptive' | 'credibility'

export interface Scenario {
  policy: PolicyKind
  /** The quorum of 'quorum' (2 is BOINC's default; M for M-first majority voting). */
  quorum: number
  trust: TrustSpec
  /** Fraction of saboteurs, and the chance a saboteur lies on any one unit. */
  f: number
  s: number
  /** Whether every saboteur's wrong answer is the same one. */
  colluding: boolean
  peers: number
  units: number
  /** Units per job; the ledger carries over from job to job as on a long-lived coordinator. */
  jobSize: number
  /** Replicas out at once: results come back in random order, not one by one. */
  window: number
  seed: number
}

export interface Outcome {
  units: number
  wrong: number
  results: number
  saboteursBlacklisted: number
  honestBlacklisted: number
  /** Jobs a policy could not finish (a unit ran out of results or of peers). */
  stalled: number
  ms: number
}

interface SimPeer {
  ref: PeerRef
  saboteur: boolean
}

export function runScenario(sc: Scenario): Outcome {
  const started = performance.now()
  const random = mulberry32(sc.seed)
  const peers: SimPeer[] = []
  const saboteurs = Math.round(sc.f * sc.peers)
  // Every simulated peer has a host of its own, named like its key (Sybils sharing hosts are not modelled).
  for (let i = 0; i < sc.peers; i++) peers.push({ ref: { key: `p${i}`, host: `p${i}` }, saboteur: i < saboteurs })
  const hostOf = (key: string) => key
  const ledger = new TrustLedger(undefined, () => 0)
  const counter = new LeaseCounter()
  const outcome: Outcome = { units: 0, wrong: 0, results: 0, saboteursBlacklisted: 0, honestBlacklisted: 0, stalled: 0, ms: 0 }

  const answer = (peer: SimPeer): string => {
    if (!peer.saboteur || random() >= sc.s) return 'good'
    return sc.colluding ? 'bad' : `bad-${peer.ref.key}`
  }

  for (let done = 0; done < sc.units; done += sc.jobSize) {
    const size = Math.min(sc.jobSize, sc.units - done)
    const machine = new JobMachine(size, policyOf(sc), counter, [], acceptanceOf(sc, ledger, random))
    const accepted: Array<string | null> = new Array(size).fill(null)
    const inflight: Array<{ lease: number; peer: SimPeer }> = []
    const cancelled = new Set<number>()

    const apply = (decisions: Decision[]): void => {
      for (const d of decisions) {
        if (d.type === 'accept') accepted[d.unit] = d.group
        else if (d.type === 'unaccept') accepted[d.unit] = null
        else if (d.type === 'cancel-lease') cancelled.add(d.lease)
      }
      const blacklisted = ledger.observe(decisions, hostOf, String(done))
      if (blacklisted.length > 0) apply(machine.reconsider(new Set(blacklisted)))
    }

    for (let step = 1; machine.state === 'running'; step++) {
      // The machine's invariants hold at every step; checking each 256th keeps the simulator fast.
      if (step % 256 === 0) machine.validate()
      // Random peers ask for work until the window is full; blacklisted ones get none. As on a
      // coordinator, a job that wants no replicas is not asked (so it hands out no spot-checks).
      for (let idle = 0; inflight.length < sc.window && idle < 64 && machine.wantsWork(); ) {
        const peer = peers[Math.floor(random() * peers.length)]
        const decisions = machine.assign(peer.ref, 1, 0)
        if (decisions.length === 0) {
          idle++
          continue
        }
        for (const d of decisions) if (d.type === 'assign') inflight.push({ lease: d.lease, peer })
      }
      if (inflight.length === 0) {
        outcome.stalled++
        break
      }
      const at = Math.floor(random() * inflight.length)
      const { lease, peer } = inflight[at]
      inflight[at] = inflight[inflight.length - 1]
      inflight.pop()
      if (cancelled.delete(lease)) continue
      apply(machine.handle({ type: 'result', lease, peer: peer.ref.key, group: answer(peer), now: 0 }))
    }
    machine.validate()
    outcome.units += machine.acceptedCount
    outcome.results += machine.resultsReceived
    for (const group of accepted) if (group !== null && group !== 'good') outcome.wrong++
  }
  for (const peer of peers) {
    if (!ledger.blacklisted(peer.ref.key)) continue
    if (peer.saboteur) outcome.saboteursBlacklisted++
    else outcome.honestBlacklisted++
  }
  outcome.ms = performance.now() - started
  return outcome
}

function policyOf(sc: Scenario): JobPolicy {
  // No deadlines and no errors in the simulation; results limited only so a stuck unit shows.
  return {
    quorum: sc.policy === 'quorum' ? sc.quorum : 2,
    maxResults: 64,
    maxErrors: 3,
    leaseMs: Number.MAX_SAFE_INTEGER,
    distinctHosts: true,
    ...(sc.policy === 'credibility' ? { trust: sc.trust } : {})
  }
}

function acceptanceOf(sc: Scenario, ledger: TrustLedger, random: () => number): Acceptance | undefined {
  switch (sc.policy) {
    case 'quorum':
      return undefined
    case 'adaptive':
      return new AdaptiveReplication(ledger, random)
    case 'credibility':
      return new CredibilityAcceptance(sc.trust, ledger, random)
  }
}
