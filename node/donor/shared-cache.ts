/**
 * The donor's cache of shared bytes (programs) on disk, DATA/blobs/<hex SHA-256>: bounded,
 * least recently used out first (a file's mtime is its last use, so the order outlives a
 * restart), each file written whole or not at all (tmp + rename) and checked against its name
 * when read: a corrupt file is deleted and its bytes fetched again. The cache only saves
 * fetches: a write that fails (a full disk) is reported and the unit runs from memory.
 */
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs'
import { open, rename, unlink, utimes, writeFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { MAX_SHARED_BYTES } from '../../tasks/shared-bytes.js'

export const DEFAULT_SHARED_CACHE_BYTES = 512 * 1024 * 1024
const NAME = /^[0-9a-f]{64}$/

export class SharedCache {
  /** Hash → size, least recently used first. */
  private readonly entries = new Map<string, number>()
  private total = 0
  /** Hashes being written now: two coordinators may send the same program at once. */
  private readonly writing = new Set<string>()

  /** `dir` null: nothing is kept (a donor without a data dir). `warn` hears what went wrong, never a throw. */
  constructor(
    readonly dir: string | null,
    readonly maxBytes: number = DEFAULT_SHARED_CACHE_BYTES,
    private readonly warn: (text: string) => void = () => {}
  ) {
    if (!dir) return
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      const files = readdirSync(dir).flatMap((name) => {
        const path = join(dir, name)
        // A write cut short by a crash left its temporary file behind.
        if (!NAME.test(name)) {
          if (name.endsWith('.tmp')) unlinkSync(path)
          return []
        }
        const stat = statSync(path)
        return [{ name, size: stat.size, used: stat.mtimeMs }]
      })
      for (const f of files.sort((a, b) => a.used - b.used)) this.remember(f.name, f.size)
      // Started with a smaller bound than the last run's: the least recently used go now.
      for (const old of [...this.entries.keys()]) {
        if (this.total <= this.maxBytes) break
        this.forget(old)
        try {
          unlinkSync(join(dir, old))
        } catch (err) {
          this.warn(`shared-bytes cache: could not delete ${old.slice(0, 12)}: ${(err as Error).message}`)
        }
      }
    } catch (err) {
      this.warn(`shared-bytes cache ${dir}: ${(err as Error).message}`)
    }
  }

  get bytes(): number {
    return this.total
  }

  has(hash: string): boolean {
    return this.entries.has(hash)
  }

  /** The bytes, if kept here and whole; a file that no longer matches its hash is deleted. */
  async read(hash: string): Promise<Uint8Array | null> {
    if (!this.dir || !this.entries.has(hash)) return null
    const path = join(this.dir, hash)
    let read: { bytes: Buffer; hash: string } | null
    try {
      read = await readHashed(path)
    } catch (err) {
      this.forget(hash)
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.warn(`shared-bytes cache: reading ${hash.slice(0, 12)}: ${(err as Error).message}`)
      return null
    }
    if (read?.hash !== hash) {
      this.warn(`shared-bytes cache: ${hash.slice(0, 12)} was corrupt on disk; deleted, it is fetched again`)
      this.forget(hash)
      await unlink(path).catch(() => {})
      return null
    }
    this.remember(hash, read.bytes.byteLength)
    const now = new Date()
    await utimes(path, now, now).catch(() => {})
    return read.bytes
  }

  /** Keeps the bytes (already checked against their hash), making room by the least recently used. */
  async write(hash: string, bytes: Uint8Array): Promise<void> {
    if (!this.dir || this.entries.has(hash) || this.writing.has(hash) || bytes.byteLength > this.maxBytes) return
    this.writing.add(hash)
    try {
      await this.writeNew(this.dir, hash, bytes)
    } finally {
      this.writing.delete(hash)
    }
  }

  private async writeNew(dir: string, hash: string, bytes: Uint8Array): Promise<void> {
    for (const old of [...this.entries.keys()]) {
      if (this.total + bytes.byteLength <= this.maxBytes) break
      this.forget(old)
      await unlink(join(dir, old)).catch(() => {})
    }
    const path = join(dir, hash)
    const tmp = `${path}.${process.pid}.tmp`
    try {
      await writeFile(tmp, bytes, { mode: 0o600 })
      await rename(tmp, path)
      this.remember(hash, bytes.byteLength)
    } catch (err) {
      await unlink(tmp).catch(() => {})
      this.warn(`shared-bytes cache: could not keep ${hash.slice(0, 12)} (${(err as Error).message}); it runs from memory`)
    }
  }

  private remember(hash: string, size: number): void {
    this.forget(hash)
    this.entries.set(hash, size)
    this.total += size
  }

  private forget(hash: string): void {
    const size = this.entries.get(hash)
    if (size === undefined) return
    this.entries.delete(hash)
    this.total -= size
  }
}

/** Read and hashed this much at a time: each step holds the event loop about a millisecond. */
const READ_CHUNK = 1024 * 1024

/**
 * The file's bytes, and their hex SHA-256, hashed as they are read: hashing a 32 MiB program
 * in one call held the donor's event loop, and with it every coordinator's messages, ~30 ms.
 * A file larger than any shared bytes may be is not read at all.
 */
async function readHashed(path: string): Promise<{ bytes: Buffer; hash: string } | null> {
  const file = await open(path, 'r')
  try {
    const { size } = await file.stat()
    if (size > MAX_SHARED_BYTES) return null
    const bytes = Buffer.allocUnsafeSlow(size)
    const hasher = createHash('sha256')
    for (let at = 0; at < size; ) {
      const { bytesRead } = await file.read(bytes, at, Math.min(READ_CHUNK, size - at), at)
      if (bytesRead === 0) return null
      hasher.update(bytes.subarray(at, at + bytesRead))
      at += bytesRead
    }
    return { bytes, hash: hasher.digest('hex') }
  } finally {
    await file.close()
  }
}
