/**
 * The wasi figure: a CPU-bound WASI program (bench/wasi/nbody.c, built by clang) run as a
 * grid job, against the same module run by the same shim in plain Piscina threads, and the
 * shim's time against the native build's (cc -O2) for the same runs, one after another.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import wasi, { type WasiUnit } from '../tasks/wasi.js'
import { asRunSees } from '../tasks/values.js'
import { buildNative, buildWasi, clangMissing } from '../test/support/wasi-programs.js'
import { piscinaBatch } from './baseline.js'
import type { BenchGrid } from './grid.js'

const SOURCE = fileURLToPath(new URL('../../bench/wasi/nbody.c', import.meta.url))
const RUNS = 120
/** nbody steps per run: ~35 ms each on a current core; 120 runs, so the last batches are a small part of the job. */
const STEPS = 400_000
const ROUNDS = 3

export interface WasiFigure {
  runs: number
  steps: number
  gridMs: number
  piscinaMs: number
  ratio: number
  /** CPU ms of the runs one after another: the shim in this process, the native build as processes. */
  shimSerialMs: number
  nativeSerialMs: number
  nativeRatio: number
  rounds: { grid: number[]; piscina: number[] }
  /**
   * CPU time of this whole process (every thread: the coordinator, the donor and its unit threads
   * on the grid side) for the best round of each: unlike wall time, others' load on a shared
   * machine barely moves it.
   */
  cpu: { gridMs: number; piscinaMs: number; ratio: number }
}

const cpuMs = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since)
  return (d.user + d.system) / 1000
}

export async function wasiFigure(grid: BenchGrid, threads: number, say: (text: string) => void): Promise<WasiFigure | { skipped: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'swarmgrid-bench-wasi-'))
  try {
    const missing = clangMissing(dir)
    if (missing) return { skipped: missing }
    const program = buildWasi(SOURCE, dir, 'nbody')
    const native = buildNative(SOURCE, dir, 'nbody')
    const runs = Array.from({ length: RUNS }, (_, i) => ({ args: [String(STEPS + i)] }))
    const params = { program: { base64: Buffer.from(program).toString('base64') }, runs }
    const inputs = [...wasi.split(params, RUNS, { id: 'bench', createdAt: 0 })].map((u) => asRunSees<WasiUnit>(u))
    const expected = Buffer.from(spawnSync(native, runs[0].args).stdout).toString()

    // Warm the donor's threads as piscinaBatch warms its own: each has compiled the module once.
    await grid.runJob({ task: 'wasi', params: { ...params, runs: runs.slice(0, threads * 2) }, quorum: 1 })
    const gridMs: number[] = []
    const piscinaMs: number[] = []
    const gridCpu: number[] = []
    const piscinaCpu: number[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      say(`wasi: round ${round} of ${ROUNDS}, ${RUNS} nbody runs on the grid, then on plain Piscina with the same shim`)
      let since = process.cpuUsage()
      const run = await grid.runJob({ task: 'wasi', params, quorum: 1 })
      gridCpu.push(cpuMs(since))
      const first = (run.view.result as { runs: Array<{ stdout: Uint8Array }> }).runs[0]
      if (Buffer.from(first.stdout).toString() !== expected)
        throw new Error(`the grid's nbody printed ${Buffer.from(first.stdout)}, native ${expected}`)
      gridMs.push(run.ms)
      since = process.cpuUsage()
      piscinaMs.push(await piscinaBatch(threads, inputs, 'runWasiUnit'))
      piscinaCpu.push(cpuMs(since))
    }

    say(`wasi: the same ${RUNS} runs one after another, in the shim here and as native processes`)
    const ctx = { unitIndex: 0, progress() {} }
    wasi.run(inputs[0], ctx) // compiled and warm, as the pool's threads were
    // CPU time, not wall time: the machine may be shared, and the native side also pays for its process starts.
    const before = process.cpuUsage()
    for (const input of inputs) wasi.run(input, ctx)
    const used = process.cpuUsage(before)
    const shimSerialMs = (used.user + used.system) / 1000
    const nativeSerialMs = nativeCpuMs(
      native,
      runs.map((r) => r.args[0])
    )
    const [bestGrid, bestPiscina] = [Math.min(...gridMs), Math.min(...piscinaMs)]
    return {
      runs: RUNS,
      steps: STEPS,
      gridMs: bestGrid,
      piscinaMs: bestPiscina,
      ratio: bestGrid / bestPiscina,
      shimSerialMs,
      nativeSerialMs,
      nativeRatio: shimSerialMs / nativeSerialMs,
      rounds: { grid: gridMs, piscina: piscinaMs },
      cpu: { gridMs: Math.min(...gridCpu), piscinaMs: Math.min(...piscinaCpu), ratio: Math.min(...gridCpu) / Math.min(...piscinaCpu) }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The CPU time (user + system, ms) the native build's runs take, as bash's `times` counts its children. */
function nativeCpuMs(exe: string, args: string[]): number {
  const script = `for a in ${args.join(' ')}; do "$0" "$a" >/dev/null; done; times`
  const out = spawnSync('bash', ['-c', script, exe], { encoding: 'utf8' }).stdout.trim().split('\n')
  const seconds = (out[out.length - 1] ?? '').split(/\s+/).map((t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t)
    return m ? Number(m[1]) * 60 + Number(m[2]) : NaN
  })
  const ms = (seconds[0] + seconds[1]) * 1000
  if (!Number.isFinite(ms)) throw new Error(`bash times printed ${out.join(' / ')}`)
  return ms
}
