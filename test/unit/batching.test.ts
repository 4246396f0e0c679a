/**
 * Short units travel and run in batches: how a donor sizes them from measured run times, how a
 * coordinator packs assigns into frames, and a real donor with a real thread pool that runs a
 * batch, isolates a unit that throws, and finds the one unit that hangs by running each alone.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import {
  BATCHES_PER_THREAD,
  BATCH_TARGET_MS,
  BatchSizing,
  HELD_AHEAD_MS,
  MAX_BATCH_UNITS,
  MIN_HELD_PER_THREAD
} from '../../node/donor/batch-sizing.js'
import { frameSized } from '../../node/coordinator/assign-batches.js'
import { Donor } from '../../node/donor/donor.js'
import type { CoordinatorLink } from '../../node/protocol/links.js'
import { createUnitPool } from '../../worker/unit-pool.js'
import * as wire from '../../node/protocol/wire.js'
import { TaskRegistry } from '../../tasks/registry.js'
import { decodeValue, encodeValue } from '../../tasks/values.js'
import { fixtureDir } from '../support/process-grid.js'
import { until } from '../support/helpers.js'

test('a job with no measured run time runs one unit at a time, and its donor holds two per thread', () => {
  const sizing = new BatchSizing(2)
  assert.is(sizing.batchSize('j', 100), 1)
  assert.is(sizing.held('j'), 2 * MIN_HELD_PER_THREAD)
  assert.is(sizing.held(undefined), 2 * MIN_HELD_PER_THREAD)
})

test('short units are batched, up to the cap and never beyond a fair share of what waits', () => {
  const sizing = new BatchSizing(2)
  sizing.record('j', 0.01)
  assert.is(sizing.batchSize('j', 100_000), MAX_BATCH_UNITS)
  assert.is(sizing.batchSize('j', 10), 5, 'ten waiting units are shared by two threads')
  assert.ok(sizing.held('j') > sizing.held(undefined), 'a donor of short units holds more of them')
})

test('a donor holds enough 20 ms units to fill every batch its pool holds, and a whole batch is its run time, not what waits', () => {
  const sizing = new BatchSizing(2)
  assert.is(sizing.fullBatch('j'), 1, 'unmeasured: one at a time')
  sizing.record('j', 20)
  const whole = BATCH_TARGET_MS / 20
  assert.is(sizing.fullBatch('j'), whole)
  assert.is(sizing.batchSize('j', 4), 2, 'the fair share of what waits, for when a thread would idle')
  const perThread = BATCHES_PER_THREAD * whole + Math.ceil(HELD_AHEAD_MS / 20)
  assert.is(sizing.held('j'), 2 * perThread, 'two whole batches per thread and a round trip ahead')
})

test('a batch keeps well inside the time limit of its units, which it is held to as a whole', () => {
  const sizing = new BatchSizing(2)
  sizing.record('j', 20)
  assert.is(sizing.fullBatch('j', 400), 5, 'a quarter of a 400 ms limit')
  assert.is(sizing.batchSize('j', 1000, 400), 5)
  assert.is(sizing.fullBatch('j', 50), 1, 'a limit shorter than a few units: one at a time')
  assert.is(sizing.fullBatch('j', 60_000), BATCH_TARGET_MS / 20, 'a long limit: the target')
})

test('long units run alone and are held no deeper than for an unmeasured job', () => {
  const sizing = new BatchSizing(2)
  sizing.record('j', 5000)
  assert.is(sizing.batchSize('j', 1000), 1)
  assert.is(sizing.held('j'), 2 * MIN_HELD_PER_THREAD)
})

test('run times are a running mean per job: one outlier moves it, it does not replace it', () => {
  const sizing = new BatchSizing(1)
  for (let i = 0; i < 20; i++) sizing.record('j', 1)
  sizing.record('j', 101)
  const mean = sizing.meanRunMs('j')!
  assert.ok(mean > 1 && mean < 101, `mean ${mean}`)
  assert.is(sizing.meanRunMs('other'), undefined)
})

test('assigns are cut where a frame or the unit count per assign would overflow', () => {
  const small = Array.from({ length: wire.LIMITS.unitsPerAssign + 10 }, (_, i) => ({ lease: i + 1, unit: i, input: new Uint8Array(8) }))
  assert.equal(
    frameSized(small).map((b) => b.length),
    [wire.LIMITS.unitsPerAssign, 10]
  )
  const third = Math.floor(wire.LIMITS.payload / 3)
  const big = Array.from({ length: 5 }, (_, i) => ({ lease: i + 1, unit: i, input: new Uint8Array(third) }))
  assert.equal(
    frameSized(big).map((b) => b.length),
    [2, 2, 1]
  )
  assert.equal(frameSized([]), [])
})

/** A coordinator's side of a donor, in memory: it records what the donor says. */
class RecordingLink implements CoordinatorLink {
  readonly key = 'ab'.repeat(32)
  readonly host = 'local'
  readonly wants: number[] = []
  readonly results = new Map<number, unknown>()
  readonly failures = new Map<number, wire.FailureMessage>()
  sendWant(msg: wire.WantMessage): void {
    this.wants.push(msg.slots)
  }
  sendProgress(): void {}
  sendResult(msg: wire.ResultMessage): void {
    this.results.set(msg.lease, decodeValue(msg.output))
  }
  sendFailure(msg: wire.FailureMessage): void {
    this.failures.set(msg.lease, msg)
  }
  sendFetch(): void {}
  settled(): number {
    return this.results.size + this.failures.size
  }
}

let nextLease = 1

function poisonAssign(job: string, units: Array<{ i: number; bad: string | null }>, deadlineMs = 30_000): wire.AssignMessage {
  return {
    job,
    task: 'poison',
    taskVersion: 1,
    deadlineMs,
    expires: 0,
    signer: new Uint8Array(0),
    signature: new Uint8Array(0),
    units: units.map((input) => ({ lease: nextLease++, unit: input.i, input: encodeValue(input) }))
  }
}

/** `batches` holds the size of each thread task the donor ran, `batchUnits` the unit indices in each. */
async function withDonor(
  run: (donor: Donor, link: RecordingLink, batches: number[], batchUnits: number[][]) => Promise<void>
): Promise<void> {
  const registry = await TaskRegistry.load(fixtureDir('poison'))
  const pool = createUnitPool({ threads: 1 })
  const batches: number[] = []
  const batchUnits: number[][] = []
  const counting = {
    run: (request: Parameters<typeof pool.run>[0], options: Parameters<typeof pool.run>[1]) => {
      batches.push(request.units.length)
      batchUnits.push(request.units.map((u) => u.unit))
      return pool.run(request, options)
    },
    destroy: () => pool.destroy()
  }
  const donor = new Donor({ threads: 1, registry, pool: counting })
  const link = new RecordingLink()
  donor.attach(link)
  try {
    await run(donor, link, batches, batchUnits)
  } finally {
    await donor.close()
  }
}

const good = (from: number, count: number) => Array.from({ length: count }, (_, k) => ({ i: from + k, bad: null }))

test('a donor runs short units of a measured job many to a thread task, each with its own result', async () => {
  await withDonor(async (donor, link, batches) => {
    donor.assign(link, poisonAssign('short', good(0, 2)))
    await until(() => link.settled() === 2, 10_000, 'the first units')
    // As many as it has asked for by now: a measured job of short units has it ask for many.
    const open = link.wants.reduce((a, b) => a + b, 0) - 2
    assert.ok(open >= 10, `it asked for ${open} more`)
    donor.assign(link, poisonAssign('short', good(2, open)))
    await until(() => link.settled() === 2 + open, 10_000, 'the batch')
    const squares = [...link.results].sort(([a], [b]) => a - b).map(([, r]) => (r as { square: number }).square)
    assert.equal(
      squares,
      Array.from({ length: 2 + open }, (_, i) => i * i)
    )
    assert.ok(batches.length <= 2 + Math.ceil(open / 2), `${2 + open} units took ${batches.length} thread tasks: ${batches.join(',')}`)
  })
})

test('a unit that throws in a batch fails alone; the rest of its batch is answered', async () => {
  await withDonor(async (donor, link, _batches, batchUnits) => {
    donor.assign(link, poisonAssign('throws', good(0, 2)))
    await until(() => link.settled() === 2, 10_000, 'the first units')
    const msg = poisonAssign('throws', [...good(2, 20), { i: 22, bad: 'throw' }, ...good(23, 20)])
    donor.assign(link, msg)
    await until(() => link.settled() === 43, 10_000, 'the batch')
    const thrower = msg.units[20].lease
    assert.is(link.failures.size, 1)
    assert.is(link.failures.get(thrower)?.kind, 'error')
    assert.match(link.failures.get(thrower)!.reason, /poison unit 22 threw/)
    assert.ok(
      batchUnits.some((units) => units.length > 1 && units.includes(22)),
      `unit 22 ran inside a batch: ${JSON.stringify(batchUnits)}`
    )
    assert.is(batchUnits.filter((units) => units.includes(22)).length, 1, 'and only there: it was not run again alone')
  })
})

test('a batch that runs past its deadline is run again unit by unit: only the unit that hangs times out', async () => {
  await withDonor(async (donor, link, batches) => {
    donor.assign(link, poisonAssign('hangs', good(0, 2)))
    await until(() => link.settled() === 2, 10_000, 'the first units')
    const msg = poisonAssign('hangs', [...good(2, 10), { i: 12, bad: 'hang' }, ...good(13, 10)], 1000)
    donor.assign(link, msg)
    await until(() => link.settled() === 23, 20_000, 'every unit of the batch to be answered')
    const hanger = msg.units[10].lease
    assert.equal([...link.failures.keys()], [hanger])
    assert.is(link.failures.get(hanger)!.kind, 'timeout')
    assert.ok(
      batches.some((n) => n > 1),
      `some units ran in batches: ${batches.join(',')}`
    )
    assert.ok(batches.filter((n) => n === 1).length >= 21, 'after the batch failed, each of its units ran alone')
  })
})

test.run()
