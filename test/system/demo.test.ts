/**
 * `swarmgrid demo` run to its end, as a newcomer runs it: in a pseudo-terminal (util-linux
 * `script`), so that its progress bars are drawn and redrawn in place, and its answers are
 * checked against runs without the grid. Also with --json, where the checks come as data.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { CLI, runCli } from '../support/helpers.js'
import { SAMPLE_JOBS } from '../../node/cli/demo.js'

const DEMO_MS = 150_000

/** Runs `command` under a pseudo-terminal; what the terminal showed, and the exit code. */
function inTerminal(command: string[], ms: number): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve, reject) => {
    const quoted = command.map((part) => `'${part.replace(/'/g, `'\\''`)}'`).join(' ')
    const child = spawn('script', ['-qfec', quoted, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let screen = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command.join(' ')} in a terminal still running after ${ms} ms: ${screen.slice(-400)}`))
    }, ms)
    child.stdout.on('data', (d) => {
      screen += d
    })
    child.stderr.on('data', (d) => {
      screen += d
    })
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, screen })
    })
  })
}

test(
  'demo in a terminal: live progress bars redrawn in place, then every answer matches a run without the grid',
  async () => {
    const { code, screen } = await inTerminal([process.execPath, CLI, 'demo', '--donors', '2'], DEMO_MS)
    assert.is(code, 0, screen.slice(-1000))
    const plain = screen.replace(/\r/g, '')
    assert.match(plain, /private DHT on 127\.0\.0\.1:\d+/)
    assert.match(plain, /coordinator [0-9a-f]{8} and 2 donors started; dashboard http:\/\/127\.0\.0\.1:\d+/)
    // One bar per job, each line cleared and the block redrawn over the last drawing (cursor up 3 lines).
    assert.ok(plain.includes(`\x1b[${SAMPLE_JOBS.length}F`), 'the bars are redrawn in place')
    for (const { task } of SAMPLE_JOBS) {
      assert.match(plain, new RegExp(`\\x1b\\[2K${task} +█{30} 100%  (\\d+)/\\1 units`), `${task} reaches a full bar`)
      assert.match(plain, new RegExp(`✓ ${task} +done in `), `${task} matches a run without the grid`)
    }
    assert.match(plain, /✓ primes +done in .*: \{ ?"?count"?: 216816 ?\}|✓ primes +done in .*216816/)
    assert.match(plain, new RegExp(`all ${SAMPLE_JOBS.length} answers match a run without the grid`))
  },
  { ms: DEMO_MS + 10_000 }
)

test(
  'demo --json: the jobs done and a passing check for each',
  async () => {
    const { code, stdout, stderr } = await runCli(['demo', '--donors', '2', '--json'], DEMO_MS)
    assert.is(code, 0, stderr.slice(-1000))
    const out = JSON.parse(stdout)
    assert.equal(
      out.checks.map((c: { task: string; ok: boolean }) => [c.task, c.ok]),
      SAMPLE_JOBS.map((j) => [j.task, true])
    )
    assert.equal(
      out.jobs.map((j: { state: string }) => j.state),
      SAMPLE_JOBS.map(() => 'done')
    )
    assert.equal(out.jobs[0].result, { count: 216816 })
    assert.not.match(stdout, /\x1b\[/, 'no progress bar in --json output')
  },
  { ms: DEMO_MS + 10_000 }
)

test.run()
