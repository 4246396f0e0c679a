/**
 * Runs single pieces of a job in a real unit thread, one after another, for --unit-seconds
 * (node/coordinator/unit-sizing.ts): the same pool, thread entry, registry and CBOR round trip a donor's
 * units go through, so a piece's measured time is what a donor would spend on it.
 */
import { encodeValue } from '../../tasks/values.js'
import { collectShared, inSharedMemory } from '../../tasks/shared-bytes.js'
import type { UnitReporter } from '../../worker/messages.js'
import { createUnitPool, type UnitPool } from '../../worker/unit-pool.js'

/** Milliseconds piece `index` took, or null when it ran past limitMs and was stopped. */
export type RunPiece = (index: number, limitMs: number) => Promise<number | null>

/** Nobody here follows a piece's progress, but the thread reports it as for any unit. */
const QUIET: UnitReporter = { progress() {}, started() {} }

export class PieceRunner {
  // One thread: pieces run one at a time, so that none slows another down.
  private readonly pool: UnitPool = createUnitPool({ threads: 1 })

  constructor(
    private readonly task: string,
    private readonly tasksDir: string | null,
    private readonly stop?: AbortSignal
  ) {}

  /** Runs the pieces of one cut of the job: `inputs` as the task's split gave them. */
  of(inputs: unknown[]): RunPiece {
    // The bytes the pieces share (a program) reach the thread as a donor's do: once, in shared memory.
    const shared = [...collectShared(inputs)].map(([hash, bytes]): [string, Uint8Array] => [hash, inSharedMemory(bytes)])
    return (index, limitMs) => this.run(inputs[index], index, limitMs, shared)
  }

  destroy(): Promise<void> {
    return this.pool.destroy()
  }

  private async run(input: unknown, index: number, limitMs: number, shared: Array<[string, Uint8Array]>): Promise<number | null> {
    this.stop?.throwIfAborted()
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(), limitMs)
    const stopped = () => abort.abort()
    this.stop?.addEventListener('abort', stopped, { once: true })
    try {
      const {
        outcomes: [outcome]
      } = await this.pool.run(
        { task: this.task, tasksDir: this.tasksDir, units: [{ unit: index, input: encodeValue(input) }], shared },
        { signal: abort.signal, reporter: QUIET }
      )
      if (!outcome.ok) throw Object.assign(new Error(outcome.error.message), { name: outcome.error.name })
      // CPU time where the OS tells it apart from the wall time: a piece that the machine's
      // other work preempted counts for what it cost, not for how long it waited.
      return outcome.cpuMs
    } catch (err) {
      this.stop?.throwIfAborted()
      if (abort.signal.aborted) return null
      throw err
    } finally {
      clearTimeout(timer)
      this.stop?.removeEventListener('abort', stopped)
    }
  }
}
