/**
 * `npm run bench`: swarmgrid's figures, each beside a baseline measured in this same run, and
 * their ratio. Ratios are printed, never asserted: a loaded machine slows the baseline too.
 *
 *   node dist/bench/run.js [--json] [--only cpu,dispatch,sizing,join,scale,wire,js,wasi,cli-join,cli-cpu,cli-cpu-split,program-wire,wasi-go] [--profile DIR]
 *
 * Runs in about two minutes on a 2-core machine: the loopback grid figures first, then the
 * coordinator scale figure in a child process (with --expose-gc, for honest heap numbers). Then
 * the same join and CPU-bound figures on the path users take, separate CLI processes
 * (bench/cli-path.ts): about a minute more.
 */
import { execFile } from 'node:child_process'
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import primes, { type PrimesInput, type PrimesOutput } from '../tasks/primes.js'
import { BenchGrid, joinOnce, trafficDelta, type Traffic } from './grid.js'
import { piscinaBatch, piscinaFirstTask } from './baseline.js'
import { wireFigure } from './wire-bytes.js'
import { sizingFigure, SIZING_UNIT_SECONDS } from './unit-sizing.js'
import type { JobSpec } from '../node/coordinator/job-spec.js'
import { printReport } from './report.js'
import type { Machine, Results } from './results.js'
import { profiled } from './profile.js'
import { jsFigure } from './js-sandbox.js'
import { wasiFigure } from './wasi.js'
import { cliCpuFigure, cliJoinFigure } from './cli-path.js'
import { programWireFigure } from './program-wire.js'
import { wasiGoFigure } from './wasi-go.js'

const FIGURES = [
  'cpu',
  'dispatch',
  'sizing',
  'join',
  'scale',
  'wire',
  'js',
  'wasi',
  'cli-join',
  'cli-cpu',
  'cli-cpu-split',
  'program-wire',
  'wasi-go'
] as const
type Figure = (typeof FIGURES)[number]

/** 9 million numbers per unit from 10^9 up: 20-40 ms of sieving each on a current core. */
const CPU_UNITS = 300
const CPU_PARAMS = { from: 1_000_000_000, to: 1_000_000_000 + CPU_UNITS * 9_000_000 }
/** Seconds the grid's dispatch run should take at the rate a short probe measured. */
const DISPATCH_SECONDS = 4
const PISCINA_TRIVIAL_TASKS = 20_000
/**
 * Rounds of figures 1 and 2, grid and baseline interleaved, best of each kept: a burst of
 * load from elsewhere on the machine then spoils one run of either side, not the ratio.
 */
const ROUNDS = 3
const JOIN_RUNS = 7
/** Donor processes timed from spawn to the coordinator's first result from them. */
const CLI_JOIN_RUNS = 10
/**
 * A CPU-bound job of about 7 s on two plain threads (as in issue 11), and its rounds. Five, not
 * three: on a shared 2-core host the same Piscina batch took from 7.7 to 10.1 s in one minute,
 * and a best of three often found the fast phase for one side only.
 */
const CLI_CPU_UNITS = 600
const CLI_CPU_PARAMS = { from: 1_000_000_000, to: 1_000_000_000 + CLI_CPU_UNITS * 9_000_000 }
const CLI_CPU_ROUNDS = 5
/** Time each coordinator-scale job may run before it is cut short. */
const SCALE_BUDGET_MS = 4000
/** Past this the run is stuck, not slow: say so and leave rather than hang a CI job. */
const WATCHDOG_MS = 480_000

function machine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`
  }
}

/** Machine-wide busy and total CPU time (ms) next to this process's own, to tell others' load apart. */
function cpuClock(): { busy: number; total: number; mine: number } {
  let busy = 0
  let total = 0
  for (const { times } of cpus()) {
    busy += times.user + times.nice + times.sys + times.irq
    total += times.user + times.nice + times.sys + times.irq + times.idle
  }
  const own = process.cpuUsage()
  return { busy, total, mine: (own.user + own.system) / 1000 }
}

/** Share of the machine's CPU that other processes took between two readings. */
function othersShare(before: ReturnType<typeof cpuClock>, after: ReturnType<typeof cpuClock>): number {
  const total = after.total - before.total
  return total > 0 ? Math.max(0, (after.busy - before.busy - (after.mine - before.mine)) / total) : 0
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function progress(text: string, json: boolean): void {
  // Progress goes to stderr so that stdout holds only the table or the JSON.
  if (!json || process.stderr.isTTY) process.stderr.write(`bench: ${text}\n`)
}

interface Options {
  only: Set<Figure>
  json: boolean
  profileDir: string | null
}

async function gridFigures({ only, json, profileDir }: Options, results: Results): Promise<void> {
  const threads = results.threads
  progress('starting a loopback grid (testnet DHT, coordinator, donor)', json)
  const grid = await BenchGrid.start()
  /** A grid job, under the main thread's profiler when --profile asks for it. */
  const timedJob = async (name: string, spec: JobSpec) => {
    if (!profileDir) return grid.runJob(spec)
    const { value, summary } = await profiled(profileDir, name, () => grid.runJob(spec))
    progress(`profile of the ${name} grid job (main thread):\n${summary}`, false)
    return value
  }
  try {
    const donor = await grid.addPeer({ threads })
    // Warm both ends: the donor's threads load the task code and the JIT sees the hot paths.
    await grid.runJob({ task: 'primes', params: { from: 1e9, to: 1e9 + 8 * 4e6 }, units: 8, quorum: 1 })
    const probe = await grid.runJob({ task: 'noop', units: 300, quorum: 1 })

    if (only.has('cpu') || only.has('wire')) {
      const inputs = [...primes.split(CPU_PARAMS, CPU_UNITS)] as PrimesInput[]
      const gridMs: number[] = []
      const piscinaMs: number[] = []
      let count = 0
      let traffic: Traffic | null = null
      for (let round = 1; round <= ROUNDS; round++) {
        progress(`cpu: round ${round} of ${ROUNDS}, ${inputs.length} primes units on the grid, then on plain Piscina`, json)
        const before = grid.traffic()
        const run = await timedJob(`cpu-${round}`, { task: 'primes', params: CPU_PARAMS, units: CPU_UNITS, quorum: 1 })
        traffic ??= trafficDelta(grid.traffic(), before, inputs.length)
        gridMs.push(run.ms)
        count = (run.view.result as PrimesOutput).count
        piscinaMs.push(await piscinaBatch(threads, inputs))
      }
      const [bestGrid, bestPiscina] = [Math.min(...gridMs), Math.min(...piscinaMs)]
      results.cpu = {
        units: inputs.length,
        unitMs: (bestPiscina * threads) / inputs.length,
        gridMs: bestGrid,
        piscinaMs: bestPiscina,
        ratio: bestGrid / bestPiscina,
        count,
        traffic: traffic!,
        rounds: { grid: gridMs, piscina: piscinaMs }
      }
    }

    if (only.has('wasi')) results.wasi = await wasiFigure(grid, threads, (text) => progress(text, json))

    if (only.has('dispatch') || only.has('wire')) {
      const probeRate = probe.view.units / (probe.ms / 1000)
      const units = Math.max(500, Math.min(50_000, Math.round((probeRate * DISPATCH_SECONDS) / 100) * 100))
      const trivial = Array.from({ length: PISCINA_TRIVIAL_TASKS }, (_, i) => i)
      const gridPerSec: number[] = []
      const piscinaPerSec: number[] = []
      let traffic: Traffic | null = null
      for (let round = 1; round <= ROUNDS; round++) {
        progress(
          `dispatch: round ${round} of ${ROUNDS}, ${units} noop units on the grid (probe: ${probeRate.toFixed(0)} units/s), ` +
            `then ${PISCINA_TRIVIAL_TASKS} on plain Piscina`,
          json
        )
        const before = grid.traffic()
        const run = await timedJob(`dispatch-${round}`, { task: 'noop', units, quorum: 1 })
        traffic ??= trafficDelta(grid.traffic(), before, units)
        gridPerSec.push(units / (run.ms / 1000))
        piscinaPerSec.push(PISCINA_TRIVIAL_TASKS / ((await piscinaBatch(threads, trivial, 'noop')) / 1000))
      }
      const [bestGrid, bestPiscina] = [Math.max(...gridPerSec), Math.max(...piscinaPerSec)]
      results.dispatch = {
        units,
        gridPerSec: bestGrid,
        piscinaTasks: PISCINA_TRIVIAL_TASKS,
        piscinaPerSec: bestPiscina,
        ratio: bestGrid / bestPiscina,
        traffic: traffic!,
        rounds: { grid: gridPerSec, piscina: piscinaPerSec }
      }
    }

    if (only.has('sizing')) {
      progress(`sizing: a primes job with --unit-seconds ${SIZING_UNIT_SECONDS}`, json)
      results.sizing = await sizingFigure(grid, donor)
    }

    if (only.has('join')) {
      await grid.stopPeer(donor)
      // A job long enough that it is still waiting for donors after every join below.
      const waiting = await grid.coordinator.submit({ task: 'primes', params: { from: 1e9, to: 1e9 + 2000 * 4e6 }, units: 2000, quorum: 1 })
      const runs: number[] = []
      const startResolved: number[] = []
      const connected: number[] = []
      for (let i = 0; i < JOIN_RUNS; i++) {
        progress(`join: donor ${i + 1} of ${JOIN_RUNS}`, json)
        const sample = await joinOnce(grid)
        runs.push(sample.firstUnitMs)
        startResolved.push(sample.startResolvedMs)
        connected.push(sample.connectedMs)
      }
      await grid.coordinator.cancel(waiting.id)
      const piscinaRuns: number[] = []
      for (let i = 0; i < JOIN_RUNS; i++) piscinaRuns.push(await piscinaFirstTask(threads))
      results.join = {
        runs,
        startResolved,
        connected,
        medianMs: median(runs),
        piscinaRuns,
        piscinaMedianMs: median(piscinaRuns),
        ratio: median(runs) / median(piscinaRuns)
      }
    }
  } finally {
    progress('tearing the grid down', json)
    await grid.destroy()
  }
}

async function scaleFigure(): Promise<NonNullable<Results['scale']>> {
  const child = fileURLToPath(new URL('./machine-scale.js', import.meta.url))
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--max-old-space-size=4096', child, '10000,100000,1000000', '1,2', String(SCALE_BUDGET_MS)],
    { maxBuffer: 1 << 20, timeout: 120_000 }
  )
  return JSON.parse(stdout.trim().split('\n').pop()!)
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const json = args.includes('--json')
  const valueOf = (flag: string) => {
    const at = args.indexOf(flag)
    return at >= 0 ? (args[at + 1] ?? '') : null
  }
  const onlyArg = valueOf('--only')
  const only = new Set<Figure>(onlyArg !== null ? (onlyArg.split(',') as Figure[]) : FIGURES)
  const profileDir = valueOf('--profile')
  const known = new Set(['--json', '--only', '--profile', onlyArg, profileDir])
  if ([...only].some((f) => !FIGURES.includes(f)) || profileDir === '' || args.some((a) => !known.has(a))) {
    console.error(`usage: node dist/bench/run.js [--json] [--only ${FIGURES.join(',')}] [--profile DIR]`)
    process.exitCode = 2
    return
  }
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${WATCHDOG_MS / 1000} s; something is stuck, giving up`)
    process.exit(1)
  }, WATCHDOG_MS)
  watchdog.unref()

  const results: Results = { machine: machine(), threads: availableParallelism() }
  const started = Date.now()
  if (only.has('cpu') || only.has('dispatch') || only.has('sizing') || only.has('join') || only.has('wire') || only.has('wasi')) {
    const [before, loadAverageBefore] = [cpuClock(), loadavg()[0]]
    await gridFigures({ only, json, profileDir }, results)
    results.contention = { othersShare: othersShare(before, cpuClock()), loadAverageBefore }
  }
  if (only.has('scale')) {
    progress(`scale: JobMachine with 10,000 simulated donors (child process, ${SCALE_BUDGET_MS / 1000} s per job at most)`, json)
    results.scale = await scaleFigure()
  }
  if (only.has('cli-join')) results.cliJoin = await cliJoinFigure(CLI_JOIN_RUNS, results.threads, (text) => progress(text, json))
  if (only.has('cli-cpu')) {
    results.cliCpu = await cliCpuFigure(CLI_CPU_PARAMS, CLI_CPU_UNITS, results.threads, CLI_CPU_ROUNDS, (text) => progress(text, json))
  }
  if (only.has('cli-cpu-split') && results.threads % 2 === 0) {
    const say = (text: string) => progress(text, json)
    results.cliCpuSplit = await cliCpuFigure(CLI_CPU_PARAMS, CLI_CPU_UNITS, results.threads, ROUNDS, say, 2)
  }
  if (only.has('wire')) {
    const unit = [...primes.split(CPU_PARAMS, CPU_UNITS)][0] as PrimesInput
    const output = primes.run(unit, { unitIndex: 0, progress() {} })
    results.wire = { ...wireFigure(unit, output), measured: { cpu: results.cpu?.traffic, dispatch: results.dispatch?.traffic } }
  }
  if (only.has('js')) {
    progress("js: the same functions in QuickJS (the js task's sandbox) and in V8, in this thread", json)
    results.js = await jsFigure()
  }
  if (only.has('wasi-go')) {
    progress('wasi go: examples/wasi/go in the shim and as a native build, one run after another', json)
    results.wasiGo = wasiGoFigure()
  }
  // Its own grid, apart from the others: bytes per donor of one job, not a timing.
  if (only.has('program-wire')) results.programWire = await programWireFigure((text) => progress(text, json))
  progress(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`, json)
  printReport(results, only, json)
}

await main()
