/**
 * Looks the grid's topic up again on a backoff schedule. Hyperswarm refreshes a topic every 10
 * minutes; two peers that join at the same moment can each look up before the other has
 * announced, and then would not meet for those 10 minutes.
 */
import type { Discovery } from 'hyperswarm'

/** Delays between lookups after joining; the last one repeats. */
export const REDISCOVERY_SCHEDULE_MS = [2_000, 5_000, 15_000, 30_000, 60_000]

export class Rediscovery {
  private timer: NodeJS.Timeout | null = null
  private step = 0

  constructor(
    private readonly discovery: Discovery,
    private readonly schedule = REDISCOVERY_SCHEDULE_MS
  ) {
    this.later()
  }

  destroy(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private later(): void {
    const delay = this.schedule[Math.min(this.step++, this.schedule.length - 1)]
    this.timer = setTimeout(() => {
      this.discovery
        .refresh()
        .catch(() => {})
        .finally(() => {
          if (this.timer) this.later()
        })
    }, delay)
    this.timer.unref()
  }
}
