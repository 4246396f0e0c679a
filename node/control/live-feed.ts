/**
 * The dashboard's live feed: server-sent events on GET /api/events. A client gets the whole
 * picture once ('snapshot'), then 'update' messages that carry only what changed. The peer
 * emits 'progress' once per unit event, which with hundreds of units and dozens of donors is
 * far too often for a page to redraw, so events only mark things dirty and one flush at most
 * every FLUSH_MS sends them, coalesced.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { toJsonSafe } from '../../tasks/values.js'
import { outlineOf, type OutlineLimits } from '../coordinator/params-outline.js'
import type { LogEntry } from '../../base/log.js'
import type { JobView } from '../coordinator/job-view.js'
import type { DonorStats } from '../donor/donor.js'
import type { ControlledPeer, PeerView, TaskListing } from './types.js'

const FLUSH_MS = 250
/** Peers are costlier to gather (the store is read) and change slower than jobs. */
const PEERS_MS = 1000
const KEEPALIVE_MS = 15_000
/** What EventSource waits before it reconnects, e.g. while the peer restarts. */
const RETRY_MS = 2000
const SNAPSHOT_LOG = 200
/** Samples kept per job for the results-per-second chart; beyond it every other one goes. */
const MAX_SAMPLES = 1200
const MAX_JOBS_WITH_HISTORY = 100
/** Open streams at most: each holds a socket and a snapshot's worth of work; a few tabs need far fewer. */
export const MAX_FEED_CLIENTS = 32
/** A client this far behind is dropped; its EventSource reconnects and gets a snapshot. */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024
/** A job's program and inputs would ride along in every update: past these they go by their size. */
const FEED_OUTLINE: OutlineLimits = { chars: 200, bytes: 0, items: 64 }

/** [time ms, results received, progress 0..1]: cumulative, so rates survive lost samples. */
export type Sample = [number, number, number]

/** A job as the feed sends it: byte arrays in the result are replaced by { $bytes: length }. */
export type FeedJob = Omit<JobView, 'result'> & { result: unknown; samples?: Sample[] }

export interface FeedPeer extends PeerView {
  /** Lower bound of the 95% Wilson interval of good results over judged ones: 0..1, null if unjudged. */
  reputation: number | null
  /** Results in a row that agreed with the accepted answer. */
  streak: number
  lastSeen: number | null
}

export interface Snapshot {
  now: number
  info: { key: string; grid: string; roles: ControlledPeer['roles']; tasks: TaskListing[] }
  jobs: FeedJob[]
  peers: FeedPeer[]
  donor: DonorStats | null
  log: LogEntry[]
}

export interface Update {
  now: number
  jobs?: FeedJob[]
  peers?: FeedPeer[]
  donor?: DonorStats | null
  log?: LogEntry[]
}

export class LiveFeed {
  private readonly clients = new Set<ServerResponse>()
  private readonly history = new Map<string, Sample[]>()
  private readonly dirtyJobs = new Set<string>()
  private pendingLog: LogEntry[] = []
  private peersDirty = true
  private donorDirty = true
  private lastFlush = 0
  private lastPeers = 0
  private sentPeers = ''
  private sentDonor = ''
  private flushTimer: NodeJS.Timeout | null = null
  private readonly keepalive: NodeJS.Timeout
  private readonly detach: () => void

  constructor(private readonly peer: ControlledPeer) {
    const onProgress = (id: string) => {
      this.dirtyJobs.add(id)
      this.schedule()
    }
    const onLog = (entry: LogEntry) => {
      this.pendingLog.push(entry)
      if (entry.peer || entry.kind === 'peer') this.peersDirty = true
      this.schedule()
    }
    const onDonor = () => {
      this.donorDirty = true
      this.schedule()
    }
    peer.on('progress', onProgress)
    peer.on('log', onLog)
    peer.on('donor', onDonor)
    this.detach = () => {
      peer.off('progress', onProgress)
      peer.off('log', onLog)
      peer.off('donor', onDonor)
    }
    // Also refreshes peers and donor when nothing else happens, e.g. a donor-only peer's page.
    this.keepalive = setInterval(() => {
      this.peersDirty = this.donorDirty = true
      this.schedule()
      for (const res of this.clients) res.write(': keepalive\n\n')
    }, KEEPALIVE_MS)
    this.keepalive.unref()
  }

  /** Handles GET /api/events: holds the response open and streams to it. */
  connect(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= MAX_FEED_CLIENTS) {
      res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '5' })
      res.end(JSON.stringify({ error: `${MAX_FEED_CLIENTS} live feeds are open already: close a dashboard tab` }))
      return
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no'
    })
    res.socket?.setNoDelay(true)
    res.write(`retry: ${RETRY_MS}\n\n`)
    send(res, 'snapshot', this.snapshot())
    this.clients.add(res)
    const drop = () => this.clients.delete(res)
    req.on('close', drop)
    res.on('close', drop)
  }

  /** Ends every stream so the server can close; the pages then retry until a peer is back. */
  close(): void {
    this.detach()
    clearInterval(this.keepalive)
    if (this.flushTimer) clearTimeout(this.flushTimer)
    this.flushTimer = null
    for (const res of this.clients) res.end()
    this.clients.clear()
  }

  snapshot(): Snapshot {
    const { peer } = this
    const now = Date.now()
    return {
      now,
      info: {
        key: peer.key,
        grid: peer.grid,
        roles: peer.roles,
        tasks: peer.tasks()
      },
      jobs: peer.jobs().map((view) => ({ ...slim(view), samples: this.history.get(view.id) ?? [] })),
      peers: this.peerViews(),
      donor: peer.donorStats(),
      log: peer.log.slice(-SNAPSHOT_LOG)
    }
  }

  private schedule(): void {
    if (this.flushTimer) return
    // A short minimum wait lets a burst of events (one unit settling) land in one message.
    const wait = Math.max(40, this.lastFlush + FLUSH_MS - Date.now())
    this.flushTimer = setTimeout(() => this.flush(), wait)
    this.flushTimer.unref()
  }

  private flush(): void {
    this.flushTimer = null
    const now = Date.now()
    this.lastFlush = now
    const update: Update = { now }

    // Sampled even with no page open, so a page opened mid-job draws the chart from the start.
    const jobs: FeedJob[] = []
    for (const id of this.dirtyJobs) {
      const view = this.peer.status(id)
      if (!view) continue
      const sample: Sample = [now, view.results, view.progress]
      this.record(id, sample)
      jobs.push({ ...slim(view), samples: [sample] })
    }
    this.dirtyJobs.clear()
    if (jobs.length) update.jobs = jobs
    if (this.pendingLog.length) update.log = this.pendingLog
    this.pendingLog = []

    if (this.clients.size === 0) return
    if (this.donorDirty) {
      this.donorDirty = false
      const donor = this.peer.donorStats()
      const json = JSON.stringify(donor)
      if (json !== this.sentDonor) {
        this.sentDonor = json
        update.donor = donor
      }
    }
    if (this.peersDirty || jobs.length) {
      if (now - this.lastPeers >= PEERS_MS) {
        this.peersDirty = false
        this.lastPeers = now
        const peers = this.peerViews()
        const json = JSON.stringify(peers)
        if (json !== this.sentPeers) {
          this.sentPeers = json
          update.peers = peers
        }
      } else {
        this.peersDirty = true
        this.schedule()
      }
    }
    if (Object.keys(update).length === 1) return
    for (const res of this.clients) {
      if (res.writableLength > MAX_BACKLOG_BYTES) {
        res.destroy()
        this.clients.delete(res)
        continue
      }
      send(res, 'update', update)
    }
  }

  private record(id: string, sample: Sample): void {
    let samples = this.history.get(id)
    if (!samples) {
      samples = []
      this.history.set(id, samples)
      if (this.history.size > MAX_JOBS_WITH_HISTORY) this.history.delete(this.history.keys().next().value!)
    }
    samples.push(sample)
    if (samples.length > MAX_SAMPLES) {
      const last = samples[samples.length - 1]
      const thinned = samples.filter((_, i) => i % 2 === 0)
      if (thinned[thinned.length - 1] !== last) thinned.push(last)
      samples.splice(0, samples.length, ...thinned)
    }
  }

  private peerViews(): FeedPeer[] {
    return this.peer.peers().map((view) => {
      const stored = this.peer.reputation(view.key)
      return {
        ...view,
        reputation: wilsonLower(view.validated, view.validated + view.invalidated + view.errors),
        streak: stored?.consecutiveValid ?? 0,
        lastSeen: stored?.lastSeen || null
      }
    })
  }
}

function send(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
}

/** The job without its result's bytes: an image goes by its own URL, not in every update. */
export function slim(view: JobView): FeedJob {
  return { ...view, params: stripBytes(outlineOf(view.params, FEED_OUTLINE)) as JobView['params'], result: stripBytes(view.result) }
}

function stripBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bytes: value.byteLength }
  if (Array.isArray(value)) return value.length > 64 ? { $items: value.length } : value.map(stripBytes)
  if (value === null || typeof value !== 'object') return toJsonSafe(value)
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stripBytes(v)]))
}

/**
 * Agreement rate alone ranks a peer with 1 good result above one with 999 of 1000; the lower
 * bound of the Wilson interval grows with evidence, as trust should.
 */
export function wilsonLower(good: number, total: number, z = 1.96): number | null {
  if (total === 0) return null
  const p = good / total
  const z2 = z * z
  return (p + z2 / (2 * total) - z * Math.sqrt((p * (1 - p) + z2 / (4 * total)) / total)) / (1 + z2 / total)
}
