/**
 * Figures on the path users take: separate `swarmgrid bootstrap`, `start` and `submit`
 * processes from the CLI (test/cli-path.ts), beside the in-process testnet grid's figures.
 *
 * cli-join: a coordinator (`start --no-donate`) has a job waiting; a fresh donor process
 *   (`start --threads 1`, new data dir, new key) is spawned, timed until the coordinator
 *   has its first result. Set against a new Piscina pool's first task.
 * cli-cpu: a donor process spawned, `submit` run as soon as it is ready, until submit exits
 *   with the job done; set against the same units on a plain Piscina pool created inside the
 *   timing. Both spans are given: from the donor's spawn, and from the submit's spawn.
 *   With several donors, the same threads split between as many processes: what a job pays
 *   for sharing its units out, and for a donor's batches that others wait on at its end.
 */
import { performance } from 'node:perf_hooks'
import primes, { type PrimesInput } from '../tasks/primes.js'
import type { JobView } from '../node/coordinator/job-view.js'
import { CliGrid } from '../test/support/cli-path.js'
import { piscinaColdBatch, piscinaFirstTask } from './baseline.js'

export interface CliJoinFigure {
  runs: number[]
  ready: number[]
  medianMs: number
  worstMs: number
  piscinaRuns: number[]
  piscinaMedianMs: number
}
export interface CliCpuFigure {
  units: number
  threads: number
  /** Donor processes, the threads split evenly between them. */
  donors: number
  /** Best of the rounds: donor spawned to submit exited; submit spawned to submit exited; plain Piscina with its start. */
  fromDonorMs: number
  fromSubmitMs: number
  piscinaMs: number
  ratioFromDonor: number
  ratioFromSubmit: number
  /**
   * The median of each round's submit-to-done over the Piscina run right after it: the host's
   * slow and fast phases last tens of seconds, and a round's two runs mostly share one.
   */
  pairedRatioFromSubmit: number
  rounds: { fromDonor: number[]; fromSubmit: number[]; piscina: number[]; phases: CliCpuPhases[] }
}
/**
 * Where a round's submit-to-done time went, by the submitting peer's own clock (the job's
 * createdAt and finishedAt) against the spawn and exit seen here: the process's start up to the
 * job stored, the job's run, and the result's write, the peer's stop and the exit.
 */
export interface CliCpuPhases {
  startMs: number
  jobMs: number
  endMs: number
}

const POLL_MS = 5

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export async function cliJoinFigure(runs: number, threads: number, say: (text: string) => void): Promise<CliJoinFigure> {
  const grid = await CliGrid.start()
  try {
    const coordinator = grid.start('coordinator', ['--no-donate'])
    await grid.ready(coordinator)
    const client = await grid.client('coordinator')
    // Long enough to be still waiting for donors after every join below.
    const job = await client.post<JobView>('/api/jobs', {
      task: 'primes',
      params: { from: 1e9, to: 1e9 + 2000 * 4e6 },
      units: 2000,
      quorum: 1
    })
    const times: number[] = []
    const ready: number[] = []
    for (let i = 0; i < runs; i++) {
      say(`cli-join: donor process ${i + 1} of ${runs}`)
      const before = (await client.get<JobView>(`/api/jobs/${job.id}`)).results
      const started = performance.now()
      const donor = grid.start(`donor-${i}`, ['--threads', '1'])
      const readyAt = donor.line('ready').then(() => performance.now() - started)
      const deadline = started + 30_000
      while ((await client.get<JobView>(`/api/jobs/${job.id}`)).results <= before) {
        if (performance.now() > deadline)
          throw new Error(`cli-join: no result from donor ${i + 1} within 30 s: ${donor.logs.slice(-5).join(' / ')}`)
        await new Promise((resolve) => setTimeout(resolve, POLL_MS))
      }
      times.push(performance.now() - started)
      ready.push(await readyAt)
      await donor.stop('SIGTERM')
    }
    await client.post(`/api/jobs/${job.id}/cancel`, {})
    const piscinaRuns: number[] = []
    for (let i = 0; i < runs; i++) piscinaRuns.push(await piscinaFirstTask(threads))
    return { runs: times, ready, medianMs: median(times), worstMs: Math.max(...times), piscinaRuns, piscinaMedianMs: median(piscinaRuns) }
  } finally {
    await grid.destroy()
  }
}

export async function cliCpuFigure(
  params: { from: number; to: number },
  units: number,
  threads: number,
  rounds: number,
  say: (text: string) => void,
  donors = 1
): Promise<CliCpuFigure> {
  if (threads % donors !== 0) throw new Error(`cli-cpu: ${threads} threads do not split evenly between ${donors} donors`)
  const inputs = [...primes.split(params, units)] as PrimesInput[]
  const expected = inputs.reduce((sum, input) => sum + (primes.run(input, { unitIndex: 0, progress() {} }) as { count: number }).count, 0)
  const fromDonor: number[] = []
  const fromSubmit: number[] = []
  const piscina: number[] = []
  const phases: CliCpuPhases[] = []
  const grid = await CliGrid.start()
  try {
    for (let round = 1; round <= rounds; round++) {
      say(
        `cli-cpu: round ${round} of ${rounds}, ${units} primes units: ${donors} donor process${donors > 1 ? 'es' : ''} and a submit process, then plain Piscina`
      )
      const started = performance.now()
      const spawned = Array.from({ length: donors }, (_, i) => grid.start(`donor-${round}-${i}`, ['--threads', String(threads / donors)]))
      await Promise.all(spawned.map((donor) => grid.ready(donor)))
      const spawnedAt = Date.now()
      const run = await grid.submit(
        `submitter-${round}`,
        [
          'primes',
          '--param',
          `from=${params.from}`,
          '--param',
          `to=${params.to}`,
          '--units',
          String(units),
          '--quorum',
          '1',
          '--no-donate'
        ],
        300_000
      )
      const total = performance.now() - started
      await Promise.all(spawned.map((donor) => donor.stop('SIGTERM')))
      if (run.code !== 0 || (run.view?.result as { count?: number } | null)?.count !== expected) {
        throw new Error(`cli-cpu: submit exited ${run.code} with ${run.stdout.slice(0, 300)} ${run.stderr.slice(-300)}`)
      }
      fromDonor.push(total)
      fromSubmit.push(run.ms)
      const { createdAt, finishedAt } = run.view!
      if (finishedAt !== null) {
        phases.push({ startMs: createdAt - spawnedAt, jobMs: finishedAt - createdAt, endMs: spawnedAt + run.ms - finishedAt })
      }
      piscina.push(await piscinaColdBatch(threads, inputs))
    }
  } finally {
    await grid.destroy()
  }
  const best = { fromDonor: Math.min(...fromDonor), fromSubmit: Math.min(...fromSubmit), piscina: Math.min(...piscina) }
  return {
    units,
    threads,
    donors,
    fromDonorMs: best.fromDonor,
    fromSubmitMs: best.fromSubmit,
    piscinaMs: best.piscina,
    ratioFromDonor: best.fromDonor / best.piscina,
    ratioFromSubmit: best.fromSubmit / best.piscina,
    pairedRatioFromSubmit: median(fromSubmit.map((ms, i) => ms / piscina[i])),
    rounds: { fromDonor, fromSubmit, piscina, phases }
  }
}
