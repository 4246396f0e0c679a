/**
 * --unit-seconds T: units sized from measured run times, so that a submitter need not guess
 * a unit count. The job is cut finely into pieces, and a few pieces spread over the whole
 * job run one after another in a real unit thread (node/coordinator/piece-runner.ts): their mean time
 * times the number of pieces estimates the job's work. Pieces that short also measure their
 * own set-up and the clock's 1 ms steps, so the job is then cut into as many pieces as that
 * first estimate says units, a few of those run too, and the two cuts together tell the work
 * that divides among units from what each unit costs whatever its size.
 *
 * The arithmetic (which pieces, what the job costs, how many units) is kept apart from the
 * measuring, which takes its runner as an argument, so both are tested without threads.
 */
import type { Cut, UnitSizing } from '../job/types.js'
import { performance } from 'node:perf_hooks'
import { ParamError, type Params, type TaskModule } from '../../tasks/contract.js'
import { PieceRunner, type RunPiece } from './piece-runner.js'

/** How finely the job is cut first; fewer pieces when the task will not cut it that fine. */
export const PROBE_PIECES = 1024
/** Pieces measured of the fine cut, and of the cut at the first estimate, at most. */
const FINE_SAMPLES = 16
const CHECK_SAMPLES = 4
/**
 * A fresh thread runs a task several times slower until the JIT has compiled it (measured:
 * 8 ms, then 2, 4, 3, 1.2 … and 0.6 ms from the eighth run of a primes piece on): the first
 * piece runs this often, or for this long, before it counts.
 */
const WARMUP = { runs: 8, ms: 200 }
/** Pieces of units at least this long are run once each (see sizeUnits). */
const LONG_UNIT_MS = 200
/** The built-in tasks refuse more units than this (tasks/params.ts unitCount). */
export const MAX_SIZED_UNITS = 1_000_000
/** Time the measuring may take: a few units' worth, but at least 2 s and at most 30 s. */
const BUDGET_UNITS = 8
const MIN_BUDGET_MS = 2000
const MAX_BUDGET_MS = 30_000

/** Pieces of one cut of the job, and how long the measured ones took on average. */

export interface Measured {
  samples: number
  msPerPiece: number
  overBudget: boolean
}

/** A job's cost on this machine: `fixedMs` per unit, plus `workMs` shared out among the units. */
export interface Cost {
  fixedMs: number
  workMs: number
}

/**
 * The pieces to measure, best first: the first, the last, then the middles of the gaps
 * between those already chosen, breadth first, so that any prefix is spread over the job
 * (work often varies along it: mandelbrot's rows, primes' growing numbers).
 */
export function sampleOrder(pieces: number, max: number): number[] {
  if (!Number.isSafeInteger(pieces) || pieces < 1) return []
  const order = pieces > 1 ? [0, pieces - 1] : [0]
  const gaps: Array<[number, number]> = [[0, pieces - 1]]
  while (order.length < max && gaps.length > 0) {
    const [lo, hi] = gaps.shift()!
    if (hi - lo < 2) continue
    const mid = Math.floor((lo + hi) / 2)
    order.push(mid)
    gaps.push([lo, mid], [mid, hi])
  }
  return order.slice(0, Math.max(0, max))
}

/** Time the measuring may take for units of T seconds. */
export function budgetFor(unitSeconds: number): number {
  return Math.min(MAX_BUDGET_MS, Math.max(MIN_BUDGET_MS, BUDGET_UNITS * unitSeconds * 1000))
}

/** How long a cut of pieces may be measured, and how. */
export interface MeasureOptions {
  /** When the clock (`now`) reaches this, measuring stops. */
  endAt: number
  /** Runs per piece, the fastest counted. */
  runs: number
  /** More runs of the first piece, for as long as these last, so that the JIT has compiled the task before it counts. */
  warmup?: { runs: number; ms: number }
}

/**
 * Runs the pieces in `order`, each `runs` times with the fastest run counted, until all are
 * measured or the clock reaches `endAt`, and gives their mean time; null when no time was
 * left for any. Fastest, because a run that the machine's other work slowed down loses to
 * its twin, and the first runs of a fresh thread are slow until the JIT has seen the task.
 * A run still going at `endAt` is stopped; when no piece had finished before it, the time it
 * ran is a lower bound of a piece's time, and the result says so.
 */
export async function measurePieces(
  order: number[],
  run: RunPiece,
  options: MeasureOptions,
  now: () => number = () => performance.now()
): Promise<Measured | null> {
  const { endAt, runs, warmup } = options
  const times: number[] = []
  let overBudget = false
  for (const [k, index] of order.entries()) {
    let best = Infinity
    const pieceStarted = now()
    for (let round = 0; ; round++) {
      const warming = k === 0 && !!warmup && round < runs + warmup.runs && now() - pieceStarted < warmup.ms
      if (round >= runs && !warming) break
      const left = endAt - now()
      if (left <= 0) break
      const started = now()
      const ms = await run(index, left)
      if (ms === null) {
        if (best === Infinity && times.length === 0) {
          best = now() - started
          overBudget = true
        }
        break
      }
      best = Math.min(best, ms)
    }
    if (best < Infinity) times.push(best)
    if (now() >= endAt) break
  }
  if (times.length === 0) return null
  return { samples: times.length, msPerPiece: times.reduce((a, b) => a + b, 0) / times.length, overBudget }
}

/**
 * The job's cost from its pieces' mean times: from the fine cut alone, all work; from two
 * cuts, the straight line through them, time per piece = fixed + work / pieces. Noise can
 * tip that line (a fixed cost below 0 or above a fine piece's whole time): the fixed part is
 * then held to what is possible and the work taken from the coarser cut, the better measured.
 */
export function fitCost(fine: Cut, coarse?: Cut): Cost {
  if (!coarse || coarse.pieces >= fine.pieces) return { fixedMs: 0, workMs: fine.pieces * fine.msPerPiece }
  const work = (coarse.msPerPiece - fine.msPerPiece) / (1 / coarse.pieces - 1 / fine.pieces)
  const fixedMs = Math.min(fine.msPerPiece, Math.max(0, fine.msPerPiece - work / fine.pieces))
  return { fixedMs, workMs: Math.max(0, coarse.pieces * (coarse.msPerPiece - fixedMs)) }
}

/**
 * Units of about `unitSeconds` each: each pays the fixed cost and its share of the work.
 * When the fixed cost alone is most of T, no unit can be that short; the work part of a
 * unit is then held at a quarter of T rather than cutting the job into countless units.
 */
export function chooseUnits(cost: Cost, unitSeconds: number): number {
  const target = unitSeconds * 1000
  const units = Math.round(cost.workMs / Math.max(target - cost.fixedMs, target / 4))
  return Math.min(MAX_SIZED_UNITS, Math.max(1, Number.isFinite(units) ? units : 1))
}

export interface SizeOptions {
  /** The --tasks directory, so the thread runs this peer's build of the task. */
  tasksDir: string | null
  /** Overrides budgetFor(unitSeconds). */
  budgetMs?: number
  /** Aborted when the peer stops: the measuring ends at once, and the submit fails. */
  signal?: AbortSignal
}

/** Measures the job on this machine and says how many units of about `unitSeconds` to split it into. */
export async function sizeUnits(task: TaskModule, params: Params, unitSeconds: number, options: SizeOptions): Promise<UnitSizing> {
  const started = performance.now()
  const endAt = started + (options.budgetMs ?? budgetFor(unitSeconds))
  const finePieces = [...task.split(params, PROBE_PIECES)]
  if (finePieces.length === 0) throw new ParamError(`${task.name} made no units from these parameters`)
  const runner = new PieceRunner(task.name, options.tasksDir, options.signal)
  try {
    const fine = await measurePieces(sampleOrder(finePieces.length, FINE_SAMPLES), runner.of(finePieces), {
      endAt,
      runs: 2,
      warmup: WARMUP
    })
    if (!fine)
      throw new ParamError(
        `--unit-seconds: splitting this ${task.name} job took the whole ${Math.round(endAt - started)} ms given to measure it`
      )
    const cuts: Cut[] = [{ pieces: finePieces.length, samples: fine.samples, msPerPiece: fine.msPerPiece }]
    let cost = fitCost(cuts[0])
    const first = chooseUnits(cost, unitSeconds)
    // Only when a unit spans several fine pieces do their own set-up costs weigh.
    if (!fine.overBudget && first * 2 <= finePieces.length) {
      const unitPieces = [...task.split(params, first)]
      // A long unit warms the JIT up within its own run, and CPU time tells a preempted one apart.
      const runs = unitSeconds * 1000 < LONG_UNIT_MS ? 2 : 1
      const check = await measurePieces(sampleOrder(unitPieces.length, CHECK_SAMPLES), runner.of(unitPieces), { endAt, runs })
      if (check && !check.overBudget) {
        cuts.push({ pieces: unitPieces.length, samples: check.samples, msPerPiece: check.msPerPiece })
        cost = fitCost(cuts[0], cuts[1])
      }
    }
    return {
      unitSeconds,
      cuts,
      fixedMs: cost.fixedMs,
      overBudget: fine.overBudget,
      units: chooseUnits(cost, unitSeconds),
      tookMs: Math.round(performance.now() - started)
    }
  } catch (err) {
    if (options.signal?.aborted)
      throw new Error(`the ${task.name} job was not stored: this peer stopped while it measured the job's pieces`)
    if (err instanceof ParamError) throw err
    // A piece that fails here would fail as a unit too: better the submitter hears it now.
    throw new ParamError(`--unit-seconds: a piece of this ${task.name} job failed while it was measured: ${(err as Error).message}`)
  } finally {
    await runner.destroy()
  }
}

/** Samples measured in all. */
export function samplesOf(s: UnitSizing): number {
  return s.cuts.reduce((sum, cut) => sum + cut.samples, 0)
}

/** "11 units of about 0.05 s (measured in 420 ms: 16 pieces of 1/1024 of the job took 1.8 ms each, 4 of 1/37 took 15 ms)". */
export function describeSizing(s: UnitSizing): string {
  const ms = (n: number) => (n >= 10 ? n.toFixed(0) : n.toPrecision(2))
  const cuts = s.cuts.map(
    (cut, i) =>
      `${cut.samples}${i === 0 ? ' pieces' : ''} of 1/${cut.pieces}${i === 0 ? ' of the job' : ''} ` +
      `took ${i === 0 && s.overBudget ? 'over ' : ''}${ms(cut.msPerPiece)} ms${i === 0 ? ' each' : ''}`
  )
  return `${s.units} units of about ${s.unitSeconds} s (measured in ${s.tookMs} ms: ${cuts.join(', ')})`
}
