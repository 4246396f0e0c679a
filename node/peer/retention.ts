/**
 * How long a peer keeps finished jobs (done, failed, cancelled): older ones are deleted with
 * everything stored for them, so that a peer that runs for months does not grow its store
 * without bound. lmdb reuses the freed pages, so the file stops growing rather than shrinking.
 */
import type { Store } from '../store/store.js'

/** How often the sweep runs at most; a job outlives its retention by at most this. */
const SWEEP_MS = 60_000
const MIN_SWEEP_MS = 500

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** "90s", "30m", "12h", "7d" (or a bare number of days) in milliseconds; null when it does not parse. */
export function parseRetention(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(text.trim())
  if (!m) return null
  const ms = Number(m[1]) * UNITS[m[2] || 'd']
  return ms > 0 && Number.isFinite(ms) ? ms : null
}

/** Deletes the jobs that finished more than `keepMs` ago; resolves with their ids. */
export async function sweepFinishedJobs(store: Store, keepMs: number, now = Date.now()): Promise<string[]> {
  const old = store.listJobs().filter((job) => job.state !== 'running' && job.finishedAt !== null && now - job.finishedAt > keepMs)
  const deleted: string[] = []
  for (const job of old) if (await store.deleteJob(job.id)) deleted.push(job.id)
  return deleted
}

/** Runs the sweep now and every SWEEP_MS (or `everyMs`) until stopped. */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | null = null
  private running: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly store: Store,
    private readonly keepMs: number,
    private readonly onDeleted: (ids: string[]) => void,
    // A short retention is swept more often, so that a job outlives it by half of it at most.
    private readonly everyMs = Math.min(SWEEP_MS, Math.max(MIN_SWEEP_MS, keepMs / 2))
  ) {}

  start(): void {
    const sweep = () => {
      this.running = sweepFinishedJobs(this.store, this.keepMs).then(
        (ids) => {
          if (ids.length) this.onDeleted(ids)
        },
        () => {}
      )
    }
    sweep()
    this.timer = setInterval(sweep, this.everyMs)
    this.timer.unref()
  }

  /** Stops, and waits for a sweep under way so that the store can close. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.running
  }
}
