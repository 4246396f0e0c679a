/**
 * The coordinator's record of the leases still out, kept in its store so that a coordinator
 * killed at any point and started again with the same --data can still count the results its
 * donors computed meanwhile. Lease ids carry the run they belong to (its epoch, bumped at each
 * start), so a restarted coordinator never hands out an id that an earlier run gave away.
 */
import type { Database } from 'lmdb'
import type { Store } from './store.js'

/** Leases one run may issue; ids of run `e` lie in [e·2^32, (e+1)·2^32), all below 2^53. */
export const RUN_SPAN = 2 ** 32
const MAX_EPOCH = 2 ** 20

export interface LoggedLease {
  id: number
  job: string
  unit: number
  peer: string
}

export class LeaseLog {
  /** The first lease id of this run: ids below it were issued by earlier runs. */
  readonly base: number
  private readonly leases: Database<Omit<LoggedLease, 'id'>, number>
  private readonly meta: Database<number, string>

  constructor(store: Store) {
    this.leases = store.sub('leases')
    this.meta = store.sub('meta')
    const epoch = ((this.meta.get('lease-epoch') ?? 0) + 1) % MAX_EPOCH
    // Synchronous: no lease of this run may leave before its epoch is on disk.
    this.meta.putSync('lease-epoch', epoch)
    this.base = Math.max(1, epoch * RUN_SPAN)
  }

  /** Not awaited: a lease lost in a crash only costs its result, and the unit is reissued anyway. */
  record(lease: LoggedLease): void {
    void this.leases.put(lease.id, { job: lease.job, unit: lease.unit, peer: lease.peer })
  }

  forget(id: number): void {
    void this.leases.remove(id)
  }

  /** The leases that were out when the last run stopped, by job; those of other jobs are dropped. */
  outstanding(running: Set<string>): Map<string, LoggedLease[]> {
    const byJob = new Map<string, LoggedLease[]>()
    for (const { key, value } of this.leases.getRange({ end: this.base })) {
      if (!running.has(value.job)) {
        this.forget(key)
        continue
      }
      const list = byJob.get(value.job) ?? []
      list.push({ id: key, ...value })
      byJob.set(value.job, list)
    }
    return byJob
  }
}
