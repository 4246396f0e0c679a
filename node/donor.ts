/**
 * The donor: offers its threads to the coordinators it meets, runs the units they lease it in
 * a Piscina pool with a deadline and a memory limit per unit, and reports back.
 */
import { EventEmitter } from 'node:events'
import { availableParallelism } from 'node:os'
import { MessageChannel } from 'node:worker_threads'
import { expose } from 'comlink/dist/esm/comlink.mjs'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import type { TaskRegistry } from '../tasks/registry.js'
import type { RunRequest, RunResponse, UnitReporter } from '../worker/messages.js'
import type { CoordinatorLink, DonorSide } from './links.js'
import type * as wire from './wire.js'
import { PendingResults } from './pending-results.js'
import { createUnitPool, type UnitPool } from './unit-pool.js'
import type { DonorPolicy } from './donor-policy.js'
import type { Gate } from './donor-governor.js'
import { isMemoryCapError } from '../worker/wasm-sandbox.js'

/** Units leased ahead of free threads, so a thread never idles for a network round trip. */
const PREFETCH_PER_THREAD = 1

export interface DonorOptions {
  threads?: number
  registry: TaskRegistry
  /** Heap limit of each unit's thread, in MiB. */
  memoryMb?: number
  /** Where units run (node/unit-pool.ts); default: Piscina threads in this process. */
  pool?: Pick<UnitPool, 'run' | 'destroy'>
  /** Who may run what here (node/donor-policy.ts); default: any installed task kind. */
  policy?: DonorPolicy
  /** Benchmark score sent with each result, for credit (node/credit.ts). */
  speed?: number
  /** Caps on units that run their submitter's own code (the wasm task). */
  wasm?: { memoryMb: number; timeMs: number }
  /** Niceness of the unit threads. */
  nice?: number
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

interface Running {
  link: CoordinatorLink
  msg: wire.AssignMessage
  abort: AbortController
  /** Why it was stopped, when the donor itself stopped it. */
  stopped: 'cancelled' | 'handback' | 'deadline' | null
  /** Left the pool's queue for a thread: a draining donor lets it finish. */
  started: boolean
  /** The coordinator's deadline, or the donor's own cap on wasm units when shorter. */
  limitMs: number
}

interface LinkState { offered: number; running: Map<number, Running> }

export class Donor extends EventEmitter implements DonorSide {
  readonly threads: number
  private readonly pool: Pick<UnitPool, 'run' | 'destroy'>
  private gate: Gate = 'open'
  private readonly links = new Map<CoordinatorLink, LinkState>()
  private readonly stats = { unitsRun: 0, accepted: 0, rejected: 0, failed: 0 }
  /** Units still running for coordinators that went away, and the results they left behind. */
  private readonly orphans = new Set<Running>()
  readonly pending = new PendingResults()
  private stopping = false

  constructor(private readonly options: DonorOptions) {
    super()
    this.threads = Math.max(1, options.threads ?? availableParallelism())
    this.pool = options.pool ?? createUnitPool({ threads: this.threads, memoryMb: options.memoryMb })
  }

  /** A coordinator is reachable: offer it what this donor can take. */
  attach(link: CoordinatorLink): void {
    if (this.stopping || this.links.has(link)) return
    this.links.set(link, { offered: 0, running: new Map() })
    this.offer(link)
    for (const result of this.pending.take(link.key)) this.send(link, result)
  }

  /**
   * The connection is gone, not necessarily the coordinator: its units run on, and their
   * results wait for it to come back (it counts them while the units are open).
   */
  detach(link: CoordinatorLink): void {
    const state = this.links.get(link)
    if (!state) return
    this.links.delete(link)
    for (const running of state.running.values()) this.orphans.add(running)
  }

  assign(link: CoordinatorLink, msg: wire.AssignMessage): void {
    const state = this.links.get(link)
    if (!state) return
    if (state.running.has(msg.lease)) throw new Error(`lease ${msg.lease} assigned twice`)
    state.offered = Math.max(0, state.offered - 1)
    const task = this.options.registry.get(msg.task)
    if (this.stopping || !task || task.version !== msg.taskVersion) {
      const reason = this.stopping ? 'donor is stopping' : `task ${msg.task} v${msg.taskVersion} is not installed here`
      link.sendFailure({ lease: msg.lease, kind: this.stopping ? 'handback' : 'error', reason })
      return
    }
    const refusal = this.options.policy?.refusal(msg)
    if (refusal) {
      link.sendFailure({ lease: msg.lease, kind: 'refused', reason: refusal })
      this.emit('refused', msg, refusal)
      return
    }
    if (this.gate !== 'open') {
      link.sendFailure({ lease: msg.lease, kind: 'handback', reason: 'donor is paused' })
      return
    }
    const wasm = msg.task === 'wasm' ? this.options.wasm : undefined
    const limitMs = wasm ? Math.min(msg.deadlineMs, wasm.timeMs) : msg.deadlineMs
    const running: Running = { link, msg, abort: new AbortController(), stopped: null, started: false, limitMs }
    state.running.set(msg.lease, running)
    void this.run(running, state)
  }

  cancel(link: CoordinatorLink, msg: wire.CancelMessage): void {
    const running = this.links.get(link)?.running.get(msg.lease) ??
      [...this.orphans].find((o) => o.link.key === link.key && o.msg.lease === msg.lease)
    if (running) this.stop(running, 'cancelled')
  }

  verdict(_link: CoordinatorLink, msg: wire.VerdictMessage): void {
    if (msg.accepted) this.stats.accepted++
    else this.stats.rejected++
    this.emit('verdict', msg)
  }

  snapshot(): DonorStats {
    let busy = 0
    for (const state of this.links.values()) busy += state.running.size
    return { threads: this.threads, busy: Math.min(busy, this.threads), ...this.stats, gate: this.gate }
  }

  /**
   * Opens or closes this donor to units (node/donor-governor.ts). Closing withdraws its offers
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
      for (const running of state.running.values()) if (gate === 'closed' || !running.started) this.stop(running, 'handback')
    }
    if (gate === 'closed') for (const running of this.orphans) this.stop(running, 'cancelled')
  }

  /** Hands every unit in flight back to its coordinator, then ends the threads. */
  async close(): Promise<void> {
    this.stopping = true
    for (const state of this.links.values()) {
      for (const running of state.running.values()) this.stop(running, 'handback')
    }
    for (const running of this.orphans) this.stop(running, 'cancelled')
    this.links.clear()
    await this.pool.destroy()
  }

  private async run(running: Running, state: LinkState): Promise<void> {
    const { link, msg } = running
    const deadline = setTimeout(() => this.stop(running, 'deadline'), running.limitMs)
    const { port1, port2 } = new MessageChannel()
    const reporter: UnitReporter = {
      progress: (fraction) => link.sendProgress({ lease: msg.lease, fraction }),
      started: () => { running.started = true }
    }
    expose(reporter, nodeEndpoint(port1 as any))
    this.emit('unit-start', msg)
    try {
      const request: RunRequest = { task: msg.task, tasksDir: this.options.registry.dir ?? null, unit: msg.unit, input: msg.input, port: port2,
        limits: { wasmMemoryMb: this.options.wasm?.memoryMb }, nice: this.options.nice }
      const response: RunResponse = await this.pool.run(request, { transferList: [port2] as any, signal: running.abort.signal })
      this.stats.unitsRun++
      const result = { lease: msg.lease, runMs: response.runMs, output: response.output,
        cpuMs: response.cpuMs ?? response.runMs, speed: this.options.speed ?? 1000 }
      if (this.links.get(link) === state) this.send(link, result)
      else this.deliverLater(link.key, result)
    } catch (err) {
      const failure = failureOf(running, err as Error)
      if (failure) {
        if (failure.kind !== 'handback') this.stats.failed++
        link.sendFailure({ lease: msg.lease, ...failure })
      }
    } finally {
      clearTimeout(deadline)
      port1.close()
      state.running.delete(msg.lease)
      this.orphans.delete(running)
      this.emit('unit-end', msg)
      if (this.links.get(link) === state) this.offer(link)
    }
  }

  private stop(running: Running, why: NonNullable<Running['stopped']>): void {
    if (running.stopped) return
    running.stopped = why
    running.abort.abort()
  }

  /** A result that never reached its coordinator is kept for its next connection. */
  private send(link: CoordinatorLink, result: wire.ResultMessage): void {
    link.sendResult(result)
    void link.delivered?.().then((ok) => { if (!ok) this.deliverLater(link.key, result) })
  }

  /** To the coordinator's new connection if it already has one, else kept until it has. */
  private deliverLater(key: string, result: wire.ResultMessage): void {
    const link = [...this.links.keys()].find((l) => l.key === key)
    if (link) return this.send(link, result)
    this.pending.keep(key, result)
    this.emit('result-kept', result)
  }

  /** Tops the coordinator's standing offer up to this donor's capacity. */
  private offer(link: CoordinatorLink): void {
    const state = this.links.get(link)
    if (!state || this.stopping || this.gate !== 'open') return
    const capacity = this.threads * (1 + PREFETCH_PER_THREAD)
    const slots = capacity - state.offered - state.running.size
    if (slots <= 0) return
    state.offered += slots
    link.sendWant({ slots })
  }
}

/** What to tell the coordinator about a unit that did not finish; null when nothing. */
function failureOf(running: Running, err: Error): Pick<wire.FailureMessage, 'kind' | 'reason'> | null {
  const limit = (s: string) => s.slice(0, 500)
  switch (running.stopped) {
    case 'cancelled': return null
    case 'handback': return { kind: 'handback', reason: 'donor stopped' }
    case 'deadline': return { kind: 'timeout', reason: running.limitMs < running.msg.deadlineMs
      ? `ran past this donor's ${running.limitMs} ms time cap for wasm units` : `ran past its ${running.msg.deadlineMs} ms deadline` }
  }
  if (isMemoryCapError(err)) return { kind: 'memory', reason: limit(err.message) }
  if ((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return { kind: 'memory', reason: limit(`ran out of memory: ${err.message}`) }
  }
  return { kind: 'error', reason: limit(`${err.name}: ${err.message}`) }
}
