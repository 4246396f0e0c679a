// @ts-check
// Program jobs (the js task): their params shown by size, their outputs on demand, and the
// form's file fields, which read the code and the inputs in the browser and send their contents.

import { errorText, fmtInt, h, setText } from './util.js'

/**
 * @import { FeedJob } from '../node/control/live-feed.js'
 * @typedef {{ kind: 'text' | 'values', accept: string, placeholder: string }} FileParam
 */

/**
 * Params a task takes as a file: how the form reads it. 'text': the file as it is; 'values': JSON lines, or one JSON list.
 * @type {Record<string, Record<string, FileParam>>}
 */
export const FILE_PARAMS = {
  js: {
    code: { kind: 'text', accept: '.mjs,.js', placeholder: 'export default (x) => x * 2' },
    inputs: { kind: 'values', accept: '.jsonl,.json,.ndjson', placeholder: '[1, 2, 3]' }
  }
}

/**
 * How a param reads on a job card: long code and big lists by their size.
 * @param {unknown} value
 * @returns {string}
 */
export function paramText(value) {
  const sized = /** @type {{ $chars?: unknown, $items?: unknown, $bytes?: unknown }} */ (value)
  if (value && typeof value === 'object' && typeof sized.$chars === 'number') return `${fmtInt(sized.$chars)} chars`
  if (value && typeof value === 'object' && typeof sized.$items === 'number') return `${fmtInt(sized.$items)} items`
  if (value && typeof value === 'object' && typeof sized.$bytes === 'number') return `${fmtInt(sized.$bytes)} bytes`
  // As the live feed sends them (node/control/live-feed.ts); a job fresh from the form still has them whole.
  if (typeof value === 'string' && value.length > 200) return `${fmtInt(value.length)} chars`
  if (Array.isArray(value) && value.length > 64) return `${fmtInt(value.length)} items`
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value)
  return text.length > 80 ? `${text.slice(0, 77)}…` : text
}

/** The first outputs of a finished js job, fetched when a person opens them. */
const PREVIEW = 50

/**
 * @param {FeedJob} job
 * @returns {HTMLDetailsElement | null}
 */
export function outputsPreview(job) {
  if (job.task !== 'js' || job.state !== 'done') return null
  const list = h('ol', { class: 'outputs', start: 0 })
  const note = h('p', { class: 'muted small' })
  let loaded = false
  const details = /** @type {HTMLDetailsElement} */ (
    h('details', { class: 'outputs-box' }, h('summary', {}, 'Outputs by input'), list, note)
  )
  details.addEventListener('toggle', async () => {
    if (!details.open || loaded) return
    loaded = true
    setText(note, 'loading…')
    try {
      const res = await fetch(`api/jobs/${job.id}/result.json`)
      if (!res.ok) throw new Error(`${res.status} ${await res.text()}`)
      const { outputs } = /** @type {{ outputs: unknown[] }} */ (await res.json())
      list.replaceChildren(...outputs.slice(0, PREVIEW).map((o) => h('li', {}, h('code', {}, paramText(o)))))
      setText(
        note,
        outputs.length > PREVIEW
          ? `the first ${PREVIEW} of ${fmtInt(outputs.length)}; the JSON download has them all`
          : `${fmtInt(outputs.length)} outputs`
      )
    } catch (err) {
      loaded = false
      setText(note, `could not load the outputs: ${errorText(err)}`)
    }
  })
  return details
}

/**
 * One JSON value a line (blank lines skipped), or, for a .json file, one JSON list.
 * @param {string} text
 * @param {string} name
 * @returns {unknown[]}
 */
export function parseValues(text, name) {
  if (/\.json$/i.test(name)) {
    const list = JSON.parse(text)
    if (!Array.isArray(list)) throw new Error(`${name} must hold a JSON list`)
    return list
  }
  return text.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return []
    try {
      return [JSON.parse(line)]
    } catch (err) {
      throw new Error(`${name} line ${i + 1} is no JSON value (${errorText(err)})`)
    }
  })
}

/**
 * The form fields of a param read from a file: a text box (typed code or a JSON list) and a file picker beside it.
 * @param {string} name
 * @param {string} hint
 * @param {FileParam} spec
 * @param {() => void} onFocus
 * @returns {HTMLElement}
 */
export function fileField(name, hint, spec, onFocus) {
  const typed =
    spec.kind === 'text'
      ? h('textarea', { name: `param.${name}`, rows: 3, placeholder: spec.placeholder, spellcheck: 'false' })
      : h('input', { name: `param.${name}`, placeholder: spec.placeholder, autocomplete: 'off', spellcheck: 'false' })
  typed.addEventListener('focus', onFocus)
  const file = h('input', { type: 'file', name: `file.${name}`, accept: spec.accept, 'aria-label': `${name} from a file` })
  return h('label', { class: 'file-param', title: hint }, h('span', {}, name), typed, file)
}

/**
 * Params from the form's file pickers, read now; they win over what was typed beside them.
 * @param {HTMLFormElement} form
 * @param {string} task
 * @returns {Promise<Record<string, unknown>>}
 */
export async function readFileParams(form, task) {
  const specs = FILE_PARAMS[task] ?? {}
  /** @type {Record<string, unknown>} */
  const params = {}
  for (const [name, spec] of Object.entries(specs)) {
    const typedField = /** @type {HTMLInputElement | HTMLTextAreaElement | null} */ (form.elements.namedItem(`param.${name}`))
    const fileField = /** @type {HTMLInputElement | null} */ (form.elements.namedItem(`file.${name}`))
    const typed = String(typedField?.value ?? '').trim()
    const file = fileField?.files?.[0]
    if (file) {
      const text = await file.text()
      params[name] = spec.kind === 'text' ? text : parseValues(text, file.name)
    } else if (typed !== '') {
      params[name] = spec.kind === 'text' ? typed : JSON.parse(typed)
    }
  }
  return params
}
