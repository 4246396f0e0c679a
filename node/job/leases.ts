/**
 * The leases of one job: every one it issued (answered or not, so that late and bogus results
 * can be told apart) and the ones out now (so that ticks and departures look at those and not
 * at every unit). Opening and closing a lease also keeps the unit's own `active` map in step.
 */
import { leasedTo, unlease, type Lease, type Unit } from './unit-record.js'

export class JobLeases {
  /** Every lease this job issued, settled or not, so late and bogus results can be told apart. */
  private readonly issued = new Map<number, Lease>()
  /** Leases out now, so that ticks and departures look at those and not at every unit. */
  private readonly live = new Map<number, Lease>()
  /** How many of the live leases each peer holds, so a coordinator can bound what one donor holds. */
  private readonly livePerPeer = new Map<string, number>()

  open(unit: Unit, lease: Lease): void {
    leasedTo(unit).set(lease.id, lease)
    this.live.set(lease.id, lease)
    this.livePerPeer.set(lease.peer, (this.livePerPeer.get(lease.peer) ?? 0) + 1)
    this.issued.set(lease.id, lease)
  }

  /** Takes the lease off the unit and out of the live ones; false when the unit no longer held it. */
  close(unit: Unit, id: number): boolean {
    const lease = this.live.get(id)
    if (lease && this.live.delete(id)) {
      const left = (this.livePerPeer.get(lease.peer) ?? 1) - 1
      if (left > 0) this.livePerPeer.set(lease.peer, left)
      else this.livePerPeer.delete(lease.peer)
    }
    return unlease(unit, id)
  }

  /** Live leases this peer holds. */
  outWith(peer: string): number {
    return this.livePerPeer.get(peer) ?? 0
  }

  /** A lease of an earlier run: known, so its result may count, but not live (see JobMachine.adopt). */
  adopt(id: number, unit: number, peer: string): void {
    if (!this.issued.has(id)) this.issued.set(id, { id, unit, peer, deadline: 0, host: undefined, spot: false, answered: false })
  }

  get(id: number): Lease | undefined {
    return this.issued.get(id)
  }

  has(id: number): boolean {
    return this.issued.has(id)
  }

  /** The leases out now; closing one while walking them is safe. */
  outNow(): IterableIterator<Lease> {
    return this.live.values()
  }
}
