/**
 * How a donor sizes what it asks for and what it hands a thread, from the run times it has
 * measured. Units of a few milliseconds or less cost more in a round trip to a thread than
 * in running, and a thread waits on the network unless units are held in hand ahead of it;
 * units of seconds need neither. Pure: the donor feeds it run times and asks it for sizes.
 */

import { LIMITS } from '../protocol/wire.js'

/**
 * A batch of short units should keep its thread busy about this long. Each batch costs the
 * donor's and the coordinator's main threads about a millisecond (a thread task, a results
 * frame, its verdicts, a want and an assign), taken from the units on a machine the donor lends
 * whole: at 100 ms, 20 ms units through the CLI ran 1.14 of plain Piscina, at 200 ms 1.10
 * (bench figure 1p). Longer would hold more work per donor at a job's end, for other donors to
 * wait on.
 */
export const BATCH_TARGET_MS = 200
/** However short the limit, a batch's run time stays this far inside it: one past it is run again unit by unit. */
const LIMIT_SHARE = 4
/** However short the units, no batch holds more (progress and results keep flowing). */
export const MAX_BATCH_UNITS = 1024
/** Work held per thread beyond what runs, in time: enough to cover a request for more and its answer. */
export const HELD_AHEAD_MS = 40
/** Units held per thread when nothing is measured yet, or units are long: one running, one waiting. */
export const MIN_HELD_PER_THREAD = LIMITS.heldPerThreadAtFirst
/** Batches handed to the pool per thread: one running, one waiting, so a thread never idles between them. */
export const BATCHES_PER_THREAD = 2
/** Jobs remembered; older ones are forgotten first. */
const JOBS_REMEMBERED = 256
/** Weight of the newest run time in the running mean: a job's unit sizes settle within a few dozen. */
const SMOOTHING = 0.2

export class BatchSizing {
  private readonly means = new Map<string, number>()

  constructor(private readonly threads: number) {}

  /** A unit of this job ran for runMs on a thread. */
  record(job: string, runMs: number): void {
    const mean = this.means.get(job)
    this.means.delete(job)
    this.means.set(job, mean === undefined ? runMs : mean + SMOOTHING * (runMs - mean))
    if (this.means.size > JOBS_REMEMBERED) this.means.delete(this.means.keys().next().value!)
  }

  meanRunMs(job: string): number | undefined {
    return this.means.get(job)
  }

  /**
   * Units of a job to run as one batch, with `waiting` units of it queued: every thread gets a
   * share. `limitMs`: the time each unit may take, which the whole batch is held to.
   */
  batchSize(job: string, waiting: number, limitMs = Number.POSITIVE_INFINITY): number {
    const fairShare = Math.ceil(waiting / this.threads)
    return Math.max(1, Math.min(this.fullBatch(job, limitMs), fairShare))
  }

  /** Units of a job that make a whole batch, however many are in hand (1 until its run time is measured). */
  fullBatch(job: string, limitMs = Number.POSITIVE_INFINITY): number {
    const mean = this.means.get(job)
    return mean === undefined ? 1 : Math.max(1, unitsWithin(mean, Math.min(BATCH_TARGET_MS, limitMs / LIMIT_SHARE)))
  }

  /** Units to hold for a coordinator whose latest job is `job`: running, queued and on their way. */
  held(job: string | undefined): number {
    const mean = job === undefined ? undefined : this.means.get(job)
    if (mean === undefined) return this.threads * MIN_HELD_PER_THREAD
    // Every batch the pool holds full, plus what covers a round trip: a window of one batch per
    // thread left the second batch to take the few units in hand, so 20 ms units ran 1-3 to a
    // thread task, and each task, want and assign cost main-thread CPU the units lost (figure 1p).
    const perThread = Math.ceil(HELD_AHEAD_MS / Math.max(mean, 0.001)) + BATCHES_PER_THREAD * unitsWithin(mean, BATCH_TARGET_MS)
    return this.threads * Math.max(MIN_HELD_PER_THREAD, Math.min(perThread, LIMITS.heldPerThread))
  }
}

/** Units of `meanMs` each that fit in `batchMs` (none if one does not), at most MAX_BATCH_UNITS. */
function unitsWithin(meanMs: number, batchMs: number): number {
  return Math.min(MAX_BATCH_UNITS, Math.floor(batchMs / Math.max(meanMs, 0.001)))
}
