/**
 * What a Go program costs in the wasi shim: examples/wasi/go/wordfreq over a 3.5 MB stdin, built
 * for wasip1 and natively by the same Go, the shim's CPU time for the runs one after another
 * against the native build's (GOMAXPROCS=1: the shim runs goroutines on one thread), plus the
 * module's size and its first run (rewrite and compile). `npm run bench -- --only wasi-go`, or alone:
 *
 *   node dist/bench/wasi-go.js [--json]
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { pagesFor } from '../worker/sandbox/wasm-binary.js'
import { runWasi, type RunOutput } from '../worker/sandbox/wasi/run.js'
import type { RunConfig } from '../worker/sandbox/wasi/syscalls.js'
import { WORDFREQ_DIR, buildGoNative, buildGoWasi, findGo } from '../test/support/go-programs.js'

const RUNS = 8
const STDIN_BYTES = 3_500_000
const ARGS = ['-workers', '4', '-top', '10', '-stop', 'stop.txt', 'big']
const STOP = 'the0\nof1\n'

export interface WasiGoFigure {
  moduleBytes: number
  stdinBytes: number
  runs: number
  firstRunMs: number
  shimSerialMs: number
  nativeSerialMs: number
  nativeRatio: number
}

/** Deterministic text: words with a digit, so that there are a few hundred distinct ones. */
function text(bytes: number): string {
  const words = 'the of grid donor quorum unit peer wasm it was best times café naïve to be or not dog fox lazy über result agree'.split(
    ' '
  )
  let x = 1
  const next = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x
  }
  const lines: string[] = []
  let size = 0
  while (size < bytes) {
    const line = Array.from({ length: 3 + (next() % 12) }, () => words[next() % words.length] + (next() % 23)).join(' ')
    lines.push(line)
    size += Buffer.byteLength(line) + 1
  }
  return `${lines.join('\n')}\n`
}

const cpuMs = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since)
  return (d.user + d.system) / 1000
}

export function wasiGoFigure(): WasiGoFigure | { skipped: string } {
  const dir = mkdtempSync(join(tmpdir(), 'swarmgrid-bench-wasi-go-'))
  try {
    const go = findGo(dir)
    if (typeof go === 'string') return { skipped: go }
    const program = buildGoWasi(go, WORDFREQ_DIR, 'wordfreq')
    const native = buildGoNative(go, WORDFREQ_DIR, 'wordfreq')
    const stdin = text(STDIN_BYTES)
    const utf8 = new TextEncoder()
    const config = (): RunConfig => ({
      args: ['wordfreq', ...ARGS].map((a) => utf8.encode(a)),
      env: [],
      stdin: utf8.encode(stdin),
      files: [['stop.txt', utf8.encode(STOP)]],
      timeNs: 1_764_000_000_000_000_000n,
      seed: new Uint8Array(32),
      caps: { stdoutBytes: 4 << 20, stderrBytes: 1 << 20, outBytes: 8 << 20, outEntries: 1000 }
    })
    const pages = pagesFor(256)
    let since = process.cpuUsage()
    const first: RunOutput = runWasi(program, config(), pages)
    const firstRunMs = cpuMs(since)
    since = process.cpuUsage()
    for (let i = 0; i < RUNS; i++) runWasi(program, config(), pages)
    const shimSerialMs = cpuMs(since)

    const work = join(dir, 'native')
    mkdirSync(join(work, 'out'), { recursive: true })
    writeFileSync(join(work, 'stop.txt'), STOP)
    writeFileSync(join(work, 'stdin.txt'), stdin)
    const check = spawnSync(native, ARGS, { cwd: work, input: stdin, env: { GOMAXPROCS: '1' } })
    if (Buffer.compare(check.stdout, Buffer.from(first.stdout)) !== 0)
      throw new Error(
        `the shim printed ${Buffer.from(first.stdout).toString().slice(0, 200)}, native ${check.stdout.toString().slice(0, 200)}`
      )
    // bash's `times` counts the CPU of the runs' processes, as the shim's side counts this one's.
    const script = `for i in $(seq ${RUNS}); do "$0" ${ARGS.join(' ')} <stdin.txt >/dev/null; done; times`
    const out = spawnSync('bash', ['-c', script, native], { cwd: work, encoding: 'utf8', env: { PATH: process.env.PATH, GOMAXPROCS: '1' } })
    const seconds = (out.stdout.trim().split('\n').pop() ?? '').split(/\s+/).map((t) => {
      const m = /^(\d+)m([\d.]+)s$/.exec(t)
      return m ? Number(m[1]) * 60 + Number(m[2]) : Number.NaN
    })
    const nativeSerialMs = (seconds[0] + seconds[1]) * 1000
    if (!Number.isFinite(nativeSerialMs)) throw new Error(`bash times printed ${out.stdout} ${out.stderr}`)
    return {
      moduleBytes: program.byteLength,
      stdinBytes: Buffer.byteLength(stdin),
      runs: RUNS,
      firstRunMs,
      shimSerialMs,
      nativeSerialMs,
      nativeRatio: shimSerialMs / nativeSerialMs
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figure = wasiGoFigure()
  if (process.argv.includes('--json')) console.log(JSON.stringify(figure))
  else if ('skipped' in figure) console.log(`wasi-go: skipped, ${figure.skipped}`)
  else {
    const f = figure
    console.log(
      `wasi-go: wordfreq.wasm ${(f.moduleBytes / 1e6).toFixed(1)} MB, ${f.runs} runs over ${(f.stdinBytes / 1e6).toFixed(1)} MB of stdin: ` +
        `shim ${(f.shimSerialMs / f.runs).toFixed(0)} ms CPU a run, native ${(f.nativeSerialMs / f.runs).toFixed(0)} ms ` +
        `(${f.nativeRatio.toFixed(2)}x); the first run, with the rewrite and compile, ${f.firstRunMs.toFixed(0)} ms`
    )
  }
}
