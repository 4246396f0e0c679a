/**
 * wasi: the submitter's own command-line program, compiled to a WASI preview-1 command module,
 * run once per entry of `runs` (one unit each) with that run's args, stdin, env and input
 * files. Donors run it in worker/sandbox/wasi/, an in-memory, deterministic system interface, under
 * their --wasm-memory and --wasm-time caps. A run's output is its exit status, stdout, stderr
 * and the files it wrote under /out; the result lists the runs in order.
 */
import { createHash } from 'node:crypto'
import { ParamError, type JobContext, type Params, type RunContext, type TaskModule } from './contract.js'
import { checkInput, rejectUnknown } from './params.js'
import { MEMORY_PARAM, jobMemoryMb, unitMemoryMb } from './sandboxed.js'
import { WasmRejectedError, pagesFor } from '../worker/sandbox/wasm-binary.js'
import { checkWasiModule, runWasi, type RunOutput } from '../worker/sandbox/wasi/run.js'
import { withoutDebugInfo } from '../worker/sandbox/wasi/code-transform.js'
import type { OutputCaps } from '../worker/sandbox/wasi/memfs.js'
import { MAX_SHARED_BYTES, plainBytes, sharedBytes, type SharedBytes } from './shared-bytes.js'

/** Programs travel by hash, once per donor (tasks/shared-bytes.ts), so a real program's size is fine. */
export const MAX_PROGRAM_BYTES = MAX_SHARED_BYTES
/** Args, env, stdin and files of one run together. */
export const MAX_RUN_INPUT_BYTES = 4 * 1024 * 1024
export const MAX_RUNS = 100_000
/** The clock in nanoseconds must fit WASI's u64: about the year 2500. */
const MAX_TIME_MS = 16_000_000_000_000
const MAX_LIST = 4096
/** The same on every donor, or donors would disagree on which runs fit. */
export const WASI_CAPS: OutputCaps = { stdoutBytes: 4 * 1024 * 1024, stderrBytes: 1024 * 1024, outBytes: 8 * 1024 * 1024, outEntries: 1000 }

export const params = {
  program: 'the WASI command module: {"file": "prog.wasm"} in a job file ({"base64": …} through the API)',
  runs:
    '[{"args": [...], "stdin": …, "env": {"K": "V"}, "files": {"name": …}}, …]: one unit per run; ' +
    'stdin and files are strings (UTF-8) or {"file": P}',
  memory: MEMORY_PARAM
}

export interface WasiUnit {
  /** Shared bytes as split gives it: units carry its hash, and run sees the bytes again. */
  program: Uint8Array | SharedBytes
  args: Uint8Array[]
  env: Uint8Array[]
  stdin: Uint8Array
  files: Array<[string, Uint8Array]>
  /** The job's creation time, ms since 1970: the run's clock, which never moves. */
  time: number
  /** Seeds random_get: from the job id and the run's index. */
  seed: Uint8Array
  /** The memory the job gives each run, in MiB (sandboxed.ts). */
  memoryMb?: number
}

export interface WasiResult {
  runs: RunOutput[]
}

const utf8 = new TextEncoder()

/** A string as its UTF-8 bytes, bytes as they are, {"base64": …} decoded. */
export function byteValue(what: string, raw: unknown): Uint8Array {
  if (typeof raw === 'string') return utf8.encode(raw)
  if (raw instanceof Uint8Array) return raw
  const obj = raw as { base64?: unknown; file?: unknown } | null
  if (obj && typeof obj === 'object' && typeof obj.base64 === 'string' && /^[A-Za-z0-9+/=\s]*$/.test(obj.base64)) {
    return new Uint8Array(Buffer.from(obj.base64, 'base64'))
  }
  if (obj && typeof obj === 'object' && typeof obj.file === 'string') {
    throw new ParamError(
      `wasi: ${what} is {"file": ${JSON.stringify(obj.file)}}, which only the CLI reads (swarmgrid submit --job); send {"base64": …} instead`
    )
  }
  throw new ParamError(
    `wasi: ${what} must be a string, {"file": P} in a job file, or {"base64": …}; got ${JSON.stringify(raw)?.slice(0, 80)}`
  )
}

function programBytes(raw: unknown): Uint8Array {
  if (raw === undefined)
    throw new ParamError('wasi needs a program: --program prog.wasm, or "program": {"file": "prog.wasm"} in a job file')
  // A bare string is a module in base64, as the wasm task takes it; a program is never text.
  const bytes = typeof raw === 'string' ? new Uint8Array(Buffer.from(raw, 'base64')) : byteValue('program', raw)
  if (bytes.byteLength === 0) throw new ParamError('wasi: the program is empty')
  if (bytes.byteLength > MAX_PROGRAM_BYTES)
    throw new ParamError(`wasi: the program is ${bytes.byteLength} bytes, at most ${MAX_PROGRAM_BYTES}`)
  return bytes
}

function noNul(what: string, bytes: Uint8Array): Uint8Array {
  if (bytes.includes(0)) throw new ParamError(`wasi: ${what} holds a NUL byte, which a C string cannot`)
  return bytes
}

/** An input file's name: relative, no "..", not under out/ (the program's own directory). */
function fileName(run: number, name: string): string {
  const parts = name.split('/')
  if (name === '' || name.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..') || name.includes('\0')) {
    throw new ParamError(
      `wasi: run ${run}: file name ${JSON.stringify(name)} must be a relative path without "." or ".." (it is placed under /)`
    )
  }
  if (parts[0] === 'out')
    throw new ParamError(`wasi: run ${run}: file ${JSON.stringify(name)} is under out/, where the program writes its own files`)
  return name
}

function listOf(what: string, raw: unknown): unknown[] {
  if (raw === undefined) return []
  if (!Array.isArray(raw) || raw.length > MAX_LIST) throw new ParamError(`wasi: ${what} must be a list of at most ${MAX_LIST}`)
  return raw
}

function recordOf(what: string, raw: unknown): Array<[string, unknown]> {
  if (raw === undefined) return []
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ParamError(`wasi: ${what} must be an object`)
  const entries = Object.entries(raw)
  if (entries.length > MAX_LIST) throw new ParamError(`wasi: ${what} has more than ${MAX_LIST} entries`)
  return entries
}

const RUN_KEYS = ['args', 'stdin', 'env', 'files']

function runInput(run: unknown, i: number): Omit<WasiUnit, 'program' | 'time' | 'seed'> {
  if (run === null || typeof run !== 'object' || Array.isArray(run))
    throw new ParamError(`wasi: run ${i} must be an object of args, stdin, env, files`)
  const r = run as Record<string, unknown>
  for (const key of Object.keys(r))
    if (!RUN_KEYS.includes(key)) throw new ParamError(`wasi: run ${i} has "${key}"; a run takes ${RUN_KEYS.join(', ')}`)
  const args = listOf(`run ${i}: args`, r.args).map((a, j) =>
    noNul(`run ${i}: arg ${j}`, byteValue(`run ${i}: arg ${j}`, typeof a === 'number' ? String(a) : a))
  )
  const env = recordOf(`run ${i}: env`, r.env).map(([k, v]) => {
    if (k === '' || k.includes('=')) throw new ParamError(`wasi: run ${i}: env name ${JSON.stringify(k)} must be non-empty without "="`)
    return noNul(
      `run ${i}: env ${k}`,
      utf8.encode(`${k}=${typeof v === 'number' ? String(v) : new TextDecoder().decode(byteValue(`run ${i}: env ${k}`, v))}`)
    )
  })
  const stdin = r.stdin === undefined ? new Uint8Array(0) : byteValue(`run ${i}: stdin`, r.stdin)
  const files = recordOf(`run ${i}: files`, r.files).map(([name, v]): [string, Uint8Array] => [
    fileName(i, name),
    byteValue(`run ${i}: file ${name}`, v)
  ])
  const names = files.map(([n]) => n)
  for (const name of names) {
    if (names.some((other) => other.startsWith(`${name}/`))) throw new ParamError(`wasi: run ${i}: ${name} is both a file and a directory`)
  }
  const size = [...args, ...env, stdin, ...files.map(([, b]) => b)].reduce((n, b) => n + b.byteLength, 0)
  if (size > MAX_RUN_INPUT_BYTES) throw new ParamError(`wasi: run ${i} carries ${size} bytes of input, at most ${MAX_RUN_INPUT_BYTES}`)
  return { args, env, stdin, files }
}

export function runSeed(jobId: string, run: number): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`swarmgrid wasi\0${jobId}\0${run}`).digest())
}

const isBytes = (v: unknown) => v instanceof Uint8Array

const wasi: TaskModule<WasiUnit, RunOutput, WasiResult> & { params: typeof params } = {
  name: 'wasi',
  version: 1,
  params,

  split(p: Params, _units: number, job?: JobContext): Iterable<WasiUnit> {
    rejectUnknown('wasi', p, params)
    const bytes = programBytes(p.program)
    try {
      checkWasiModule(bytes)
    } catch (err) {
      if (err instanceof WasmRejectedError) throw new ParamError(`wasi: ${err.message}`)
      throw err
    }
    const sent = withoutDebugInfo(bytes)
    const runs = p.runs === undefined ? [{}] : p.runs
    if (!Array.isArray(runs) || runs.length === 0 || runs.length > MAX_RUNS) {
      throw new ParamError(`wasi: runs must be a list of 1 to ${MAX_RUNS} runs ({"args", "stdin", "env", "files"})`)
    }
    const time = Math.floor(job?.createdAt ?? 0)
    const memoryMb = jobMemoryMb('wasi', p)
    const program = sharedBytes(sent)
    return runs.map((run, i) => ({ program, ...runInput(run, i), time, seed: runSeed(job?.id ?? '', i), memoryMb }))
  },

  run(input: WasiUnit, ctx: RunContext): RunOutput {
    const program = plainBytes(input?.program)
    // A unit may come from any coordinator: what split checks is checked again here.
    checkInput(
      'wasi',
      program !== null &&
        program.byteLength <= MAX_PROGRAM_BYTES &&
        Array.isArray(input.args) &&
        input.args.every(isBytes) &&
        Array.isArray(input.env) &&
        input.env.every(isBytes) &&
        isBytes(input.stdin) &&
        Array.isArray(input.files) &&
        input.files.every((f) => Array.isArray(f) && f.length === 2 && typeof f[0] === 'string' && isBytes(f[1])) &&
        Number.isSafeInteger(input.time) &&
        input.time >= 0 &&
        input.time <= MAX_TIME_MS &&
        isBytes(input.seed) &&
        input.seed.byteLength === 32
    )
    input.files.forEach(([name], i) => fileName(i, name))
    const args = [utf8.encode('program'), ...input.args]
    const pages = pagesFor(unitMemoryMb('wasi', input.memoryMb, ctx))
    return runWasi(
      program!,
      {
        args,
        env: input.env,
        stdin: input.stdin,
        files: input.files,
        timeNs: BigInt(input.time) * 1_000_000n,
        seed: input.seed,
        caps: WASI_CAPS
      },
      pages
    )
  },

  merge(outputs: RunOutput[]): WasiResult {
    return { runs: outputs }
  }
}

export default wasi
