// @ts-check
// The swarmgrid dashboard. The peer pushes everything over server-sent events (/api/events):
// a snapshot when the stream opens, then batched updates. The page never polls; EventSource
// reconnects by itself (the server sets `retry:`) and the next snapshot replaces the state.

import { JobCard } from './jobs.js'
import { EventLog, SubmitForm, renderDonor, renderPeers } from './panels.js'
import { fmtInt, fmtRate, need, setText, short } from './util.js'

/**
 * @import { FeedJob, FeedPeer, Sample, Snapshot, Update } from '../node/control/live-feed.js'
 * @import { JobView } from '../node/coordinator/job-view.js'
 * @import { UnitReport } from '../node/job/types.js'
 * @import { DonorControlView } from '../node/donor/controls.js'
 * @import { JobActions } from './jobs.js'
 * @import { DonorCommands } from './panels.js'
 */

/** Finished jobs shown under the running ones before "show older" is needed. */
const RECENT_FINISHED = 8
const TOKEN_KEY = 'swarmgrid-token'

/** @param {string} selector */
const $ = (selector) => need(selector)

// The token arrives in the URL fragment (never sent to a server, like Jupyter's ?token URL);
// keep it for this tab and take it out of the address bar, history and screenshots.
const fromHash = /(?:^#|&)token=([0-9a-fA-F]+)/.exec(location.hash)
if (fromHash) {
  sessionStorage.setItem(TOKEN_KEY, fromHash[1])
  history.replaceState(null, '', location.pathname + location.search)
}
const token = () => sessionStorage.getItem(TOKEN_KEY)

const state = {
  /** @type {Map<string, FeedJob>} */
  jobs: new Map(),
  /** @type {Map<string, Sample[]>} */
  samples: new Map(),
  /** @type {Map<string, JobCard>} */
  cards: new Map(),
  /** @type {FeedPeer[]} */
  peers: [],
  /** Client clock minus peer clock, so ETAs and charts use the peer's time line. */
  skew: 0,
  showAll: false,
  order: ''
}
/** Jobs changed since the last frame. @type {Set<string>} */
const dirty = new Set()
let peersDirty = false
const log = new EventLog($('#log'))

/**
 * Calls the control API with the token when the page has one.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<unknown>} the answer's JSON, which has the type the route documents
 */
async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { 'content-type': 'application/json', ...(token() ? { authorization: `Bearer ${token()}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const value = await res.json().catch(() => ({}))
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY)
    form.refreshToken()
    throw new Error(
      'The peer refused the token. Paste the one in its data dir (DATA_DIR/token), or open the URL `swarmgrid start` printed.'
    )
  }
  if (!res.ok) throw new Error(value.error ?? `${method} ${path}: HTTP ${res.status}`)
  return value
}

/** @type {JobActions} */
const actions = {
  canCancel: () => !!token(),
  cancel: (id) => api('POST', `api/jobs/${id}/cancel`),
  explain: (id, unit) => /** @type {Promise<UnitReport>} */ (api('GET', `api/jobs/${id}/units/${unit}`))
}

/** @type {DonorCommands} */
const donorControls = {
  canControl: () => !!token(),
  command: (action) => /** @type {Promise<DonorControlView>} */ (api('POST', `api/donor/${action}`))
}

const form = new SubmitForm(/** @type {HTMLFormElement} */ ($('#submit-form')), {
  onSubmit: async (spec) => {
    const job = /** @type {JobView} */ (await api('POST', 'api/jobs', spec))
    // Shown at once; the feed's updates take over from here.
    if (!state.jobs.has(job.id)) {
      mergeJob({ ...job, result: null }, false)
      schedule()
    }
    return job
  },
  hasToken: () => !!token(),
  setToken: (value) => sessionStorage.setItem(TOKEN_KEY, value)
})

/** Samples a page keeps per job; a job running for hours keeps every other one beyond it. */
const MAX_SAMPLES = 4000

/**
 * @param {FeedJob} feedJob
 * @param {boolean} fresh from a snapshot, whose samples are the peer's whole history
 */
function mergeJob({ samples: incoming = [], ...job }, fresh) {
  state.jobs.set(job.id, job)
  const have = state.samples.get(job.id)
  // A snapshot carries the peer's whole history; keep ours if the peer's is shorter (it restarted).
  let samples = fresh ? (have && have.length > incoming.length ? have : incoming) : (have ?? []).concat(incoming)
  if (samples.length > MAX_SAMPLES) samples = samples.filter((_, i) => i % 2 === 0 || i === samples.length - 1)
  state.samples.set(job.id, samples)
  dirty.add(job.id)
}

/** @param {Snapshot} snap */
function onSnapshot(snap) {
  state.skew = Date.now() - snap.now
  setText($('#grid'), snap.info.grid)
  setText($('#self'), short(snap.info.key))
  $('#self').title = snap.info.key
  document.title = `swarmgrid · ${snap.info.grid} · ${short(snap.info.key)}`
  form.setTasks(snap.info.tasks)
  $('#submit-card').hidden = !snap.info.roles.coordinate
  const present = new Set(snap.jobs.map((j) => j.id))
  for (const id of state.jobs.keys()) if (!present.has(id)) forget(id)
  for (const job of snap.jobs) mergeJob(job, true)
  state.peers = snap.peers
  peersDirty = true
  renderDonor($('#donor'), snap.donor, donorControls)
  log.reset(snap.log)
  schedule()
}

/** @param {Update} update */
function onUpdate(update) {
  state.skew = Date.now() - update.now
  for (const job of update.jobs ?? []) mergeJob(job, false)
  if (update.peers) {
    state.peers = update.peers
    peersDirty = true
  }
  if ('donor' in update) renderDonor($('#donor'), update.donor ?? null, donorControls)
  if (update.log) log.add(update.log)
  schedule()
}

/** @param {string} id */
function forget(id) {
  state.jobs.delete(id)
  state.samples.delete(id)
  state.cards.get(id)?.el.remove()
  state.cards.delete(id)
}

let frame = 0
function schedule() {
  if (!frame) frame = requestAnimationFrame(render)
}

/** Running jobs newest first, then the most recently finished. */
function visibleJobs() {
  const jobs = [...state.jobs.values()]
  const running = jobs.filter((j) => j.state === 'running').sort((a, b) => b.createdAt - a.createdAt)
  const finished = jobs.filter((j) => j.state !== 'running').sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0))
  const hidden = state.showAll ? 0 : Math.max(0, finished.length - RECENT_FINISHED)
  return { list: running.concat(finished.slice(0, finished.length - hidden)), running: running.length, hidden }
}

function render() {
  frame = 0
  const { list, running, hidden } = visibleJobs()
  for (const id of dirty) {
    const job = state.jobs.get(id)
    if (!job) continue
    let card = state.cards.get(id)
    if (!card) state.cards.set(id, (card = new JobCard(job, actions)))
    card.update(job)
    card.ticked = false
  }
  dirty.clear()
  const order = list.map((j) => j.id).join()
  const reordered = order !== state.order
  if (reordered) {
    state.order = order
    $('#jobs').replaceChildren(...list.flatMap((j) => state.cards.get(j.id)?.el ?? []))
  }
  $('#no-jobs').hidden = list.length > 0
  $('#show-older').hidden = hidden === 0
  setText($('#show-older'), `Show ${hidden} older ${hidden === 1 ? 'job' : 'jobs'}`)
  setText($('#s-running'), fmtInt(running))
  if (peersDirty) {
    peersDirty = false
    renderPeers($('#peers tbody'), state.peers)
    const connected = state.peers.filter((p) => p.connected)
    setText($('#s-peers'), fmtInt(connected.length))
    setText($('#s-threads'), fmtInt(connected.reduce((sum, p) => sum + p.threads, 0)))
    setText($('#peers-count'), `${connected.length} connected · ${state.peers.length} known`)
  }
  tickRunning(reordered)
}

/**
 * The clock moves even when no message comes: elapsed times, ETAs and charts follow it.
 * @param {boolean} [all] also the finished jobs' cards, which otherwise draw once
 */
function tickRunning(all = false) {
  const now = Date.now() - state.skew
  let rate = 0
  for (const id of state.order.split(',')) {
    const card = state.cards.get(id)
    if (!card || (!all && card.job.state !== 'running' && card.ticked)) continue
    card.ticked = true
    rate += card.tick(state.samples.get(id) ?? [], now)
  }
  setText($('#s-rate'), fmtRate(rate))
}
const tick = () => tickRunning(true)
setInterval(() => {
  if (!document.hidden) tickRunning()
}, 1000)
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', tick)
new ResizeObserver(() => tick()).observe($('#jobs'))

$('#show-older').addEventListener('click', () => {
  state.showAll = true
  schedule()
})

function connect() {
  const conn = $('#conn')
  const events = new EventSource('api/events')
  /**
   * @param {'live' | 'down'} name
   * @param {string} text
   */
  const status = (name, text) => {
    conn.dataset.state = name
    setText(conn, text)
  }
  events.addEventListener('open', () => status('live', 'live'))
  events.addEventListener('error', () => {
    status('down', 'reconnecting…')
    // EventSource gives up for good on an HTTP error (say, a restarting proxy); try again later.
    if (events.readyState === EventSource.CLOSED) setTimeout(connect, 3000)
  })
  // The peer's own JSON: trusted to be the types live-feed.ts states.
  events.addEventListener('snapshot', (e) => onSnapshot(/** @type {Snapshot} */ (JSON.parse(e.data))))
  events.addEventListener('update', (e) => onUpdate(/** @type {Update} */ (JSON.parse(e.data))))
}

form.refreshToken()
connect()
