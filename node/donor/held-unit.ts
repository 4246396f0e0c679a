/** A unit a donor holds for a coordinator, from its assign until its outcome is reported. */
import type * as wire from '../protocol/wire.js'
import type { CoordinatorLink } from '../protocol/links.js'
import { isMemoryCapError } from '../../worker/sandbox/wasm-sandbox.js'
import { isOutputCapError } from '../../worker/sandbox/wasi/memfs.js'

export interface HeldUnit extends wire.AssignedUnit {
  link: CoordinatorLink
  job: string
  task: string
  /** The coordinator's deadline for it. */
  deadlineMs: number
  /** The coordinator's deadline, or the donor's own cap on wasm units when shorter. */
  limitMs: number
  /** Why it was stopped, when the donor itself stopped it. */
  stopped: 'cancelled' | 'handback' | 'deadline' | null
  /** Its batch left the pool's queue for a thread: a draining donor lets it finish. */
  started: boolean
  /** It was in a batch that failed as a whole: it runs alone now, so its own failure is told apart. */
  alone: boolean
  /** Hashes of the shared bytes its input names (tasks/shared-bytes.ts), and those bytes once in hand. */
  sharedHashes: string[]
  shared: Array<[string, Uint8Array]>
  /** The batch it runs in, once it has left the waiting queue. */
  batch: { abort: AbortController; units: HeldUnit[] } | null
}

const REASON_LENGTH = 500

/** What to tell the coordinator about a unit that did not finish; null when nothing. */
export function failureOf(held: HeldUnit, err: Error): Pick<wire.FailureMessage, 'kind' | 'reason'> | null {
  const limit = (s: string) => s.slice(0, REASON_LENGTH)
  switch (held.stopped) {
    case 'cancelled':
      return null
    case 'handback':
      return { kind: 'handback', reason: 'donor stopped' }
    case 'deadline':
      return {
        kind: 'timeout',
        reason:
          held.limitMs < held.deadlineMs
            ? `ran past this donor's ${held.limitMs} ms time cap for ${held.task} units`
            : `ran past its ${held.deadlineMs} ms deadline`
      }
  }
  if (isOutputCapError(err)) return { kind: 'output', reason: limit(err.message) }
  // The js sandbox ends a unit at the donor's caps itself and says which (worker/sandbox/quickjs-sandbox.ts).
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'UNIT_DECLINED') return { kind: 'refused', reason: limit(err.message) }
  if (code === 'JS_MEMORY_CAP') return { kind: 'memory', reason: limit(err.message) }
  if (code === 'JS_TIME_CAP') return { kind: 'timeout', reason: limit(err.message) }
  if (isMemoryCapError(err)) return { kind: 'memory', reason: limit(err.message) }
  if ((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return { kind: 'memory', reason: limit(`ran out of memory: ${err.message}`) }
  }
  return { kind: 'error', reason: limit(`${err.name}: ${err.message}`) }
}
