// @ts-check
// A wasi job's runs on its card: a page of runs at a time (a job may have 100,000), each with
// its state, exit status and sizes, and links that download its stdout, stderr, exit and out
// files from the control API (node/control/job-runs.ts). All of it was written by a remote
// program: it reaches the page as text nodes and attribute values, never as HTML, and names
// are shown with their control and direction characters replaced.

import { errorText, fmtBytes, fmtInt, h, setText } from './util.js'

/**
 * @import { FeedJob } from '../node/control/live-feed.js'
 * @import { RunsPage, RunSummary } from '../node/control/job-runs.js'
 */

export const RUNS_PAGE = 20
/** Out files linked per run on the card; the rest are counted, and in the JSON and CBOR downloads. */
const FILES_SHOWN = 5
/** While the job runs, the page of states is fetched again at most this often. */
const REFRESH_MS = 2000

/**
 * A name a program chose, made fit to show: no control or bidirectional-override characters
 * (which could make "txt.exe" read as "exe.txt"), and not too long.
 * @param {string} name
 */
export function shownName(name) {
  const clean = name.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?')
  return clean.length > 60 ? `${clean.slice(0, 57)}…` : clean
}

/**
 * @param {string} id
 * @param {number} run
 * @param {string} part stdout, stderr, exit or out/PATH (PATH not yet encoded)
 */
export function runUrl(id, run, part) {
  const path = part.startsWith('out/') ? `out/${part.slice(4).split('/').map(encodeURIComponent).join('/')}` : part
  return `api/jobs/${id}/runs/${run}/${path}`
}

export class RunsTable {
  /** @param {FeedJob} job */
  constructor(job) {
    this.job = job
    this.offset = 0
    /** @type {string} the job's state when its page was last fetched */
    this.fetchedFor = ''
    this.lastFetch = 0
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null
    this.body = h('tbody')
    this.note = h('span', { class: 'muted small runs-note' })
    this.prev = h('button', { class: 'ghost', type: 'button', onclick: () => this.turn(-1) }, '‹ earlier')
    this.next = h('button', { class: 'ghost', type: 'button', onclick: () => this.turn(1) }, 'later ›')
    this.el = /** @type {HTMLDetailsElement} */ (
      h(
        'details',
        { class: 'runs-box', open: true },
        h('summary', {}, 'Runs'),
        h(
          'div',
          { class: 'table-wrap runs-wrap' },
          h(
            'table',
            { class: 'runs' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { class: 'num' }, 'run'),
                h('th', {}, 'state'),
                h('th', { class: 'num' }, 'exit'),
                h('th', { class: 'num' }, 'stdout'),
                h('th', { class: 'num' }, 'stderr'),
                h('th', { class: 'num', title: 'files the run wrote under /out' }, 'out files'),
                h('th', {}, 'downloads')
              )
            ),
            this.body
          )
        ),
        h('div', { class: 'runs-pager' }, this.prev, this.note, this.next)
      )
    )
    this.el.addEventListener('toggle', () => this.el.open && this.refresh(true))
    this.update(job)
  }

  /** @param {FeedJob} job */
  update(job) {
    this.job = job
    if (!this.el.open) return
    // A finished job's page never changes: fetched once. A running one's states are refreshed, not too often.
    if (this.fetchedFor === job.state && job.state !== 'running') return
    this.refresh(false)
  }

  /** @param {number} step */
  turn(step) {
    const last = Math.max(0, Math.floor((this.job.units - 1) / RUNS_PAGE) * RUNS_PAGE)
    this.offset = Math.min(last, Math.max(0, this.offset + step * RUNS_PAGE))
    this.refresh(true)
  }

  /** @param {boolean} now */
  refresh(now) {
    const wait = now ? 0 : Math.max(0, this.lastFetch + REFRESH_MS - Date.now())
    if (this.timer) {
      if (!now) return
      clearTimeout(this.timer)
    }
    this.timer = setTimeout(() => {
      this.timer = null
      void this.load()
    }, wait)
  }

  async load() {
    const job = this.job
    this.lastFetch = Date.now()
    try {
      const res = await fetch(`api/jobs/${job.id}/runs?offset=${this.offset}&limit=${RUNS_PAGE}`)
      const value = await res.json()
      if (!res.ok) throw new Error(value.error ?? `HTTP ${res.status}`)
      const page = /** @type {RunsPage} */ (value)
      this.fetchedFor = page.state
      this.body.replaceChildren(...page.runs.map((run) => runRow(job.id, run)))
      const last = Math.min(page.total, page.offset + page.runs.length)
      setText(this.note, page.total ? `runs ${fmtInt(page.offset)}–${fmtInt(last - 1)} of ${fmtInt(page.total)}` : 'no runs')
      this.prev.disabled = page.offset === 0
      this.next.disabled = last >= page.total
      // The feed may have said "done" before this page was fetched: then fetch the outputs too.
      if (page.state !== this.job.state) this.refresh(false)
    } catch (err) {
      this.fetchedFor = ''
      setText(this.note, `could not load the runs: ${errorText(err)}`)
    }
  }
}

/**
 * @param {string} id
 * @param {RunSummary} run
 */
function runRow(id, run) {
  const done = run.state === 'done'
  /** @param {string} part @param {string} label @param {string} [hint] */
  const link = (part, label, hint) => h('a', { href: runUrl(id, run.run, part), download: true, title: hint ?? `download ${label}` }, label)
  const files = run.files
    .slice(0, FILES_SHOWN)
    .map((f) => link(`out/${f.name}`, shownName(f.name), `out/${shownName(f.name)}, ${fmtBytes(f.bytes)}`))
  const more = run.fileCount - files.length
  return h(
    'tr',
    { dataset: { run: String(run.run) } },
    h('td', { class: 'num' }, run.run),
    h('td', {}, h('span', { class: `run-state r-${run.state}` }, run.state)),
    h('td', { class: `num ${done && run.exit !== 0 ? 'bad' : ''}` }, run.exit ?? '—'),
    h('td', { class: 'num' }, run.stdout === null ? '—' : fmtBytes(run.stdout)),
    h('td', { class: 'num' }, run.stderr === null ? '—' : fmtBytes(run.stderr)),
    h('td', { class: 'num' }, done ? `${fmtInt(run.fileCount)} · ${fmtBytes(run.outBytes)}` : '—'),
    h(
      'td',
      { class: 'run-links' },
      done
        ? [
            link('stdout', 'stdout'),
            ' ',
            link('stderr', 'stderr'),
            ' ',
            link('exit', 'exit'),
            files.flatMap((a) => [' ', a]),
            more > 0 ? h('span', { class: 'muted' }, ` +${fmtInt(more)} more`) : null
          ]
        : h('span', { class: 'muted' }, run.state === 'failed' ? 'no outputs' : 'once done')
    )
  )
}

/**
 * What a wasi job's result says in a line: the table has the rest.
 * @param {unknown} result the feed's result: runs by their sizes, or by their count when many
 */
export function runsSummary(result) {
  const runs = /** @type {{ runs?: unknown } | null | undefined} */ (result)?.runs
  if (Array.isArray(runs)) {
    const failed = runs.filter((r) => r === null).length
    const nonzero = runs.filter((r) => r !== null && /** @type {{ exit?: unknown }} */ (r).exit !== 0).length
    return `${fmtInt(runs.length)} runs: ${fmtInt(runs.length - failed - nonzero)} exited 0, ${fmtInt(nonzero)} non-zero, ${fmtInt(failed)} failed`
  }
  const items = /** @type {{ $items?: unknown } | undefined} */ (runs)?.$items
  return typeof items === 'number' ? `${fmtInt(items)} runs` : 'runs'
}
