// @ts-check
// Small helpers shared by the dashboard's modules: element building and number formatting.

/**
 * An attribute value: `on…` keys take a listener, `dataset` takes the data-* values, a boolean
 * is present or absent, and null, undefined or false leave the attribute out.
 * @typedef {string | number | boolean | null | undefined | EventListener | Record<string, string>} AttrValue
 */
/** @typedef {Node | string | number | false | null | undefined | Child[]} Child */

/**
 * Builds an element: h('div', { class: 'x', onclick }, child, 'text', [more]).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, AttrValue>} [attrs]
 * @param {Child[]} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (key.startsWith('on')) el.addEventListener(key.slice(2), /** @type {EventListener} */ (value))
    else if (key === 'dataset') Object.assign(el.dataset, value)
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  append(el, children)
  return el
}

/**
 * @param {Element} el
 * @param {Child[]} children
 */
function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue
    if (Array.isArray(child)) append(el, child)
    else el.append(child instanceof Node ? child : String(child))
  }
}

/**
 * The element the page's HTML is built with: a missing one is a broken page, said at once.
 * @param {string} selector
 * @param {ParentNode} [root]
 * @returns {HTMLElement}
 */
export function need(selector, root = document) {
  const el = root.querySelector(selector)
  if (!(el instanceof HTMLElement)) throw new Error(`the dashboard's page has no ${selector}`)
  return el
}

/**
 * What to show for a failure: a thrown value need not be an Error.
 * @param {unknown} err
 * @returns {string}
 */
export function errorText(err) {
  return err instanceof Error ? err.message : String(err)
}

/**
 * Sets text only when it changed: cheaper for the browser, and selections survive updates.
 * @param {Node} el
 * @param {string | number} text
 */
export function setText(el, text) {
  const value = String(text)
  if (el.textContent !== value) el.textContent = value
}

/** @param {string} key */
export const short = (key) => key.slice(0, 8)

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 })
/** @param {number} n */
export const fmtInt = (n) => integer.format(n)

/**
 * Numbers as numbers: integers grouped, fractions with the digits that matter.
 * @param {number} n
 */
export function fmtNumber(n) {
  if (Number.isInteger(n)) return fmtInt(n)
  if (Math.abs(n) >= 1000) return n.toLocaleString(undefined, { maximumFractionDigits: 2 })
  return n.toPrecision(Math.abs(n) < 1e-3 ? 4 : 10).replace(/\.?0+$/, '')
}

/** @param {number} r results per second */
export function fmtRate(r) {
  if (!Number.isFinite(r) || r <= 0) return '0'
  if (Number.isInteger(r)) return fmtInt(r)
  return r >= 100 ? fmtInt(r) : r >= 10 ? r.toFixed(1) : r.toFixed(2)
}

/** @param {number} ms */
export function fmtDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '—'
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, '0')} min`
}

/** @param {number} at ms since the epoch */
export function fmtClock(at) {
  return new Date(at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })
}

/**
 * @param {number | null | undefined} f a fraction, 0..1
 * @param {number} [digits]
 */
export function fmtPercent(f, digits = 0) {
  return f === null || f === undefined ? '—' : `${(f * 100).toFixed(digits)}%`
}

/** @param {number} n */
export function fmtBytes(n) {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

/**
 * A stable hue for a peer key, so a peer keeps its colour in the table and the log.
 * @param {string} key hex
 */
export function keyHue(key) {
  return parseInt(key.slice(0, 6), 16) % 360
}
