/**
 * Records that change with nearly every result (a job's counters, a peer's reputation, its
 * credit) written at most every FLUSH_MS, each key with its last value, instead of once per
 * change: encoding the same record at every result was a large share of a coordinator's time.
 * Reads see the pending value. A crash loses at most the changes of the last FLUSH_MS; none of
 * these records is what an accepted result depends on.
 */
import type { Database, Key } from 'lmdb'

/**
 * At 50 ms, a coordinator whose results came in all the time flushed 20 times a second, each
 * flush a commit on lmdb's thread, a sync and a wake-up of the main thread: 60-100 ms of CPU and
 * ~450 wake-ups over the 7 s of bench figure 1p, taken from the units on the same cores.
 */
const FLUSH_MS = 1000

export class WriteBehind<V, K extends Key = string> {
  private readonly pending = new Map<K, V>()
  private scheduled: Promise<void> | null = null
  private writing: Promise<void> = Promise.resolve()

  constructor(private readonly db: Database<V, K>) {}

  get(key: K): V | undefined {
    return this.pending.has(key) ? this.pending.get(key) : this.db.get(key)
  }

  /** Every record, with pending values in place of stored ones. */
  all(): V[] {
    const records = new Map<K, V>()
    for (const { key, value } of this.db.getRange({})) records.set(key as K, value)
    for (const [key, value] of this.pending) records.set(key, value)
    return [...records.values()]
  }

  put(key: K, value: V): void {
    this.pending.set(key, value)
    // Unref'd: a pending flush must not keep a process alive; closing the store flushes.
    this.scheduled ??= new Promise((resolve) => setTimeout(resolve, FLUSH_MS).unref()).then(() => this.flush())
  }

  /** Drops the pending value of a key, for a caller about to write it itself. */
  take(key: K): V | undefined {
    const value = this.pending.get(key)
    this.pending.delete(key)
    return value
  }

  /** Writes everything pending now; resolves once it, and every earlier flush, is on disk. */
  async flush(): Promise<void> {
    this.scheduled = null
    if (this.pending.size > 0) {
      const writes = [...this.pending]
      this.pending.clear()
      // A failed write is reported by the store (write-failures.ts); these values are then lost,
      // and the next flush must not fail for it.
      this.writing = Promise.all([this.writing, ...writes.map(([key, value]) => this.db.put(key, value))]).then(
        () => {},
        () => {}
      )
    }
    await this.writing
  }
}
