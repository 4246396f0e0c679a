/**
 * Strikes against peers that broke the protocol, and bans for the ones that keep at it. One
 * malformed frame costs a peer its connection (it may be a bug, or a newer version); a few in a
 * short while get its key banned: the swarm's firewall then refuses it during the handshake,
 * before it can send a frame. Bans are kept in the store, so a restart forgives no one.
 */
import type { Database } from 'lmdb'
import type { Store } from '../store/store.js'

export interface BanPolicy {
  /** Violations within `windowMs` that get a peer banned. */
  strikes: number
  windowMs: number
  banMs: number
}

export const DEFAULT_BAN_POLICY: BanPolicy = { strikes: 3, windowMs: 10 * 60 * 1000, banMs: 24 * 60 * 60 * 1000 }

export interface Ban {
  key: string
  until: number
  reason: string
}

/** Strikes are forgotten past this many offenders, oldest first: a flood of fresh keys costs no memory. */
const MAX_TRACKED = 10_000

export class BanList {
  private readonly strikes = new Map<string, number[]>()
  private readonly bans = new Map<string, Ban>()
  private readonly db: Database<Ban, string> | null

  constructor(
    store: Store | null,
    readonly policy: BanPolicy = DEFAULT_BAN_POLICY,
    private readonly clock: () => number = Date.now
  ) {
    this.db = store?.sub<Ban, string>('bans') ?? null
    const now = this.clock()
    for (const { value } of this.db?.getRange({}) ?? []) {
      if (value.until > now) this.bans.set(value.key, value)
      else void this.db!.remove(value.key)
    }
  }

  isBanned(key: string): boolean {
    const ban = this.bans.get(key)
    if (!ban) return false
    if (ban.until > this.clock()) return true
    this.bans.delete(key)
    void this.db?.remove(key)
    return false
  }

  /** Counts one violation; returns the ban when this one makes the peer banned. */
  strike(key: string, reason: string): Ban | null {
    if (this.isBanned(key)) return null
    const now = this.clock()
    const recent = (this.strikes.get(key) ?? []).filter((at) => at > now - this.policy.windowMs)
    recent.push(now)
    this.strikes.delete(key)
    if (recent.length < this.policy.strikes) {
      this.strikes.set(key, recent)
      if (this.strikes.size > MAX_TRACKED) this.strikes.delete(this.strikes.keys().next().value!)
      return null
    }
    const ban: Ban = {
      key,
      until: now + this.policy.banMs,
      reason: `${recent.length} protocol violations, the last: ${reason}`.slice(0, 500)
    }
    this.bans.set(key, ban)
    void this.db?.put(key, ban)
    return ban
  }

  list(): Ban[] {
    return [...this.bans.keys()].filter((key) => this.isBanned(key)).map((key) => this.bans.get(key)!)
  }
}
