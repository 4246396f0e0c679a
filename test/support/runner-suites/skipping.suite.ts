/** For test/unit/runner.test.ts: one test this machine "cannot" run, and one that passes. */
import { test } from '../test.js'

test.unavailable('needs a thing this machine lacks', 'no such thing here', { expected: process.env.RUNNER_SUITE_EXPECTED === '1' })
test('plain', () => {})

test.run()
