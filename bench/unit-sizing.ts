/**
 * The unit-sizing figure: a primes job submitted with --unit-seconds on the bench's loopback
 * grid, and how long its units then took on the donor, against the time asked for.
 */
import type { Peer } from '../node/peer/peer.js'
import { samplesOf } from '../node/coordinator/unit-sizing.js'
import type { BenchGrid } from './grid.js'

/** About 2 s of sieving on one core of the reference machine: some 40 units of 50 ms. */
export const SIZING_UNIT_SECONDS = 0.05
const SIZING_PARAMS = { from: 2_000_000_000, to: 3_000_000_000 }

export interface SizingFigure {
  unitSeconds: number
  units: number
  /** Mean run time of the job's units on the donor, in ms: their CPU time, or wall time where the two agree. */
  meanUnitMs: number
  /** Pieces run to size the job, and the time that took (in the job's time too). */
  samples: number
  sizingMs: number
  /** What each unit costs whatever its size, as the sizing measured it. */
  fixedMs: number
  /** Submit to merged result. */
  jobMs: number
  count: number
}

export async function sizingFigure(grid: BenchGrid, donor: Peer): Promise<SizingFigure> {
  // The credit the coordinator grants holds the CPU time each unit's donor measured.
  const credit = () => grid.coordinator.parts.coordinator.credit.get(donor.key) ?? { cpuSeconds: 0, results: 0 }
  const before = credit()
  const { ms, view } = await grid.runJob({ task: 'primes', params: SIZING_PARAMS, unitSeconds: SIZING_UNIT_SECONDS, quorum: 1 })
  const after = credit()
  const sizing = view.sizing
  if (!sizing) throw new Error('a job submitted with unitSeconds came back without its sizing')
  return {
    unitSeconds: SIZING_UNIT_SECONDS,
    units: view.units,
    meanUnitMs: ((after.cpuSeconds - before.cpuSeconds) * 1000) / Math.max(1, after.results - before.results),
    samples: samplesOf(sizing),
    sizingMs: sizing.tookMs,
    fixedMs: sizing.fixedMs,
    jobMs: ms,
    count: (view.result as { count: number }).count
  }
}
