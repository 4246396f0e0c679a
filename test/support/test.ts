/**
 * uvu's `test`, with two things uvu lacks.
 *
 * A bound on every test: uvu awaits a test for ever, so one hang used to stall the whole run
 * until the runner killed it, reported as "0 passed, 1 failed". Here a test that outlives its
 * bound fails by itself, with its name and the bound in the message, and the run goes on.
 *
 * Skipping with a reason: a test that cannot run on this machine is registered as skipped (uvu
 * counts it) and prints `skipped: NAME: REASON`, which test/run.ts repeats above its closing
 * line. Under CI=true, where the environment is meant to allow the test, it fails instead.
 */
import { test as uvuTest } from 'uvu'
import { within } from './helpers.js'

/** Generous: every wait inside a test has its own, shorter bound that names what hung. */
export const DEFAULT_TEST_MS = 150_000

export const SKIP_MARK = 'skipped: '

type Body = () => unknown

export interface SkipOptions {
  /** Whether this machine ought to run the test (e.g. it is Linux and we are root): then CI=true makes a skip a failure. */
  expected: boolean
}

interface BoundedTest {
  (name: string, body: Body, options?: { ms?: number }): void
  /** Registers `name` as skipped for `reason`, or failing when CI should have run it. */
  unavailable(name: string, reason: string, options: SkipOptions): void
  before: typeof uvuTest.before
  after: typeof uvuTest.after
  run(): void
}

export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1'
}

const bounded = ((name: string, body: Body, options: { ms?: number } = {}) => {
  const ms = options.ms ?? DEFAULT_TEST_MS
  uvuTest(name, async () => {
    await within(Promise.resolve().then(body), ms, `the test "${name}" to end (it hung: a wait without its own bound?)`)
  })
}) as BoundedTest

bounded.unavailable = (name, reason, { expected }) => {
  if (inCi() && expected) {
    uvuTest(name, () => {
      throw new Error(`CI=true and this machine should run this test, but it cannot: ${reason}`)
    })
    return
  }
  console.log(`${SKIP_MARK}${name}: ${reason}`)
  uvuTest.skip(name, () => {})
}
bounded.before = uvuTest.before
bounded.after = uvuTest.after
bounded.run = () => uvuTest.run()

export const test = bounded
