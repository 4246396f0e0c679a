/**
 * A wasi job's runs for the dashboard: GET /api/jobs/:id/runs, a page of summaries (exit status
 * and sizes, no bytes; each run's state while the job runs), and one route per output of a
 * finished run: GET /api/jobs/:id/runs/:n/stdout, stderr, exit and out/PATH, sent as downloads.
 *
 * Every byte and every name here was written by a remote program. The bytes go as
 * application/octet-stream attachments that the browser must not sniff or render; a name is
 * only ever a key looked up in the run's own output, never a path on this machine, and the
 * file name offered for saving is rebuilt from safe characters.
 */
import type { ServerResponse } from 'node:http'
import { badRequest, conflict, notFound } from '../../base/errors.js'
import type { JobView } from '../coordinator/job-view.js'
import type { UnitState } from '../job/types.js'
import type { ControlledPeer } from './types.js'

/** Runs per page of GET /api/jobs/:id/runs: a job may have 100,000. */
export const DEFAULT_RUNS_PAGE = 50
export const MAX_RUNS_PAGE = 200
/** Out files listed per run in a summary; a run may write 1,000. All of them are counted. */
export const MAX_FILES_LISTED = 50

export type RunState = UnitState | 'done'

export interface RunSummary {
  run: number
  /** 'done' with its outputs once the job is done; before, where its unit stands. */
  state: RunState
  exit: number | null
  stdout: number | null
  stderr: number | null
  /** The first MAX_FILES_LISTED out files in name order, path relative to /out. */
  files: Array<{ name: string; bytes: number }>
  fileCount: number
  outBytes: number
}

export interface RunsPage {
  job: string
  state: JobView['state']
  total: number
  offset: number
  runs: RunSummary[]
}

interface RunOutput {
  exit: number
  stdout: Uint8Array
  stderr: Uint8Array
  files: Record<string, Uint8Array>
}

function wasiJob(peer: ControlledPeer, id: string): JobView {
  const view = peer.status(id)
  if (!view) throw notFound(`no job ${id} on this peer`)
  if (view.task !== 'wasi') throw notFound(`job ${id} is a ${view.task} job: only wasi jobs have runs`)
  return view
}

/**
 * A run of a finished job's result, checked: the result is what donors agreed on, and a quorum
 * of liars agrees too. null for a run that failed.
 */
function runOf(view: JobView, n: number): RunOutput | null {
  const runs = (view.result as { runs?: unknown } | null)?.runs
  if (!Array.isArray(runs)) throw conflict(`job ${view.id} holds no runs`)
  if (n >= runs.length) throw notFound(`job ${view.id} has runs 0 to ${runs.length - 1}, not ${n}`)
  const run = runs[n] as Partial<RunOutput> | null
  if (run === null || run === undefined) return null
  const files = run.files
  const wellFormed =
    Number.isSafeInteger(run.exit) &&
    run.stdout instanceof Uint8Array &&
    run.stderr instanceof Uint8Array &&
    !!files &&
    typeof files === 'object' &&
    Object.values(files).every((b) => b instanceof Uint8Array)
  if (!wellFormed) throw conflict(`run ${n} of job ${view.id} is not a wasi run's output`)
  return run as RunOutput
}

function pageBounds(query: URLSearchParams, total: number): { offset: number; limit: number } {
  const number = (name: string, fallback: number, max: number) => {
    const raw = query.get(name)
    if (raw === null || raw === '') return fallback
    if (!/^\d{1,9}$/.test(raw) || Number(raw) > max)
      throw badRequest(`${name} must be a whole number from 0 to ${max}, not "${raw.slice(0, 20)}"`)
    return Number(raw)
  }
  return { offset: number('offset', 0, Math.max(0, total)), limit: number('limit', DEFAULT_RUNS_PAGE, MAX_RUNS_PAGE) }
}

function summary(n: number, run: RunOutput | null): RunSummary {
  if (!run) return { run: n, state: 'failed', exit: null, stdout: null, stderr: null, files: [], fileCount: 0, outBytes: 0 }
  const names = Object.keys(run.files).sort()
  return {
    run: n,
    state: 'done',
    exit: run.exit,
    stdout: run.stdout.byteLength,
    stderr: run.stderr.byteLength,
    files: names.slice(0, MAX_FILES_LISTED).map((name) => ({ name, bytes: run.files[name].byteLength })),
    fileCount: names.length,
    outBytes: names.reduce((sum, name) => sum + run.files[name].byteLength, 0)
  }
}

export function runsPage(peer: ControlledPeer, id: string, query: URLSearchParams): RunsPage {
  const view = wasiJob(peer, id)
  const total = view.units
  const { offset, limit } = pageBounds(query, total)
  const end = Math.min(total, offset + limit)
  const runs: RunSummary[] = []
  for (let n = offset; n < end; n++) {
    if (view.state === 'done') runs.push(summary(n, runOf(view, n)))
    else {
      const state = peer.unitReport(view.id, n)?.state ?? 'waiting'
      runs.push({ run: n, state, exit: null, stdout: null, stderr: null, files: [], fileCount: 0, outBytes: 0 })
    }
  }
  return { job: view.id, state: view.state, total, offset, runs }
}

/**
 * An out file's name from the URL, still percent-encoded: decoded once, and refused when it
 * could only be a trick (".." or "." parts, empty parts, a leading "/", NUL, a backslash).
 */
export function outName(encoded: string): string {
  let name: string
  try {
    name = decodeURIComponent(encoded)
  } catch {
    throw badRequest('the out file name is not valid percent-encoding')
  }
  const parts = name.split('/')
  if (name.includes('\0') || name.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..'))
    throw badRequest('an out file is named by its path under out/, without "", "." or ".." parts')
  return name
}

/** The name a browser offers to save as: letters, digits, ".", "-" and "_" only, never hidden, never long. */
export function safeFileName(name: string): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 120)
  return cleaned || 'file'
}

function sendDownload(res: ServerResponse, name: string, body: Uint8Array | string): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(bytes.byteLength),
    'content-disposition': `attachment; filename="${safeFileName(name)}"`,
    'x-content-type-options': 'nosniff',
    // Were a browser to show it anyway: no script, no fetches, a unique origin.
    'content-security-policy': "default-src 'none'; sandbox",
    // The output of a finished job never changes.
    'cache-control': 'private, max-age=86400, immutable'
  })
  res.end(bytes)
}

export type RunPart = 'stdout' | 'stderr' | 'exit' | 'out'

/** Sends one output of run `n`; `path` is the out file's still-encoded path for part 'out'. */
export function sendRunOutput(peer: ControlledPeer, id: string, n: number, part: RunPart, path: string, res: ServerResponse): void {
  const view = wasiJob(peer, id)
  if (!Number.isSafeInteger(n) || n >= view.units) throw notFound(`job ${view.id} has runs 0 to ${view.units - 1}, not ${n}`)
  if (view.state !== 'done') throw conflict(`job ${view.id} is ${view.state}: its runs can be downloaded once it is done`)
  const name = part === 'out' ? outName(path) : ''
  const run = runOf(view, n)
  if (!run) throw notFound(`run ${n} of job ${view.id} failed: it has no outputs (the log says why)`)
  const prefix = `${view.id.slice(0, 8)}-run${n}`
  if (part === 'stdout') return sendDownload(res, `${prefix}-stdout`, run.stdout)
  if (part === 'stderr') return sendDownload(res, `${prefix}-stderr`, run.stderr)
  if (part === 'exit') return sendDownload(res, `${prefix}-exit`, `${run.exit}\n`)
  if (!Object.hasOwn(run.files, name)) throw notFound(`run ${n} wrote no out/${name.slice(0, 200)}`)
  sendDownload(res, `${prefix}-${name.slice(name.lastIndexOf('/') + 1)}`, run.files[name])
}
