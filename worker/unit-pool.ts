/**
 * Where a donor's units run: Piscina threads in the peer's own process, or, under a CPU
 * limit, Piscina threads in a process of their own that the limiter stops and continues
 * (worker/cpu-limiter.ts). Both take the same calls as Piscina's pool.
 */
import { SwarmgridError } from '../base/errors.js'
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import type { Piscina as PiscinaPool } from 'piscina'
import { MessageChannel } from 'node:worker_threads'
import { expose } from 'comlink/dist/esm/comlink.mjs'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import {
  fromUnitError,
  type BatchRequest,
  type FromUnitProcess,
  type ToUnitProcess,
  type UnitProcessConfig,
  type RunRequest,
  type RunResponse,
  type UnitReporter,
  UNIT_PROCESS_SHARED_KEPT
} from './messages.js'
import { RecentShared } from './recent-shared.js'
import { unitProcessEntry, unitWorkerEntry } from './pool-entry.js'
import { CpuLimiter } from './cpu-limiter.js'
import { processCpuMs } from './cpu-meter.js'

export interface RunOptions {
  signal?: AbortSignal
  /** Told when the batch starts on a thread, and of each unit's progress. */
  reporter: UnitReporter
}

export interface UnitPool {
  run(request: BatchRequest, options: RunOptions): Promise<RunResponse>
  destroy(): Promise<void>
  /** CPU ms used by units outside this process so far (0 when they run in it). */
  externalCpuMs(): number
  /** Bytes of programs copied to another process so far (0 when units run in this one). */
  sharedBytesCopied(): number
  /** What holds the units to --cpu-limit, when there is one. */
  readonly limiter: CpuLimiter | null
}

/** Heap limit of each unit's thread when none is given, in MiB. */
export const DEFAULT_UNIT_MEMORY_MB = 512

export interface UnitPoolOptions {
  threads: number
  memoryMb?: number
  /** Percent of the whole machine (all cores) the units may use; absent or 100: no limit. */
  cpuLimitPct?: number
  nice?: number
}

export class CpuLimitError extends SwarmgridError {
  override name = 'CpuLimitError'
  constructor(message: string) {
    super('CPU_LIMIT_UNSUPPORTED', message)
  }
}

export function cpuLimitUnsupported(): CpuLimitError {
  return new CpuLimitError('--cpu-limit needs a system with SIGSTOP/SIGCONT (Linux, macOS, BSD); on Windows use --threads')
}

/** Below this a unit's thread runs out of heap while it starts, before any unit runs (8 MiB starts, barely). */
export const MIN_UNIT_MEMORY_MB = 16

export class UnitMemoryError extends SwarmgridError {
  override name = 'UnitMemoryError'
  constructor(message: string) {
    super('MEMORY_TOO_SMALL', message)
  }
}

export function createUnitPool(options: UnitPoolOptions): UnitPool {
  if (options.memoryMb !== undefined && !(options.memoryMb >= MIN_UNIT_MEMORY_MB)) {
    throw new UnitMemoryError(
      `--memory ${options.memoryMb} is too small: a unit's thread needs at least ${MIN_UNIT_MEMORY_MB} MiB of heap to start`
    )
  }
  // The process pool's child runs a thread pool of its own, made by this same function.
  if (options.cpuLimitPct === undefined || options.cpuLimitPct >= 100) return threadPool(options)
  if (process.platform === 'win32') throw cpuLimitUnsupported()
  return new ProcessPool(options)
}

const requireHere = createRequire(import.meta.url)

/**
 * Piscina, loaded with the first pool: a process that runs no units (submit --no-donate, a
 * coordinator, every other command) never needs it, and it was ~8 ms of each one's start.
 */
function piscina(): typeof PiscinaPool {
  return (requireHere('piscina') as typeof import('piscina')).Piscina
}

function threadPool(options: UnitPoolOptions): UnitPool {
  const Piscina = piscina()
  const pool = new Piscina({
    ...unitWorkerEntry(),
    minThreads: options.threads,
    maxThreads: options.threads,
    resourceLimits: { maxOldGenerationSizeMb: options.memoryMb ?? DEFAULT_UNIT_MEMORY_MB }
  })
  // A thread that dies between units (over its heap limit as it starts) is an 'error' on the
  // pool; with no listener that ends the process. Piscina replaces the thread, and a unit it
  // was running is failed through its own promise.
  pool.on('error', () => {})
  return {
    async run(request, { signal, reporter }) {
      // One port per batch carries its progress back; comlink turns its messages into calls.
      const { port1, port2 } = new MessageChannel()
      expose(reporter, nodeEndpoint(port1 as any))
      try {
        const threadRequest: RunRequest = { ...request, port: port2 }
        return await pool.run(threadRequest, { transferList: [port2] as any, signal })
      } finally {
        port1.close()
      }
    },
    destroy: () => pool.destroy(),
    externalCpuMs: () => 0,
    sharedBytesCopied: () => 0,
    limiter: null
  }
}

interface Pending {
  resolve(response: RunResponse): void
  reject(err: Error): void
  reporter: UnitReporter
  started: boolean
}

function abortError(): Error {
  const err = new Error('The task has been aborted')
  err.name = 'AbortError'
  return err
}

function processGone(code: number | null, signal: string | null): Error {
  return new Error(`the process running units ended (${signal ?? `exit code ${code}`})`)
}

const HASH_ONLY = new Uint8Array(0)

class ProcessPool implements UnitPool {
  private child: ChildProcess | null = null
  private watchdog: ChildProcess | null = null
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private busy = 0
  private reportedCpu = 0
  /** CPU of processes that ran units before the current one (it is restarted if it dies). */
  private pastCpu = 0
  /**
   * What the unit process keeps of shared bytes, mirrored: it is sent the same hashes in the same
   * order. A new process keeps nothing, so each spawn starts a new mirror.
   */
  private childShared!: RecentShared
  private copied = 0
  readonly limiter: CpuLimiter
  private destroyed = false

  constructor(private readonly options: UnitPoolOptions) {
    const targetCores = (options.cpuLimitPct! / 100) * availableParallelism()
    this.limiter = new CpuLimiter(targetCores, {
      busyThreads: () => this.busy,
      stop: () => this.child?.kill('SIGSTOP'),
      resume: () => this.child?.kill('SIGCONT')
    })
    this.spawn()
    this.limiter.start()
  }

  externalCpuMs(): number {
    return this.pastCpu + this.childCpuMs()
  }

  run(request: BatchRequest, { signal, reporter }: RunOptions): Promise<RunResponse> {
    if (this.destroyed) return Promise.reject(new Error('the unit pool is closed'))
    if (signal?.aborted) return Promise.reject(abortError())
    if (!this.child) this.spawn()
    const id = this.nextId++
    return new Promise<RunResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, reporter, started: false })
      signal?.addEventListener(
        'abort',
        () => {
          this.send({ t: 'cancel', id })
          this.settle(id, abortError())
        },
        { once: true }
      )
      this.send({ t: 'run', id, request: { ...request, shared: request.shared?.map(([hash, bytes]) => this.toChild(hash, bytes)) } })
    })
  }

  async destroy(): Promise<void> {
    this.destroyed = true
    this.limiter.close()
    for (const id of [...this.pending.keys()]) this.settle(id, new Error('the unit pool is closed'))
    this.watchdog?.kill()
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 2000)
      child.once('exit', () => {
        clearTimeout(force)
        resolve()
      })
      child.kill('SIGCONT')
      child.kill('SIGTERM')
    })
  }

  sharedBytesCopied(): number {
    return this.copied
  }

  /**
   * Shared memory does not cross to another process: bytes the child does not keep go as a copy,
   * which it puts in its own; bytes it keeps go as their hash alone.
   */
  private toChild(hash: string, bytes: Uint8Array): [string, Uint8Array | null] {
    if (this.childShared.touch(hash)) return [hash, null]
    // Only the hashes are mirrored: holding the bytes here would keep programs the donor let go.
    this.childShared.get(hash, HASH_ONLY)
    this.copied += bytes.byteLength
    return [hash, new Uint8Array(bytes)]
  }

  private childCpuMs(): number {
    const pid = this.child?.pid
    return (pid !== undefined ? processCpuMs(pid) : null) ?? this.reportedCpu
  }

  private spawn(): void {
    const entry = unitProcessEntry()
    const config: UnitProcessConfig = {
      threads: this.options.threads,
      memoryMb: this.options.memoryMb ?? DEFAULT_UNIT_MEMORY_MB,
      nice: this.options.nice
    }
    const child = fork(entry.filename, [], {
      execArgv: entry.execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, SWARMGRID_UNIT_PROCESS: JSON.stringify(config) }
    })
    this.child = child
    this.childShared = new RecentShared(UNIT_PROCESS_SHARED_KEPT)
    this.reportedCpu = 0
    this.busy = 0
    child.on('message', (msg: FromUnitProcess) => this.onMessage(msg))
    child.on('exit', (code, signal) => {
      if (this.child !== child) return
      this.pastCpu += this.reportedCpu
      this.child = null
      for (const id of [...this.pending.keys()]) this.settle(id, processGone(code, signal))
    })
    this.watchdog?.kill()
    this.watchdog = this.guard(child)
  }

  /**
   * A stopped process cannot notice that its parent died: should the peer be killed while
   * its units' process is stopped, this shell continues and ends it within a second.
   */
  private guard(child: ChildProcess): ChildProcess | null {
    if (child.pid === undefined) return null
    const script =
      `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${child.pid} 2>/dev/null; do sleep 1; done; ` +
      `kill -CONT ${child.pid} 2>/dev/null; kill -TERM ${child.pid} 2>/dev/null`
    const watchdog = spawn('sh', ['-c', script], { stdio: 'ignore' })
    watchdog.on('error', () => {})
    watchdog.unref()
    return watchdog
  }

  private onMessage(msg: FromUnitProcess): void {
    if (msg.t === 'cpu') {
      this.reportedCpu = msg.ms
      return
    }
    const pending = this.pending.get(msg.id)
    if (msg.t === 'started') {
      if (pending && !pending.started) {
        pending.started = true
        this.busy++
        pending.reporter.started?.()
      }
      return
    }
    if (!pending) return
    if (msg.t === 'progress') pending.reporter.progress(msg.index, msg.fraction)
    else if (msg.t === 'done') this.settle(msg.id, null, msg.response)
    else this.settle(msg.id, fromUnitError(msg.error))
  }

  private settle(id: number, err: Error | null, response?: RunResponse): void {
    const pending = this.pending.get(id)
    if (!pending) return
    this.pending.delete(id)
    if (pending.started) this.busy--
    if (err) pending.reject(err)
    else pending.resolve(response!)
  }

  private send(msg: ToUnitProcess): void {
    if (this.child?.connected) this.child.send(msg)
  }
}
