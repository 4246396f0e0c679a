/**
 * Units a donor still holds for coordinators whose connection went away: they run on, and
 * their results wait for the coordinator to come back. Indexed by coordinator key and lease,
 * so a cancel on the coordinator's new connection finds its unit at once, however many there are.
 */
import type { HeldUnit } from './held-unit.js'

export class Orphans {
  private readonly byCoordinator = new Map<string, Map<number, HeldUnit>>()

  add(held: HeldUnit): void {
    const leases = this.byCoordinator.get(held.link.key) ?? new Map<number, HeldUnit>()
    this.byCoordinator.set(held.link.key, leases)
    leases.set(held.lease, held)
  }

  find(coordinator: string, lease: number): HeldUnit | undefined {
    return this.byCoordinator.get(coordinator)?.get(lease)
  }

  delete(held: HeldUnit): void {
    const leases = this.byCoordinator.get(held.link.key)
    if (leases?.get(held.lease) !== held) return
    leases.delete(held.lease)
    if (leases.size === 0) this.byCoordinator.delete(held.link.key)
  }

  /** Every one, as a copy: stopping one releases it. */
  all(): HeldUnit[] {
    return [...this.byCoordinator.values()].flatMap((leases) => [...leases.values()])
  }
}
