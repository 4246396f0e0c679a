/** For test/unit/runner.test.ts: a test that hangs past its bound, one after it, and (on request) a handle left open. */
import { test } from '../test.js'

test('never ends', () => new Promise(() => {}), { ms: 300 })
test('runs after the hang', () => {})
if (process.env.RUNNER_SUITE_LEAK === '1') setInterval(() => {}, 1000)

test.run()
