/**
 * Results a donor finished for a coordinator it had lost touch with, kept until a coordinator
 * with the same key is back, as a BOINC client reports work done while its server was down.
 * Bounded in count, bytes and age; the oldest go first.
 */
import type { ResultMessage } from '../protocol/wire.js'

export interface PendingLimits {
  count: number
  bytes: number
  ageMs: number
}

export const DEFAULT_PENDING_LIMITS: PendingLimits = { count: 256, bytes: 64 * 1024 * 1024, ageMs: 60 * 60 * 1000 }

interface Entry {
  key: string
  result: ResultMessage
  at: number
}

export class PendingResults {
  private entries: Entry[] = []
  private bytes = 0

  constructor(
    private readonly limits: PendingLimits = DEFAULT_PENDING_LIMITS,
    private readonly clock: () => number = Date.now
  ) {}

  get size(): number {
    return this.entries.length
  }

  keep(key: string, result: ResultMessage): void {
    if (result.output.byteLength > this.limits.bytes) return
    this.entries.push({ key, result, at: this.clock() })
    this.bytes += result.output.byteLength
    this.expire()
    while (this.entries.length > this.limits.count || this.bytes > this.limits.bytes) this.drop(0)
  }

  /** Hands over, and forgets, what was kept for this coordinator. */
  take(key: string): ResultMessage[] {
    this.expire()
    const taken = this.entries.filter((e) => e.key === key)
    if (taken.length === 0) return []
    this.entries = this.entries.filter((e) => e.key !== key)
    for (const e of taken) this.bytes -= e.result.output.byteLength
    return taken.map((e) => e.result)
  }

  private expire(): void {
    const oldest = this.clock() - this.limits.ageMs
    while (this.entries.length > 0 && this.entries[0].at < oldest) this.drop(0)
  }

  private drop(index: number): void {
    const [entry] = this.entries.splice(index, 1)
    this.bytes -= entry.result.output.byteLength
  }
}
