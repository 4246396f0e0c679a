/**
 * Which job and unit each open lease belongs to, across all the jobs of one coordinator, and the
 * bookkeeping that tells a late or resent message from a lie: the leases each connection
 * answered, how many messages it sent for closed leases, and the leases adopted from an earlier
 * run. Every open lease is also in the store's lease log, so a restarted coordinator can adopt it.
 */
import type { ActiveJob } from './active-job.js'
import { LeaseCounter } from '../job/lease-counter.js'
import { LeaseLog, type LoggedLease } from '../store/lease-log.js'
import type { DonorLink } from '../protocol/links.js'
import type { Store } from '../store/store.js'

/** Messages for closed leases one connection may send before it is taken for a liar. */
export const MAX_STALE = 256

export interface LeaseRoute {
  job: ActiveJob
  unit: number
}

export class LeaseRoutes {
  /** Which job and unit each lease of a running job belongs to. */
  private readonly leases = new Map<number, LeaseRoute>()
  /** Leases each connection answered, to tell a duplicate on one connection from a resend on a new one. */
  private readonly answeredOn = new WeakMap<DonorLink, Set<number>>()
  /** Messages each connection sent for leases that are closed (late, or of an earlier run). */
  private readonly stale = new WeakMap<DonorLink, number>()
  /** Leases of an earlier run of this coordinator, still unanswered when it stopped. */
  private readonly adopted = new Set<number>()
  private readonly log: LeaseLog
  /** Lease ids for every job's machine, starting past those of earlier runs. */
  readonly counter: LeaseCounter

  constructor(
    store: Store,
    private readonly violation: (link: DonorLink, reason: string) => void
  ) {
    this.log = new LeaseLog(store)
    this.counter = new LeaseCounter(this.log.base)
  }

  /** The leases that were out when the last run stopped, by job (see LeaseLog.outstanding). */
  outstanding(running: Set<string>): Map<string, LoggedLease[]> {
    return this.log.outstanding(running)
  }

  /** A lease of an earlier run, taken up again: its result may still come. */
  adopt(id: number, job: ActiveJob, unit: number): void {
    this.leases.set(id, { job, unit })
    this.adopted.add(id)
  }

  /** A lease just sent out. */
  open(id: number, job: ActiveJob, unit: number, peer: string): void {
    this.leases.set(id, { job, unit })
    this.log.record({ id, job: job.record.id, unit, peer })
  }

  /**
   * The lease's job and unit for a message about it, if the sender holds it: checked before
   * anything is logged, credited, decoded or stored. A message for a lease issued to another
   * peer, or never issued, is a violation raised on the sender's own link (it may never have
   * asked for work); so are too many for closed leases, except progress, which may cross a cancel.
   */
  held(link: DonorLink, id: number, what: string): LeaseRoute | undefined {
    const lease = what === 'progress' ? this.leases.get(id) : this.route(link, id, what)
    if (!lease) {
      if (what === 'progress' && !this.counter.issued(id)) this.violation(link, `progress for lease ${id}, which was never issued`)
      return undefined
    }
    if (lease.job.machine.holderOf(id) === link.key) return lease
    this.violation(link, `${what} for lease ${id}, which it does not hold`)
    return undefined
  }

  /** The lease's job and unit; a message for a lease never issued, or too many closed ones, is a violation. */
  private route(link: DonorLink, id: number, what: string): LeaseRoute | undefined {
    const lease = this.leases.get(id)
    // A lease of a job that has ended is stale, not a lie: its result crossed our cancel. But a
    // peer cannot have many of those, and ids of earlier runs would otherwise be free to send.
    if (!lease && !this.counter.issued(id)) this.violation(link, `${what} for lease ${id}, which was never issued`)
    else if (!lease && this.stale.set(link, (this.stale.get(link) ?? 0) + 1).get(link)! > MAX_STALE) {
      this.violation(link, `more than ${MAX_STALE} messages for leases that are no longer open`)
    }
    return lease
  }

  /**
   * Whether this result is a copy of one this peer already gave on an earlier connection, resent
   * because a dying connection may have swallowed it: the copy is not a second answer. A second
   * answer on the same connection is not a resend, and the machine calls it a violation.
   */
  isResend(link: DonorLink, id: number, answeredBy: string | null): boolean {
    const answered = this.answeredOn.get(link) ?? new Set<number>()
    this.answeredOn.set(link, answered)
    if (answeredBy === link.key && !answered.has(id)) return true
    answered.add(id)
    return false
  }

  /** Whether the lease was adopted from an earlier run and not answered until now; it is not any more. */
  takeAdopted(id: number): boolean {
    return this.adopted.delete(id)
  }

  /** The lease is answered: a restarted coordinator need not wait for it. */
  answered(id: number): void {
    this.log.forget(id)
  }

  /** The job ended: its leases are closed, and later messages for them are stale. */
  closeJob(job: ActiveJob): void {
    for (const [id, lease] of this.leases) {
      if (lease.job !== job) continue
      this.leases.delete(id)
      this.log.forget(id)
    }
  }
}
