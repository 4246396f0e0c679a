/**
 * Units left out of jobs whose task takes partial results (`partial: true`), kept in the
 * store so that a coordinator started again does not run them once more.
 */
import type { Database } from 'lmdb'
import type { Store } from '../store/store.js'

export class LeftOutUnits {
  private readonly db: Database<string, [string, number]>

  constructor(store: Store) {
    this.db = store.sub<string, [string, number]>('left-out-units')
  }

  record(job: string, unit: number, reason: string): void {
    void this.db.put([job, unit], reason)
  }

  /** [unit, reason] for each unit left out of the job, in unit order. */
  of(job: string): Array<[number, string]> {
    return [...this.db.getRange({ start: [job, 0], end: [job, Number.MAX_SAFE_INTEGER] })].map(({ key, value }) => [key[1], value])
  }
}
