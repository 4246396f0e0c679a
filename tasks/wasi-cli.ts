/**
 * The command line's side of the wasi task: a job file's {"file": P} values read and sent as
 * bytes, `submit wasi --program …` flags turned into params (one run, or a sweep over a glob of
 * stdin files or a file of argument lines, as HTCondor's `queue … from`), and a result written
 * out as one directory per run.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve, sep } from 'node:path'
import { ParamError, type Params } from './contract.js'
import { WASI_CAPS } from './wasi.js'
import { argLines, base64Value, wasiRuns, type RunCommon, type WasiSweep } from './wasi-runs.js'

type Read = (path: string) => Uint8Array
const isFileRef = (v: unknown): v is { file: string } =>
  !!v && typeof v === 'object' && typeof (v as { file?: unknown }).file === 'string' && Object.keys(v).length === 1

/** Job files name their program, stdin and input files by path, relative to the job file. */
export function inlineWasiFiles(params: Params | undefined, read: Read): Params | undefined {
  if (!params || typeof params !== 'object') return params
  const out: Params = { ...params }
  if (isFileRef(params.program)) out.program = base64Value(read(params.program.file))
  if (Array.isArray(params.runs)) {
    out.runs = params.runs.map((run) => {
      if (!run || typeof run !== 'object') return run
      const r = { ...(run as Record<string, unknown>) }
      if (isFileRef(r.stdin)) r.stdin = base64Value(read(r.stdin.file))
      if (r.files && typeof r.files === 'object' && !Array.isArray(r.files)) {
        r.files = Object.fromEntries(Object.entries(r.files).map(([name, v]) => [name, isFileRef(v) ? base64Value(read(v.file)) : v]))
      }
      return r
    })
  }
  return out
}

export const WASI_FLAGS = {
  program: { type: 'string' },
  arg: { type: 'string', multiple: true },
  stdin: { type: 'string' },
  env: { type: 'string', multiple: true },
  file: { type: 'string', multiple: true },
  'stdin-glob': { type: 'string' },
  'args-file': { type: 'string' }
} as const

const mib = (n: number) => `${n / (1024 * 1024)} MiB`

/** The output caps, for the help of submit and start. */
export const WASI_CAPS_TEXT = `Output caps of a wasi run, the same on every donor: stdout ${mib(WASI_CAPS.stdoutBytes)},
  stderr ${mib(WASI_CAPS.stderrBytes)}, /out ${mib(WASI_CAPS.outBytes)} in at most ${WASI_CAPS.outEntries} files; past them it fails as "output"`

export const WASI_HELP = `wasi (your own program compiled to WASI preview 1; one run per unit):
  --program FILE.wasm     the WASI command module (clang --target=wasm32-wasi, rustc --target wasm32-wasip1)
  --arg A                 an argument of the program (repeatable, in order)
  --stdin FILE            the run's stdin
  --env K=V               an environment variable (repeatable); the program sees nothing else
  --file NAME=PATH        an input file, read-only at /NAME (repeatable; PATH alone puts it at its base name)
  --stdin-glob 'GLOB'     sweep: one run per matching file as its stdin, in name order ({name} in an --arg
                          is that file's name without extension)
  --args-file FILE        sweep: one run per non-empty line, its words the run's arguments after the --arg ones
  A run sees a fixed clock (the job's creation time), seeded random bytes, no network, only its own
  files under / and a writable /out. ${WASI_CAPS_TEXT}.`

export const WASI_EXAMPLE = `  swarmgrid submit wasi --program wordstat.wasm --arg -d --arg dict.txt --arg '{name}' \\
      --file dict.txt --stdin-glob 'texts/*.txt' --quorum 2
  swarmgrid results JOB --out results/     (results/N/stdout, stderr, exit, out/…)`

/**
 * `--arg -n` passes "-n" to the program: the word after --arg is its value whatever it looks
 * like, where parseArgs would take it for a flag of ours.
 */
export function glueArgValues(argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') {
      out.push(...argv.slice(i))
      break
    }
    if (argv[i] === '--arg' && i + 1 < argv.length) out.push(`--arg=${argv[++i]}`)
    else out.push(argv[i])
  }
  return out
}

/** A glob of file names in one directory: * and ? in the last part only. */
export function globFiles(pattern: string): string[] {
  const dir = dirname(pattern)
  const name = basename(pattern)
  if (/[*?]/.test(dir)) throw new ParamError(`--stdin-glob: only the file name may hold * or ?, not the directory (${pattern})`)
  const re = new RegExp(
    `^${name
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`
  )
  let names: string[]
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && re.test(e.name))
      .map((e) => e.name)
      .sort()
  } catch (err) {
    throw new ParamError(`--stdin-glob ${pattern}: ${(err as Error).message}`)
  }
  if (names.length === 0) throw new ParamError(`--stdin-glob ${pattern} matches no file`)
  return names.map((n) => join(dir, n))
}

/** The params of `submit wasi --program …`, or null when no wasi flag is given. */
export function wasiParamsFromFlags(values: Record<string, any>, read: Read): Params | null {
  const used = Object.keys(WASI_FLAGS).filter((f) => values[f] !== undefined)
  if (used.length === 0) return null
  if (!values.program) throw new ParamError(`--${used[0]} is a flag of the wasi task, which needs --program FILE.wasm`)
  if (values['stdin-glob'] && values['args-file'])
    throw new ParamError('give --stdin-glob or --args-file, not both: each makes one run per item')
  if (values['stdin-glob'] && values.stdin) throw new ParamError('--stdin-glob gives each run its stdin; drop --stdin')
  const env = Object.fromEntries(
    (values.env ?? []).map((kv: string) => {
      const eq = kv.indexOf('=')
      if (eq <= 0) throw new ParamError(`--env takes K=V, not "${kv}"`)
      return [kv.slice(0, eq), kv.slice(eq + 1)]
    })
  )
  const files: Record<string, Uint8Array> = Object.fromEntries(
    (values.file ?? []).map((item: string) => {
      const eq = item.indexOf('=')
      const [name, path] = eq > 0 ? [item.slice(0, eq), item.slice(eq + 1)] : [basename(item), item]
      return [name, read(path)]
    })
  )
  const args: string[] = values.arg ?? []
  const common: RunCommon = { args, env, files, ...(values.stdin ? { stdin: read(values.stdin) } : {}) }
  let sweep: WasiSweep = { kind: 'one' }
  if (values['stdin-glob']) {
    sweep = { kind: 'stdin', stdins: globFiles(values['stdin-glob']).map((path) => ({ name: basename(path), bytes: read(path) })) }
  } else if (values['args-file']) {
    const lines = argLines(Buffer.from(read(values['args-file'])).toString('utf8'))
    if (lines.length === 0) throw new ParamError(`--args-file ${values['args-file']} has no lines`)
    sweep = { kind: 'args', lines }
  }
  const runs = wasiRuns(common, sweep)
  return { program: base64Value(read(values.program)), runs }
}

interface RunOut {
  exit: number
  stdout: Uint8Array
  stderr: Uint8Array
  files: Record<string, Uint8Array>
}

/** Run N as DIR/N/stdout, DIR/N/stderr, DIR/N/exit and DIR/N/out/…; returns the run count. */
export function writeWasiResults(result: unknown, dir: string): number {
  const runs = (result as { runs?: unknown } | null)?.runs
  if (!Array.isArray(runs)) throw new Error('this result holds no wasi runs')
  const root = resolve(dir)
  runs.forEach((run: RunOut | null, n) => {
    const at = join(root, String(n))
    mkdirSync(join(at, 'out'), { recursive: true })
    if (!run) {
      writeFileSync(join(at, 'exit'), 'failed\n')
      return
    }
    writeFileSync(join(at, 'stdout'), run.stdout)
    writeFileSync(join(at, 'stderr'), run.stderr)
    writeFileSync(join(at, 'exit'), `${run.exit}\n`)
    for (const [name, bytes] of Object.entries(run.files)) {
      const path = resolve(at, 'out', name)
      // Names come from the program: none may lead out of its directory.
      if (!path.startsWith(join(at, 'out') + sep)) throw new Error(`run ${n} names an output file ${JSON.stringify(name)} outside out/`)
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, bytes)
    }
  })
  return runs.length
}

const byteLength = (v: unknown) =>
  v instanceof Uint8Array ? v.byteLength : typeof v === 'string' ? Buffer.from(v, 'base64').byteLength : 0

/** A wasi result as a person reads it: one line per run (bytes are counted, not printed), at most `max` runs. */
export function describeWasiResult(result: unknown, jobId: string, max = 20): string {
  const runs = (result as { runs?: unknown[] } | null)?.runs
  if (!Array.isArray(runs)) return String(result)
  const lines = runs.slice(0, max).map((run, n) => {
    if (!run) return `  run ${n}: failed (the log says why)`
    const r = run as { exit: number; stdout: unknown; stderr: unknown; files: Record<string, unknown> }
    const files = Object.entries(r.files ?? {})
    return (
      `  run ${n}: exit ${r.exit}, stdout ${byteLength(r.stdout)} B, stderr ${byteLength(r.stderr)} B` +
      (files.length
        ? `, out/ ${files
            .slice(0, 3)
            .map(([name, b]) => `${name} (${byteLength(b)} B)`)
            .join(', ')}${files.length > 3 ? ', …' : ''}`
        : '')
    )
  })
  if (runs.length > max) lines.push(`  … and ${runs.length - max} more runs`)
  return `${runs.length} runs\n${lines.join('\n')}\n(swarmgrid results ${jobId.slice(0, 8)} --out DIR writes each run's stdout, stderr, exit and out/ files)`
}
