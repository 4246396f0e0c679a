// @ts-check
// One card per job: progress with ETA, units by state, results per second, and the result.
// Cards are built once and then updated in place, so a busy job costs a few text and
// width changes per update, not a rebuilt subtree.

import { drawRateChart, eta, rateAt } from './chart.js'
import { errorText, fmtBytes, fmtClock, fmtDuration, fmtInt, fmtNumber, fmtRate, h, setText, short } from './util.js'
import { outputsPreview, paramText } from './programs.js'
import { RunsTable, runsSummary } from './runs.js'

/**
 * @import { FeedJob, Sample } from '../node/control/live-feed.js'
 * @import { UnitState, UnitSizing } from '../node/job/types.js'
 * @import { UnitReport } from '../node/job/types.js'
 * @import { MandelbrotResult } from '../tasks/mandelbrot.js'
 */
/**
 * What a card may ask of the page: the calls go to the control API.
 * @typedef {object} JobActions
 * @property {() => boolean} canCancel whether the page has the token cancelling needs
 * @property {(id: string) => Promise<unknown>} cancel
 * @property {(id: string, unit: number) => Promise<UnitReport>} explain
 */
/**
 * An image result as the feed sends it: its PNG's bytes stand as their count.
 * @typedef {Omit<MandelbrotResult, 'png'> & { png: { $bytes: number } }} FeedImageResult
 */

/** @typedef {'rate' | 'results' | 'redundancy' | 'outvoted'} MetricKey */

/** @type {Array<[UnitState, string]>} */
export const UNIT_STATES = [
  ['accepted', 'accepted'],
  ['awaiting-agreement', 'awaiting agreement'],
  ['running', 'running'],
  ['waiting', 'waiting'],
  ['failed', 'failed']
]

export class JobCard {
  /**
   * @param {FeedJob} job
   * @param {JobActions} actions
   */
  constructor(job, actions) {
    this.id = job.id
    this.job = job
    this.actions = actions
    /** Set by the page once tick has drawn the card since its last update. */
    this.ticked = false
    /** @type {string | null} */
    this.resultKey = null
    this.segments = /** @type {Record<UnitState, HTMLSpanElement>} */ ({})
    this.counts = /** @type {Record<UnitState, HTMLElement>} */ ({})
    this.cancelButton = h('button', { class: 'ghost danger', type: 'button', onclick: () => this.cancel() }, 'Cancel')
    this.stateEl = h('span', { class: 'pill' })
    this.timeEl = h('span', { class: 'muted when' })
    this.fill = h('div', { class: 'progress-fill' })
    this.partial = h('div', { class: 'progress-partial' })
    this.progress = h(
      'div',
      {
        class: 'progress',
        role: 'progressbar',
        'aria-valuemin': 0,
        'aria-valuemax': 100,
        'aria-label': `${job.task} job ${short(job.id)}`
      },
      this.partial,
      this.fill
    )
    this.countEl = h('span')
    this.etaEl = h('span', { class: 'eta' })
    const bar = h('div', { class: 'units-bar', 'aria-hidden': 'true' })
    const legend = h('ul', { class: 'legend' })
    for (const [state, label] of UNIT_STATES) {
      this.segments[state] = bar.appendChild(h('span', { class: `seg s-${state}` }))
      this.counts[state] = h('b')
      legend.append(h('li', { class: `s-${state}` }, h('i'), label, ' ', this.counts[state]))
    }
    this.canvas = h('canvas', { class: 'chart', role: 'img', 'aria-label': 'results per second over time' })
    this.metric = /** @type {Record<MetricKey, HTMLElement>} */ ({})
    this.label = /** @type {Record<MetricKey, HTMLElement>} */ ({})
    /**
     * @param {MetricKey} key
     * @param {string} label
     * @param {string} hint
     */
    const metric = (key, label, hint) => h('div', { title: hint }, (this.label[key] = h('dt', {}, label)), (this.metric[key] = h('dd')))
    this.resultEl = h('div', { class: 'result' })
    this.explainEl = explainer(job, actions)
    /** A wasi job's runs, kept across updates: the table fetches its own page. */
    this.runs = job.task === 'wasi' ? new RunsTable(job) : null
    this.el = h(
      'article',
      { class: 'job', dataset: { id: job.id } },
      h(
        'header',
        { class: 'job-head' },
        h('span', { class: 'task' }, job.task),
        h('code', { class: 'job-id', title: job.id }, short(job.id)),
        this.stateEl,
        h('span', { class: 'spacer' }),
        this.timeEl,
        this.cancelButton
      ),
      h('p', { class: 'params' }, describeParams(job)),
      job.sizing &&
        h(
          'p',
          { class: 'sizing muted small', title: 'the units were sized from pieces of the job that the coordinator ran first' },
          describeSizing(job.sizing)
        ),
      this.progress,
      h('div', { class: 'progress-label' }, this.countEl, this.etaEl),
      bar,
      legend,
      h(
        'div',
        { class: 'job-body' },
        h('figure', { class: 'chart-box' }, h('figcaption', {}, 'results / s'), this.canvas),
        h(
          'dl',
          { class: 'metrics' },
          metric('rate', 'results / s', 'results received over the last 3 seconds'),
          metric('results', 'results', 'every result received, replicas included'),
          metric('redundancy', 'redundancy', 'results received per accepted unit'),
          metric('outvoted', 'outvoted', 'peers whose results lost a vote in this job')
        )
      ),
      this.explainEl,
      this.runs?.el,
      this.resultEl
    )
  }

  /** @param {FeedJob} job */
  update(job) {
    this.job = job
    this.el.dataset.state = job.state
    setText(this.stateEl, job.state)
    const accepted = job.units ? job.accepted / job.units : 0
    const pct = Math.round(job.progress * 100)
    this.fill.style.transform = `scaleX(${accepted})`
    this.partial.style.transform = `scaleX(${job.progress})`
    this.progress.setAttribute('aria-valuenow', String(pct))
    this.progress.setAttribute('aria-valuetext', `${job.accepted} of ${job.units} units accepted`)
    setText(this.countEl, `${fmtInt(job.accepted)} / ${fmtInt(job.units)} units accepted · ${pct}%`)
    for (const [state] of UNIT_STATES) {
      const n = job.unitStates[state] ?? 0
      this.segments[state].style.flexGrow = String(n)
      this.segments[state].title = `${n} ${state}`
      this.segments[state].hidden = n === 0
      setText(this.counts[state], fmtInt(n))
    }
    setText(this.label.rate, job.state === 'running' ? 'results / s' : 'avg results / s')
    setText(this.metric.results, fmtInt(job.results))
    setText(this.metric.redundancy, job.redundancy === null ? '—' : `${job.redundancy.toFixed(2)}×`)
    setText(this.metric.outvoted, job.outvoted.length ? job.outvoted.map(short).join(' ') : 'none')
    this.metric.outvoted.classList.toggle('bad', job.outvoted.length > 0)
    this.cancelButton.hidden = job.state !== 'running'
    this.cancelButton.disabled = !this.actions.canCancel()
    this.cancelButton.title = this.actions.canCancel()
      ? 'stop this job'
      : 'cancelling needs the token: open the URL that `swarmgrid start` printed'
    // A job can read 'done' a moment before its result is stored; the next update brings it.
    const key = `${job.state}:${job.finishedAt}:${job.result !== null}`
    if (key !== this.resultKey) {
      this.resultKey = key
      this.resultEl.replaceChildren(...renderResult(job))
    }
    this.runs?.update(job)
  }

  /**
   * The parts that move with the clock: elapsed time, ETA, the chart's time axis.
   * @param {Sample[]} samples
   * @param {number} now the peer's clock
   * @returns {number} results per second this job adds to the grid's now
   */
  tick(samples, now) {
    const job = this.job
    const end = job.finishedAt ?? now
    const elapsed = fmtDuration(end - job.createdAt)
    setText(this.timeEl, job.finishedAt ? `${fmtClock(job.createdAt)} · took ${elapsed}` : `${fmtClock(job.createdAt)} · ${elapsed}`)
    if (job.state === 'running') {
      const left = eta(samples, job.progress, job.createdAt, now)
      setText(this.etaEl, left === null ? 'ETA —' : `ETA ${fmtDuration(left)}`)
    } else {
      setText(this.etaEl, `${job.state} in ${elapsed}`)
    }
    drawRateChart(this.canvas, samples, job.createdAt, end)
    const rate = job.state === 'running' ? rateAt(samples, now, 3000) : (job.results / Math.max(1, end - job.createdAt)) * 1000
    setText(this.metric.rate, fmtRate(rate))
    return job.state === 'running' ? Math.max(0, rate) : 0
  }

  async cancel() {
    this.cancelButton.disabled = true
    try {
      await this.actions.cancel(this.id)
    } catch (err) {
      this.cancelButton.disabled = false
      this.cancelButton.title = errorText(err)
    }
  }
}

/**
 * "Why was unit N accepted?": which peers agreed, their credibility, and the rule that took it.
 * @param {FeedJob} job
 * @param {JobActions} actions
 */
function explainer(job, actions) {
  const input = h('input', { type: 'number', min: 0, max: job.units - 1, value: 0, 'aria-label': 'unit number' })
  const out = h('p', { class: 'explain-text small', role: 'status' })
  /** @param {Event} event */
  const ask = async (event) => {
    event.preventDefault()
    setText(out, '…')
    try {
      const { reason } = await actions.explain(job.id, Number(input.value))
      setText(out, reason)
    } catch (err) {
      setText(out, errorText(err))
    }
  }
  return h(
    'details',
    { class: 'explain' },
    h('summary', {}, 'Why was a unit accepted?'),
    h(
      'form',
      { class: 'explain-form', onsubmit: ask },
      h('span', {}, 'unit'),
      input,
      h('button', { class: 'ghost', type: 'submit' }, 'Explain')
    ),
    out
  )
}

/** @param {FeedJob} job */
function describeParams(job) {
  const entries = Object.entries(job.params ?? {})
  const params = entries.length
    ? entries.map(([k, v]) => h('span', { class: 'param' }, k, ' ', h('b', {}, paramText(v))))
    : [h('span', { class: 'param' }, 'default parameters')]
  return [
    ...params,
    h('span', { class: 'param' }, h('b', {}, fmtInt(job.units)), ' units'),
    h('span', { class: 'param' }, 'quorum ', h('b', {}, job.quorum))
  ]
}

/**
 * "sized to 24 units of ~0.05 s from 20 samples".
 * @param {UnitSizing} sizing
 */
function describeSizing(sizing) {
  const samples = sizing.cuts.reduce((sum, cut) => sum + cut.samples, 0)
  return `sized to ${fmtInt(sizing.units)} units of ~${sizing.unitSeconds} s from ${fmtInt(samples)} samples`
}

/**
 * @param {FeedJob} job
 * @returns {Node[]}
 */
function renderResult(job) {
  if (job.state === 'failed') return [h('p', { class: 'error' }, job.error ?? 'failed')]
  if (job.state === 'cancelled') return [h('p', { class: 'muted' }, job.error ?? 'cancelled')]
  if (job.state !== 'done' || job.result === null || job.result === undefined) return []
  const base = `api/jobs/${job.id}/result`
  const name = `${job.task}-${short(job.id)}`
  const result = job.result
  const hasPng = isImageResult(result)
  const links = h(
    'p',
    { class: 'downloads' },
    'Download ',
    hasPng && [h('a', { href: `${base}.png`, download: `${name}.png` }, 'PNG'), ' · '],
    h('a', { href: `${base}.json`, download: `${name}.json` }, 'JSON'),
    ' · ',
    h('a', { href: `${base}.cbor`, download: `${name}.cbor` }, 'CBOR')
  )
  if (job.task === 'wasi') return [h('p', { class: 'runs-summary' }, runsSummary(result)), links]
  if (hasPng) {
    const img = h('img', {
      src: `${base}.png`,
      alt: `${job.task} result, ${result.width}×${result.height}`,
      width: result.width,
      height: result.height,
      decoding: 'async'
    })
    return [
      h(
        'figure',
        { class: 'result-image' },
        h('a', { href: `${base}.png`, target: '_blank' }, img),
        h(
          'figcaption',
          {},
          h('b', {}, `${result.width} × ${result.height}`),
          h('br'),
          `maxIter ${fmtInt(result.maxIter)}`,
          h('br'),
          `${fmtBytes(result.png.$bytes)} PNG`,
          links
        )
      )
    ]
  }
  /** @type {Array<[string, unknown]>} */
  const entries = typeof result === 'object' ? Object.entries(result) : [['result', result]]
  // The headline is the value named like the task (pi's pi), else the first number (primes' count).
  const named = entries.findIndex(([k]) => k === job.task)
  const lead =
    named >= 0
      ? named
      : Math.max(
          0,
          entries.findIndex(([, v]) => typeof v === 'number')
        )
  const ordered = [entries[lead], ...entries.filter((_, i) => i !== lead)].filter(Boolean)
  const preview = outputsPreview(job)
  return [
    h(
      'dl',
      { class: 'result-values' },
      ordered.map(([k, v], i) =>
        h(
          'div',
          { class: i === 0 ? 'primary' : '' },
          h('dt', {}, k),
          h('dd', { title: String(typeof v === 'object' ? JSON.stringify(v) : v) }, describeValue(v))
        )
      )
    ),
    ...(preview ? [preview] : []),
    links
  ]
}

/**
 * An image result has its PNG's byte count where the bytes were.
 * @param {unknown} result
 * @returns {result is FeedImageResult}
 */
function isImageResult(result) {
  if (typeof result !== 'object' || result === null || !('png' in result)) return false
  const png = result.png
  return typeof png === 'object' && png !== null && '$bytes' in png && typeof png.$bytes === 'number'
}

/**
 * A value of a result; the feed has replaced byte arrays by { $bytes } and long arrays by { $items }.
 * @param {unknown} v
 * @returns {string}
 */
function describeValue(v) {
  if (typeof v === 'number') return fmtNumber(v)
  const stand = v && typeof v === 'object' ? /** @type {{ $bytes?: unknown, $items?: unknown }} */ (v) : {}
  if (typeof stand.$bytes === 'number') return fmtBytes(stand.$bytes)
  if (typeof stand.$items === 'number') return `${fmtInt(stand.$items)} items`
  return typeof v === 'string' ? v : JSON.stringify(v)
}
