/**
 * The donor's batch pump: units leased and in hand wait here, oldest first, and go to the pool
 * in batches of one job and coordinator, as many as keep every thread busy (batch-sizing.ts);
 * each batch's outcomes go back unit by unit, and a batch that failed as a whole is run again
 * unit by unit. It sees the donor only through BatchContext.
 */
import type { TaskRegistry } from '../../tasks/registry.js'
import { checkValue, limitsOf, ValueLimitError } from '../../tasks/value-limits.js'
import { fromUnitError, type UnitOutcome, type UnitReporter } from '../../worker/messages.js'
import type { UnitPool } from '../../worker/unit-pool.js'
import type { CoordinatorLink } from '../protocol/links.js'
import { LIMITS } from '../protocol/wire.js'
import type * as wire from '../protocol/wire.js'
import { BATCHES_PER_THREAD, type BatchSizing } from './batch-sizing.js'
import type { HeldUnit } from './held-unit.js'

/** Units on their way through one thread together. */
interface Batch {
  units: HeldUnit[]
  abort: AbortController
}

/** The donor as its batch pump sees it. */
export interface BatchContext {
  threads: number
  pool: Pick<UnitPool, 'run'>
  sizing: BatchSizing
  registry: TaskRegistry
  wasm?: { memoryMb: number; timeMs: number }
  nice?: number
  /** Benchmark score sent with each result, for credit. */
  speed?: number
  stats: { unitsRun: number; failed: number }
  stopping(): boolean
  stop(held: HeldUnit, why: NonNullable<HeldUnit['stopped']>): void
  /** Tells the unit's coordinator it did not finish, and why. */
  report(held: HeldUnit, err: Error): void
  /** The unit is settled: it is no longer held. */
  release(held: HeldUnit): void
  /** Results for one coordinator: to its link, or kept until it is back. */
  deliver(link: CoordinatorLink, results: wire.ResultMessage[]): void
  offer(link: CoordinatorLink): void
  unitStarted(held: HeldUnit): void
}

/**
 * A unit's input as decoded is a view into the frame it came in, and posting a view to a
 * thread copies its whole buffer: a frame of up to 15 MiB cut into many small batches (wasi
 * units, each carrying its program) was copied whole for every batch. Just the input goes.
 */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice()
}

/** The shared bytes the units of a batch name, each once. */
function sharedOfBatch(units: HeldUnit[]): Array<[string, Uint8Array]> | undefined {
  const shared = new Map<string, Uint8Array>()
  for (const held of units) for (const [hash, bytes] of held.shared) shared.set(hash, bytes)
  return shared.size > 0 ? [...shared] : undefined
}

export class BatchRunner {
  /** Units leased and not yet in a batch, oldest first. */
  private waiting: HeldUnit[] = []
  private batchesInPool = 0
  private pumpScheduled = false

  constructor(private readonly ctx: BatchContext) {}

  /** A unit in hand, its program too: it waits for the next pump. */
  add(held: HeldUnit): void {
    this.waiting.push(held)
  }

  /** Units leased in one frame arrive as several assigns: batch them once all are in. */
  schedulePump(): void {
    if (this.pumpScheduled) return
    this.pumpScheduled = true
    setImmediate(() => {
      this.pumpScheduled = false
      this.pump()
    })
  }

  /** Hands the pool batches of waiting units, as many as keep every thread busy. */
  private pump(): void {
    while (this.batchesInPool < this.ctx.threads * BATCHES_PER_THREAD) {
      // While a batch waits behind every running one, the next may wait for units enough to fill
      // it: handing the pool whatever was in hand ran 20 ms units one or two to a thread task.
      const batch = this.nextBatch(this.batchesInPool > this.ctx.threads)
      if (!batch) return
      void this.runBatch(batch)
    }
  }

  /**
   * The oldest waiting unit and those of its job and coordinator right behind it, as many as suit
   * their run time; with `fullOnly`, none unless that many are in hand.
   */
  private nextBatch(fullOnly: boolean): Batch | null {
    this.waiting = this.waiting.filter((held) => !held.stopped)
    const first = this.waiting[0]
    if (!first) return null
    const { sizing } = this.ctx
    const size = first.alone
      ? 1
      : fullOnly
        ? sizing.fullBatch(first.job, first.limitMs)
        : sizing.batchSize(first.job, this.waiting.length, first.limitMs)
    let taken = 1
    while (taken < size && taken < this.waiting.length) {
      const next = this.waiting[taken]
      if (next.alone || next.job !== first.job || next.link !== first.link) break
      taken++
    }
    if (fullOnly && taken < size) return null
    const batch: Batch = { units: this.waiting.splice(0, taken), abort: new AbortController() }
    for (const held of batch.units) held.batch = batch
    return batch
  }

  private async runBatch(batch: Batch): Promise<void> {
    this.batchesInPool++
    const [first] = batch.units
    let deadline: NodeJS.Timeout | undefined
    const reporter: UnitReporter = {
      progress: (index, fraction) => {
        const held = batch.units[index]
        if (held && !held.stopped) held.link.sendProgress({ lease: held.lease, fraction })
      },
      // The clock starts on the thread, not in the pool's queue behind another batch. Every unit
      // of a batch has the same limit; a batch that runs past it is run again unit by unit.
      started: () => {
        for (const held of batch.units) held.started = true
        // Node fires a timer of 2^31 ms or more at once: the wire's 7 days are below that, but a local link skips the wire.
        deadline ??= setTimeout(
          () => {
            if (batch.units.length === 1) this.ctx.stop(first, 'deadline')
            else batch.abort.abort()
          },
          Math.min(first.limitMs, LIMITS.deadlineMs)
        )
      }
    }
    for (const held of batch.units) this.ctx.unitStarted(held)
    let outcomes: UnitOutcome[] | null = null
    let crash: Error | null = null
    try {
      const response = await this.ctx.pool.run(
        {
          task: first.task,
          tasksDir: this.ctx.registry.dir ?? null,
          units: batch.units.map(({ unit, input }) => ({ unit, input: ownBuffer(input) })),
          shared: sharedOfBatch(batch.units),
          limits: { wasmMemoryMb: this.ctx.wasm?.memoryMb, wasmTimeMs: this.ctx.wasm?.timeMs },
          nice: this.ctx.nice
        },
        { signal: batch.abort.signal, reporter }
      )
      outcomes = response.outcomes
    } catch (err) {
      crash = err as Error
    } finally {
      clearTimeout(deadline)
      this.batchesInPool--
    }
    if (outcomes) this.settle(batch, outcomes)
    else this.settleCrashed(batch, crash!)
    this.pump()
  }

  /** Each unit's outcome goes to its coordinator; results to one coordinator leave together. */
  private settle(batch: Batch, outcomes: UnitOutcome[]): void {
    const results: wire.ResultMessage[] = []
    batch.units.forEach((held, index) => {
      const outcome = outcomes[index]
      if (held.stopped) {
        this.ctx.report(held, new Error(held.stopped))
      } else if (outcome?.ok && !this.fits(held, outcome.output)) {
        // Sent anyway it would break the frame, or be refused by the coordinator, on every resend.
        this.ctx.stats.unitsRun++
      } else if (outcome?.ok) {
        this.ctx.stats.unitsRun++
        this.ctx.sizing.record(held.job, outcome.runMs)
        results.push({
          lease: held.lease,
          runMs: Math.round(outcome.runMs),
          output: outcome.output,
          cpuMs: Math.round(outcome.cpuMs),
          speed: this.ctx.speed ?? 1000
        })
      } else {
        this.ctx.report(held, fromUnitError(outcome?.error ?? { name: 'Error', message: 'no outcome for this unit' }))
      }
      this.ctx.release(held)
    })
    if (results.length > 0) this.ctx.deliver(batch.units[0].link, results)
    this.reoffer(batch)
  }

  /** The batch as a whole failed (stopped, or its thread died): which unit was to blame is found by running each alone. */
  private settleCrashed(batch: Batch, crash: Error): void {
    const again = batch.units.length > 1 && !this.ctx.stopping()
    const retried: HeldUnit[] = []
    for (const held of batch.units) {
      if (again && !held.stopped) {
        held.alone = true
        held.batch = null
        held.started = false
        retried.push(held)
        continue
      }
      this.ctx.report(held, crash)
      this.ctx.release(held)
    }
    this.waiting.unshift(...retried)
    this.reoffer(batch)
  }

  /** Whether an output is within its task's limits and the wire's; if not, the unit is reported failed for it. */
  private fits(held: HeldUnit, output: Uint8Array): boolean {
    try {
      const limits = limitsOf(this.ctx.registry.get(held.task))
      checkValue(output, { ...limits, bytes: Math.min(limits.bytes, LIMITS.payload) })
      return true
    } catch (err) {
      this.ctx.stats.failed++
      const why = err instanceof ValueLimitError ? 'output too large' : 'output unreadable'
      held.link.sendFailure({ lease: held.lease, kind: 'error', reason: `${why}: ${(err as Error).message}` })
      return false
    }
  }

  private reoffer(batch: Batch): void {
    const links = new Set(batch.units.map((held) => held.link))
    for (const link of links) this.ctx.offer(link)
  }
}
