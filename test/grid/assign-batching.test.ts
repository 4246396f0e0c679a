/**
 * How a coordinator answers a donor's results with new work: against the real Coordinator and
 * store, with a donor that is only the link the coordinator sees (test/support/donor-links.ts).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeValue } from '../../tasks/values.js'
import { resultOf, withCoordinator } from '../support/donor-links.js'
import * as wire from '../../node/protocol/wire.js'

test("a donor's results that arrive in one turn are answered by one assign, whatever room each of them frees", async () => {
  await withCoordinator(undefined, async ({ coordinator, donor }) => {
    await coordinator.submit({ task: 'primes', params: { to: 100_000 }, units: 100, quorum: 1 })
    const four = donor('f', 4)
    coordinator.want(four, { slots: 100 })
    const first = [...four.assigned]
    assert.is(first.length, 4 * wire.LIMITS.heldPerThreadAtFirst)
    assert.is(four.assigns, 1)
    // One frame of results, as the donor sends a batch's: each frees its lease and earns room.
    for (const { lease } of first) coordinator.result(four, resultOf(lease, encodeValue({ count: 0 })))
    assert.is(four.assigns, 1, 'nothing is leased while the turn is still reading results')
    await Promise.resolve()
    assert.is(four.assigns, 2, 'one assign for the whole frame, not one per result')
    const earned = first.length / 4
    assert.is(four.assigned.length - first.length, 4 * (wire.LIMITS.heldPerThreadAtFirst + earned), 'all the room the results earned')
  })
})

test.run()
