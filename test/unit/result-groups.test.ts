/**
 * A job's answers while they are voted on (node/coordinator/result-groups.ts), against a real
 * store: an accepted answer still on its way to disk is not lost when its unit is opened again.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { rm } from 'node:fs/promises'
import { candidateOf, ResultGroups } from '../../node/coordinator/result-groups.js'
import { Store } from '../../node/store/store.js'
import primes from '../../tasks/primes.js'
import { encodeValue } from '../../tasks/values.js'
import { DEFAULT_OUTPUT_LIMITS } from '../../tasks/value-limits.js'
import { tempDir } from '../support/helpers.js'

test('a unit opened again before its accepted answer reaches the store keeps that answer as a candidate', async () => {
  const dir = await tempDir()
  const store = Store.open(dir)
  try {
    const groups = new ResultGroups(store, 'feedfacefeedface', primes)
    const answer = candidateOf(encodeValue({ count: 25 }), DEFAULT_OUTPUT_LIMITS)
    const group = groups.groupOf(0, answer, false)
    assert.ok(groups.take(0, group, false), 'the accepted answer is taken for writing')
    // Backtracking opens the unit before the write has landed: the store has nothing for it yet.
    assert.is(store.acceptedOutput('feedfacefeedface', 0), undefined)
    groups.reopen(0)
    const again = groups.take(0, group, false)
    assert.ok(again, 'a vote for the same answer finds it')
    assert.equal(again.bytes, answer.bytes)
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
