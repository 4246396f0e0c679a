/** How many threads a donor lends, checked where the number enters (`start --threads`, the library). */
import { availableParallelism } from 'node:os'
import { SwarmgridError } from '../../base/errors.js'
import { LIMITS } from '../protocol/wire.js'

export class ThreadsError extends SwarmgridError {
  override name = 'ThreadsError'
}

/** The threads a donor lends: every core by default, and never more than a hello may declare. */
export function donorThreads(requested: number | undefined): number {
  const threads = requested ?? Math.min(availableParallelism(), LIMITS.threads)
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > LIMITS.threads) {
    throw new ThreadsError(
      'BAD_PARAM',
      `--threads takes a whole number from 1 to ${LIMITS.threads} (what other peers accept), not ${requested}`
    )
  }
  return threads
}
