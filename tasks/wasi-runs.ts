/**
 * How a sweep of wasi runs is made from a person's choices: one run, one run per stdin file, or
 * one run per line of arguments (HTCondor's `queue … from`). The CLI (wasi-cli.ts, from files on
 * disk) and the dashboard's form (dashboard/programs.js, from files picked in the browser) both
 * build their runs here, so the same choices make the same params. This file imports nothing and
 * uses nothing of Node: the control server hands its compiled form to the browser as it is
 * (node/control/dashboard-files.ts).
 */

export interface Base64Value {
  base64: string
}

/** A file's bytes as a job's params carry them through the API (tasks/wasi.ts byteValue decodes it). */
export function base64Value(bytes: Uint8Array): Base64Value {
  let binary = ''
  // String.fromCharCode takes its arguments on the stack: a few KiB at a time.
  for (let i = 0; i < bytes.length; i += 0x2000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x2000))
  return { base64: btoa(binary) }
}

/** A file's name without its extension, as Node's basename(path, extname(path)) gives it. */
export function stemOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1)
  const dot = base.lastIndexOf('.')
  return dot > 0 ? base.slice(0, dot) : base
}

/** The words of one line: whitespace-separated, 'single' or "double" quotes group. */
export function words(line: string): string[] {
  const out: string[] = []
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3])
  return out
}

/** The argument lines of an args file: blank lines and # comments skipped, each line its words. */
export function argLines(text: string): string[][] {
  return text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
    .map(words)
}

/** What every run of a sweep shares. */
export interface RunCommon {
  /** The program's arguments; in a stdin sweep `{name}` stands for the stdin file's name without extension. */
  args: string[]
  env?: Record<string, string>
  /** Input files, read-only at /NAME. */
  files?: Record<string, Uint8Array>
  /** One stdin for every run (not with a stdin sweep). */
  stdin?: Uint8Array
}

export type WasiSweep =
  | { kind: 'one' }
  | { kind: 'stdin'; stdins: Array<{ name: string; bytes: Uint8Array }> }
  | { kind: 'args'; lines: string[][] }

export type WasiRunParams = Record<string, unknown>

/**
 * The `runs` param: stdin files in name order, args lines in file order. Throws a plain Error
 * that says what is wrong; the CLI turns it into a ParamError.
 */
export function wasiRuns(common: RunCommon, sweep: WasiSweep): WasiRunParams[] {
  const shared = {
    ...(common.env && Object.keys(common.env).length ? { env: common.env } : {}),
    ...(common.files && Object.keys(common.files).length
      ? { files: Object.fromEntries(Object.entries(common.files).map(([name, bytes]) => [name, base64Value(bytes)])) }
      : {})
  }
  const stdin = common.stdin ? { stdin: base64Value(common.stdin) } : {}
  if (sweep.kind === 'stdin') {
    if (common.stdin) throw new Error('a stdin sweep gives each run its stdin: drop the single stdin')
    if (sweep.stdins.length === 0) throw new Error('the stdin sweep has no files')
    return [...sweep.stdins]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(({ name, bytes }) => {
        const stem = stemOf(name)
        return { args: common.args.map((a) => a.replaceAll('{name}', stem)), stdin: base64Value(bytes), ...shared }
      })
  }
  if (sweep.kind === 'args') {
    if (sweep.lines.length === 0) throw new Error('the args lines have no line')
    return sweep.lines.map((line) => ({ args: [...common.args, ...line], ...stdin, ...shared }))
  }
  return [{ args: common.args, ...stdin, ...shared }]
}
