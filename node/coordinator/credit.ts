/**
 * Credit, BOINC's cobblestone made simpler: a donor earns, for each result that was validated
 * (its answer was among those accepted), the CPU-seconds the unit took scaled by the donor's
 * speed on a short benchmark, so a second on a fast machine is worth more than one on a slow
 * one. Each result claims its credit; the coordinator grants every agreeing peer the smallest
 * claim among them, so a peer that inflates its CPU time or its speed gains nothing unless
 * every replica lies alike. Outvoted, failed and unverified results earn nothing.
 */
import type { Database } from 'lmdb'
import type { Store } from '../store/store.js'
import type { WriteBehind } from '../store/write-behind.js'

export interface CreditRecord {
  key: string
  credit: number
  cpuSeconds: number
  results: number
}

/** The credit one result claims: CPU-seconds times speed over the reference's 1000. */
export function claimOf(cpuMs: number, speed: number): number {
  return (cpuMs / 1000) * (speed / 1000)
}

/** Credit each peer earned for this coordinator, kept in the peer's store beside reputation. */
export class CreditLedger {
  private readonly db: Database<CreditRecord, string>
  /** Credit changes with every accepted unit: written behind (node/store/write-behind.ts). */
  private readonly records: WriteBehind<CreditRecord>
  /** Claims of results whose units are not settled yet, by job and unit, then peer. */
  private readonly claims = new Map<string, Map<string, { claim: number; cpuMs: number }>>()

  constructor(store: Store) {
    this.db = store.sub<CreditRecord, string>('credit')
    this.records = store.writeBehind(this.db)
  }

  claim(job: string, unit: number, peer: string, cpuMs: number, speed: number): void {
    const key = `${job}/${unit}`
    const byPeer = this.claims.get(key) ?? new Map()
    byPeer.set(peer, { claim: claimOf(cpuMs, speed), cpuMs })
    this.claims.set(key, byPeer)
  }

  /** The unit was accepted: its agreeing peers share the smallest of their claims. */
  grant(job: string, unit: number, agreeing: string[]): void {
    const key = `${job}/${unit}`
    const byPeer = this.claims.get(key)
    this.claims.delete(key)
    if (!byPeer) return
    const claims = agreeing.map((peer) => byPeer.get(peer)).filter((c) => c !== undefined)
    if (claims.length === 0) return
    const granted = Math.min(...claims.map((c) => c.claim))
    const cpuSeconds = Math.min(...claims.map((c) => c.cpuMs)) / 1000
    for (const peer of agreeing) {
      if (!byPeer.has(peer)) continue
      const now = this.records.get(peer) ?? { key: peer, credit: 0, cpuSeconds: 0, results: 0 }
      this.records.put(peer, { key: peer, credit: now.credit + granted, cpuSeconds: now.cpuSeconds + cpuSeconds, results: now.results + 1 })
    }
  }

  /** The unit ended without acceptance (failed, cancelled): its claims earn nothing. */
  forget(job: string): void {
    for (const key of this.claims.keys()) if (key.startsWith(`${job}/`)) this.claims.delete(key)
  }

  get(peer: string): CreditRecord | undefined {
    return this.records.get(peer)
  }

  all(): CreditRecord[] {
    return this.records.all()
  }
}

/** Credit as `status` shows it. */
export function formatCredit(credit: number): string {
  return credit < 10 ? credit.toFixed(2) : credit < 1000 ? credit.toFixed(1) : Math.round(credit).toString()
}
