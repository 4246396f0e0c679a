// One card per job: progress with ETA, units by state, results per second, and the result.
// Cards are built once and then updated in place, so a busy job costs a few text and
// width changes per update, not a rebuilt subtree.

import { drawRateChart, eta, rateAt } from './chart.js'
import { fmtBytes, fmtClock, fmtDuration, fmtInt, fmtNumber, fmtRate, h, setText, short } from './util.js'
import { outputsPreview, paramText } from './programs.js'

export const UNIT_STATES = [
  ['accepted', 'accepted'],
  ['awaiting-agreement', 'awaiting agreement'],
  ['running', 'running'],
  ['waiting', 'waiting'],
  ['failed', 'failed']
]

export class JobCard {
  /** actions: { cancel(id) → Promise, canCancel() → boolean } */
  constructor(job, actions) {
    this.id = job.id
    this.actions = actions
    this.resultKey = null
    this.segments = {}
    this.counts = {}
    this.cancelButton = h('button', { class: 'ghost danger', type: 'button', onclick: () => this.cancel() }, 'Cancel')
    this.stateEl = h('span', { class: 'pill' })
    this.timeEl = h('span', { class: 'muted when' })
    this.fill = h('div', { class: 'progress-fill' })
    this.partial = h('div', { class: 'progress-partial' })
    this.progress = h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100,
      'aria-label': `${job.task} job ${short(job.id)}` }, this.partial, this.fill)
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
    this.metric = {}
    this.label = {}
    const metric = (key, label, hint) => h('div', { title: hint }, this.label[key] = h('dt', {}, label), this.metric[key] = h('dd'))
    this.resultEl = h('div', { class: 'result' })
    this.explainEl = explainer(job, actions)
    this.el = h('article', { class: 'job', dataset: { id: job.id } },
      h('header', { class: 'job-head' },
        h('span', { class: 'task' }, job.task),
        h('code', { class: 'job-id', title: job.id }, short(job.id)),
        this.stateEl,
        h('span', { class: 'spacer' }),
        this.timeEl,
        this.cancelButton),
      h('p', { class: 'params' }, describeParams(job)),
      job.sizing && h('p', { class: 'sizing muted small', title: 'the units were sized from pieces of the job that the coordinator ran first' }, describeSizing(job.sizing)),
      this.progress,
      h('div', { class: 'progress-label' }, this.countEl, this.etaEl),
      bar,
      legend,
      h('div', { class: 'job-body' },
        h('figure', { class: 'chart-box' }, h('figcaption', {}, 'results / s'), this.canvas),
        h('dl', { class: 'metrics' },
          metric('rate', 'results / s', 'results received over the last 3 seconds'),
          metric('results', 'results', 'every result received, replicas included'),
          metric('redundancy', 'redundancy', 'results received per accepted unit'),
          metric('outvoted', 'outvoted', 'peers whose results lost a vote in this job'))),
      this.explainEl,
      this.resultEl)
  }

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
    this.cancelButton.title = this.actions.canCancel() ? 'stop this job' : 'cancelling needs the token: open the URL that `swarmgrid start` printed'
    // A job can read 'done' a moment before its result is stored; the next update brings it.
    const key = `${job.state}:${job.finishedAt}:${job.result !== null}`
    if (key !== this.resultKey) {
      this.resultKey = key
      this.resultEl.replaceChildren(...renderResult(job))
    }
  }

  /** The parts that move with the clock: elapsed time, ETA, the chart's time axis. */
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
      this.cancelButton.title = err.message
    }
  }
}

/** "Why was unit N accepted?": which peers agreed, their credibility, and the rule that took it. */
function explainer(job, actions) {
  const input = h('input', { type: 'number', min: 0, max: job.units - 1, value: 0, 'aria-label': 'unit number' })
  const out = h('p', { class: 'explain-text small', role: 'status' })
  const ask = async (event) => {
    event.preventDefault()
    setText(out, '…')
    try {
      const { reason } = await actions.explain(job.id, Number(input.value))
      setText(out, reason)
    } catch (err) {
      setText(out, err.message)
    }
  }
  return h('details', { class: 'explain' },
    h('summary', {}, 'Why was a unit accepted?'),
    h('form', { class: 'explain-form', onsubmit: ask }, h('span', {}, 'unit'), input, h('button', { class: 'ghost', type: 'submit' }, 'Explain')),
    out)
}

function describeParams(job) {
  const entries = Object.entries(job.params ?? {})
  const params = entries.length
    ? entries.map(([k, v]) => h('span', { class: 'param' }, k, ' ', h('b', {}, paramText(v))))
    : [h('span', { class: 'param' }, 'default parameters')]
  return [...params, h('span', { class: 'param' }, h('b', {}, fmtInt(job.units)), ' units'),
    h('span', { class: 'param' }, 'quorum ', h('b', {}, job.quorum))]
}

/** "sized to 24 units of ~0.05 s from 20 samples". */
function describeSizing(sizing) {
  const samples = sizing.cuts.reduce((sum, cut) => sum + cut.samples, 0)
  return `sized to ${fmtInt(sizing.units)} units of ~${sizing.unitSeconds} s from ${fmtInt(samples)} samples`
}

function renderResult(job) {
  if (job.state === 'failed') return [h('p', { class: 'error' }, job.error ?? 'failed')]
  if (job.state === 'cancelled') return [h('p', { class: 'muted' }, job.error ?? 'cancelled')]
  if (job.state !== 'done' || job.result === null || job.result === undefined) return []
  const base = `api/jobs/${job.id}/result`
  const name = `${job.task}-${short(job.id)}`
  const result = job.result
  const hasPng = typeof result === 'object' && result.png && typeof result.png.$bytes === 'number'
  const links = h('p', { class: 'downloads' }, 'Download ',
    hasPng && [h('a', { href: `${base}.png`, download: `${name}.png` }, 'PNG'), ' · '],
    h('a', { href: `${base}.json`, download: `${name}.json` }, 'JSON'), ' · ',
    h('a', { href: `${base}.cbor`, download: `${name}.cbor` }, 'CBOR'))
  if (hasPng) {
    const img = h('img', { src: `${base}.png`, alt: `${job.task} result, ${result.width}×${result.height}`, width: result.width, height: result.height, decoding: 'async' })
    return [h('figure', { class: 'result-image' }, h('a', { href: `${base}.png`, target: '_blank' }, img),
      h('figcaption', {}, h('b', {}, `${result.width} × ${result.height}`), h('br'),
        `maxIter ${fmtInt(result.maxIter)}`, h('br'), `${fmtBytes(result.png.$bytes)} PNG`, links))]
  }
  const entries = typeof result === 'object' ? Object.entries(result) : [['result', result]]
  // The headline is the value named like the task (pi's pi), else the first number (primes' count).
  const named = entries.findIndex(([k]) => k === job.task)
  const lead = named >= 0 ? named : Math.max(0, entries.findIndex(([, v]) => typeof v === 'number'))
  const ordered = [entries[lead], ...entries.filter((_, i) => i !== lead)].filter(Boolean)
  return [h('dl', { class: 'result-values' }, ordered.map(([k, v], i) =>
    h('div', { class: i === 0 ? 'primary' : '' }, h('dt', {}, k), h('dd', { title: String(typeof v === 'object' ? JSON.stringify(v) : v) }, describeValue(v))))),
    outputsPreview(job), links]
}

function describeValue(v) {
  if (typeof v === 'number') return fmtNumber(v)
  if (v && typeof v === 'object' && typeof v.$bytes === 'number') return fmtBytes(v.$bytes)
  if (v && typeof v === 'object' && typeof v.$items === 'number') return `${fmtInt(v.$items)} items`
  return typeof v === 'string' ? v : JSON.stringify(v)
}
