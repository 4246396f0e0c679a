// @ts-check
// Program jobs (the js and wasi tasks): their params shown by size, a js job's outputs on
// demand, and the form's file fields, which read the code, the program and the inputs in the
// browser and send their contents. A wasi job's runs are built by tasks/wasi-runs.ts, the code
// the CLI's `submit wasi` uses, which the peer serves to the page as it is.

import { errorText, fmtInt, h, setText } from './util.js'
import { argLines, base64Value, wasiRuns, words } from '../tasks/wasi-runs.js'

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
  if (Array.isArray(value) && (value.length > 64 || value.some((v) => v && typeof v === 'object'))) return `${fmtInt(value.length)} items`
  const base64 = /** @type {{ base64?: unknown }} */ (value)?.base64
  if (typeof base64 === 'string') return `${fmtInt(Math.floor((base64.replace(/[^A-Za-z0-9+/]/g, '').length * 3) / 4))} bytes`
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

/** The wasi params the form builds from its own fields, not from the task's param list. */
export const WASI_OWNED = ['program', 'runs']

/**
 * @param {string} name
 * @param {string} label
 * @param {string} hint
 * @param {Record<string, string | boolean>} attrs
 * @param {() => void} onFocus
 */
function wasiField(name, label, hint, attrs, onFocus) {
  const input = attrs.rows
    ? h('textarea', { name: `wasi.${name}`, spellcheck: 'false', ...attrs })
    : h('input', { name: `wasi.${name}`, autocomplete: 'off', spellcheck: 'false', ...attrs })
  input.addEventListener('focus', onFocus)
  return h('label', { class: 'wasi-param', title: hint }, h('span', {}, label), input, h('small', {}, hint))
}

/**
 * The wasi form's fields, as `submit wasi` has flags: the program, its args, a sweep of stdin
 * files or of argument lines (one run each), one stdin, input files every run sees, env.
 * @param {(hint: string) => void} onFocus
 * @returns {HTMLElement[]}
 */
export function wasiFields(onFocus) {
  /** @type {Array<[string, string, string, Record<string, string | boolean>]>} */
  const fields = [
    [
      'program',
      'program (.wasm)',
      'a WASI preview-1 command module (clang --target=wasm32-wasi, rustc --target wasm32-wasip1)',
      { type: 'file', accept: '.wasm' }
    ],
    [
      'args',
      'args',
      "the arguments of every run, quotes group words; in a stdin sweep {name} is the file's name without extension",
      { placeholder: '-n 3 -d dict.txt {name}' }
    ],
    ['stdins', 'stdin sweep', 'one run per file, as its stdin, in name order (as --stdin-glob)', { type: 'file', multiple: true }],
    [
      'argLines',
      'args lines',
      'one run per line, its words after the args above; # starts a comment (as --args-file)',
      { rows: '3', placeholder: '-n 3 fox\n-n 5 hamlet' }
    ],
    ['stdin', 'stdin', 'one stdin for every run (not with a stdin sweep)', { type: 'file' }],
    ['files', 'input files', 'files every run reads, read-only at /NAME (as --file)', { type: 'file', multiple: true }],
    ['env', 'env', 'K=V, one a line: all the environment the program sees (as --env)', { rows: '2', placeholder: 'LANG=C' }]
  ]
  return fields.map(([name, label, hint, attrs]) => wasiField(name, label, hint, attrs, () => onFocus(`${label}: ${hint}`)))
}

/** @param {File} file */
const bytesOf = async (file) => new Uint8Array(await file.arrayBuffer())

/**
 * The program and runs of the wasi form, read now: the same params `submit wasi` makes of the
 * same choices. Throws saying what is missing or clashes.
 * @param {HTMLFormElement} form
 * @returns {Promise<Record<string, unknown>>}
 */
export async function readWasiParams(form) {
  /** @param {string} name */
  const field = (name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(`wasi.${name}`))
  /** @param {string} name */
  const picked = (name) => [...(field(name)?.files ?? [])]
  const program = picked('program')[0]
  if (!program) throw new Error('choose the program: a .wasm file built for WASI')
  const stdins = picked('stdins')
  const lines = argLines(field('argLines')?.value ?? '')
  if (stdins.length && lines.length) throw new Error('give a stdin sweep or args lines, not both: each makes one run per item')
  /** @type {Record<string, string>} */
  const env = {}
  for (const line of (field('env')?.value ?? '').split(/\r?\n/)) {
    if (line.trim() === '') continue
    const eq = line.indexOf('=')
    if (eq <= 0) throw new Error(`env takes K=V lines, not "${line.slice(0, 40)}"`)
    env[line.slice(0, eq)] = line.slice(eq + 1)
  }
  /** @type {Record<string, Uint8Array>} */
  const files = {}
  for (const file of picked('files')) files[file.name] = await bytesOf(file)
  const stdin = picked('stdin')[0]
  const common = { args: words(field('args')?.value ?? ''), env, files, ...(stdin ? { stdin: await bytesOf(stdin) } : {}) }
  const sweep = stdins.length
    ? /** @type {const} */ ({
        kind: 'stdin',
        stdins: await Promise.all(stdins.map(async (f) => ({ name: f.name, bytes: await bytesOf(f) })))
      })
    : lines.length
      ? /** @type {const} */ ({ kind: 'args', lines })
      : /** @type {const} */ ({ kind: 'one' })
  return { program: base64Value(await bytesOf(program)), runs: wasiRuns(common, sweep) }
}

/**
 * Params from the form's file pickers, read now; they win over what was typed beside them.
 * @param {HTMLFormElement} form
 * @param {string} task
 * @returns {Promise<Record<string, unknown>>}
 */
export async function readFileParams(form, task) {
  if (task === 'wasi') return readWasiParams(form)
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
