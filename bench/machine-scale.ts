/**
 * Coordinator scale: the pure JobMachine driven by 10,000 simulated donors, with no sockets.
 * Run as its own process (run.ts starts it with --expose-gc) so that heap figures are not
 * muddied by the grid figures' garbage, and printed as one JSON line on stdout.
 *
 *   node --expose-gc dist/bench/machine-scale.js [units,…] [quorum,…] [budget-ms]
 *
 * Each job runs to the end or until its time budget is spent, whichever comes first, so the
 * whole bench stays within its couple of minutes however slow the machine is at scale.
 */
import { performance } from 'node:perf_hooks'
import { JobMachine } from '../node/job/machine.js'
import { LeaseCounter } from '../node/job/lease-counter.js'
import type { Decision, JobPolicy, PeerRef } from '../node/job/types.js'

const DONORS = 10_000
/** Each donor asks for as many units as a 2-thread donor's prefetch window holds. */
const SLOTS = 4
/** Machine time each job size is measured over, in as many jobs as that takes. */
const MIN_MACHINE_MS = 1000
const MAX_JOBS = 200

export interface ScaleRow {
  units: number
  quorum: number
  buildMs: number
  /** Leases handed out per second of time spent inside assign(). */
  assignsPerSec: number
  /** Results handled per second of time spent inside handle(result). */
  resultsPerSec: number
  /** Whole life cycle: units accepted per second of machine time (assign + result + tick). */
  unitsPerSec: number
  /** Share of the job's units accepted within the budget (1: it ran to the end). */
  done: number
  heapPerUnitBuilt: number
  /** Heap the machine gained per lease issued, measured where the run ended. */
  heapPerLease: number
  /** Jobs of this size run one after the other, their times summed, for the rates above. */
  jobs: number
}

/** Counts and machine time of one job, to be summed over several. */
interface Spent {
  assigns: number
  assignMs: number
  results: number
  resultMs: number
  accepted: number
  machineMs: number
}

const gc = (globalThis as { gc?: () => void }).gc

function heapUsed(): number {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}

/**
 * Runs jobs of `units` units one after another until `minMs` of machine time is spent (at least
 * one job): every size is then timed over a similar span, so one GC pause or a burst of load from
 * elsewhere weighs on a 10,000-unit job (~20 ms) no more than on a million-unit one. Heap figures
 * are the first job's.
 */
export function measure(units: number, quorum: number, budgetMs: number, minMs = 0): ScaleRow {
  const first = runJob(units, quorum, budgetMs)
  const sum = { ...first.spent }
  let jobs = 1
  for (; sum.machineMs < minMs && jobs < MAX_JOBS; jobs++) {
    const { spent } = runJob(units, quorum, budgetMs)
    for (const key of Object.keys(sum) as (keyof Spent)[]) sum[key] += spent[key]
  }
  return {
    ...first.row,
    assignsPerSec: sum.assigns / (sum.assignMs / 1000),
    resultsPerSec: sum.results / (sum.resultMs / 1000),
    unitsPerSec: sum.accepted / (sum.machineMs / 1000),
    jobs
  }
}

function runJob(units: number, quorum: number, budgetMs: number): { row: Omit<ScaleRow, 'jobs'>; spent: Spent } {
  // One host each, so a policy that wants replicas on distinct hosts finds them as on a real grid.
  const donors: PeerRef[] = Array.from({ length: DONORS }, (_, i) => ({
    key: i.toString(16).padStart(64, '0'),
    host: `10.0.${i >> 8}.${i & 255}`
  }))
  const policy: JobPolicy = { quorum, maxResults: 2 * quorum + 1, maxErrors: 3, leaseMs: 300_000 }
  const before = heapUsed()
  let t = performance.now()
  const machine = new JobMachine(units, policy, new LeaseCounter())
  const buildMs = performance.now() - t
  const built = heapUsed()

  let assignMs = 0
  let resultMs = 0
  let tickMs = 0
  let assigns = 0
  let results = 0
  let now = 0
  let next = 0
  const deadline = performance.now() + budgetMs
  // Rounds: every donor asks once, then every lease of the round answers, then the clock
  // ticks; the in-flight set (DONORS x SLOTS leases) is what a busy coordinator carries.
  while (machine.state === 'running' && performance.now() < deadline) {
    const out: Extract<Decision, { type: 'assign' }>[] = []
    t = performance.now()
    for (let i = 0; i < DONORS && machine.wantsWork(); i++) {
      for (const d of machine.assign(donors[next], SLOTS, now)) if (d.type === 'assign') out.push(d)
      next = (next + 1) % DONORS
    }
    assignMs += performance.now() - t
    assigns += out.length
    if (out.length === 0) throw new Error(`machine stalled at ${machine.acceptedCount}/${units} accepted`)
    t = performance.now()
    for (const d of out) machine.handle({ type: 'result', lease: d.lease, peer: d.peer, group: 'same', now })
    resultMs += performance.now() - t
    results += out.length
    now += 1000
    t = performance.now()
    machine.handle({ type: 'tick', now })
    tickMs += performance.now() - t
  }
  if (machine.state !== 'done' && machine.state !== 'running') throw new Error(`machine ended ${machine.state}`)
  const end = heapUsed()
  // Read after the measurement, or V8 may treat the machine as dead and collect it first.
  const accepted = machine.acceptedCount
  const machineMs = assignMs + resultMs + tickMs
  return {
    row: {
      units,
      quorum,
      buildMs,
      assignsPerSec: assigns / (assignMs / 1000),
      resultsPerSec: results / (resultMs / 1000),
      unitsPerSec: accepted / (machineMs / 1000),
      done: accepted / units,
      heapPerUnitBuilt: (built - before) / units,
      heapPerLease: (end - built) / assigns
    },
    spent: { assigns, assignMs, results, resultMs, accepted, machineMs }
  }
}

function list(arg: string | undefined, fallback: number[]): number[] {
  return arg ? arg.split(',').map(Number) : fallback
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = list(process.argv[2], [10_000, 100_000, 1_000_000])
  const quorums = list(process.argv[3], [1, 2])
  const budgetMs = Number(process.argv[4] ?? 4000)
  const rows: ScaleRow[] = []
  // Untimed, and big enough for the optimising compiler to finish with the hot paths: else the
  // smallest job, the baseline of the ratios, is measured half in the interpreter.
  for (const quorum of quorums) measure(Math.min(100_000, Math.max(...sizes)), quorum, budgetMs / 4)
  for (const quorum of quorums) {
    for (const units of sizes) {
      // Summed over repeated jobs, not the best of a few: a best of three small jobs set against one big job biases the ratio.
      rows.push(measure(units, quorum, budgetMs, MIN_MACHINE_MS))
    }
  }
  process.stdout.write(JSON.stringify({ gc: !!gc, donors: DONORS, slots: SLOTS, budgetMs, rows }) + '\n')
}
