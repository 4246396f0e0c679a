/**
 * Records that change with every result are written behind: reads see the newest value at
 * once, many changes reach the disk as one write per record, and closing the store writes
 * whatever is still pending.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { rm } from 'node:fs/promises'
import { Store } from '../../node/store/store.js'
import { WriteBehind } from '../../node/store/write-behind.js'
import { emptyReputation } from '../../node/trust/ledger.js'
import { tempDir } from '../support/helpers.js'

const turn = () => new Promise((resolve) => setImmediate(resolve))

test('a record written many times at once is read back new at once and put to disk once', async () => {
  const dir = await tempDir()
  const store = Store.open(dir)
  try {
    const db = store.sub<{ n: number }, string>('counts')
    let puts = 0
    const original = db.put.bind(db)
    ;(db as any).put = (key: string, value: { n: number }) => {
      puts++
      return original(key, value)
    }
    const writes = new WriteBehind(db)
    for (let n = 1; n <= 100; n++) writes.put('k', { n })
    assert.equal(writes.get('k'), { n: 100 })
    await turn()
    assert.is(db.get('k'), undefined, 'nothing on disk before the flush')
    await writes.flush()
    await turn()
    assert.equal(db.get('k'), { n: 100 })
    assert.is(puts, 1)
    assert.equal(writes.all(), [{ n: 100 }])
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('closing the store writes the reputations still pending', async () => {
  const dir = await tempDir()
  try {
    const store = Store.open(dir)
    store.saveReputation({ ...emptyReputation('peer', '10.0.0.1'), validated: 7 })
    assert.is(store.reputation('peer')?.validated, 7)
    await store.close()
    const reopened = Store.open(dir, { readOnly: true })
    assert.is(reopened.reputation('peer')?.validated, 7)
    assert.equal(
      reopened.allReputations().map((r) => r.key),
      ['peer']
    )
    await reopened.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
