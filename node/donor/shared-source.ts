/**
 * Where a donor gets the shared bytes (a program) its units name by hash: from memory while
 * units use them, else from its disk cache (shared-cache.ts), else from the coordinator that
 * leased the units, asked once however many units wait. The bytes come in pieces; only
 * pieces of a hash this donor asked that coordinator for are taken, in order, up to the size
 * the first one declared, and the whole must hash to what was asked for before any unit runs
 * on it or it is cached. A coordinator that sends anything else broke the protocol. The bytes
 * live in shared memory, so that the unit threads see them without a copy per batch.
 */
import { createHash, type Hash } from 'node:crypto'
import { SwarmgridError } from '../../base/errors.js'
import { inSharedMemory } from '../../tasks/shared-bytes.js'
import type { CoordinatorLink } from '../protocol/links.js'
import { protocolViolation } from '../protocol/violation.js'
import type * as wire from '../protocol/wire.js'
import type { SharedCache } from './shared-cache.js'

/** A fetch that hears nothing for this long fails its units: the coordinator may be alive but silent. */
export const FETCH_STALL_MS = 60_000
/** Bytes no unit uses any more, kept in memory in case the next batch of the job needs them again. */
const IDLE_KEPT = 2
/** Fetches one coordinator may have open at once: units naming more must wait for a later lease. */
export const MAX_FETCHES_PER_LINK = 4
/**
 * Shared bytes held in memory at once, fetched or kept: a coordinator that names a new 32 MiB
 * program in every unit gets its units failed past this, not the donor's memory.
 */
export const MAX_SHARED_IN_MEMORY = 256 * 1024 * 1024

interface Fetch {
  link: CoordinatorLink
  /** The size the first piece declared; null until it came. */
  total: number | null
  /** Where the pieces go; null when they are dropped (see dropped). */
  bytes: Uint8Array | null
  /** Hashes the pieces as they come, so that the last one holds the event loop no longer than the others. */
  hasher: Hash
  /** Why the pieces are taken and dropped: no room for them here now. */
  dropped: SharedBytesError | null
  received: number
  done: Promise<Uint8Array>
  resolve(bytes: Uint8Array): void
  reject(err: Error): void
  stall: NodeJS.Timeout
}

interface InMemory {
  bytes: Uint8Array
  users: number
}

/** Why a unit cannot have its program: 'handback' when this donor is only full for now, and another may run it. */
export class SharedBytesError extends SwarmgridError {
  override name = 'SharedBytesError'
  constructor(
    message: string,
    readonly kind: 'error' | 'handback' = 'error'
  ) {
    super('SHARED_BYTES_UNAVAILABLE', message)
  }
}

export class SharedSource {
  private readonly memory = new Map<string, InMemory>()
  private readonly loading = new Map<string, Promise<Uint8Array | null>>()
  private readonly fetches = new Map<CoordinatorLink, Map<string, Fetch>>()
  /** Fetches sent so far, for tests and the bench: a donor that holds the bytes asks for none. */
  fetchCount = 0

  private readonly stallMs: number
  private readonly maxInMemory: number

  /** The bounds are for tests; a donor takes the defaults. */
  constructor(
    readonly cache: SharedCache,
    bounds: { stallMs?: number; maxInMemory?: number } = {}
  ) {
    this.stallMs = bounds.stallMs ?? FETCH_STALL_MS
    this.maxInMemory = bounds.maxInMemory ?? MAX_SHARED_IN_MEMORY
  }

  /** The bytes with this hash, for one unit of `link`'s: release them when the unit is done. */
  async acquire(link: CoordinatorLink, hash: string): Promise<Uint8Array> {
    const kept = this.memory.get(hash)
    if (kept) {
      kept.users++
      return kept.bytes
    }
    const bytes = (await this.fromDisk(hash)) ?? (await this.fetch(link, hash))
    // Another unit may have put them in memory while this one waited.
    const now = this.memory.get(hash) ?? { bytes, users: 0 }
    now.users++
    this.memory.set(hash, now)
    return now.bytes
  }

  /** All the bytes one unit names, or why it cannot have them (with none of them left acquired). */
  async acquireAll(link: CoordinatorLink, hashes: string[]): Promise<Array<[string, Uint8Array]> | SharedBytesError> {
    const got = await Promise.allSettled(hashes.map((hash) => this.acquire(link, hash)))
    const acquired = got.flatMap((g, i): Array<[string, Uint8Array]> => (g.status === 'fulfilled' ? [[hashes[i], g.value]] : []))
    const failed = got.find((g): g is PromiseRejectedResult => g.status === 'rejected')
    if (!failed) return acquired
    for (const [hash] of acquired) this.release(hash)
    const why = failed.reason as Error
    return why instanceof SharedBytesError ? why : new SharedBytesError(why.message)
  }

  release(hash: string): void {
    const kept = this.memory.get(hash)
    if (!kept || --kept.users > 0) return
    // The least recently released idle bytes go first.
    this.memory.delete(hash)
    this.memory.set(hash, kept)
    const idle = [...this.memory].filter(([, m]) => m.users <= 0)
    for (const [old] of idle.slice(0, Math.max(0, idle.length - IDLE_KEPT))) this.memory.delete(old)
  }

  /** A piece from `link`; throws a ProtocolViolation for a piece nobody asked for or that does not fit. */
  piece(link: CoordinatorLink, msg: wire.PieceMessage): void {
    const hash = Buffer.from(msg.hash).toString('hex')
    const fetch = this.fetches.get(link)?.get(hash)
    if (!fetch) throw protocolViolation(`a piece of ${hash.slice(0, 12)}, which this donor did not ask for`)
    const fail = (why: string) => {
      this.end(link, hash, new SharedBytesError(`the coordinator sent ${hash.slice(0, 12)} wrong: ${why}`))
      return protocolViolation(`shared bytes ${hash.slice(0, 12)}: ${why}`)
    }
    if (fetch.total === null) {
      if (msg.offset !== 0) throw fail(`the first piece starts at ${msg.offset}`)
      fetch.total = msg.total
      if (this.inMemory() + msg.total > this.maxInMemory) {
        // No lie: an honest coordinator's big program while this donor holds others. Its pieces
        // are still taken, in order, and dropped; the units go back, to wait for another donor.
        const why = `${msg.total} more bytes of programs would pass the ${this.maxInMemory} this donor holds at once`
        fetch.dropped = new SharedBytesError(why, 'handback')
      } else fetch.bytes = new Uint8Array(new SharedArrayBuffer(msg.total))
    }
    if (msg.total !== fetch.total) throw fail(`a piece says ${msg.total} bytes where the first said ${fetch.total}`)
    if (msg.offset !== fetch.received) throw fail(`a piece at ${msg.offset} where ${fetch.received} was next`)
    if (fetch.bytes) {
      fetch.bytes.set(msg.bytes, msg.offset)
      fetch.hasher.update(msg.bytes)
    }
    fetch.received += msg.bytes.byteLength
    fetch.stall.refresh()
    if (fetch.received < msg.total) return
    if (!fetch.bytes) return this.end(link, hash, fetch.dropped)
    if (fetch.hasher.digest('hex') !== hash) throw fail('its SHA-256 is not the one asked for')
    // Already in shared memory: the pieces were put there as they came.
    this.end(link, hash, null, fetch.bytes)
    void this.cache.write(hash, fetch.bytes)
  }

  /** Bytes in memory now: those units hold and those on their way. */
  private inMemory(): number {
    let total = 0
    for (const kept of this.memory.values()) total += kept.bytes.byteLength
    for (const ofLink of this.fetches.values()) for (const f of ofLink.values()) total += f.bytes?.byteLength ?? 0
    return total
  }

  /** The connection is gone: what it was sending will not come. */
  detach(link: CoordinatorLink): void {
    for (const hash of [...(this.fetches.get(link)?.keys() ?? [])]) {
      this.end(link, hash, new SharedBytesError(`the coordinator left before it sent ${hash.slice(0, 12)}`))
    }
    this.fetches.delete(link)
  }

  private fromDisk(hash: string): Promise<Uint8Array | null> {
    if (!this.cache.has(hash)) return Promise.resolve(null)
    let loading = this.loading.get(hash)
    if (!loading) {
      loading = this.cache
        .read(hash)
        .then((bytes) => (bytes ? inSharedMemory(bytes) : null))
        .finally(() => this.loading.delete(hash))
      this.loading.set(hash, loading)
    }
    return loading
  }

  /** Asks `link` for the bytes once; every unit that waits on them meanwhile waits on the same fetch. */
  private fetch(link: CoordinatorLink, hash: string): Promise<Uint8Array> {
    const ofLink = this.fetches.get(link) ?? new Map<string, Fetch>()
    this.fetches.set(link, ofLink)
    const running = ofLink.get(hash)
    if (running) return running.done
    if (ofLink.size >= MAX_FETCHES_PER_LINK) {
      return Promise.reject(
        new SharedBytesError(`${MAX_FETCHES_PER_LINK} programs are on their way from this coordinator already`, 'handback')
      )
    }
    let resolve!: (bytes: Uint8Array) => void
    let reject!: (err: Error) => void
    const done = new Promise<Uint8Array>((res, rej) => {
      resolve = res
      reject = rej
    })
    // Nobody may be waiting when it fails (all its units were cancelled): that is no crash.
    done.catch(() => {})
    const stall = setTimeout(
      () => this.end(link, hash, new SharedBytesError(`the coordinator sent nothing of ${hash.slice(0, 12)} for ${this.stallMs} ms`)),
      this.stallMs
    )
    stall.unref()
    ofLink.set(hash, {
      link,
      total: null,
      bytes: null,
      hasher: createHash('sha256'),
      dropped: null,
      received: 0,
      done,
      resolve,
      reject,
      stall
    })
    this.fetchCount++
    link.sendFetch({ hash: Buffer.from(hash, 'hex') })
    return done
  }

  private end(link: CoordinatorLink, hash: string, err: Error | null, bytes?: Uint8Array): void {
    const fetch = this.fetches.get(link)?.get(hash)
    if (!fetch) return
    clearTimeout(fetch.stall)
    this.fetches.get(link)!.delete(hash)
    if (err) fetch.reject(err)
    else fetch.resolve(bytes!)
  }
}
