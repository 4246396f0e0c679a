/**
 * What a verdict promises (issue 13, finding 12): none leaves before the accepted output it
 * depends on is in the store, synced; a late replica's verdict included, which came in a batch
 * of its own while the accept of an earlier batch was still being written. The real Coordinator
 * and Store on disk; the donors are the links the coordinator talks through, recording what
 * they are sent.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { rm } from 'node:fs/promises'
import { tempDir, until } from '../support/helpers.js'
import { Store } from '../../node/store/store.js'
import { Coordinator } from '../../node/coordinator/coordinator.js'
import { TaskRegistry } from '../../tasks/registry.js'
import { encodeValue } from '../../tasks/values.js'
import type { DonorLink } from '../../node/protocol/links.js'
import * as wire from '../../node/protocol/wire.js'

test("a late replica's verdict waits for the earlier batch's accept to be on disk; so do the others", async () => {
  const dir = await tempDir()
  const store = Store.open(dir)
  let now = 1_000_000
  const coordinator = new Coordinator(store, await TaskRegistry.load(), { clock: () => now })
  const leases = new Map<string, number>()
  /** For each verdict: whether the unit's accepted output was in the store when it was sent. */
  const verdicts = new Map<string, boolean>()
  let jobId = ''
  const link = (name: string, n: number): DonorLink => ({
    key: String(n).repeat(64).slice(0, 64),
    host: `10.0.0.${n}`,
    hello: {
      version: wire.PROTOCOL_VERSION,
      roles: wire.ROLE_DONOR,
      threads: 1,
      tasks: [{ name: 'primes', version: 1 }]
    } as wire.HelloMessage,
    sendAssign: (msg) => {
      for (const { lease } of msg.units) leases.set(name, lease)
    },
    sendCancel: () => {},
    sendPiece: () => {},
    sendVerdict: () => {
      verdicts.set(name, store.acceptedOutput(jobId, 0) !== undefined)
    }
  })
  const donors = { a: link('a', 1), b: link('b', 2), c: link('c', 3), d: link('d', 4) }
  const output = encodeValue({ count: 168 })
  const answer = (name: keyof typeof donors) =>
    coordinator.result(donors[name], { lease: leases.get(name)!, runMs: 1, output, cpuMs: 1, speed: 1 })
  try {
    const job = await coordinator.submit({ task: 'primes', params: { to: 1000 }, units: 1, quorum: 2, maxResults: 5, deadline: 1 })
    jobId = job.id
    coordinator.want(donors.a, { slots: 1 })
    coordinator.want(donors.b, { slots: 1 })
    assert.ok(leases.has('a') && leases.has('b'))
    // a and b miss their deadline: the unit goes to c and d.
    now += 5000
    await until(
      () => {
        coordinator.want(donors.c, { slots: 1 })
        return leases.has('c')
      },
      5000,
      'the unit reissued to c'
    )
    coordinator.want(donors.d, { slots: 1 })
    assert.ok(leases.has('d'))
    answer('c')
    answer('d')
    // In the same turn, a's late result for the unit just accepted: a batch with no accept of its own.
    answer('a')
    await until(() => verdicts.size === 3, 5000, 'three verdicts')
    assert.equal(Object.fromEntries(verdicts), { a: true, c: true, d: true })
  } finally {
    coordinator.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
