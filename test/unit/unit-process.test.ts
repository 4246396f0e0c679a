/**
 * Under --cpu-limit, units run in a process of their own (worker/unit-process.ts) that keeps the
 * last few programs its batches named. The peer mirrors that choice and sends a program's bytes
 * only when the process does not hold them: every batch must still find its program there.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import js from '../../tasks/js.js'
import { collectShared } from '../../tasks/shared-bytes.js'
import { decodeValue, encodeValue } from '../../tasks/values.js'
import { UNIT_PROCESS_SHARED_KEPT } from '../../worker/messages.js'
import { createUnitPool } from '../../worker/unit-pool.js'

test("programs past what the units' process keeps are sent again, and every batch finds its own", async () => {
  await js.prepare()
  const programs = Array.from({ length: UNIT_PROCESS_SHARED_KEPT + 2 }, (_, i) => {
    const [unit] = [...js.split({ code: `export default (x) => x + ${i}`, inputs: [1] }, 1)]
    const [[hash, bytes]] = [...collectShared(unit)]
    return { add: i, input: encodeValue(unit), hash, bytes }
  })
  // The first two went when the last two came. Named again: the oldest one kept, which goes as
  // its hash alone, then one of the two gone, which is sent again.
  const order = [...programs.keys(), 2, 1]
  const pool = createUnitPool({ threads: 1, cpuLimitPct: 99 })
  try {
    for (const index of order) {
      const { add, input, hash, bytes } = programs[index]
      const { outcomes } = await pool.run(
        { task: 'js', tasksDir: null, units: [{ unit: 0, input }], shared: [[hash, bytes]] },
        { reporter: { progress() {} } }
      )
      assert.ok(outcomes[0].ok, `program ${index}: ${JSON.stringify(outcomes[0])}`)
      if (outcomes[0].ok) assert.equal(decodeValue(outcomes[0].output), [1 + add], `program ${index}'s output`)
    }
    const once = programs.reduce((sum, p) => sum + p.bytes.byteLength, 0)
    assert.is(pool.sharedBytesCopied(), once + programs[1].bytes.byteLength, 'each program once, the second again')
  } finally {
    await pool.destroy()
  }
})

test.run()
