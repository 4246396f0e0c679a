// @ts-check
// The side panels: the peers table, this peer's donor side, the event log, the submit form.

import { errorText, fmtClock, fmtInt, fmtPercent, h, keyHue, need, setText, short } from './util.js'
import { FILE_PARAMS, WASI_OWNED, fileField, readFileParams, wasiFields } from './programs.js'
import { inputAttributes, paramFields, readParam } from './param-fields.js'

/**
 * @import { FeedPeer } from '../node/control/live-feed.js'
 * @import { TaskListing } from '../node/control/types.js'
 * @import { DonorStats } from '../node/donor/donor.js'
 * @import { DonorControlView } from '../node/donor/controls.js'
 * @import { Gate } from '../node/donor/governor.js'
 * @import { JobSpec } from '../node/coordinator/job-spec.js'
 * @import { JobView } from '../node/coordinator/job-view.js'
 * @import { LogEntry } from '../base/log.js'
 */
/**
 * The owner's commands to this peer's donor, sent to the control API.
 * @typedef {object} DonorCommands
 * @property {() => boolean} canControl whether the page has the token the commands need
 * @property {(action: 'pause' | 'finish' | 'resume') => Promise<DonorControlView>} command
 */
/**
 * What the submit form needs of the page.
 * @typedef {object} SubmitHandlers
 * @property {(spec: JobSpec) => Promise<JobView>} onSubmit resolves with the new job or throws with the server's message
 * @property {() => boolean} hasToken
 * @property {(token: string) => void} setToken
 */

const LOG_ROWS = 300

/**
 * Connected peers first, the outvoted among them on top (that is what needs a look), then by work done.
 * @param {FeedPeer} a
 * @param {FeedPeer} b
 */
function byStanding(a, b) {
  return (
    Number(b.connected) - Number(a.connected) ||
    Number(b.outvoted) - Number(a.outvoted) ||
    b.validated - a.validated ||
    a.key.localeCompare(b.key)
  )
}

/**
 * @param {HTMLElement} tbody
 * @param {FeedPeer[]} peers
 */
export function renderPeers(tbody, peers) {
  const rows = [...peers].sort(byStanding).map((p) => {
    const judged = p.validated + p.invalidated
    const rep = p.reputation
    return h(
      'tr',
      { class: p.connected ? '' : 'gone', dataset: { key: p.key } },
      h(
        'td',
        {},
        h('span', { class: 'dot', style: `--hue:${keyHue(p.key)}` }),
        h('code', { title: p.key }, short(p.key)),
        p.connected ? null : h('span', { class: 'tag muted' }, 'left')
      ),
      h('td', { class: 'mono muted' }, p.host),
      h(
        'td',
        {},
        p.tasks.length ? p.tasks.map((t) => h('span', { class: 'chip' }, t)) : h('span', { class: 'muted' }, p.roles.join(', ') || '—')
      ),
      h('td', { class: 'num' }, p.threads || '—'),
      h('td', { class: 'num', title: 'results that agreed with the accepted answer' }, fmtInt(p.validated)),
      h('td', { class: 'num', title: `${p.validated} of ${judged} judged results agreed` }, fmtPercent(p.agreement, judged >= 100 ? 1 : 0)),
      h(
        'td',
        { class: 'num', title: 'credit this peer granted it: CPU-seconds of its validated results, normalised by its benchmark' },
        p.credit ? p.credit.toFixed(2) : h('span', { class: 'muted' }, '—')
      ),
      h(
        'td',
        { title: 'lower bound of the 95% interval of good results; grows with evidence' },
        rep === null
          ? h('span', { class: 'muted' }, 'unproven')
          : h('span', { class: 'rep' }, h('meter', { min: 0, max: 1, low: 0.5, high: 0.8, optimum: 1, value: rep }), rep.toFixed(2))
      ),
      h(
        'td',
        {},
        p.outvoted
          ? h('span', { class: 'tag bad', title: `${p.invalidated} results lost a vote` }, `outvoted ×${p.invalidated}`)
          : p.errors
            ? h('span', { class: 'tag warn' }, `${p.errors} errors`)
            : h('span', { class: 'muted' }, '—')
      )
    )
  })
  tbody.replaceChildren(...rows)
  if (rows.length === 0)
    tbody.append(h('tr', {}, h('td', { colspan: 9, class: 'empty' }, 'No peers yet: donors that join the grid show up here.')))
}

/** @type {Record<Gate, string>} */
const GATE_LABEL = { open: 'donating', drain: 'finishing the units running, then pausing', closed: 'paused' }
/** Why the donor is paused, as the last command answered; the feed carries only the gate. */
let donorReasons = ''

/**
 * @param {HTMLElement} el
 * @param {DonorStats | null} donor null when this peer does not donate
 * @param {DonorCommands} controls
 */
export function renderDonor(el, donor, controls) {
  if (!donor) {
    el.replaceChildren(h('p', { class: 'muted' }, 'This peer does not donate (started with --no-donate).'))
    return
  }
  const cells = Array.from({ length: donor.threads }, (_, i) => h('span', { class: i < donor.busy ? 'cell busy' : 'cell' }))
  const gate = donor.gate ?? 'open'
  if (gate === 'open') donorReasons = ''
  el.replaceChildren(
    h('div', { class: 'threads', title: `${donor.busy} of ${donor.threads} threads busy` }, cells),
    h('p', { class: 'muted small' }, `${donor.busy} of ${donor.threads} threads busy`),
    h('p', { class: `donor-gate g-${gate}`, role: 'status' }, GATE_LABEL[gate] ?? gate, donorReasons ? ` (${donorReasons})` : ''),
    donorButtons(el, donor, gate, controls),
    h(
      'dl',
      { class: 'donor-stats' },
      stat('units run', donor.unitsRun, 'units this peer finished for the grid'),
      stat(
        'accepted',
        donor.accepted,
        "results of this peer that were accepted (credit, in CPU-seconds, is in each coordinator's peers table)"
      ),
      stat('rejected', donor.rejected, 'results of this peer that lost a vote', donor.rejected > 0),
      stat('failed', donor.failed, 'units that failed here', donor.failed > 0)
    )
  )
}

/**
 * @param {HTMLElement} el
 * @param {DonorStats} donor
 * @param {Gate} gate
 * @param {DonorCommands} controls
 */
function donorButtons(el, donor, gate, controls) {
  const can = controls.canControl()
  /** @param {'pause' | 'finish' | 'resume'} action */
  const run = (action) => async () => {
    try {
      const view = await controls.command(action)
      donorReasons = view.reasons?.join(', ') ?? ''
      renderDonor(el, { ...donor, gate: view.gate }, controls)
    } catch (err) {
      donorReasons = errorText(err)
      renderDonor(el, donor, controls)
    }
  }
  /**
   * @param {string} label
   * @param {'pause' | 'finish' | 'resume'} action
   * @param {string} hint
   */
  const button = (label, action, hint) =>
    h(
      'button',
      {
        class: 'ghost',
        type: 'button',
        disabled: !can,
        title: can ? hint : 'needs the token: open the URL that `swarmgrid start` printed',
        onclick: run(action)
      },
      label
    )
  return h(
    'div',
    { class: 'donor-actions' },
    gate === 'open' ? button('Pause', 'pause', 'hand back every unit now and stop donating') : null,
    gate === 'open' ? button('Finish, then pause', 'finish', 'finish the units running, hand back the rest, then pause') : null,
    gate !== 'open'
      ? button('Resume', 'resume', 'donate again (a pause for a busy or hot machine or a schedule stays until it passes)')
      : null
  )
}

/**
 * @param {string} label
 * @param {number} value
 * @param {string} hint
 * @param {boolean} [bad]
 */
function stat(label, value, hint, bad = false) {
  return h('div', { title: hint, class: bad ? 'bad' : '' }, h('dt', {}, label), h('dd', {}, fmtInt(value)))
}

/** @type {Record<string, string>} */
const KIND_LABEL = { peer: 'peer', job: 'job', disagreement: 'disagree', reissue: 'reissue', failure: 'failure', violation: 'violation' }

export class EventLog {
  /** @param {HTMLElement} list */
  constructor(list) {
    this.list = list
  }

  /**
   * Newest first; a burst of hundreds of entries is one DOM insertion.
   * @param {LogEntry[]} entries
   */
  add(entries) {
    if (!entries.length) return
    const fragment = document.createDocumentFragment()
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]
      fragment.append(
        h(
          'li',
          { class: `k-${e.kind}` },
          h('time', { datetime: new Date(e.at).toISOString() }, fmtClock(e.at)),
          h('span', { class: 'kind' }, KIND_LABEL[e.kind] ?? e.kind),
          h('span', { class: 'text' }, e.text)
        )
      )
    }
    this.list.prepend(fragment)
    while (this.list.childElementCount > LOG_ROWS) this.list.lastElementChild?.remove()
  }

  /** @param {LogEntry[]} entries */
  reset(entries) {
    this.list.replaceChildren()
    this.add(entries)
  }
}

/**
 * The submit form: one field per parameter the task describes, left empty for its default.
 * onSubmit(spec) resolves with the new job or throws with the server's message.
 */
export class SubmitForm {
  /**
   * @param {HTMLFormElement} form
   * @param {SubmitHandlers} handlers
   */
  constructor(form, { onSubmit, hasToken, setToken }) {
    this.form = form
    this.onSubmit = onSubmit
    this.hasToken = hasToken
    this.setToken = setToken
    /** @type {TaskListing[]} */
    this.tasks = []
    /** @type {import('./param-fields.js').ParamField[]} */
    this.paramFields = []
    this.select = /** @type {HTMLSelectElement} */ (form.elements.namedItem('task'))
    this.fields = need('.param-fields', form)
    this.hint = need('.param-hint', form)
    this.message = need('.form-message', form)
    this.tokenRow = need('.token-row', form)
    this.select.addEventListener('change', () => this.renderFields())
    this.split = /** @type {HTMLSelectElement} */ (form.elements.namedItem('split'))
    this.split.addEventListener('change', () => this.showSplit())
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      void this.submit()
    })
  }

  /** @param {TaskListing[]} tasks */
  setTasks(tasks) {
    const names = tasks.map((t) => t.name).join()
    if (names === this.tasks.map((t) => t.name).join()) return
    const chosen = this.select.value || 'mandelbrot'
    this.tasks = tasks
    this.select.replaceChildren(...tasks.map((t) => h('option', { value: t.name }, t.name)))
    if (tasks.some((t) => t.name === chosen)) this.select.value = chosen
    this.renderFields()
  }

  refreshToken() {
    this.tokenRow.hidden = this.hasToken()
  }

  /** Either the unit count or the seconds per unit: the other field is disabled, so it is neither checked nor sent. */
  showSplit() {
    const bySeconds = this.split.value === 'seconds'
    for (const [name, shown] of /** @type {const} */ ([
      ['units', !bySeconds],
      ['unitSeconds', bySeconds]
    ])) {
      const input = /** @type {HTMLInputElement} */ (this.form.elements.namedItem(name))
      input.disabled = !shown
      const label = input.closest('label')
      if (label) label.hidden = !shown
    }
  }

  renderFields() {
    const task = this.tasks.find((t) => t.name === this.select.value)
    const files = (task && FILE_PARAMS[task.name]) ?? {}
    const isWasi = task?.name === 'wasi'
    const fields = paramFields(task).filter((field) => !(isWasi && WASI_OWNED.includes(field.name)))
    // Program files are read by programs.js; every other field by its schema type (param-fields.js).
    this.paramFields = fields.filter((field) => !files[field.name])
    this.fields.replaceChildren(
      ...(isWasi ? wasiFields((hint) => setText(this.hint, hint)) : []),
      ...fields.map((field) => {
        const focus = () => setText(this.hint, `${field.name}: ${field.hint}`)
        if (files[field.name]) return fileField(field.name, field.hint, files[field.name], focus)
        const input = h('input', inputAttributes(field))
        input.addEventListener('focus', focus)
        return h('label', { title: field.hint }, h('span', {}, field.name), input)
      })
    )
    setText(this.hint, fields.length ? 'Leave a field empty for its default.' : 'This task takes no parameters.')
    // A program job's units follow its inputs unless asked otherwise: an empty count is the task's default.
    const units = /** @type {HTMLInputElement} */ (this.form.elements.namedItem('units'))
    if (Object.keys(files).length > 0 || isWasi) units.value = ''
    else if (units.value === '') units.value = '16'
    this.refreshToken()
  }

  async submit() {
    const data = new FormData(this.form)
    const token = String(data.get('token') ?? '').trim()
    if (token) this.setToken(token)
    // The task is null when the peer lists none; the server then answers that a job needs one.
    const task = String(data.get('task'))
    /** @type {Record<string, string | number | boolean>} */
    const params = {}
    try {
      for (const field of this.paramFields) {
        const value = readParam(field, data.get(`param.${field.name}`))
        if (value !== undefined) params[field.name] = value
      }
    } catch (err) {
      this.say(errorText(err), 'bad')
      return
    }
    const units = String(data.get('units') ?? '').trim()
    const size = data.has('unitSeconds') ? { unitSeconds: Number(data.get('unitSeconds')) } : units === '' ? {} : { units: Number(units) }
    const button = /** @type {HTMLButtonElement} */ (need('button[type=submit]', this.form))
    button.disabled = true
    this.say('')
    try {
      const spec = { task, params: { ...params, ...(await readFileParams(this.form, task)) }, ...size, quorum: Number(data.get('quorum')) }
      const job = await this.onSubmit(spec)
      const sized = job.sizing ? ` of about ${job.sizing.unitSeconds} s` : ''
      this.say(`Submitted ${job.task} job ${short(job.id)}: ${job.units} units${sized}.`, 'ok')
    } catch (err) {
      this.say(errorText(err), 'bad')
    } finally {
      button.disabled = false
      this.refreshToken()
    }
  }

  /**
   * @param {string} text
   * @param {'' | 'ok' | 'bad'} [kind]
   */
  say(text, kind = '') {
    setText(this.message, text)
    this.message.className = `form-message ${kind}`
  }
}
