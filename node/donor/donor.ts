/**
 * node/donor/ — lending this machine: this donor, the units it holds (held-unit.ts) and runs in batches
 * (batch-runner.ts, batch-sizing.ts), the programs they name (shared-source.ts, shared-cache.ts), results kept for a coordinator that went away (pending-results.ts), whose
 * jobs it runs (policy.ts), and its owner's controls: when to donate (governor.ts, schedule.ts,
 * thermal.ts) and the pause and resume commands (controls.ts).
 *
 * The donor: offers its threads to the coordinators it meets, runs the units they lease it in
 * a Piscina pool with a deadline and a memory limit per unit, and reports back. Short units
 * run in batches, and the donor holds enough of them in hand that its threads never wait on
 * the network (batch-sizing.ts). This class takes assigns in and checks them, and keeps what it
 * holds per coordinator; its batch pump (batch-runner.ts) runs them.
 */
import { EventEmitter } from 'node:events'
import type { TaskRegistry } from '../../tasks/registry.js'
import type { CoordinatorLink, DonorSide } from '../protocol/links.js'
import { LIMITS } from '../protocol/wire.js'
import { protocolViolation } from '../protocol/violation.js'
import type * as wire from '../protocol/wire.js'
import { SANDBOXED_TASKS } from '../../tasks/sandboxed.js'
import { PendingResults } from './pending-results.js'
import { createUnitPool, type UnitPool } from '../../worker/unit-pool.js'
import type { DonorPolicy } from './policy.js'
import type { Gate } from './governor.js'
import { BatchSizing } from './batch-sizing.js'
import { BatchRunner } from './batch-runner.js'
import { failureOf, type HeldUnit } from './held-unit.js'
import { Orphans } from './orphans.js'
import { donorThreads } from './threads.js'
import { sharedHashesOf } from '../../tasks/value-limits.js'
import { SharedBytesError, SharedSource } from './shared-source.js'
import { SharedCache } from './shared-cache.js'

/** Past its cap a js unit stops itself; the donor's own timer is the backstop, a little later. */
const JS_CAP_GRACE_MS = 2000
/** Shared byte strings (programs) one unit may name: every built-in task names one at most. */
const MAX_SHARED_PER_UNIT = 4
/** Results a coordinator may leave without a verdict before the oldest are no longer expected. */
const MAX_AWAITING_VERDICTS = 100_000

export interface DonorOptions {
  threads?: number
  registry: TaskRegistry
  /** Heap limit of each unit's thread, in MiB. */
  memoryMb?: number
  /** Where units run (worker/unit-pool.ts); default: Piscina threads in this process. */
  pool?: Pick<UnitPool, 'run' | 'destroy'>
  /** Who may run what here (node/donor/policy.ts); default: any installed task kind. */
  policy?: DonorPolicy
  /** Benchmark score sent with each result, for credit (node/coordinator/credit.ts). */
  speed?: number
  /** Caps on units that run their submitter's own code (the wasm task). */
  wasm?: { memoryMb: number; timeMs: number }
  /** Niceness of the unit threads. */
  nice?: number
  /** Where the shared bytes (programs) units name come from (shared-source.ts); default: memory and the coordinator only. */
  shared?: SharedSource
}

export interface DonorStats {
  threads: number
  busy: number
  unitsRun: number
  accepted: number
  rejected: number
  failed: number
  gate: Gate
}

interface LinkState {
  offered: number
  /**
   * Slots offered on this link and not yet filled: what the coordinator may still assign. A
   * withdrawn offer does not shrink it, since the coordinator may have leased against it
   * before the withdrawal reached it; more units than this are a violation.
   */
  allowance: number
  /** Every unit held for this coordinator, waiting or in a batch. */
  held: Map<number, HeldUnit>
  /** Leases whose results went out on this link and have no verdict yet: only theirs count. */
  awaitingVerdict: Set<number>
  /** The job of the latest unit it leased: what the next request for more is sized by. */
  latestJob?: string
}

export class Donor extends EventEmitter implements DonorSide {
  readonly threads: number
  private readonly pool: Pick<UnitPool, 'run' | 'destroy'>
  private gate: Gate = 'open'
  private readonly links = new Map<CoordinatorLink, LinkState>()
  private readonly stats = { unitsRun: 0, accepted: 0, rejected: 0, failed: 0 }
  /** Units still held for coordinators that went away, and the results they left behind. */
  private readonly orphans = new Orphans()
  readonly pending = new PendingResults()
  private readonly sizing: BatchSizing
  /** The programs units name by hash: in memory, in the cache on disk, or fetched once from their coordinator. */
  readonly shared: SharedSource
  /** Units in hand on their way through the pool, in batches (batch-runner.ts). */
  private readonly batches: BatchRunner
  private stopping = false

  constructor(private readonly options: DonorOptions) {
    super()
    this.threads = donorThreads(options.threads)
    this.pool = options.pool ?? createUnitPool({ threads: this.threads, memoryMb: options.memoryMb })
    this.sizing = new BatchSizing(this.threads)
    this.shared = options.shared ?? new SharedSource(new SharedCache(null))
    this.batches = new BatchRunner({
      threads: this.threads,
      pool: this.pool,
      sizing: this.sizing,
      registry: options.registry,
      wasm: options.wasm,
      nice: options.nice,
      speed: options.speed,
      stats: this.stats,
      stopping: () => this.stopping,
      stop: (held, why) => this.stop(held, why),
      report: (held, err) => this.report(held, err),
      release: (held) => this.release(held),
      deliver: (link, results) => {
        if (this.links.has(link)) this.send(link, results)
        else this.deliverLater(link.key, results)
      },
      offer: (link) => this.offer(link),
      unitStarted: (held) => this.emit('unit-start', held)
    })
  }

  /** A coordinator is reachable: offer it what this donor can take. */
  attach(link: CoordinatorLink): void {
    if (this.stopping || this.links.has(link)) return
    this.links.set(link, { offered: 0, allowance: 0, held: new Map(), awaitingVerdict: new Set() })
    this.offer(link)
    const kept = this.pending.take(link.key)
    if (kept.length > 0) this.send(link, kept)
  }

  /**
   * The connection is gone, not necessarily the coordinator: its units run on, and their
   * results wait for it to come back (it counts them while the units are open).
   */
  detach(link: CoordinatorLink): void {
    const state = this.links.get(link)
    if (!state) return
    this.links.delete(link)
    for (const held of state.held.values()) this.orphans.add(held)
    // Units still waiting for their program from it fail (to no one: the coordinator gave them up with the connection).
    this.shared.detach(link)
  }

  assign(link: CoordinatorLink, msg: wire.AssignMessage): void {
    const state = this.links.get(link)
    if (!state) return
    // Checked before anything is kept: a coordinator that sends more than was asked for gains nothing by it.
    if (msg.units.length > state.allowance) {
      throw protocolViolation(`${msg.units.length} units assigned where ${state.allowance} slots were open`)
    }
    const leases = new Set<number>()
    for (const { lease } of msg.units) {
      if (state.held.has(lease) || leases.has(lease)) throw protocolViolation(`lease ${lease} assigned twice`)
      leases.add(lease)
    }
    state.allowance -= msg.units.length
    state.offered = Math.max(0, state.offered - msg.units.length)
    const failAll = (kind: wire.FailureKind, reason: string) => {
      for (const { lease } of msg.units) link.sendFailure({ lease, kind, reason })
    }
    const task = this.options.registry.get(msg.task)
    if (this.stopping || !task || task.version !== msg.taskVersion) {
      return failAll(
        this.stopping ? 'handback' : 'error',
        this.stopping ? 'donor is stopping' : `task ${msg.task} v${msg.taskVersion} is not installed here`
      )
    }
    const refusal = this.options.policy?.refusal(msg, link.key)
    if (refusal) {
      failAll('refused', refusal)
      this.emit('refused', msg, refusal)
      return
    }
    if (this.gate !== 'open') return failAll('handback', 'donor is paused')
    const wasm = SANDBOXED_TASKS.has(msg.task) ? this.options.wasm : undefined
    // A js unit ends itself at the cap (QuickJS's interrupt handler); the thread is stopped only if that fails.
    const limitMs = wasm ? Math.min(msg.deadlineMs, wasm.timeMs + (msg.task === 'js' ? JS_CAP_GRACE_MS : 0)) : msg.deadlineMs
    state.latestJob = msg.job
    for (const unit of msg.units) {
      let sharedHashes: string[]
      try {
        sharedHashes = sharedHashesOf(unit.input)
      } catch (err) {
        link.sendFailure({ lease: unit.lease, kind: 'error', reason: `malformed unit input: ${(err as Error).message}` })
        continue
      }
      if (sharedHashes.length > MAX_SHARED_PER_UNIT) {
        link.sendFailure({
          lease: unit.lease,
          kind: 'error',
          reason: `the unit names ${sharedHashes.length} programs, at most ${MAX_SHARED_PER_UNIT}`
        })
        continue
      }
      const held: HeldUnit = {
        link,
        job: msg.job,
        task: msg.task,
        deadlineMs: msg.deadlineMs,
        ...unit,
        stopped: null,
        started: false,
        limitMs,
        alone: false,
        batch: null,
        sharedHashes,
        shared: []
      }
      state.held.set(unit.lease, held)
      if (sharedHashes.length === 0) this.batches.add(held)
      else void this.whenShared(held)
    }
    this.batches.schedulePump()
  }

  piece(link: CoordinatorLink, msg: wire.PieceMessage): void {
    this.shared.piece(link, msg)
  }

  /** Queues the unit once the shared bytes it names are in hand; fails it if they cannot be had. */
  private async whenShared(held: HeldUnit): Promise<void> {
    const got = await this.shared.acquireAll(held.link, held.sharedHashes)
    if (held.stopped) {
      if (!(got instanceof SharedBytesError)) for (const [hash] of got) this.shared.release(hash)
      return
    }
    if (got instanceof SharedBytesError) {
      if (got.kind === 'error') this.stats.failed++
      held.link.sendFailure({ lease: held.lease, kind: got.kind, reason: `no program for this unit: ${got.message}` })
      this.release(held)
      this.offer(held.link)
      return
    }
    held.shared = got
    this.batches.add(held)
    this.batches.schedulePump()
  }

  cancel(link: CoordinatorLink, msg: wire.CancelMessage): void {
    const held = this.links.get(link)?.held.get(msg.lease) ?? this.orphans.find(link.key, msg.lease)
    if (held) this.stop(held, 'cancelled')
  }

  verdict(link: CoordinatorLink, msg: wire.VerdictMessage): void {
    // A verdict on a result this donor never gave there would only inflate its counts.
    if (!this.links.get(link)?.awaitingVerdict.delete(msg.lease)) return
    if (msg.accepted) this.stats.accepted++
    else this.stats.rejected++
    this.emit('verdict', msg)
  }

  snapshot(): DonorStats {
    let busy = 0
    for (const state of this.links.values()) busy += state.held.size
    return { threads: this.threads, busy: Math.min(busy, this.threads), ...this.stats, gate: this.gate }
  }

  /**
   * Opens or closes this donor to units (node/donor/governor.ts). Closing withdraws its offers
   * and hands back at once every unit it holds; draining hands back only those not started.
   */
  setGate(gate: Gate): void {
    if (gate === this.gate) return
    this.gate = gate
    if (gate === 'open') {
      for (const link of this.links.keys()) this.offer(link)
      return
    }
    for (const [link, state] of this.links) {
      if (state.offered > 0) link.sendWant({ slots: 0 })
      state.offered = 0
      for (const held of state.held.values()) if (gate === 'closed' || !held.started) this.stop(held, 'handback')
    }
    if (gate === 'closed') for (const held of this.orphans.all()) this.stop(held, 'cancelled')
  }

  /** Hands every unit in flight back to its coordinator, then ends the threads. */
  async close(): Promise<void> {
    this.stopping = true
    for (const state of this.links.values()) {
      for (const held of state.held.values()) this.stop(held, 'handback')
    }
    for (const held of this.orphans.all()) this.stop(held, 'cancelled')
    this.links.clear()
    await this.pool.destroy()
  }

  // --- inside ---

  private report(held: HeldUnit, err: Error): void {
    const failure = failureOf(held, err)
    if (!failure) return
    if (failure.kind !== 'handback') this.stats.failed++
    held.link.sendFailure({ lease: held.lease, ...failure })
  }

  private release(held: HeldUnit): void {
    for (const [hash] of held.shared) this.shared.release(hash)
    held.shared = []
    this.links.get(held.link)?.held.delete(held.lease)
    this.orphans.delete(held)
    this.emit('unit-end', held)
  }

  private stop(held: HeldUnit, why: NonNullable<HeldUnit['stopped']>): void {
    if (held.stopped) return
    held.stopped = why
    const { batch } = held
    if (!batch) {
      // Still waiting: it never reached a thread, so it is settled here, and its slot offered again.
      this.report(held, new Error(why))
      this.release(held)
      this.offer(held.link)
      return
    }
    if (batch.units.every((h) => h.stopped)) batch.abort.abort()
  }

  /** Results that never reached their coordinator are kept for its next connection. */
  private send(link: CoordinatorLink, results: wire.ResultMessage[]): void {
    const awaiting = this.links.get(link)?.awaitingVerdict
    for (const result of results) {
      link.sendResult(result)
      awaiting?.add(result.lease)
    }
    // A coordinator that never answers must not grow this without bound.
    while (awaiting && awaiting.size > MAX_AWAITING_VERDICTS) awaiting.delete(awaiting.values().next().value!)
    void link.delivered?.().then((ok) => {
      if (!ok) this.deliverLater(link.key, results)
    })
  }

  /** To the coordinator's new connection if it already has one, else kept until it has. */
  private deliverLater(key: string, results: wire.ResultMessage[]): void {
    const link = [...this.links.keys()].find((l) => l.key === key)
    if (link) return this.send(link, results)
    for (const result of results) {
      this.pending.keep(key, result)
      this.emit('result-kept', result)
    }
  }

  /** Tops the coordinator's standing offer up to what this donor should hold for it. */
  private offer(link: CoordinatorLink): void {
    const state = this.links.get(link)
    if (!state || this.stopping || this.gate !== 'open') return
    const target = this.sizing.held(state.latestJob)
    const slots = Math.min(LIMITS.slots, target - state.offered - state.held.size)
    // Short units free a slot every few ms: asking for each alone costs a want, an assign and a
    // signature per unit on both main threads, CPU the unit threads lose. Asking once a quarter
    // of the window is free keeps three quarters of it in hand (the window covers a round trip).
    if (slots <= 0 || slots < Math.floor(target / 4)) return
    state.offered += slots
    state.allowance += slots
    link.sendWant({ slots })
  }
}
