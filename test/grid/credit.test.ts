/**
 * Credit: CPU-seconds of validated results scaled by the donor's benchmark, the smallest claim
 * among the agreeing peers, nothing for outvoted results; shown per peer.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CreditLedger, claimOf } from '../../node/coordinator/credit.js'
import { measureSpeed } from '../../worker/speed.js'
import { Store } from '../../node/store/store.js'
import { startTestGrid, tempDir, until, within } from '../support/helpers.js'

const liar = fileURLToPath(new URL('../../../test/fixtures/liar', import.meta.url))
const cli = fileURLToPath(new URL('../../node/cli/main.js', import.meta.url))

test('a claim is CPU-seconds times speed over 1000; the benchmark gives a plausible speed', () => {
  assert.is(claimOf(2000, 1500), 3)
  const speed = measureSpeed()
  assert.ok(speed >= 50 && speed <= 50_000, `speed ${speed}`)
})

test('agreeing peers share the smallest claim; unsettled claims of an ended job earn nothing', async () => {
  const dir = await tempDir()
  const store = Store.open(dir)
  try {
    const ledger = new CreditLedger(store)
    ledger.claim('j', 0, 'honest', 1000, 1000)
    ledger.claim('j', 0, 'inflated', 1000, 900_000)
    ledger.claim('j', 0, 'outvoted', 5000, 1000)
    await ledger.grant('j', 0, ['honest', 'inflated'])
    assert.is(ledger.get('honest')?.credit, 1)
    assert.is(ledger.get('inflated')?.credit, 1, 'an inflated claim is cut to the honest one')
    assert.is(ledger.get('outvoted'), undefined)
    ledger.claim('j', 1, 'honest', 1000, 1000)
    ledger.forget('j')
    await ledger.grant('j', 1, ['honest'])
    assert.is(ledger.get('honest')?.results, 1)
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('on a grid: honest donors earn credit for validated results, a liar none; peers and status show it', async () => {
  const grid = await startTestGrid()
  try {
    const coordinator = await grid.add({ donate: false })
    const donors = [
      await grid.add({ coordinate: false }),
      await grid.add({ coordinate: false }),
      await grid.add({ coordinate: false, tasksDir: liar })
    ]
    await until(() => coordinator.parts.coordinator.donorCount() === 3, 20_000, 'donors to connect')
    const job = await coordinator.submit({ task: 'primes', params: { to: 3_000_000 }, units: 12, quorum: 2 })
    assert.is((await within(coordinator.wait(job.id), 60_000, 'the job')).state, 'done')
    const credit = new Map(coordinator.peers().map((p) => [p.key, p.credit]))
    assert.ok(credit.get(donors[0].key)! > 0 && credit.get(donors[1].key)! > 0, `honest donors earned ${[...credit.values()]}`)
    assert.is(credit.get(donors[2].key), 0, 'the liar earned nothing')
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'status', '--data', coordinator.dataDir, '--json'])
    const shown = JSON.parse(stdout).peers as Array<{ key: string; credit: number }>
    assert.ok(shown.find((p) => p.key === donors[0].key)!.credit > 0, 'status --json shows credit per peer')
    console.log(
      `  credit for 12 units of primes to 3e6: ${donors.map((d, i) => `${i === 2 ? 'liar' : 'honest'} ${credit.get(d.key)!.toFixed(3)}`).join(', ')}`
    )
  } finally {
    await grid.destroy()
  }
})

test.run()
