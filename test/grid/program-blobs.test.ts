/**
 * Programs travel once per donor, by SHA-256 (issue 12, item 3): unit inputs name the program
 * by its hash, a donor fetches the bytes once however many units wait on them, keeps them in
 * a bounded cache in its data dir, and fetches nothing for a program it holds (a second job,
 * a restart); a corrupt cache file is fetched again. A donor that asks for a hash it holds no
 * lease for broke the protocol; so did a coordinator that sends pieces never asked for, out of
 * order, or bytes whose hash is not the one asked for, and the donor caches none of it.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import type { Peer } from '../../node/peer/peer.js'
import type { CoordinatorLink } from '../../node/protocol/links.js'
import { ProtocolViolation } from '../../node/protocol/violation.js'
import * as wire from '../../node/protocol/wire.js'
import { Donor } from '../../node/donor/donor.js'
import { MAX_FETCHES_PER_LINK, SharedSource } from '../../node/donor/shared-source.js'
import { SharedBytes } from '../../tasks/shared-bytes.js'
import { SharedCache } from '../../node/donor/shared-cache.js'
import type { SharedSent } from '../../node/coordinator/shared-sender.js'
import { MAX_FETCHES_PER_HASH } from '../../node/coordinator/shared-sender.js'
import { MAX_STALE } from '../../node/coordinator/lease-routes.js'
import { TaskRegistry } from '../../tasks/registry.js'
import wasi, { MAX_PROGRAM_BYTES } from '../../tasks/wasi.js'
import { encodeValue } from '../../tasks/values.js'
import { createUnitPool } from '../../worker/unit-pool.js'
import { withoutDebugInfo } from '../../worker/sandbox/wasi/code-transform.js'
import { readControlToken } from '../../node/store/data-dir.js'
import { gridWith, startTestGrid, tempDir, until, within } from '../support/helpers.js'
import { withCoordinator } from '../support/donor-links.js'
import { b64 } from '../support/wasi-runs.js'
import { buildPadded, clangMissing } from '../support/wasi-programs.js'

const dir = await tempDir('swarmgrid-program-blobs-')
const missing = clangMissing(dir)
const MiB = 1024 * 1024
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const runsOf = (n: number) => Array.from({ length: n }, (_, i) => ({ args: [String(i * 7919)] }))

/** Bytes the coordinator's connection to each donor has written so far, by donor key. */
function writtenTo(coordinator: Peer): Map<string, number> {
  const out = new Map<string, number>()
  for (const conn of coordinator.parts.swarm.connections as Set<any>) {
    out.set(conn.remotePublicKey.toString('hex'), conn.rawBytesWritten ?? 0)
  }
  return out
}

if (missing) {
  test.unavailable('programs by hash', missing, { expected: true })
} else {
  const program = buildPadded(dir, 'pad2m', 2 * MiB)
  const hash = sha256(withoutDebugInfo(program))

  test('a 2 MiB program over 60 runs on two donors goes once to each; a second job, a restart and a corrupt cache', async () => {
    const dataDirs = [await tempDir(), await tempDir()]
    const { grid, coordinator, donors } = await gridWith(dataDirs.map((dataDir) => ({ dataDir, threads: 1 })))
    const sent: SharedSent[] = []
    coordinator.parts.coordinator.on('shared-sent', (s: SharedSent) => sent.push(s))
    try {
      const before = writtenTo(coordinator)
      const spec = { task: 'wasi', quorum: 2, params: { program: b64(program), runs: runsOf(60) } }
      const first = await coordinator.submit(spec)
      const done = await within(coordinator.wait(first.id), 60_000, 'the first job')
      assert.is(done.state, 'done', done.error ?? '')
      assert.is((done.result as { runs: unknown[] }).runs.length, 60)
      assert.equal(coordinator.parts.store.job(first.id)?.shared, [hash], 'the record names the program by hash')
      assert.not.ok(
        JSON.stringify(coordinator.parts.store.job(first.id)?.params).includes(b64(program).base64.slice(0, 1000)),
        'the record rewritten behind every result does not carry the program'
      )
      assert.equal(sent.map((s) => s.peer).sort(), donors.map((d) => d.key).sort(), 'one send to each donor')
      const after = writtenTo(coordinator)
      for (const donor of donors) {
        const bytes = (after.get(donor.key) ?? 0) - (before.get(donor.key) ?? 0)
        assert.ok(bytes > program.byteLength * 0.9, `${bytes} bytes to a donor: the program went`)
        assert.ok(bytes < 2 * program.byteLength, `${bytes} bytes to a donor for 60 units of a ${program.byteLength}-byte program`)
        assert.is(donor.parts.donor!.shared.fetchCount, 1, 'asked once, with many units waiting')
        assert.ok(existsSync(join(donor.dataDir, 'blobs', hash)), 'kept in the cache')
      }

      const second = await coordinator.submit(spec)
      assert.is((await within(coordinator.wait(second.id), 60_000, 'the second job')).state, 'done')
      assert.is(sent.length, 2, 'nothing sent for a program both donors hold')

      // Restarted with the same data dir, donor 0 reads the program from disk; donor 1's copy rots.
      await Promise.all(donors.map((d) => d.stop()))
      writeFileSync(join(dataDirs[1], 'blobs', hash), Buffer.from('not the program'))
      await until(() => coordinator.parts.coordinator.donorCount() === 0, 20_000, 'the donors to leave')
      const again = [
        await grid.add({ coordinate: false, dataDir: dataDirs[0], threads: 1 }),
        await grid.add({ coordinate: false, dataDir: dataDirs[1], threads: 1 })
      ]
      await until(() => coordinator.parts.coordinator.donorCount() === 2, 20_000, 'the donors to come back')
      const third = await coordinator.submit(spec)
      assert.is((await within(coordinator.wait(third.id), 60_000, 'the third job')).state, 'done')
      assert.is(again[0].parts.donor!.shared.fetchCount, 0, 'the restarted donor had it on disk')
      assert.is(again[1].parts.donor!.shared.fetchCount, 1, 'the corrupt copy was fetched again')
      assert.is(sha256(readFileSync(join(dataDirs[1], 'blobs', hash))), hash, 'and cached whole')
      assert.equal(
        sent.slice(2).map((s) => s.peer),
        [again[1].key]
      )
    } finally {
      await grid.destroy()
      await Promise.all(dataDirs.map((d) => rm(d, { recursive: true, force: true })))
    }
  })

  test('a program at the 32 MiB limit runs on a grid: in 1 MiB pieces, once', async () => {
    // The program as read must fit the limit; wasi-libc's debug info is most of what is past the pad.
    const huge = buildPadded(dir, 'pad32m', MAX_PROGRAM_BYTES - 512 * 1024)
    assert.ok(huge.byteLength <= MAX_PROGRAM_BYTES && huge.byteLength > MAX_PROGRAM_BYTES - MiB, `${huge.byteLength} bytes`)
    const { grid, coordinator, donors } = await gridWith([{ threads: 1 }], { http: 0 })
    const sent: SharedSent[] = []
    coordinator.parts.coordinator.on('shared-sent', (s: SharedSent) => sent.push(s))
    try {
      const before = writtenTo(coordinator).get(donors[0].key) ?? 0
      // Through the control API, as `swarmgrid submit --job` sends it: 43 MiB of base64 in the body.
      const answer = await fetch(new URL('api/jobs', coordinator.url!), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${readControlToken(coordinator.dataDir)}` },
        body: JSON.stringify({ task: 'wasi', quorum: 1, params: { program: b64(huge), runs: runsOf(3) } })
      })
      assert.is(answer.status, 201, await answer.clone().text())
      const job = (await answer.json()) as { id: string }
      const done = await within(coordinator.wait(job.id), 90_000, 'the 32 MiB job')
      assert.is(done.state, 'done', done.error ?? '')
      const runs = (done.result as { runs: Array<{ exit: number; stdout: Uint8Array }> }).runs
      assert.equal(
        runs.map((r) => r.exit),
        [0, 0, 0]
      )
      assert.is(sent.length, 1)
      const bytes = (writtenTo(coordinator).get(donors[0].key) ?? 0) - before
      assert.ok(bytes < 1.1 * huge.byteLength, `${bytes} bytes for a ${huge.byteLength}-byte program`)
    } finally {
      await grid.destroy()
    }
  })

  test("a peer's own donor gets the program over its local link, and under --cpu-limit its units' process gets it once", async () => {
    const grid = await startTestGrid()
    try {
      const peer = await grid.add({ threads: 1, donation: { cpuLimitPct: 90 } })
      const job = await peer.submit({ task: 'wasi', quorum: 1, params: { program: b64(program), runs: runsOf(6) } })
      const done = await within(peer.wait(job.id), 60_000, 'the job on its own donor')
      assert.is(done.state, 'done', done.error ?? '')
      assert.equal(
        (done.result as { runs: Array<{ exit: number }> }).runs.map((r) => r.exit),
        [0, 0, 0, 0, 0, 0]
      )
      assert.is(peer.parts.donor!.shared.fetchCount, 1)
      // A second job of the same program: its batches name the bytes the units' process keeps.
      const again = await peer.submit({ task: 'wasi', quorum: 1, params: { program: b64(program), runs: runsOf(2) } })
      assert.is((await within(peer.wait(again.id), 60_000, 'the second job')).state, 'done')
      assert.is(peer.parts.controls!.pool.sharedBytesCopied(), withoutDebugInfo(program).byteLength, 'copied to the process once')
    } finally {
      await grid.destroy()
    }
  })

  test('a donor asking for a hash no unit it holds names is a violation; an honest fetch gets ordered pieces of at most 1 MiB', async () => {
    await withCoordinator(undefined, async ({ coordinator, violations, donor }) => {
      const big = buildPadded(dir, 'pad3m', 3 * MiB)
      const bigHash = sha256(withoutDebugInfo(big))
      const job = await coordinator.submit({ task: 'wasi', quorum: 2, params: { program: b64(big), runs: runsOf(4) } })
      const a = donor('a')
      const outsider = donor('m')
      coordinator.fetch(outsider, { hash: Buffer.from(randomHash(), 'hex') })
      assert.is(violations.length, 1)
      assert.match(violations[0].reason, /fetch of [0-9a-f]{12}, which no job here ever named/)
      // A fetch of a program it holds no lease of may have crossed a cancel: nothing, until there are too many.
      for (let i = 0; i < MAX_STALE; i++) coordinator.fetch(outsider, { hash: Buffer.from(bigHash, 'hex') })
      assert.is(violations.length, 1)
      coordinator.fetch(outsider, { hash: Buffer.from(bigHash, 'hex') })
      assert.is(violations.length, 2)
      assert.match(violations[1].reason, /more than 256 fetches of programs of no unit it holds a lease on/)
      assert.is(outsider.pieces.length, 0, 'nothing sent to it')

      coordinator.want(a, { slots: 2 })
      await until(() => a.assigned.length > 0, 5000, 'units for a')
      coordinator.fetch(a, { hash: Buffer.from(bigHash, 'hex') })
      coordinator.fetch(a, { hash: Buffer.from(bigHash, 'hex') })
      assert.is(violations.length, 3)
      assert.match(violations[2].reason, /again while it is on its way/)
      await until(() => a.pieces.reduce((n, p) => n + p.bytes.byteLength, 0) === withoutDebugInfo(big).byteLength, 5000, 'the pieces')
      let offset = 0
      for (const piece of a.pieces) {
        assert.is(piece.offset, offset)
        assert.ok(piece.bytes.byteLength <= wire.LIMITS.pieceBytes)
        offset += piece.bytes.byteLength
      }
      assert.is(sha256(Buffer.concat(a.pieces.map((p) => p.bytes))), bigHash)
      assert.ok(
        a.assigned.every((u) => u.input.byteLength < 1024),
        'units carry the hash'
      )
      const perFetch = Math.ceil(withoutDebugInfo(big).byteLength / wire.LIMITS.pieceBytes)
      assert.is(a.pieces.length, perFetch)
      for (let i = 1; i < MAX_FETCHES_PER_HASH; i++) {
        await new Promise((resolve) => setImmediate(resolve))
        coordinator.fetch(a, { hash: Buffer.from(bigHash, 'hex') })
        await until(() => a.pieces.length === (i + 1) * perFetch, 5000, `fetch ${i + 1}`)
      }
      await new Promise((resolve) => setImmediate(resolve))
      coordinator.fetch(a, { hash: Buffer.from(bigHash, 'hex') })
      assert.match(violations.at(-1)!.reason, new RegExp(`more than ${MAX_FETCHES_PER_HASH} times`))
      await coordinator.cancel(job.id)
    })
  })

  test('a coordinator that sends pieces never asked for, out of order or of the wrong bytes is refused; nothing is cached', async () => {
    const cacheDir = join(await tempDir(), 'blobs')
    const registry = await TaskRegistry.load()
    const shared = new SharedSource(new SharedCache(cacheDir))
    const donor = new Donor({ threads: 1, registry, pool: createUnitPool({ threads: 1 }), shared })
    const link = new RecordingLink()
    donor.attach(link)
    const small = withoutDebugInfo(buildPadded(dir, 'pad100k', 100 * 1024))
    const smallHash = sha256(small)
    const assign = () => assignWasi(donor, link, small)
    const PIECE = 64 * 1024
    const piece = (bytes: Uint8Array, offset: number, hash = smallHash) => ({
      hash: Buffer.from(hash, 'hex'),
      offset,
      total: small.byteLength,
      bytes: bytes.subarray(offset, Math.min(small.byteLength, offset + PIECE))
    })
    const offsets = Array.from({ length: Math.ceil(small.byteLength / PIECE) }, (_, i) => i * PIECE)
    const violation = (pattern: RegExp) => (err: unknown) => err instanceof ProtocolViolation && pattern.test((err as Error).message)
    try {
      assert.throws(() => donor.piece(link, piece(small, 0, randomHash())), violation(/did not ask for/))
      const leases = assign()
      await until(() => link.fetches.length === 1, 5000, 'the fetch')
      assert.is(Buffer.from(link.fetches[0].hash).toString('hex'), smallHash, 'asks once for the two units')
      assert.throws(() => donor.piece(link, piece(small, 64 * 1024)), violation(/the first piece starts at 65536/))
      await until(() => leases.every((l) => link.failures.get(l)?.kind === 'error'), 5000, 'both units to fail')
      assert.match(link.failures.get(leases[0])!.reason, /no program for this unit: the coordinator sent [0-9a-f]{12} wrong/)

      // Well-ordered pieces of other bytes: refused at the end, by the hash.
      const lies = assign()
      await until(() => link.fetches.length === 2, 5000, 'the second fetch')
      const wrong = Uint8Array.from(small)
      wrong[wrong.length - 1] ^= 1
      for (const offset of offsets.slice(0, -1)) donor.piece(link, piece(wrong, offset))
      assert.throws(() => donor.piece(link, piece(wrong, offsets.at(-1)!)), violation(/its SHA-256 is not the one asked for/))
      await until(() => lies.every((l) => link.failures.has(l)), 5000, 'the lied-to units to fail')
      assert.not.ok(existsSync(join(cacheDir, smallHash)), 'nothing cached')

      // The donor goes on serving: the right bytes run its units.
      const honest = assign()
      await until(() => link.fetches.length === 3, 5000, 'the third fetch')
      for (const offset of offsets) donor.piece(link, piece(small, offset))
      await until(() => honest.every((l) => link.results.has(l)), 20_000, 'the units to run')
      await until(() => existsSync(join(cacheDir, smallHash)), 5000, 'the cache file')
      assert.is(sha256(readFileSync(join(cacheDir, smallHash))), smallHash)
    } finally {
      await donor.close()
      await rm(join(cacheDir, '..'), { recursive: true, force: true })
    }
  })
}

let nextLease = 1_000

/** Leases `donor` a wasi unit per input, unsigned, as `link`'s coordinator; returns their leases. */
function assignInputs(donor: Donor, link: CoordinatorLink, inputs: unknown[]): number[] {
  const msg: wire.AssignMessage = {
    job: 'feedfacefeedface',
    task: 'wasi',
    taskVersion: 1,
    deadlineMs: 30_000,
    expires: 0,
    signer: new Uint8Array(0),
    signature: new Uint8Array(0),
    units: inputs.map((input, unit) => ({ lease: nextLease++, unit, input: encodeValue(input) }))
  }
  donor.assign(link, msg)
  return msg.units.map((u) => u.lease)
}

/** Leases `donor` two runs of `program`. */
function assignWasi(donor: Donor, link: CoordinatorLink, program: Uint8Array): number[] {
  return assignInputs(donor, link, [...wasi.split({ program: b64(program), runs: runsOf(2) }, 1, { id: 'feedfacefeedface', createdAt: 0 })])
}

/** The bytes as a coordinator sends them: in order, in pieces of the wire's size. */
function sendAll(donor: Donor, link: CoordinatorLink, bytes: Uint8Array): void {
  const hash = Buffer.from(sha256(bytes), 'hex')
  for (let offset = 0; offset < bytes.byteLength; offset += wire.LIMITS.pieceBytes) {
    donor.piece(link, { hash, offset, total: bytes.byteLength, bytes: bytes.subarray(offset, offset + wire.LIMITS.pieceBytes) })
  }
}
const randomHash = () => createHash('sha256').update(String(Math.random())).digest('hex')

/** A coordinator's side of a donor, in memory: it records what the donor says. */
class RecordingLink implements CoordinatorLink {
  readonly key = 'cd'.repeat(32)
  readonly host = 'local'
  readonly results = new Map<number, wire.ResultMessage>()
  readonly failures = new Map<number, wire.FailureMessage>()
  readonly fetches: wire.FetchMessage[] = []
  sendWant(): void {}
  sendProgress(): void {}
  sendResult(msg: wire.ResultMessage): void {
    this.results.set(msg.lease, msg)
  }
  sendFailure(msg: wire.FailureMessage): void {
    this.failures.set(msg.lease, msg)
  }
  sendFetch(msg: wire.FetchMessage): void {
    this.fetches.push(msg)
  }
}

test('a js job sized with --unit-seconds: the pieces measured on the coordinator get the code as a donor does', async () => {
  await withCoordinator(undefined, async ({ coordinator }) => {
    const code = 'export default (n) => { let s = 0; for (let i = 0; i < 20000 * n; i++) s += i % 7; return s }'
    const job = await coordinator.submit({
      task: 'js',
      quorum: 1,
      unitSeconds: 0.05,
      params: { code, inputs: Array.from({ length: 64 }, (_, i) => i) }
    })
    assert.ok(job.sizing, 'the job was sized by running its pieces')
    assert.ok(job.units >= 1)
    await coordinator.cancel(job.id)
  })
})

test('a coordinator naming more programs than a donor takes at once gets those units back, not its memory', async () => {
  // Three threads: six slots at first, for the greedy unit and five more.
  const donor = new Donor({ threads: 3, registry: await TaskRegistry.load(), pool: createUnitPool({ threads: 1 }) })
  const link = new RecordingLink()
  donor.attach(link)
  const ref = () => new SharedBytes(null, randomHash())
  const assign = (inputs: unknown[]) => assignInputs(donor, link, inputs)
  try {
    const [greedy] = assign([{ program: [ref(), ref(), ref(), ref(), ref()] }])
    assert.match(link.failures.get(greedy)?.reason ?? '', /names 5 programs, at most 4/)
    assign(Array.from({ length: 5 }, () => ({ program: ref() })))
    await until(() => link.fetches.length === MAX_FETCHES_PER_LINK && link.failures.size === 2, 5000, 'four fetches and one unit back')
    const back = [...link.failures.values()].find((f) => f.lease !== greedy)!
    assert.is(back.kind, 'handback', 'no error of the unit: this donor is only full for now')
    assert.match(back.reason, /4 programs are on their way from this coordinator already/)
  } finally {
    await donor.close()
  }
})

if (!missing) {
  test('a donor without room for another program takes its pieces and hands its units back; a silent coordinator fails them', async () => {
    const shared = new SharedSource(new SharedCache(null), { stallMs: 300, maxInMemory: 200 * 1024 })
    const donor = new Donor({ threads: 3, registry: await TaskRegistry.load(), pool: createUnitPool({ threads: 1 }), shared })
    const link = new RecordingLink()
    donor.attach(link)
    try {
      // ~130 KiB each: the first fits in the 200 KiB, the second not while the first is still in memory.
      const [first, second] = ['room-a', 'room-b'].map((name) => withoutDebugInfo(buildPadded(dir, name, 100 * 1024)))
      const held = assignWasi(donor, link, first)
      await until(() => link.fetches.length === 1, 5000, 'the first fetch')
      sendAll(donor, link, first)
      const back = assignWasi(donor, link, second)
      await until(() => link.fetches.length === 2, 5000, 'the second fetch')
      sendAll(donor, link, second) // no violation: every piece was asked for, in order
      await until(() => back.every((l) => link.failures.has(l)) && held.every((l) => link.results.has(l)), 20_000, 'the outcomes')
      for (const lease of back) {
        assert.is(link.failures.get(lease)!.kind, 'handback')
        assert.match(link.failures.get(lease)!.reason, /would pass the 204800 this donor holds at once/)
      }
      // A coordinator that never answers a fetch: its units fail once the fetch stalls.
      await until(() => donor.snapshot().busy === 0, 10_000, 'the donor to be free')
      const silent = assignWasi(donor, link, withoutDebugInfo(buildPadded(dir, 'room-c', 2048)))
      await until(() => silent.every((l) => link.failures.has(l)), 5000, 'the stalled units to fail')
      assert.match(link.failures.get(silent[0])!.reason, /sent nothing of [0-9a-f]{12} for 300 ms/)
      assert.is(link.failures.get(silent[0])!.kind, 'error')
    } finally {
      await donor.close()
    }
  })
}

/** A tmpfs of `size` mounted at a new directory, or why not (it needs root). */
function smallDisk(size: string): { path: string } | { why: string } {
  if (process.getuid?.() !== 0) return { why: 'not root: mounting a tmpfs needs root' }
  const path = mkdtempSync(join(tmpdir(), 'swarmgrid-small-disk-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path], { stdio: 'pipe' })
    return { path }
  } catch (err) {
    return { why: `mount -t tmpfs failed: ${(err as Error).message.split('\n')[0]}` }
  }
}

if (!missing) {
  const disk = smallDisk('1m')
  if ('why' in disk) test.unavailable('a full disk under the program cache loses no units', disk.why, { expected: false })
  else
    test('a full disk under the program cache loses no units: they run from memory, and the cache says why', async () => {
      const warnings: string[] = []
      const cache = new SharedCache(join(disk.path, 'blobs'), undefined, (text) => warnings.push(text))
      const donor = new Donor({
        threads: 1,
        registry: await TaskRegistry.load(),
        pool: createUnitPool({ threads: 1 }),
        shared: new SharedSource(cache)
      })
      const link = new RecordingLink()
      donor.attach(link)
      try {
        const program = withoutDebugInfo(buildPadded(dir, 'pad2m-disk', 2 * MiB))
        const leases = assignWasi(donor, link, program)
        await until(() => link.fetches.length === 1, 5000, 'the fetch')
        sendAll(donor, link, program)
        await until(() => leases.every((l) => link.results.has(l)), 20_000, 'both units to run')
        await until(() => warnings.length > 0, 5000, 'the cache to say it could not keep the program')
        assert.match(warnings[0], /could not keep [0-9a-f]{12} \(.*ENOSPC.*\); it runs from memory/)
        assert.equal(readdirSync(join(disk.path, 'blobs')), [], 'no file, whole or partial, left behind')
      } finally {
        await donor.close()
        execFileSync('umount', [disk.path])
        rmSync(disk.path, { recursive: true, force: true })
      }
    })
}

test.after(() => rm(dir, { recursive: true, force: true }))
test.run()
