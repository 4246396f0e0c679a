/** How many threads a donor lends, checked where the number enters (`start --threads`, the library). */
import { availableParallelism } from 'node:os'
import { LIMITS } from '../protocol/wire.js'

export class ThreadsError extends Error {
  override name = 'ThreadsError'
  readonly code = 'ERR_THREADS'
}

/** The threads a donor lends: every core by default, and never more than a hello may declare. */
export function donorThreads(requested: number | undefined): number {
  const threads = requested ?? Math.min(availableParallelism(), LIMITS.threads)
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > LIMITS.threads) {
    throw new ThreadsError(`--threads takes a whole number from 1 to ${LIMITS.threads} (what other peers accept), not ${requested}`)
  }
  return threads
}
