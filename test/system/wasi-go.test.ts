/**
 * Go's wasip1 port on a grid of real processes: examples/wasi/go (goroutines over channels,
 * stdin, flags, an input file, files written under out/, sleeps, a timer and a ticker) is built
 * with GOOS=wasip1 GOARCH=wasm and natively by the same Go, then run by three donor processes at
 * quorum 2. Every run's stdout, out files and exit status are the native build's, byte for byte,
 * but for the lines that print the time and random numbers, which must instead be the job's: the
 * job's creation time, sleeps that took exactly what they asked for in the run's virtual time
 * (and ended at once, where a sleep on a clock that never moves would spin until the donors' 10 s
 * time cap), and random numbers that all three
 * donors agree on. Last, the example's job file goes through `submit --job` and `results --out`,
 * as the README runs it.
 */
import * as assert from 'uvu/assert'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { JobView } from '../../node/coordinator/job-view.js'
import { WORDFREQ_DIR, buildGoNative, buildGoWasi, findGo } from '../support/go-programs.js'
import { runCli, tempDir } from '../support/helpers.js'
import { ProcessGrid } from '../support/process-grid.js'
import { test } from '../support/test.js'
import { b64, decode, runNative, runsOf, wordstatRuns, type WordstatRun } from '../support/wasi-runs.js'

const NAME =
  "a Go program built for wasip1 gives, on a grid at quorum 2, its native build's bytes; its clock and random lines are the job's"
;('a Go program built for wasip1 gives, on a grid at quorum 2, its native build’s bytes; its clock and random lines are the job’s')
const dir = await tempDir('swarmgrid-wasi-go-')
const go = findGo(dir)
/**
 * The default --wasm-memory (256 MiB), which the example's job file asks for each run; a time cap
 * far above a run's 0.2 s (a 2.9 MB module is rewritten and compiled in its first unit, on a
 * machine that may be busy) that a run spinning on a frozen clock still reaches.
 */
const DONOR_FLAGS = ['--no-coordinate', '--threads', '1', '--wasm-time', '10']
/** The lines that tell one machine or moment from another: only the job's on the grid. */
const CLOCK_LINE = /^(time|random|slept|timer|ticker|woke): /
const withoutClock = (stdout: Buffer | string) =>
  stdout
    .toString()
    .split('\n')
    .filter((line) => !CLOCK_LINE.test(line))
    .join('\n')
const clockLines = (stdout: string) => stdout.split('\n').filter((line) => CLOCK_LINE.test(line))

/** Go's time.Time.Format(time.RFC3339Nano) of a time in ms: trailing zeros of the fraction go. */
const rfc3339Nano = (ms: number) => new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z')

/** Ten runs over the wordstat suites' texts, with 1 to 4 counting goroutines, every third printing its clock; then two that fail. */
function wordfreqRuns(): WordstatRun[] {
  const runs = wordstatRuns(10).map((run, i) => ({
    ...run,
    args: [
      '-workers',
      String(1 + (i % 4)),
      '-top',
      String(2 + (i % 5)),
      '-stop',
      'dict.txt',
      ...(i % 3 === 0 ? ['-clock'] : []),
      ...(i % 4 === 1 ? ['-ls'] : []),
      `run${i}`
    ]
  }))
  return [
    ...runs,
    { args: ['-stop', 'nosuch.txt', 'missing'], stdin: 'a b\n', files: {} },
    { args: ['-workers', '0', 'usage'], stdin: '', files: {} }
  ]
}

/** The job once it has ended; if it has not in `ms`, the error says how far it got and what each peer last logged. */
async function finished(grid: ProcessGrid, id: string, ms: number): Promise<JobView> {
  try {
    return await grid.wait('c', id, ms)
  } catch (err) {
    const view = await grid.view('c', id)
    const logs = [...grid.peers].map(([name, peer]) => `${name}: ${peer.logs.slice(-5).join(' / ')}`)
    throw new Error(`${(err as Error).message}: ${view?.accepted}/${view?.units} accepted, ${view?.results} results; ${logs.join('; ')}`)
  }
}

if (typeof go === 'string') {
  test.unavailable(NAME, go, { expected: process.platform === 'linux' })
} else {
  test(NAME, async () => {
    const wasm = buildGoWasi(go, WORDFREQ_DIR, 'wordfreq')
    const native = buildGoNative(go, WORDFREQ_DIR, 'wordfreq')
    const runs = wordfreqRuns()
    const expected = runs.map((run, i) => runNative(native, run, join(dir, `native-${i}`)))
    assert.equal(
      expected.map((e) => e.exit),
      [...runs.slice(0, -2).map(() => 0), 1, 2],
      'the native build ends as the runs intend'
    )

    const grid = await ProcessGrid.start()
    try {
      await grid.coordinatorWithDonors(3, DONOR_FLAGS)

      const job = await grid.submit('c', { task: 'wasi', quorum: 2, params: { memory: 64, program: b64(wasm), runs } })
      // Two identical runs at quorum 3: every donor must print the same time and random numbers.
      const sameRuns = [0, 1].map(() => ({ args: ['-clock', 'same'], stdin: 'one two two\n' }))
      const determinism = await grid.submit('c', { task: 'wasi', quorum: 3, params: { memory: 64, program: b64(wasm), runs: sameRuns } })

      const done = await finished(grid, job.id, 90_000)
      assert.is(done.state, 'done', done.error ?? '')
      assert.ok(done.results >= 2 * runs.length, `${done.results} results for ${runs.length} runs at quorum 2`)
      runsOf(done).forEach((run, i) => {
        const stdout = decode(run.stdout).toString()
        assert.is(run.exit, expected[i].exit, `run ${i} exit: ${decode(run.stderr)}`)
        assert.is(withoutClock(stdout), withoutClock(expected[i].stdout), `run ${i} stdout`)
        assert.equal(Object.keys(run.files), Object.keys(expected[i].files), `run ${i} out files`)
        for (const [name, bytes] of Object.entries(expected[i].files))
          assert.is(decode(run.files[name]).compare(bytes), 0, `run ${i} out/${name}`)
        const clock = clockLines(stdout)
        assert.equal(
          clock.map((l) => l.split(':')[0]),
          clockLines(expected[i].stdout.toString()).map((l) => l.split(':')[0]),
          `run ${i} prints the clock lines the native build does`
        )
        if (clock.length === 0) return
        // The job's clock, and sleeps of exactly the time asked for: 30 ms, a 20 ms timer, three 10 ms ticks, three goroutines sleeping 15, 30 and 45 ms.
        assert.is(clock[0], `time: ${rfc3339Nano(done.createdAt)}`, `run ${i}`)
        assert.equal(
          clock.slice(2),
          ['slept: 30ms', 'timer: fired after 50ms', 'ticker: 3 ticks after 80ms', 'woke: [1 2 3] after 130ms'],
          `run ${i}`
        )
      })
      assert.match(
        decode(runsOf(done)[1].stdout).toString(),
        /^ls: dict\.txt \d+ bytes\nls: out\/\nrun1: /,
        'os.ReadDir sees the run’s files'
      )
      // Runs that fail: the usage message is the native one; the error for a missing file is worded by Go's wasip1 syscall table.
      assert.is(decode(runsOf(done)[11].stderr).compare(expected[11].stderr), 0, 'usage on stderr')
      assert.match(decode(runsOf(done)[10].stderr).toString(), /^wordfreq: open nosuch\.txt: no such file or directory\n$/i)
      const randoms = runsOf(done).flatMap((run) => clockLines(decode(run.stdout).toString()).filter((l) => l.startsWith('random: ')))
      assert.is(new Set(randoms).size, 4, `each run draws random numbers of its own: ${randoms.join(' / ')}`)

      const agreed = await finished(grid, determinism.id, 60_000)
      assert.is(agreed.state, 'done', agreed.error ?? '')
      assert.is(agreed.results, 6, 'two runs, each accepted by three agreeing donors')
      const [first, second] = runsOf(agreed).map((r) => clockLines(decode(r.stdout).toString()))
      assert.is(first[0], `time: ${rfc3339Nano(agreed.createdAt)}`)
      assert.match(first[1], /^random: [0-9a-f]{16} \d+$/)
      assert.is.not(first[1], second[1], 'the same run twice in a job draws from two seeds (job id and run index)')
      assert.equal(first.slice(2), second.slice(2))

      // The example as the README runs it: its job file through `submit --job`, then `results --out`.
      const example = join(dir, 'example')
      mkdirSync(join(example, 'go'), { recursive: true })
      cpSync(join(WORDFREQ_DIR, '..', 'texts'), join(example, 'texts'), { recursive: true })
      cpSync(join(WORDFREQ_DIR, '..', 'dict.txt'), join(example, 'dict.txt'))
      cpSync(join(WORDFREQ_DIR, 'wordfreq-job.json'), join(example, 'go', 'wordfreq-job.json'))
      writeFileSync(join(example, 'go', 'wordfreq.wasm'), wasm)
      const submitted = await runCli(['submit', '--job', join(example, 'go', 'wordfreq-job.json'), '--data', grid.dataDir('c'), '--json'])
      assert.is(submitted.code, 0, submitted.stderr)
      const sweep = JSON.parse(submitted.stdout) as JobView
      assert.equal([sweep.state, sweep.units], ['done', 3])
      const out = join(dir, 'results')
      const written = await runCli(['results', sweep.id, '--data', grid.dataDir('c'), '--out', out])
      assert.is(written.code, 0, written.stderr)
      const fox = runNative(
        native,
        {
          args: ['-stop', 'dict.txt', '-top', '3', 'fox'],
          stdin: readFileSync(join(example, 'texts', 'fox.txt'), 'utf8'),
          files: { 'dict.txt': readFileSync(join(example, 'dict.txt'), 'utf8') }
        },
        join(dir, 'native-fox')
      )
      assert.is(readFileSync(join(out, '0', 'stdout'), 'utf8'), fox.stdout.toString())
      assert.is(readFileSync(join(out, '0', 'exit'), 'utf8'), '0\n')
      assert.is(readFileSync(join(out, '0', 'out', 'fox', 'top.tsv'), 'utf8'), fox.files['fox/top.tsv'].toString())
      assert.match(readFileSync(join(out, '2', 'stdout'), 'utf8'), /\nslept: 30ms\n/)
    } finally {
      await grid.destroy()
    }
  })
}

test.after(async () => {
  await rm(dir, { recursive: true, force: true })
})

test.run()
