/**
 * The wasi task on a grid of real processes (a bootstrap node, a coordinator and three donors
 * started with the CLI): a C program built by clang for WASI gives, at quorum 2 over 12 runs,
 * the stdout and out files of its native build; hostile programs each fail alone, with their
 * reason, while the donors go on serving; a program printing the time, random bytes and its
 * environment is agreed on by all three donors; and `submit wasi … --stdin-glob` then
 * `results --out DIR` work from the command line.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { JobView } from '../../node/coordinator/job-view.js'
import { ProcessGrid } from '../support/process-grid.js'
import { runCli, tempDir } from '../support/helpers.js'
import { WORDSTAT_SOURCE, buildNative, buildWasi, clangMissing, fixture } from '../support/wasi-programs.js'
import { DICT, b64, decode, runNative, runsOf, wordstatRuns } from '../support/wasi-runs.js'

const dir = await tempDir('swarmgrid-wasi-grid-')
const missing = clangMissing(dir)
const DONOR_FLAGS = ['--no-coordinate', '--threads', '1', '--wasm-time', '3', '--wasm-memory', '64']

if (missing) {
  test(`wasi on a grid: SKIPPED, ${missing}`, () => {})
} else {
  test('wasi programs on a grid of processes: native bytes at quorum 2, hostile programs fail alone, all donors agree', async () => {
    const wordstat = buildWasi(WORDSTAT_SOURCE, dir, 'wordstat')
    const native = buildNative(WORDSTAT_SOURCE, dir, 'wordstat')
    const program = (name: string) => b64(buildWasi(fixture(name), dir, name))
    const grid = await ProcessGrid.start()
    try {
      await grid.coordinatorWithDonors(3, DONOR_FLAGS)

      // 12 runs reading stdin, taking args and reading an input file, each against the native build.
      const runs = wordstatRuns(12)
      const job = await grid.submit('c', { task: 'wasi', quorum: 2, params: { memory: 64, program: b64(wordstat), runs } })
      // The hostile ones, at once, each a job of its own.
      const hostile = {
        loop: await grid.submit('c', { task: 'wasi', quorum: 2, maxErrors: 2, params: { memory: 64, program: program('loop') } }),
        membomb: await grid.submit('c', { task: 'wasi', quorum: 2, maxErrors: 2, params: { memory: 64, program: program('membomb') } }),
        bigout: await grid.submit('c', { task: 'wasi', quorum: 2, maxErrors: 2, params: { memory: 64, program: program('bigout') } }),
        escape: await grid.submit('c', {
          task: 'wasi',
          quorum: 2,
          params: { memory: 64, program: program('escape'), runs: [{ files: { 'data.txt': 'x' } }] }
        }),
        socket: await grid.submit('c', { task: 'wasi', quorum: 2, params: { memory: 64, program: program('socket') } }),
        exit3: await grid.submit('c', { task: 'wasi', quorum: 2, params: { memory: 64, program: program('exit3') } })
      }
      let refusal = ''
      await grid.submit('c', { task: 'wasi', params: { memory: 64, program: program('unknown-import') } }).catch((err: Error) => {
        refusal = err.message
      })
      assert.match(refusal, /imports env\.host_secret, which this WASI sandbox does not offer/)

      const done = await grid.wait('c', job.id, 60_000)
      assert.is(done.state, 'done', done.error ?? '')
      runsOf(done).forEach((run, i) => {
        const expected = runNative(native, runs[i], join(dir, `native-${i}`))
        assert.is(run.exit, expected.exit, `run ${i} exit`)
        assert.is(decode(run.stdout).compare(expected.stdout), 0, `run ${i} stdout`)
        assert.equal(Object.keys(run.files), Object.keys(expected.files), `run ${i} files`)
        for (const [name, bytes] of Object.entries(expected.files))
          assert.is(decode(run.files[name]).compare(bytes), 0, `run ${i} out/${name}`)
      })
      assert.ok(done.results >= 24, `${done.results} results for 12 runs at quorum 2`)

      const ended = Object.fromEntries(
        await Promise.all(Object.entries(hostile).map(async ([name, j]) => [name, await grid.wait('c', j.id, 90_000)]))
      )
      assert.is(ended.loop.state, 'failed')
      assert.match(ended.loop.error, /timeout: ran past this donor's 3000 ms time cap/)
      assert.is(ended.membomb.state, 'failed')
      assert.match(ended.membomb.error, /memory: wasm memory cap: .* of the 64 MiB its job allows each unit/)
      assert.is(ended.bigout.state, 'failed')
      assert.match(ended.bigout.error, /output: output cap: stdout passed 4194304 bytes/)
      const escape = runsOf(ended.escape)[0]
      assert.is(ended.escape.state, 'done')
      assert.match(
        decode(escape.stdout).toString(),
        /^\/etc\/passwd: No such file or directory\n\.\.\/etc\/passwd: Capabilities insufficient\n/
      )
      assert.not.match(decode(escape.stdout).toString(), 'root:')
      assert.match(decode(runsOf(ended.socket)[0].stdout).toString(), /^accept: -1 Function not implemented\n/)
      assert.is(ended.exit3.state, 'done')
      assert.equal([runsOf(ended.exit3)[0].exit, decode(runsOf(ended.exit3)[0].stdout).toString()], [3, 'leaving with 3\n'])

      // All three donors must agree byte for byte on the time, random bytes and environment.
      const determinism = await grid.submit('c', {
        task: 'wasi',
        quorum: 3,
        params: {
          memory: 64,
          program: program('determinism'),
          runs: [{ env: { ONLY: 'this' } }, { env: { ONLY: 'this' } }, { args: ['x'] }]
        }
      })
      const agreed = await grid.wait('c', determinism.id, 60_000)
      assert.is(agreed.state, 'done', agreed.error ?? '')
      assert.is(agreed.results, 9, 'three runs, each accepted by three agreeing donors')
      const [first, second, third] = runsOf(agreed).map((r) => decode(r.stdout).toString())
      const seconds = Math.floor(agreed.createdAt / 1000)
      assert.match(first, new RegExp(`^time ${seconds}\\.${String(agreed.createdAt % 1000).padStart(3, '0')}000000 `))
      assert.match(first, /\nenv ONLY=this\nnan bits 7ff8000000000000\n$/)
      assert.not.match(third, /\nenv /)
      assert.is.not(first.split('\n')[2], second.split('\n')[2], 'runs draw different random bytes')

      // The donors served on: a sweep from the command line, its results written as directories.
      const texts = join(dir, 'texts')
      mkdirSync(texts, { recursive: true })
      writeFileSync(join(texts, 'a.txt'), 'the dog and the fox\n')
      writeFileSync(join(texts, 'b.txt'), 'it was the best of times\n')
      writeFileSync(join(dir, 'dict.txt'), DICT)
      writeFileSync(join(dir, 'wordstat.wasm'), wordstat)
      const submitted = await runCli([
        'submit',
        'wasi',
        '--param',
        'memory=64',
        '--program',
        join(dir, 'wordstat.wasm'),
        '--arg',
        '-d',
        '--arg',
        'dict.txt',
        '--arg',
        '{name}',
        '--file',
        join(dir, 'dict.txt'),
        '--stdin-glob',
        join(texts, '*.txt'),
        '--data',
        grid.dataDir('c'),
        '--json'
      ])
      assert.is(submitted.code, 0, submitted.stderr)
      const sweep = JSON.parse(submitted.stdout) as JobView
      assert.equal([sweep.state, sweep.units], ['done', 2])
      const out = join(dir, 'results')
      const written = await runCli(['results', sweep.id, '--data', grid.dataDir('c'), '--out', out])
      assert.is(written.code, 0, written.stderr)
      assert.equal(readdirSync(out).sort(), ['0', '1'])
      assert.equal(readdirSync(join(out, '0')).sort(), ['exit', 'out', 'stderr', 'stdout'])
      assert.is(readFileSync(join(out, '0', 'exit'), 'utf8'), '0\n')
      assert.match(readFileSync(join(out, '0', 'stdout'), 'utf8'), /^a: 1 lines, 5 words/)
      assert.is(readFileSync(join(out, '1', 'out', 'b.txt'), 'utf8').split('\n')[0], '     1 best')
    } finally {
      await grid.destroy()
    }
  })
}

test.after(async () => {
  await rm(dir, { recursive: true, force: true })
})

test.run()
