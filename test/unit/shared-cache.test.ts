/**
 * The donor's program cache on disk (node/donor/shared-cache.ts): bounded, least recently used
 * out first, that order kept across a restart by the files' times, every file checked against
 * its name on read, and what a crash left half written cleared away.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { existsSync, readFileSync, readdirSync, truncateSync, utimesSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { SharedCache } from '../../node/donor/shared-cache.js'
import { MAX_SHARED_BYTES, sha256Hex } from '../../tasks/shared-bytes.js'
import { tempDir } from '../support/helpers.js'

const KiB = 1024
const MiB = 1024 * KiB

function blob(): { hash: string; bytes: Uint8Array } {
  const bytes = new Uint8Array(randomBytes(KiB))
  return { hash: sha256Hex(bytes), bytes }
}

test('past its bound the least recently used goes first, a read counts as a use, and the order outlives a restart', async () => {
  const dir = join(await tempDir(), 'blobs')
  try {
    const cache = new SharedCache(dir, 3 * KiB)
    const [a, b, c, d] = [blob(), blob(), blob(), blob()]
    for (const x of [a, b, c]) await cache.write(x.hash, x.bytes)
    assert.is(cache.bytes, 3 * KiB)
    const read = await cache.read(a.hash)
    assert.ok(read && Buffer.from(read).equals(Buffer.from(a.bytes)), 'a is read whole, and so used last')
    await cache.write(d.hash, d.bytes)
    assert.not.ok(cache.has(b.hash), 'b, the least recently used, went')
    assert.not.ok(existsSync(join(dir, b.hash)))
    assert.ok(cache.has(a.hash) && cache.has(c.hash) && cache.has(d.hash))
    assert.is(cache.bytes, 3 * KiB)

    // A restart reads the order from the files' times; a write cut short left a temporary file.
    const old = new Date(Date.now() - 60_000)
    utimesSync(join(dir, a.hash), old, old)
    writeFileSync(join(dir, `${blob().hash}.123.tmp`), 'half')
    const again = new SharedCache(dir, 3 * KiB)
    assert.equal(readdirSync(dir).sort(), [a.hash, c.hash, d.hash].sort(), 'the temporary file is gone')
    const e = blob()
    await again.write(e.hash, e.bytes)
    assert.not.ok(again.has(a.hash), 'a, oldest by its time on disk, went')
    assert.ok(again.has(c.hash) && again.has(d.hash) && again.has(e.hash))

    // Bytes larger than the whole cache are not kept, and evict nothing.
    const huge = new Uint8Array(4 * KiB)
    await again.write(sha256Hex(huge), huge)
    assert.ok(again.has(c.hash) && again.has(d.hash) && again.has(e.hash))
  } finally {
    await rm(join(dir, '..'), { recursive: true, force: true })
  }
})

test('a file that no longer matches its hash is deleted on read, and reads as missing', async () => {
  const dir = join(await tempDir(), 'blobs')
  try {
    const cache = new SharedCache(dir, 8 * KiB)
    const warnings: string[] = []
    const a = blob()
    await cache.write(a.hash, a.bytes)
    writeFileSync(join(dir, a.hash), randomBytes(KiB))
    const reopened = new SharedCache(dir, 8 * KiB, (text) => warnings.push(text))
    assert.is(await reopened.read(a.hash), null)
    assert.not.ok(existsSync(join(dir, a.hash)))
    assert.not.ok(reopened.has(a.hash))
    assert.match(warnings[0], /was corrupt on disk; deleted, it is fetched again/)
    assert.is(reopened.bytes, 0)
  } finally {
    await rm(join(dir, '..'), { recursive: true, force: true })
  }
})

test('started with a smaller bound than before, the cache lets the least recently used files go at once; with 0 it keeps none', async () => {
  const dir = join(await tempDir(), 'blobs')
  try {
    const [a, b, c] = [blob(), blob(), blob()]
    const big = new SharedCache(dir, 3 * KiB)
    for (const x of [a, b, c]) await big.write(x.hash, x.bytes)
    const old = new Date(Date.now() - 60_000)
    utimesSync(join(dir, b.hash), old, old)
    const small = new SharedCache(dir, 2 * KiB)
    assert.is(small.bytes, 2 * KiB)
    assert.not.ok(existsSync(join(dir, b.hash)), 'b, used longest ago, went')
    assert.ok(small.has(a.hash) && small.has(c.hash))
    const none = new SharedCache(dir, 0)
    assert.is(none.bytes, 0)
    assert.equal(readdirSync(dir), [])
    await none.write(a.hash, a.bytes)
    assert.equal(readdirSync(dir), [], 'nothing is written')
  } finally {
    await rm(join(dir, '..'), { recursive: true, force: true })
  }
})

test('a 32 MiB program is read back and checked without holding the event loop for more than a few ms', async () => {
  const dir = join(await tempDir(), 'blobs')
  try {
    const cache = new SharedCache(dir)
    const bytes = new Uint8Array(randomBytes(MAX_SHARED_BYTES))
    const hash = sha256Hex(bytes)
    await cache.write(hash, bytes)
    // Time on the CPU between two turns of the event loop, not wall time, which the rest of the
    // suite's processes stretch whenever they take this core (Linux: the thread's schedstat).
    const onCpuMs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6
    let last = onCpuMs()
    let longest = 0
    const ticks = setInterval(() => {
      const now = onCpuMs()
      longest = Math.max(longest, now - last)
      last = now
    }, 1)
    const read = await cache.read(hash).finally(() => clearInterval(ticks))
    assert.ok(read && Buffer.from(read).equals(Buffer.from(bytes)), 'read whole')
    // Hashed in one call, the check held the loop ~30 ms here; in 1 MiB steps, 2-5 ms.
    assert.ok(longest < 15, `the event loop was held ${longest.toFixed(1)} ms of CPU at once`)
  } finally {
    await rm(join(dir, '..'), { recursive: true, force: true })
  }
})

test('a file grown past what shared bytes may be is not read but deleted, to be fetched again', async () => {
  const dir = join(await tempDir(), 'blobs')
  try {
    const a = blob()
    await new SharedCache(dir).write(a.hash, a.bytes)
    // Sparse: 8 GiB that take no disk, and that no buffer could hold.
    truncateSync(join(dir, a.hash), 8 * 1024 * MiB)
    const warnings: string[] = []
    const roomy = new SharedCache(dir, 16 * 1024 * MiB, (text) => warnings.push(text))
    assert.is(await roomy.read(a.hash), null)
    assert.not.ok(existsSync(join(dir, a.hash)))
    assert.match(warnings.join('\n'), /was corrupt on disk; deleted, it is fetched again/)
  } finally {
    await rm(join(dir, '..'), { recursive: true, force: true })
  }
})

test.run()
