/**
 * Sends a donor the shared bytes (a program) its units name by hash, when it asks: in pieces
 * of at most LIMITS.pieceBytes, a few ahead of what the connection has delivered, so a 32 MiB
 * program neither passes the frame cap nor holds the channel's other messages up behind it.
 * Only a donor holding a lease of a job whose units name the hash may ask, and for each hash
 * only once at a time and a few times per connection: anything else would let a peer make
 * this coordinator send without end. As with leases (lease-routes.ts), a hash this coordinator
 * never stored is a lie, while one of a job the donor no longer holds leases of may be a fetch
 * that crossed a cancel or the job's end: it gets nothing, and too many of those are a lie.
 */
import type { DonorLink } from '../protocol/links.js'
import { LIMITS } from '../protocol/wire.js'
import type * as wire from '../protocol/wire.js'
import type { Store } from '../store/store.js'
import type { ActiveJob } from './active-job.js'
import { MAX_STALE } from './lease-routes.js'

/** Pieces sent before waiting for the connection to deliver them: a few MiB in flight. */
const PIECES_AHEAD = 4
/** Times one connection may ask for the same bytes: a donor whose cache lost them asks again, a liar asks for ever. */
export const MAX_FETCHES_PER_HASH = 4

export interface SharedSent {
  peer: string
  hash: string
  bytes: number
}

export class SharedSender {
  /** Per connection: how often it asked for each hash, and which are on their way now. */
  private readonly asked = new WeakMap<DonorLink, { counts: Map<string, number>; sending: Set<string>; stale: number }>()

  constructor(
    private readonly store: Store,
    private readonly violation: (link: DonorLink, reason: string) => void,
    private readonly sent: (what: SharedSent) => void
  ) {}

  fetch(link: DonorLink, msg: wire.FetchMessage, jobs: Iterable<ActiveJob>): void {
    const hash = Buffer.from(msg.hash).toString('hex')
    let named = false
    for (const job of jobs) {
      if (job.record.shared?.includes(hash) && job.machine.leasesOut(link.key) > 0) {
        named = true
        break
      }
    }
    const state = this.asked.get(link) ?? { counts: new Map<string, number>(), sending: new Set<string>(), stale: 0 }
    this.asked.set(link, state)
    // Checked without reading the bytes: a stale fetch must cost nothing.
    if (!this.store.hasSharedBytes(hash)) return this.violation(link, `fetch of ${hash.slice(0, 12)}, which no job here ever named`)
    if (!named) {
      if (++state.stale > MAX_STALE) this.violation(link, `more than ${MAX_STALE} fetches of programs of no unit it holds a lease on`)
      return
    }
    if (state.sending.has(hash)) return this.violation(link, `fetch of ${hash.slice(0, 12)} again while it is on its way`)
    const count = (state.counts.get(hash) ?? 0) + 1
    if (count > MAX_FETCHES_PER_HASH) return this.violation(link, `fetch of ${hash.slice(0, 12)} more than ${MAX_FETCHES_PER_HASH} times`)
    const bytes = this.store.sharedBytes(hash)
    if (!bytes) return
    state.counts.set(hash, count)
    state.sending.add(hash)
    void this.send(link, msg.hash, bytes).finally(() => state.sending.delete(hash))
  }

  private async send(link: DonorLink, hash: Uint8Array, bytes: Uint8Array): Promise<void> {
    const total = bytes.byteLength
    let pieces = 0
    for (let offset = 0; offset < total; offset += LIMITS.pieceBytes) {
      link.sendPiece({ hash, offset, total, bytes: bytes.subarray(offset, Math.min(total, offset + LIMITS.pieceBytes)) })
      if (++pieces % PIECES_AHEAD === 0 && link.delivered && !(await link.delivered())) return
    }
    this.sent({ peer: link.key, hash: Buffer.from(hash).toString('hex'), bytes: total })
  }
}
