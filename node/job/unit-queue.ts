/**
 * Which units of a job want more replicas, and in what order donors get them: units reopened
 * after a failure, departure or disagreement first (they hold the job up), then the fresh ones
 * in unit order. The machine decides what goes in and out; this only keeps the order cheap.
 */
export class UnitQueue {
  /**
   * Fresh units that want replicas, one byte per unit of the job: a Set of a million indices
   * costs ~20 MB of hash table that every major GC walks and every add, test and delete misses
   * the cache on, which made assigns at 1,000,000 units slower than at 10,000 (bench figure 4).
   */
  private readonly needy: Uint8Array
  private needyCount = 0
  /**
   * Units below this index have all left `needy`, which only ever shrinks: walking unit indices
   * from here skips them rather than testing every settled unit at the front on each call.
   */
  private needyFrom = 0
  /** Units reopened after a failure, departure or disagreement: served first, as they hold the job up. */
  private readonly retry = new Set<number>()

  constructor(private readonly unitCount: number) {
    this.needy = new Uint8Array(unitCount)
  }

  /** A unit that has never been settled: it waits its turn in unit order. */
  addFresh(index: number): void {
    if (this.needy[index] === 1) return
    this.needy[index] = 1
    this.needyCount++
  }

  /** A unit that was open or settled and wants replicas again: it goes ahead of the fresh ones. */
  addRetry(index: number): void {
    this.retry.add(index)
  }

  isRetry(index: number): boolean {
    return this.retry.has(index)
  }

  has(index: number): boolean {
    return this.retry.has(index) || this.needy[index] === 1
  }

  isEmpty(): boolean {
    return this.retry.size === 0 && this.needyCount === 0
  }

  /** Retried units, then fresh ones in unit order. Safe to unqueue the unit just yielded. */
  *wanting(): Iterable<number> {
    yield* this.retry
    while (this.needyFrom < this.unitCount && this.needy[this.needyFrom] === 0) this.needyFrom++
    // Stops after as many as were queued when the walk began: past the last one only settled units lie.
    let left = this.needyCount
    for (let index = this.needyFrom; left > 0 && index < this.unitCount; index++) {
      if (this.needy[index] === 0) continue
      left--
      yield index
    }
  }

  remove(index: number): void {
    this.retry.delete(index)
    if (this.needy[index] === 1) {
      this.needy[index] = 0
      this.needyCount--
    }
  }

  clear(): void {
    this.retry.clear()
    this.needy.fill(0)
    this.needyCount = 0
  }
}
