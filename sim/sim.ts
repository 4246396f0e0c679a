/**
 * `npm run sim`: the trust simulator. For every threat (saboteur fraction f, sabotage rate s,
 * colluding or not) it runs a simulated grid of a thousand peers through the real JobMachine
 * under four acceptance policies and prints error and cost side by side, with Sarmenta's
 * closed form for majority voting as a check of the simulator, and whether the targets hold.
 *
 *   node dist/sim/sim.js [--peers N] [--units-per-peer R] [--seed S]
 */
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import { DEFAULT_TRUST } from '../node/trust/credibility-acceptance.js'
import type { TrustSpec } from '../node/job/types.js'
import { checksToStandAlone, newcomersNeeded } from '../node/trust/credibility.js'
import type { Outcome, PolicyKind, Scenario } from './scenario.js'
import { cost, error, formatTable, type Row, type Threat } from './sim-table.js'

const MAJORITY_M = 3
/** The targets of issue 5. */
const TARGET_ERROR = 1e-3
const TARGET_COST_HONEST = 1.15
const TARGET_COST_SABOTAGED = 2.5
/** Voting carries nothing from one unit to the next, so fewer units measure it as well. */
const VOTING_UNITS = 20_000
/** Past this the run is stopped: the table is meant to take seconds, not minutes. */
const RUN_LIMIT_MS = 120_000

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '1000' },
    'units-per-peer': { type: 'string', default: '400' },
    seed: { type: 'string', default: '1' }
  }
})
const peers = Number(values.peers)
const unitsPerPeer = Number(values['units-per-peer'])
const seed = Number(values.seed)
const trust: TrustSpec = { ...DEFAULT_TRUST, errorRate: TARGET_ERROR }

const threats: Threat[] = [{ f: 0, s: 1, colluding: false }]
for (const f of [0.1, 0.2, 0.35]) for (const s of [0.1, 1]) for (const colluding of [false, true]) threats.push({ f, s, colluding })

const policies: Array<{ name: keyof Omit<Row, 'threat'>; policy: PolicyKind; quorum: number; units: number }> = [
  { name: 'credibility', policy: 'credibility', quorum: 2, units: peers * unitsPerPeer },
  { name: 'adaptive', policy: 'adaptive', quorum: 2, units: peers * unitsPerPeer },
  { name: 'majority', policy: 'quorum', quorum: MAJORITY_M, units: VOTING_UNITS },
  { name: 'quorum2', policy: 'quorum', quorum: 2, units: VOTING_UNITS }
]

const jobs: Array<{ row: number; name: keyof Omit<Row, 'threat'>; scenario: Scenario }> = []
threats.forEach((threat, row) =>
  policies.forEach((p, i) =>
    jobs.push({
      row,
      name: p.name,
      scenario: {
        policy: p.policy,
        quorum: p.quorum,
        trust,
        ...threat,
        peers,
        units: p.units,
        jobSize: 2000,
        window: 32,
        seed: seed * 1000 + row * 10 + i
      }
    })
  )
)

/** Runs every scenario on a pool of worker threads, longest first. */
async function runAll(): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(jobs.length)
  const queue = jobs.map((_, id) => id).sort((a, b) => jobs[b].scenario.units - jobs[a].scenario.units)
  const threads = Math.max(1, Math.min(availableParallelism(), 4, queue.length))
  const workers = Array.from(
    { length: threads },
    () =>
      new Worker(new URL('./sim-worker.js', import.meta.url), {
        // Nearly everything the machine allocates dies young: a larger nursery halves the GC time.
        resourceLimits: { maxYoungGenerationSizeMb: 192 }
      })
  )
  const limit = setTimeout(() => {
    console.error(`the simulation ran past ${RUN_LIMIT_MS / 1000} s: stopping (try --units-per-peer or --peers lower)`)
    process.exit(2)
  }, RUN_LIMIT_MS)
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const next = () => {
              const id = queue.shift()
              if (id === undefined) {
                resolve()
                return
              }
              worker.postMessage({ id, scenario: jobs[id].scenario })
            }
            worker.on('message', ({ id, outcome }: { id: number; outcome: Outcome }) => {
              outcomes[id] = outcome
              next()
            })
            worker.on('error', reject)
            next()
          })
      )
    )
  } finally {
    clearTimeout(limit)
    await Promise.all(workers.map((w) => w.terminate()))
  }
  return outcomes
}

const started = performance.now()
const outcomes = await runAll()
const rows: Row[] = threats.map((threat) => ({ threat }) as Row)
jobs.forEach((job, id) => {
  rows[job.row][job.name] = outcomes[id]
})

console.log(
  `swarmgrid trust simulation: ${peers} peers; the adaptive policies run ${peers * unitsPerPeer} units ` +
    `(${unitsPerPeer} per peer, in jobs of 2000, reputation carried across jobs), the voting ones ${VOTING_UNITS}.`
)
console.log(
  `ours: ε = ${trust.errorRate}, assumed saboteurs f = ${trust.saboteurs}, spot-check rate q = ${trust.spotCheckRate}: ` +
    `a unit of newcomers needs ${newcomersNeeded(trust.errorRate, trust.saboteurs)} agreeing results; a peer stands alone after ` +
    `${checksToStandAlone(trust.errorRate, trust.saboteurs)} checks.`
)
console.log('error = wrong accepted units / units; cost = results computed (spot-checks included) / accepted unit;')
console.log(
  'at f = 0 nobody lies, so s and collusion change nothing: one row. "blacklisted" = saboteurs blacklisted by ours / all saboteurs;'
)
console.log("ε(M,φ) = Sarmenta's closed form for M-first voting, φ = f·s (it assumes bad results agree: it matches the colluding rows")
console.log(
  `and bounds the others); "M for ${TARGET_ERROR.toExponential(0)}" = the smallest M whose ε(M,φ) ≤ ${TARGET_ERROR}, and its cost M/(1−φ).\n`
)
console.log(formatTable(rows, { majorityM: MAJORITY_M, target: TARGET_ERROR, peers }))

const honest = rows[0].credibility
const sabotaged = rows.find((r) => r.threat.f === 0.2 && r.threat.s === 1 && r.threat.colluding)!.credibility
const checks = [
  { what: `f = 0: cost ${cost(honest).toFixed(3)} ≤ ${TARGET_COST_HONEST}`, ok: cost(honest) <= TARGET_COST_HONEST },
  { what: `f = 0.2, s = 1, colluding: error ${error(sabotaged).toExponential(1)} ≤ ${TARGET_ERROR}`, ok: error(sabotaged) <= TARGET_ERROR },
  {
    what: `f = 0.2, s = 1, colluding: cost ${cost(sabotaged).toFixed(3)} ≤ ${TARGET_COST_SABOTAGED}`,
    ok: cost(sabotaged) <= TARGET_COST_SABOTAGED
  }
]
console.log('\ntargets:')
for (const c of checks) console.log(`  ${c.ok ? '✓' : '✗'} ${c.what}`)
const stalled = outcomes.reduce((n, o) => n + o.stalled, 0)
if (stalled > 0) console.log(`  (${stalled} simulated jobs stalled: a unit ran out of results or peers)`)
console.log(`\n${jobs.length} simulations in ${((performance.now() - started) / 1000).toFixed(1)} s`)
process.exitCode = checks.every((c) => c.ok) ? 0 : 1
