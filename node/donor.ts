/**
 * The donor: offers its threads to the coordinators it meets, runs the units they lease it in
 * a Piscina pool with a deadline and a memory limit per unit, and reports back.
 */
import { EventEmitter } from 'node:events'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { MessageChannel } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { expose } from 'comlink/dist/esm/comlink.mjs'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import type { TaskRegistry } from '../tasks/registry.js'
import type { RunRequest, RunResponse, UnitReporter } from '../worker/messages.js'
import type { CoordinatorLink, DonorSide } from './links.js'
import type * as wire from './wire.js'

/** Units leased ahead of free threads, so a thread never idles for a network round trip. */
const PREFETCH_PER_THREAD = 1
const DEFAULT_MEMORY_MB = 512

export interface DonorOptions {
  threads?: number
  registry: TaskRegistry
  /** Heap limit of each unit's thread, in MiB. */
  memoryMb?: number
}

export interface DonorStats {
  threads: number
  busy: number
  unitsRun: number
  accepted: number
  rejected: number
  failed: number
}

interface Running {
  link: CoordinatorLink
  msg: wire.AssignMessage
  abort: AbortController
  /** Why it was stopped, when the donor itself stopped it. */
  stopped: 'cancelled' | 'handback' | 'deadline' | null
}

interface LinkState { offered: number; running: Map<number, Running> }

export class Donor extends EventEmitter implements DonorSide {
  readonly threads: number
  private readonly pool: Piscina
  private readonly links = new Map<CoordinatorLink, LinkState>()
  private readonly stats = { unitsRun: 0, accepted: 0, rejected: 0, failed: 0 }
  private stopping = false

  constructor(private readonly options: DonorOptions) {
    super()
    this.threads = Math.max(1, options.threads ?? availableParallelism())
    this.pool = new Piscina({ ...workerEntry(), minThreads: this.threads, maxThreads: this.threads,
      resourceLimits: { maxOldGenerationSizeMb: options.memoryMb ?? DEFAULT_MEMORY_MB } })
  }

  /** A coordinator is reachable: offer it what this donor can take. */
  attach(link: CoordinatorLink): void {
    if (this.stopping || this.links.has(link)) return
    this.links.set(link, { offered: 0, running: new Map() })
    this.offer(link)
  }

  /** The coordinator is gone: what it leased is of no use any more. */
  detach(link: CoordinatorLink): void {
    const state = this.links.get(link)
    if (!state) return
    this.links.delete(link)
    for (const running of state.running.values()) this.stop(running, 'cancelled')
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
    const running: Running = { link, msg, abort: new AbortController(), stopped: null }
    state.running.set(msg.lease, running)
    void this.run(running, state)
  }

  cancel(link: CoordinatorLink, msg: wire.CancelMessage): void {
    const running = this.links.get(link)?.running.get(msg.lease)
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
    return { threads: this.threads, busy: Math.min(busy, this.threads), ...this.stats }
  }

  /** Hands every unit in flight back to its coordinator, then ends the threads. */
  async close(): Promise<void> {
    this.stopping = true
    for (const state of this.links.values()) {
      for (const running of state.running.values()) this.stop(running, 'handback')
    }
    this.links.clear()
    await this.pool.destroy()
  }

  private async run(running: Running, state: LinkState): Promise<void> {
    const { link, msg } = running
    const deadline = setTimeout(() => this.stop(running, 'deadline'), msg.deadlineMs)
    const { port1, port2 } = new MessageChannel()
    const reporter: UnitReporter = { progress: (fraction) => link.sendProgress({ lease: msg.lease, fraction }) }
    expose(reporter, nodeEndpoint(port1 as any))
    this.emit('unit-start', msg)
    try {
      const request: RunRequest = { task: msg.task, tasksDir: this.options.registry.dir ?? null, unit: msg.unit, input: msg.input, port: port2 }
      const response: RunResponse = await this.pool.run(request, { transferList: [port2] as any, signal: running.abort.signal })
      this.stats.unitsRun++
      link.sendResult({ lease: msg.lease, runMs: response.runMs, output: response.output })
    } catch (err) {
      const failure = failureOf(running, err as Error)
      if (failure) {
        this.stats.failed++
        link.sendFailure({ lease: msg.lease, ...failure })
      }
    } finally {
      clearTimeout(deadline)
      port1.close()
      state.running.delete(msg.lease)
      this.emit('unit-end', msg)
      if (this.links.get(link) === state) this.offer(link)
    }
  }

  private stop(running: Running, why: NonNullable<Running['stopped']>): void {
    if (running.stopped) return
    running.stopped = why
    running.abort.abort()
  }

  /** Tops the coordinator's standing offer up to this donor's capacity. */
  private offer(link: CoordinatorLink): void {
    const state = this.links.get(link)
    if (!state || this.stopping) return
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
    case 'deadline': return { kind: 'timeout', reason: `ran past its ${running.msg.deadlineMs} ms deadline` }
  }
  if ((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return { kind: 'memory', reason: limit(`ran out of memory: ${err.message}`) }
  }
  return { kind: 'error', reason: limit(`${err.name}: ${err.message}`) }
}

/**
 * The worker file: compiled JavaScript next to this module, or, when running from the
 * TypeScript sources (tsx), the .ts file loaded through tsx.
 */
function workerEntry(): { filename: string; execArgv?: string[] } {
  const compiled = fileURLToPath(new URL('../worker/run-unit.js', import.meta.url))
  if (existsSync(compiled)) return { filename: compiled }
  return { filename: fileURLToPath(new URL('../worker/run-unit.ts', import.meta.url)), execArgv: ['--import', 'tsx'] }
}
