/**
 * What this coordinator knows of every peer it has judged: votes won and lost, checks passed,
 * the blacklist. Reads are synchronous and always see the last write (the acceptance policy
 * asks on every result); each change is handed to the storage (the lmdb store on a peer,
 * nothing in the simulator), so both run exactly the same rules.
 */
import type { Decision } from '../job/types.js'
import type { Reputation } from '../store/records.js'

export interface LedgerStorage {
  load(key: string): Reputation | undefined
  save(record: Reputation): void
}

export function emptyReputation(key: string, host: string): Reputation {
  return {
    key,
    host,
    validated: 0,
    invalidated: 0,
    errors: 0,
    consecutiveValid: 0,
    lastSeen: 0,
    corroborated: 0,
    spotChecksPassed: 0,
    spotChecksFailed: 0,
    blacklisted: null,
    blacklistedOn: null
  }
}

/** Checks a peer has passed: spot-checks, and results that other peers' results confirmed. */
export function checksPassed(r: Reputation | undefined): number {
  return r ? (r.spotChecksPassed ?? 0) + (r.corroborated ?? 0) : 0
}

export class TrustLedger {
  private readonly cache = new Map<string, Reputation>()

  constructor(
    private readonly storage: LedgerStorage = { load: () => undefined, save: () => {} },
    private readonly clock: () => number = Date.now
  ) {}

  get(key: string): Reputation | undefined {
    let record = this.cache.get(key)
    if (record === undefined) {
      const stored = this.storage.load(key)
      if (!stored) return undefined
      record = { ...emptyReputation(key, stored.host), ...stored }
      this.cache.set(key, record)
    }
    return record
  }

  checks(key: string): number {
    return checksPassed(this.get(key))
  }

  blacklisted(key: string): boolean {
    return !!this.get(key)?.blacklisted
  }

  consecutiveValid(key: string): number {
    return this.get(key)?.consecutiveValid ?? 0
  }

  update(key: string, host: string, change: (r: Reputation) => void): Reputation {
    const record = this.get(key) ?? emptyReputation(key, host)
    if (host !== 'unknown') record.host = host
    record.lastSeen = this.clock()
    change(record)
    this.cache.set(key, record)
    this.storage.save(record)
    return record
  }

  /** Blacklists a peer; false if it already was. `on` names the accepted answer it contradicted, if that was why. */
  blacklist(key: string, host: string, reason: string, on: string | null = null): boolean {
    if (this.blacklisted(key)) return false
    this.update(key, host, (r) => {
      r.blacklisted = reason
      r.blacklistedOn = on
    })
    return true
  }

  /**
   * Carries a machine's decisions into the ledger and returns the peers they blacklisted, whose
   * accepted results must now be re-verified. Under the credibility rule an accepted answer is
   * right with probability 1 − ε, so a result that matched it alongside another independent
   * result passed a check, and one that contradicted it failed one, exactly like a spot-check.
   * Under a fixed quorum the counts are kept but nobody is blacklisted: two votes prove too little.
   * A peer blacklisted for contradicting an answer that backtracking later overturned in its
   * favour is reinstated. `job` names the job the decisions are of.
   */
  observe(decisions: readonly Decision[], hostOf: (key: string) => string, job = ''): string[] {
    const blacklisted: string[] = []
    for (const d of decisions) {
      if (d.type === 'accept') {
        const weighed = d.why?.rule === 'credibility'
        const confirmed = weighed && d.why!.agreeing.length >= 2 ? new Set(d.why!.agreeing.map((p) => p.peer)) : null
        const answer = `${job}:${d.unit}`
        for (const peer of d.agreeing) {
          this.update(peer, hostOf(peer), (r) => {
            r.validated++
            r.consecutiveValid++
            if (confirmed?.has(peer)) r.corroborated = (r.corroborated ?? 0) + 1
            if (weighed && r.blacklisted && r.blacklistedOn === answer) {
              r.blacklisted = null
              r.blacklistedOn = null
            }
          })
        }
        for (const peer of d.outvoted) {
          this.update(peer, hostOf(peer), (r) => {
            r.invalidated++
            r.consecutiveValid = 0
          })
          if (!weighed) continue
          const why = `unit ${d.unit}${job ? ` of job ${job.slice(0, 8)}` : ''}: contradicted an answer of credibility ${d.why!.credibility?.toFixed(6)}`
          if (this.blacklist(peer, hostOf(peer), why, answer)) blacklisted.push(peer)
        }
      } else if (d.type === 'lease-expired') {
        this.update(d.peer, hostOf(d.peer), (r) => {
          r.errors++
          r.consecutiveValid = 0
        })
      } else if (d.type === 'spot-check') {
        this.update(d.peer, hostOf(d.peer), (r) => {
          if (d.passed) r.spotChecksPassed = (r.spotChecksPassed ?? 0) + 1
          else r.spotChecksFailed = (r.spotChecksFailed ?? 0) + 1
        })
        if (!d.passed && this.blacklist(d.peer, hostOf(d.peer), `failed a spot-check on unit ${d.unit}`)) blacklisted.push(d.peer)
      }
    }
    return blacklisted
  }
}
