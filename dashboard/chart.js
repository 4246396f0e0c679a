// @ts-check
// The results-per-second chart, drawn on a canvas. The feed sends cumulative samples
// [time, results, progress]; rates are differences over a sliding window, so a lost or
// thinned sample bends the curve a little instead of making a spike.

import { fmtDuration, fmtRate } from './util.js'

/** @import { Sample } from '../node/control/live-feed.js' */
/** A column of a sample: 0 time, 1 results received, 2 progress. @typedef {0 | 1 | 2} Column */

/**
 * Index of the last sample at or before t, or -1.
 * @param {Sample[]} samples
 * @param {number} t
 */
function before(samples, t) {
  let lo = 0,
    hi = samples.length - 1,
    found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (samples[mid][0] <= t) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

/**
 * A cumulative column of the samples as a step function of time. Before the first sample the
 * value is unknown (a page or peer that started mid-job), so it is held flat, not taken as 0.
 * @param {Sample[]} samples
 * @param {number} t
 * @param {Column} column
 * @returns {number}
 */
export function valueAt(samples, t, column) {
  if (samples.length === 0) return 0
  const i = before(samples, t)
  return samples[Math.max(0, i)][column]
}

/**
 * Change per second of a column over the `window` ms that end at t.
 * @param {Sample[]} samples
 * @param {number} t
 * @param {number} window
 * @param {Column} [column]
 */
export function rateAt(samples, t, window, column = 1) {
  return (valueAt(samples, t, column) - valueAt(samples, t - window, column)) / (window / 1000)
}

/**
 * Milliseconds left, from how fast progress moved lately, else over the whole run.
 * @param {Sample[]} samples
 * @param {number} progress 0..1
 * @param {number} createdAt
 * @param {number} now
 * @returns {number | null}
 */
export function eta(samples, progress, createdAt, now) {
  if (progress <= 0 || progress >= 1) return null
  const recent = rateAt(samples, now, Math.min(15_000, Math.max(1000, now - createdAt)), 2)
  const overall = (progress / Math.max(1, now - createdAt)) * 1000
  const perSecond = recent > 0 ? recent : overall
  return perSecond > 0 ? ((1 - progress) / perSecond) * 1000 : null
}

/**
 * A round number just above max, so the gridlines fall on values people read easily.
 * @param {number} max
 */
function niceCeil(max) {
  if (max <= 0) return 1
  const step = 10 ** Math.floor(Math.log10(max))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= max) return m * step
  return 10 * step
}

/** @param {Element} canvas */
function colors(canvas) {
  const css = getComputedStyle(canvas)
  /** @param {string} name */
  const v = (name) => css.getPropertyValue(name).trim()
  return { line: v('--chart-line'), fill: v('--chart-fill'), grid: v('--border'), text: v('--muted'), font: `11px ${css.fontFamily}` }
}

/** Bucket widths a person reads easily; the chart uses the smallest giving at most MAX_BARS. */
const STEPS = [500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000]
const MAX_BARS = 32

/**
 * Draws results per second from `from` to `to` (ms) as one bar per time bucket: each bar is
 * what arrived in it, so bursts and stalls show as they were, not smoothed into a trend.
 * @param {HTMLCanvasElement} canvas
 * @param {Sample[]} samples
 * @param {number} from
 * @param {number} to
 */
export function drawRateChart(canvas, samples, from, to) {
  const dpr = window.devicePixelRatio || 1
  const width = canvas.clientWidth,
    height = canvas.clientHeight
  if (width === 0 || height === 0) return
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr)
    canvas.height = Math.round(height * dpr)
  }
  // null when the browser cannot make a 2D context (out of canvas memory): no chart then, the page goes on.
  const ctx = canvas.getContext('2d')
  if (!ctx) return
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
  ctx.clearRect(0, 0, width, height)
  const c = colors(canvas)
  ctx.font = c.font
  const left = 36,
    right = 4,
    top = 8,
    bottom = 18
  const plotW = width - left - right,
    plotH = height - top - bottom
  const span = Math.max(1, to - from)
  const step = STEPS.find((s) => span / s <= MAX_BARS) ?? Math.ceil(span / MAX_BARS)
  const bars = Math.max(1, Math.ceil(span / step))
  /** @type {number[]} */
  const rates = []
  for (let i = 0; i < bars; i++) {
    const a = from + i * step,
      b = Math.min(to, a + step)
    // The last bucket of a running job is partial: its rate is over the part that has passed.
    rates.push(b > a ? Math.max(0, valueAt(samples, b, 1) - valueAt(samples, a, 1)) / ((b - a) / 1000) : 0)
  }
  // A last bucket less than half gone is mostly noise (one burst over a sliver of time): wait.
  if (bars > 1 && to - (from + (bars - 1) * step) < step / 2) rates[bars - 1] = 0
  const max = niceCeil(Math.max(...rates))
  /** @param {number} r */
  const y = (r) => top + plotH - Math.min(1, r / max) * plotH

  ctx.strokeStyle = c.grid
  ctx.fillStyle = c.text
  ctx.lineWidth = 1
  ctx.textAlign = 'right'
  ctx.textBaseline = 'middle'
  for (const f of [0, 0.5, 1]) {
    const gy = Math.round(y(max * f)) + 0.5
    ctx.beginPath()
    ctx.moveTo(left, gy)
    ctx.lineTo(left + plotW, gy)
    ctx.stroke()
    ctx.fillText(fmtRate(max * f), left - 6, gy)
  }
  ctx.textBaseline = 'alphabetic'
  ctx.textAlign = 'left'
  ctx.fillText('0 s', left, height - 4)
  ctx.textAlign = 'center'
  if (plotW > 260) ctx.fillText(`${step < 1000 ? `${step} ms` : fmtDuration(step)} per bar`, left + plotW / 2, height - 4)
  ctx.textAlign = 'right'
  ctx.fillText(fmtDuration(span), left + plotW, height - 4)
  if (samples.length === 0) {
    ctx.textAlign = 'center'
    ctx.fillText('waiting for results', left + plotW / 2, top + plotH / 2)
    return
  }
  const slot = plotW / (span / step)
  const gap = slot > 6 ? Math.min(3, slot * 0.18) : 0
  ctx.fillStyle = c.line
  for (let i = 0; i < bars; i++) {
    if (rates[i] <= 0) continue
    const x = left + i * slot
    const w = Math.max(1, Math.min(slot, left + plotW - x) - gap)
    const yTop = y(rates[i])
    ctx.beginPath()
    ctx.roundRect(x, yTop, w, top + plotH - yTop, [Math.min(2, w / 2), Math.min(2, w / 2), 0, 0])
    ctx.fill()
  }
}
