/**
 * The runs the wasi suites give the example program (examples/wasi/wordstat.c), and the same
 * runs made by its native build, to compare byte for byte.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import type { JobView } from '../../node/coordinator/job-view.js'

const WORDS = [
  'the',
  'of',
  'grid',
  'donor',
  'quorum',
  'unit',
  'peer',
  'wasm',
  'it',
  'was',
  'best',
  'times',
  'café',
  'naïve',
  'to',
  'be',
  'or',
  'not',
  'dog',
  'fox',
  'lazy',
  'über',
  'result',
  'agree'
]
export const DICT = 'the\nof\nto\nit\nwas\nbe\ndog\ngrid\n'

export interface WordstatRun {
  args: string[]
  stdin: string
  files: Record<string, string>
}

/** Text of `lines` lines drawn from WORDS by a small LCG: the same on every call. */
function text(seed: number, lines: number): string {
  let x = seed
  const next = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x
  }
  const out: string[] = []
  for (let l = 0; l < lines; l++) {
    const n = 3 + (next() % 12)
    out.push(Array.from({ length: n }, () => WORDS[next() % WORDS.length]).join(next() % 5 === 0 ? ', ' : ' '))
  }
  return out.join('\n') + '\n'
}

export function wordstatRuns(count: number): WordstatRun[] {
  return Array.from({ length: count }, (_, i) => ({
    args: ['-n', String(2 + (i % 5)), '-d', 'dict.txt', `run${i}`],
    stdin: text(i + 1, 5 + i * 7),
    files: { 'dict.txt': DICT }
  }))
}

export interface NativeOutput {
  exit: number
  stdout: Buffer
  stderr: Buffer
  files: Record<string, Buffer>
}

/** The run made by the native build, in a directory of its own holding the run's files and out/. */
export function runNative(exe: string, run: WordstatRun, dir: string): NativeOutput {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(join(dir, 'out'), { recursive: true })
  for (const [name, content] of Object.entries(run.files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), content)
  }
  const result = spawnSync(exe, run.args, { cwd: dir, input: run.stdin, env: {} })
  // Every file under out/, by its path there, in the order the sandbox lists them.
  const files: Record<string, Buffer> = {}
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (entry.isDirectory()) walk(join(at, entry.name))
      else files[relative(join(dir, 'out'), join(at, entry.name))] = readFileSync(join(at, entry.name))
    }
  }
  walk(join(dir, 'out'))
  return { exit: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, files }
}

/** Bytes as the control API takes them in a job's params. */
export const b64 = (bytes: Uint8Array) => ({ base64: Buffer.from(bytes).toString('base64') })
/** A run's bytes as `submit --json` and the API give them. */
export const decode = (s: string) => Buffer.from(s, 'base64')

/** One run of a wasi job's result, as JSON carries it (bytes in base64). */
export interface JsonRun {
  exit: number
  stdout: string
  stderr: string
  files: Record<string, string>
}
export const runsOf = (view: JobView) => (view.result as { runs: JsonRun[] }).runs
