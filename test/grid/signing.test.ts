/**
 * Who may run what on a donor: jobs signed by their submitter's key, donors that trust only
 * some keys or task kinds, refusals the submitter sees, and JavaScript sent in a job that is
 * never executed.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import Hyperswarm, { type SecretStream } from 'hyperswarm'
import HyperDHT from 'hyperdht'
import { assignSigner, EXPIRY_SLACK_MS, verifyAssign } from '../../node/protocol/signing.js'
import { DonorPolicy, PolicyError } from '../../node/donor/policy.js'
import { gridTopic } from '../../node/peer/peer.js'
import { WireChannel } from '../../node/protocol/channel.js'
import * as wire from '../../node/protocol/wire.js'
import { encodeValue } from '../../tasks/values.js'
import { startTestGrid, until, within, type TestGrid } from '../support/helpers.js'

const keyPair = () => HyperDHT.keyPair(randomBytes(32))
const unsigned = new Uint8Array(0)
const sampleUnits: wire.AssignedUnit[] = [
  { lease: 1, unit: 3, input: encodeValue({ from: 0, to: 1000 }) },
  { lease: 2, unit: 4, input: encodeValue({ from: 1000, to: 2000 }) }
]
const sample: wire.AssignMessage = {
  job: 'aa11bb22cc33dd44',
  task: 'primes',
  taskVersion: 1,
  deadlineMs: 60_000,
  units: sampleUnits,
  expires: 0,
  signer: unsigned,
  signature: unsigned
}
const NOW = 1_800_000_000_000
const hex = (k: { publicKey: Uint8Array }) => Buffer.from(k.publicKey).toString('hex')

test('a signed batch of units verifies for its coordinator; any change to what runs, who hands it out or when it expires breaks it', () => {
  const submitter = keyPair()
  const signed = assignSigner(submitter, submitter.publicKey, () => NOW)(sample)
  const coordinator = hex(submitter)
  assert.is(signed.expires, NOW + sample.deadlineMs + EXPIRY_SLACK_MS)
  assert.equal(verifyAssign(signed, coordinator, NOW), { ok: true, signer: coordinator })
  // Leases and the deadline are transport: a coordinator may reissue the units under others.
  assert.ok(verifyAssign({ ...signed, units: sampleUnits.map((u) => ({ ...u, lease: u.lease + 99 })), deadlineMs: 5 }, coordinator, NOW).ok)
  const [first, second] = sampleUnits
  const changes: Array<Partial<wire.AssignMessage>> = [
    { units: [{ ...first, input: encodeValue({ from: 0, to: 1001 }) }, second] },
    { units: [{ ...first, unit: 5 }, second] },
    { units: [second, first] },
    { units: [first] },
    { units: [first, second, second] },
    { job: 'aa11bb22cc33dd45' },
    { task: 'pi' },
    { taskVersion: 2 },
    { signer: keyPair().publicKey },
    { expires: signed.expires + 1 }
  ]
  for (const change of changes)
    assert.not.ok(verifyAssign({ ...signed, ...change }, coordinator, NOW).ok, JSON.stringify(Object.keys(change)))
  assert.equal(verifyAssign(sample, coordinator, NOW), { ok: false, reason: 'the job is not signed' })
})

test('a signed batch replayed by another coordinator, or after it expired, is refused', () => {
  const alice = keyPair()
  const mallory = hex(keyPair())
  const signed = assignSigner(alice, alice.publicKey, () => NOW)(sample)
  const replayed = verifyAssign(signed, mallory, NOW)
  assert.not.ok(replayed.ok)
  assert.match((replayed as { reason: string }).reason, /does not match the units and their coordinator/)
  // Just before its expiry it holds; at it, it does not.
  assert.ok(verifyAssign(signed, hex(alice), signed.expires - 1).ok)
  assert.match((verifyAssign(signed, hex(alice), signed.expires) as { reason: string }).reason, /expired 0 s ago/)
  // A signer cannot make a batch that holds for ever either.
  const forever = assignSigner(alice, alice.publicKey, () => NOW + 10 * wire.LIMITS.deadlineMs)(sample)
  assert.match((verifyAssign(forever, hex(alice), NOW) as { reason: string }).reason, /further ahead than any deadline/)
  // Signed by Alice for Bob's coordinator: valid on Bob's connection only, and by default not run, since Bob did not sign it.
  const bob = keyPair()
  const forBob = assignSigner(alice, bob.publicKey, () => NOW)(sample)
  assert.ok(verifyAssign(forBob, hex(bob), NOW).ok)
  assert.not.ok(verifyAssign(forBob, hex(alice), NOW).ok)
  assert.match(new DonorPolicy().refusal(forBob, hex(bob), NOW)!, /signed by [0-9a-f]{8}, not by its coordinator .*--trust/)
  assert.is(new DonorPolicy({ trust: [hex(alice)] }).refusal(forBob, hex(bob), NOW), null, 'unless the donor trusts Alice')
})

test('policy: by default only batches their coordinator signed; --trust names the keys instead (and the peer itself); --allow-tasks narrows kinds', () => {
  const alice = keyPair()
  const mallory = keyPair()
  const self = keyPair()
  const byAlice = assignSigner(alice, alice.publicKey, () => NOW)(sample)
  const byMallory = assignSigner(mallory, mallory.publicKey, () => NOW)(sample)
  const open = new DonorPolicy()
  assert.is(open.refusal(byMallory, hex(mallory), NOW), null, 'a coordinator that signed its own batch')
  assert.match(open.refusal(sample, hex(mallory), NOW)!, /not signed; this donor runs signed jobs only/)

  const trusting = new DonorPolicy({ trust: [hex(alice).toUpperCase()], self: hex(self) })
  assert.is(trusting.refusal(byAlice, hex(alice), NOW), null)
  assert.is(trusting.refusal(assignSigner(self, self.publicKey, () => NOW)(sample), hex(self), NOW), null)
  assert.match(trusting.refusal(byMallory, hex(mallory), NOW)!, /signed by [0-9a-f]{8}, a key this donor does not trust \(--trust\)/)

  const wasmOnly = new DonorPolicy({ allowTasks: ['wasm'] })
  assert.not.ok(wasmOnly.allowsTask('primes'))
  assert.match(wasmOnly.refusal(byAlice, hex(alice), NOW)!, /runs only wasm \(--allow-tasks\), not primes/)
  assert.throws(
    () => new DonorPolicy({ trust: ['not-a-key'] }),
    (err: unknown) => err instanceof PolicyError && /64 hex digits/.test((err as Error).message)
  )
})

test('on a grid: a donor with --trust refuses an untrusted job, the submitter sees why, and a trusting donor runs it', async () => {
  const grid = await startTestGrid()
  try {
    const coordinator = await grid.add({ donate: false })
    const stranger = keyPair().publicKey.toString('hex')
    const picky = await grid.add({ coordinate: false, donation: { trust: [stranger] } })
    const trusting = await grid.add({ coordinate: false, donation: { trust: [coordinator.key] } })
    await until(() => coordinator.parts.coordinator.donorCount() === 2, 20_000, 'donors to connect')
    const job = await coordinator.submit({ task: 'primes', params: { to: 200_000 }, units: 4, quorum: 1 })
    const done = await within(coordinator.wait(job.id), 30_000, 'the job to end')
    assert.is(done.state, 'done')
    assert.equal(done.result, { count: 17984 })
    assert.equal(
      done.refusals.map((r) => r.peer),
      [picky.key]
    )
    assert.match(done.refusals[0].reason, /a key this donor does not trust/)
    assert.ok(
      coordinator.log.some((e) => e.kind === 'refused' && e.peer === picky.key),
      'the coordinator logs the refusal'
    )
    assert.equal(
      coordinator.parts.store.job(job.id)?.refusals?.map((r) => r.peer),
      [picky.key],
      'status reads it from the store'
    )
    assert.is(picky.donorStats()!.unitsRun, 0)
    assert.is(trusting.donorStats()!.unitsRun, 4)
    assert.is(coordinator.parts.store.reputation(picky.key)?.errors ?? 0, 0, 'a refusal is no error of the donor')
  } finally {
    await grid.destroy()
  }
})

test('on a grid: an unsigned job is refused and the submitter sees why', async () => {
  const grid = await startTestGrid()
  try {
    const coordinator = await grid.add({ donate: false })
    coordinator.parts.coordinator.signAssign = (msg) => msg
    const donor = await grid.add({ coordinate: false, donation: { trust: [coordinator.key] } })
    await until(() => coordinator.parts.coordinator.donorCount() === 1, 20_000, 'the donor to connect')
    const job = await coordinator.submit({ task: 'primes', params: { to: 1000 }, units: 2, quorum: 1 })
    await until(() => (coordinator.status(job.id)?.refusals.length ?? 0) > 0, 10_000, 'the refusal')
    const view = coordinator.status(job.id)!
    assert.is(view.state, 'running', 'the job waits for a donor that will run it')
    assert.match(view.refusals[0].reason, /the job is not signed; this donor runs signed jobs only/)
    assert.is(donor.donorStats()!.unitsRun, 0)
    await coordinator.cancel(job.id)
  } finally {
    await grid.destroy()
  }
})

/** A swarm on the grid that acts as a coordinator and leases whatever `assigns` says to each donor that offers. */
async function hostileCoordinator(
  grid: TestGrid,
  assigns: Array<Omit<wire.AssignMessage, 'units' | 'signer' | 'signature' | 'expires'> & Omit<wire.AssignedUnit, 'lease'>>
) {
  const swarm = new Hyperswarm({ dht: grid.testnet.createNode() })
  const sign = assignSigner(swarm.keyPair)
  const failures: wire.FailureMessage[] = []
  const results: wire.ResultMessage[] = []
  swarm.on('connection', (conn: SecretStream) => {
    conn.on('error', () => {})
    let sent = false
    const noop = () => {}
    const channel: WireChannel = new WireChannel(
      conn,
      {
        hello: noop,
        progress: noop,
        assign: noop,
        cancel: noop,
        verdict: noop,
        fetch: noop,
        piece: noop,
        close: noop,
        want: () => {
          if (sent) return
          sent = true
          assigns.forEach(({ unit, input, ...a }, i) =>
            channel.sendAssign(sign({ ...a, units: [{ lease: i + 1, unit, input }], expires: 0, signer: unsigned, signature: unsigned }))
          )
        },
        result: (msg) => results.push(msg),
        failure: (msg) => failures.push(msg)
      },
      { version: wire.PROTOCOL_VERSION, roles: wire.ROLE_COORDINATOR, threads: 0, tasks: [] }
    )
  })
  swarm.join(gridTopic('test'), { server: true, client: true })
  return { swarm, failures, results }
}

test("JavaScript sent in a job is never executed by the donor's V8: not as a wasm module, not as a task, not as input; the js task runs it in QuickJS, where require is no more", async () => {
  const grid = await startTestGrid()
  const marker = join(tmpdir(), `swarmgrid-pwned-${randomBytes(6).toString('hex')}`)
  const js = `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran'); export default { name: 'js' }`
  const jsBytes = new TextEncoder().encode(js)
  const base = { job: 'ee11ee22ee33ee44', unit: 0, deadlineMs: 30_000 }
  try {
    // Two threads: it offers four slots, room for all three (more would be a violation).
    const donor = await grid.add({ coordinate: false, threads: 2 })
    const hostile = await hostileCoordinator(grid, [
      { ...base, task: 'wasm', taskVersion: 1, input: encodeValue({ module: jsBytes, entry: 'run', args: [] }) },
      {
        ...base,
        task: 'node',
        taskVersion: 1,
        input: encodeValue({ source: js, module: `data:text/javascript,${encodeURIComponent(js)}` })
      },
      { ...base, task: 'primes', taskVersion: 1, input: encodeValue({ from: js, to: js }) },
      { ...base, task: 'js', taskVersion: 1, input: encodeValue({ code: js, inputs: [0], first: 0, seed: 'ee11', now: 0 }) }
    ])
    try {
      await until(() => hostile.failures.length === 4, 20_000, 'the donor to answer all four')
      const byLease = new Map(hostile.failures.map((f) => [f.lease, f]))
      assert.match(byLease.get(1)!.reason, /WebAssembly header.*JavaScript and other code never run/)
      assert.match(byLease.get(2)!.reason, /task node v1 is not installed here/)
      assert.match(byLease.get(3)!.reason, /primes: malformed unit input/)
      assert.match(byLease.get(4)!.reason, /the module threw ReferenceError: 'require' is not defined/)
      assert.is(hostile.results.length, 0)
      assert.not.ok(existsSync(marker), 'the JavaScript never ran')
      assert.is(donor.donorStats()!.failed, 3, 'three ran as far as their checks; the uninstalled task never reached a thread')
    } finally {
      await hostile.swarm.destroy()
    }
  } finally {
    await grid.destroy()
  }
})

test.run()
