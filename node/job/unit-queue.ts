/**
 * Which units of a job want more replicas, and in what order donors get them: units reopened
 * after a failure, departure or disagreement first (they hold the job up), then the fresh ones
 * in unit order. The machine decides what goes in and out; this only keeps the order cheap.
 */
export class UnitQueue {
  /** Units that want more replicas, in unit order. */
  private readonly needy = new Set<number>()
  /**
   * Units below this index have all left `needy`, which only ever shrinks: walking unit indices
   * from here skips them, where walking the Set would step over every deleted slot at its front.
   */
  private needyFrom = 0
  /** Units reopened after a failure, departure or disagreement: served first, as they hold the job up. */
  private readonly retry = new Set<number>()

  constructor(private readonly unitCount: number) {}

  /** A unit that has never been settled: it waits its turn in unit order. */
  addFresh(index: number): void {
    this.needy.add(index)
  }

  /** A unit that was open or settled and wants replicas again: it goes ahead of the fresh ones. */
  addRetry(index: number): void {
    this.retry.add(index)
  }

  isRetry(index: number): boolean {
    return this.retry.has(index)
  }

  has(index: number): boolean {
    return this.retry.has(index) || this.needy.has(index)
  }

  isEmpty(): boolean {
    return this.retry.size === 0 && this.needy.size === 0
  }

  /** Retried units, then fresh ones in unit order. Safe to unqueue the unit just yielded. */
  *wanting(): Iterable<number> {
    yield* this.retry
    while (this.needyFrom < this.unitCount && !this.needy.has(this.needyFrom)) this.needyFrom++
    let left = this.needy.size
    for (let index = this.needyFrom; left > 0 && index < this.unitCount; index++) {
      if (!this.needy.has(index)) continue
      left--
      yield index
    }
  }

  remove(index: number): void {
    this.retry.delete(index)
    this.needy.delete(index)
  }

  clear(): void {
    this.retry.clear()
    this.needy.clear()
  }
}
