/** Hands out lease ids unique across all the jobs of one coordinator. */
export class LeaseCounter {
  private next: number
  /** `first` lets a restarted coordinator start past every id an earlier run handed out. */
  constructor(first = 1) {
    this.next = first
  }
  take(): number {
    return this.next++
  }
  /** Whether this id was ever handed out, so a message for it may be merely late. */
  issued(id: number): boolean {
    return id > 0 && id < this.next
  }
}
