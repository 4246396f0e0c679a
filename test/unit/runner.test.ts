/**
 * The test runner itself (test/run.ts), run on the small suites in test/support/runner-suites:
 * a skipped test is counted as skipped with its reason, and fails under CI=true where it should
 * run; a hanging test fails alone with its name, and a process left up after the suites ends the
 * run as failed instead of at the runner's 9-minute limit.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const RUNNER = fileURLToPath(new URL('../run.js', import.meta.url))

function runner(pattern: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; closing: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [RUNNER, pattern],
      { env: { ...process.env, CI: '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException & { killed?: boolean }).killed) {
          reject(new Error(`the runner on ${pattern} did not end within 60 s`))
          return
        }
        const out = stdout + stderr
        resolve({ code: child.exitCode ?? -1, out, closing: stdout.trim().split('\n').at(-1) ?? '' })
      }
    )
  })
}

test('a test that cannot run here is reported as skipped, with its reason, in the closing lines', async () => {
  const { code, out, closing } = await runner('skipping\\.suite\\.js$', {})
  assert.is(closing, '1 passed, 0 failed, 1 skipped')
  assert.match(out, /^skipped: needs a thing this machine lacks: no such thing here$/m)
  assert.is(code, 0)
})

test('under CI=true a skip fails where the machine should allow the test, and stays a skip where it should not', async () => {
  const failing = await runner('skipping\\.suite\\.js$', { CI: 'true', RUNNER_SUITE_EXPECTED: '1' })
  assert.is(failing.closing, '1 passed, 1 failed, 0 skipped')
  assert.match(failing.out, /CI=true and this machine should run this test, but it cannot: no such thing here/)
  assert.is(failing.code, 1)
  const excused = await runner('skipping\\.suite\\.js$', { CI: 'true', RUNNER_SUITE_EXPECTED: '0' })
  assert.is(excused.closing, '1 passed, 0 failed, 1 skipped')
})

test('a hanging test fails by itself, naming itself, and the tests after it still run', async () => {
  const { code, out, closing } = await runner('hanging\\.suite\\.js$', {})
  assert.is(closing, '1 passed, 1 failed, 0 skipped')
  assert.match(out, /timed out after 300 ms waiting for the test "never ends" to end/)
  assert.is(code, 1)
})

test('a handle left open after every suite ended fails the run soon, saying so', async () => {
  const { code, out, closing } = await runner('hanging\\.suite\\.js$', { RUNNER_SUITE_LEAK: '1', SWARMGRID_EXIT_GRACE_MS: '1000' })
  assert.match(out, /every suite ended, but the test process was still up 1 s later: something was left open/)
  assert.is(closing, '1 passed, 1 failed, 0 skipped')
  assert.is(code, 1)
})

test.run()
