/**
 * --unit-seconds: the arithmetic of sizing (which pieces, what the job costs, how many units)
 * with no threads, then real jobs on a loopback grid whose units must come out near the time
 * asked for, bad input, and the flag through the real CLI.
 */
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { readdirSync } from 'node:fs'
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { Background, runCli as run, startTestGrid, tempDir, until, within, type TestGrid } from '../support/helpers.js'
import { fixtureDir } from '../support/process-grid.js'
import {
  budgetFor,
  chooseUnits,
  fitCost,
  measurePieces,
  sampleOrder,
  MAX_SIZED_UNITS,
  type Cost
} from '../../node/coordinator/unit-sizing.js'
import { resolveSpec, type JobSpec } from '../../node/coordinator/job-spec.js'
import primes from '../../tasks/primes.js'
import type { RunPiece } from '../../node/coordinator/piece-runner.js'

/** About 1 s of sieving on one core here; primes in [1e9, 1.5e9), counted with the task in one piece. */
const RANGE = { from: 1_000_000_000, to: 1_500_000_000 }
const RANGE_COUNT = 23_878_994

// --- the arithmetic ---

test('samples are the first and last pieces, then the middles of the gaps, breadth first', () => {
  assert.equal(sampleOrder(1024, 5), [0, 1023, 511, 255, 767])
  assert.equal(sampleOrder(3, 16), [0, 2, 1])
  assert.equal(sampleOrder(2, 16), [0, 1])
  assert.equal(sampleOrder(1, 16), [0])
  assert.equal(sampleOrder(0, 16), [])
  assert.equal(
    [...sampleOrder(10, 100)].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    'every piece once when asked for more'
  )
  const sixteen = sampleOrder(1024, 16)
  assert.is(new Set(sixteen).size, 16)
  // Any prefix covers the job: the first 8 leave no gap wider than a quarter of it.
  const prefix = [...sixteen.slice(0, 8)].sort((a, b) => a - b)
  for (let i = 1; i < prefix.length; i++) assert.ok(prefix[i] - prefix[i - 1] <= 256, `gap ${prefix[i - 1]}..${prefix[i]}`)
})

test('the measuring budget is a few units long, within 2 and 30 seconds', () => {
  assert.is(budgetFor(0.05), 2000)
  assert.is(budgetFor(1), 8000)
  assert.is(budgetFor(600), 30_000)
})

/** A fake thread: piece i takes times[i] ms once warm, `cold` times that on its first runs, on a clock of its own. */
function fakeRunner(times: number[], cold: number[] = []) {
  let clock = 0
  const runs: number[] = []
  const run: RunPiece = async (index, limitMs) => {
    const ms = times[index] * (cold[runs.length] ?? 1)
    runs.push(index)
    if (ms > limitMs) {
      clock += limitMs
      return null
    }
    clock += ms
    return ms
  }
  return { run, runs, now: () => clock }
}

test("measuring keeps each piece's fastest run, warms up on the first, and stops at the budget", async () => {
  // The first three runs are 8, 4 and 2 times slower, as a fresh thread's are before the JIT.
  const fake = fakeRunner([2, 4, 6, 8], [8, 4, 2])
  const measured = await measurePieces([0, 3, 1, 2], fake.run, { endAt: 1000, runs: 2, warmup: { runs: 8, ms: 200 } }, fake.now)
  assert.equal(measured, { samples: 4, msPerPiece: 5, overBudget: false })
  assert.is(fake.runs.filter((i) => i === 0).length, 10, 'the first piece ran 2 + 8 times')
  assert.equal(fake.runs.slice(10), [3, 3, 1, 1, 2, 2])

  // 20 ms pieces, a 90 ms budget: two pieces measured, the third cut short and left out.
  const tight = fakeRunner([20, 20, 20, 20])
  const cut = await measurePieces([0, 1, 2, 3], tight.run, { endAt: 90, runs: 2 }, tight.now)
  assert.equal(cut, { samples: 2, msPerPiece: 20, overBudget: false })
  assert.equal(tight.runs, [0, 0, 1, 1, 2])
  assert.is(tight.now(), 90)

  // A piece longer than the whole budget: stopped, and its time is only a lower bound.
  const long = fakeRunner([5000, 1])
  const over = await measurePieces([0, 1], long.run, { endAt: 300, runs: 2 }, long.now)
  assert.equal(over, { samples: 1, msPerPiece: 300, overBudget: true })

  const none = fakeRunner([1])
  assert.is(await measurePieces([0], none.run, { endAt: 0, runs: 2 }, none.now), null)
})

test('two cuts tell the cost each unit pays from the work it shares', () => {
  // 0.5 ms per piece whatever its size, and 1000 ms of work.
  const at = (pieces: number) => ({ pieces, samples: 16, msPerPiece: 0.5 + 1000 / pieces })
  const cost = fitCost(at(1024), at(20))
  assert.ok(Math.abs(cost.fixedMs - 0.5) < 1e-9, `fixed ${cost.fixedMs}`)
  assert.ok(Math.abs(cost.workMs - 1000) < 1e-6, `work ${cost.workMs}`)
  // One cut: all of it counts as work.
  assert.equal(fitCost(at(1024)), { fixedMs: 0, workMs: 1024 * (0.5 + 1000 / 1024) })
  // Noise that tips the line below zero: no fixed cost, the work from the coarse cut.
  assert.equal(fitCost({ pieces: 1024, samples: 16, msPerPiece: 0.5 }, { pieces: 20, samples: 4, msPerPiece: 40 }), {
    fixedMs: 0,
    workMs: 800
  })
  // A coarse cut no coarser than the fine one adds nothing.
  assert.equal(fitCost(at(64), at(64)), { fixedMs: 0, workMs: 64 * at(64).msPerPiece })
})

test("units are the work over T, less each unit's fixed cost, from 1 to the tasks' limit", () => {
  const units = (cost: Cost, seconds: number) => chooseUnits(cost, seconds)
  assert.is(units({ fixedMs: 0, workMs: 1000 }, 0.05), 20)
  assert.is(units({ fixedMs: 10, workMs: 1000 }, 0.05), 25)
  // A fixed cost of most of T: the work part of a unit stays a quarter of T.
  assert.is(units({ fixedMs: 45, workMs: 1000 }, 0.05), 80)
  assert.is(units({ fixedMs: 0, workMs: 3 }, 0.05), 1)
  assert.is(units({ fixedMs: 0, workMs: 0 }, 0.05), 1)
  assert.is(units({ fixedMs: 0, workMs: 1e12 }, 0.05), MAX_SIZED_UNITS)
})

// --- what a submitter may ask for ---

test('--unit-seconds with --units, or out of range, is refused with what to pass', () => {
  const resolve = (spec: Partial<JobSpec>) => resolveSpec({ task: 'primes', ...spec }, primes, true)
  assert.is(resolve({ unitSeconds: 0.05 }).unitSeconds, 0.05)
  assert.is(resolve({ units: 8 }).unitSeconds, undefined)
  assert.throws(() => resolve({ units: 8, unitSeconds: 0.05 }), /--units N or --unit-seconds T, not both/)
  for (const bad of [0, -1, 0.001, Number.NaN, Infinity, '2' as unknown as number]) {
    assert.throws(() => resolve({ unitSeconds: bad }), /--unit-seconds takes a number of seconds of at least 0\.01/, String(bad))
  }
  // A donor has --deadline (300 s by default) for a unit, and may be slower than this peer.
  assert.throws(() => resolve({ unitSeconds: 200 }), /over half the 300 s a donor has for a unit: .*raise --deadline to at least 400/)
  assert.is(resolve({ unitSeconds: 200, deadline: 400 }).unitSeconds, 200)
})

// --- real jobs ---

test('jobs sized by --unit-seconds get units of about that long, and the exact answer', () =>
  withGrid(async (grid) => {
    const coordinator = await grid.add({ donate: false })
    const donor = await grid.add({ coordinate: false, threads: 1 })
    await until(() => coordinator.parts.coordinator.donorCount() === 1, 20_000, 'the donor to connect')
    const credit = () => coordinator.parts.coordinator.credit.get(donor.key) ?? { cpuSeconds: 0, results: 0 }

    const seen: Record<number, { units: number; meanMs: number }> = {}
    // 16 units, the default, would take about 66 ms each: off by 2.6x for the first, and the same count for both.
    for (const seconds of [0.025, 0.1]) {
      const before = credit()
      const submitted = await coordinator.submit({ task: 'primes', params: RANGE, unitSeconds: seconds, quorum: 1 })
      const done = await within(coordinator.wait(submitted.id), 60_000, 'the sized job to end')
      assert.is(done.state, 'done', done.error ?? '')
      assert.equal(done.result, { count: RANGE_COUNT })
      const after = credit()
      // Credit holds each unit's CPU time as its donor measured it (wall time where the two agree).
      const meanMs = ((after.cpuSeconds - before.cpuSeconds) * 1000) / (after.results - before.results)
      seen[seconds] = { units: done.units, meanMs }
      const target = seconds * 1000
      assert.ok(
        meanMs >= target / 2 && meanMs <= target * 2,
        `units of ${meanMs.toFixed(1)} ms for --unit-seconds ${seconds} (${done.units} units): not within 2x of ${target} ms`
      )

      const sizing = done.sizing!
      assert.ok(sizing, 'the job says how it was sized')
      assert.is(sizing.unitSeconds, seconds)
      assert.is(sizing.units, done.units)
      assert.is(sizing.cuts[0].pieces, 1024)
      assert.ok(sizing.cuts[0].samples >= 4, `${sizing.cuts[0].samples} fine samples`)
      assert.is(sizing.cuts.length, 2, "pieces of the first estimate's size were measured too")
      assert.ok(sizing.tookMs < 3000, `sizing took ${sizing.tookMs} ms, past its 2 s budget`)
      const stored = coordinator.status(done.id)!
      assert.equal(stored.sizing, sizing, 'the store keeps the sizing')
      const logged = coordinator.log.find((e) => e.job === done.id && e.text.startsWith('sized'))
      assert.match(
        logged?.text ?? '',
        new RegExp(
          `^sized primes job ${done.id.slice(0, 8)} to ${done.units} units of about ${seconds} s \\(measured in \\d+ ms: 16 pieces of 1/1024 of the job took`
        )
      )
    }
    const ratio = seen[0.025].units / seen[0.1].units
    assert.ok(
      ratio >= 2 && ratio <= 8,
      `a quarter of the time per unit gave ${ratio.toFixed(2)}x the units (${seen[0.025].units} and ${seen[0.1].units}), not about 4x`
    )
  }))

test('a sized job whose parameters or pieces are bad is refused at submit, and nothing is stored', () =>
  withGrid(async (grid) => {
    const peer = await grid.add({ donate: false, tasksDir: fixtureDir('poison') })
    const jobs = () => peer.parts.store.listJobs().length
    await rejects(peer.submit({ task: 'primes', params: { to: 1e6 }, units: 8, unitSeconds: 0.05 }), /not both/)
    await rejects(peer.submit({ task: 'primes', params: { to: 1e6 }, unitSeconds: 0 }), /at least 0\.01/)
    await rejects(peer.submit({ task: 'primes', params: { to: 'lots' }, unitSeconds: 0.05 }), /primes needs --param to=/)
    // Its first piece throws: the submitter hears why now, not after three donors tried.
    await rejects(
      peer.submit({ task: 'poison', params: { mode: 'throw', at: 0 }, unitSeconds: 0.05 }),
      /--unit-seconds: a piece of this poison job failed while it was measured: poison unit 0 threw/
    )
    assert.is(jobs(), 0)
  }))

test('a peer that stops while it sizes a job ends the measuring at once', () =>
  withGrid(async (grid) => {
    const peer = await grid.add({ donate: false, tasksDir: fixtureDir('poison') })
    // Its first piece never ends: only the budget (8 s for units of 1 s) or the stop ends the measuring.
    const beats = await tempDir('swarmgrid-beats-')
    try {
      const submitted = peer.submit({ task: 'poison', params: { mode: 'hang', at: 0, beats }, unitSeconds: 1 })
      const outcome = submitted.then(
        () => null,
        (err: Error) => err
      )
      // The hanging piece writes a heartbeat file as soon as it runs: the measuring is under way.
      await until(() => readdirSync(beats).length > 0, 10_000, 'the first piece to run')
      const started = Date.now()
      await peer.stop()
      const err = await outcome
      assert.ok(Date.now() - started < 3000, `stopped after ${Date.now() - started} ms`)
      assert.match(err?.message ?? 'it was stored', /poison job was not stored: this peer stopped while it measured/)
    } finally {
      await rm(beats, { recursive: true, force: true })
    }
  }))

/** Runs `body` on a fresh loopback grid, and takes the grid down whatever happens. */
async function withGrid(body: (grid: TestGrid) => Promise<void>): Promise<void> {
  const grid = await startTestGrid()
  try {
    await body(grid)
  } finally {
    await grid.destroy()
  }
}

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await promise
  } catch (err) {
    assert.is((err as Error).name, 'ParamError')
    assert.match((err as Error).message, pattern)
    return
  }
  assert.unreachable(`expected a rejection matching ${pattern}`)
}

// --- the CLI ---

test('submit --unit-seconds through the CLI: help, bad values, and a sized job', async () => {
  const help = await run(['submit', '--help'])
  assert.match(help.stdout, /--unit-seconds T +instead of --units/)
  assert.match(help.stdout, /swarmgrid submit primes .*--unit-seconds \d/)
  const both = await run(['submit', 'primes', '--param', 'to=1000', '--units', '4', '--unit-seconds', '1'])
  assert.is(both.code, 2)
  assert.match(both.stderr, /give --units N or --unit-seconds T, not both/)
  const zero = await run(['submit', 'primes', '--param', 'to=1000', '--unit-seconds', '0'])
  assert.is(zero.code, 2)
  assert.match(zero.stderr, /--unit-seconds takes a number above 0/)

  const dir = await tempDir()
  const bootstrap = new Background(['bootstrap', '--host', '127.0.0.1', '--port', '0'])
  try {
    const address = (await bootstrap.line('bootstrap ')).split(' ')[1]
    // A job file's unit count gives way to --unit-seconds on the command line.
    const file = join(dir, 'job.json')
    await writeFile(
      file,
      JSON.stringify({ task: 'primes', params: { from: RANGE.from, to: RANGE.from + 100_000_000 }, units: 64, quorum: 1 })
    )
    const submitted = await run([
      'submit',
      '--job',
      file,
      '--unit-seconds',
      '0.02',
      '--threads',
      '1',
      '--data',
      join(dir, 'p'),
      '--bootstrap',
      address,
      '--grid',
      'sizing',
      '--no-http',
      '--json'
    ])
    assert.is(submitted.code, 0, submitted.stderr)
    const job = JSON.parse(submitted.stdout)
    assert.is(job.state, 'done')
    assert.equal(job.result, { count: 4_814_936 })
    assert.is(job.sizing.unitSeconds, 0.02)
    assert.is(job.sizing.units, job.units)
    // About 0.2 s of work in units of 0.02 s: far more than 1, far fewer than the 1024 pieces measured.
    assert.ok(job.units >= 3 && job.units <= 40, `${job.units} units`)
    const status = await run(['status', job.id, '--data', join(dir, 'p')])
    assert.match(status.stdout, new RegExp(`sized to ${job.units} units of about 0\\.02 s \\(measured in`))
  } finally {
    await bootstrap.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
