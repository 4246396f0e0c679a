/**
 * Runs every suite in dist/test with uvu and ends with the plain line `N passed, N failed, N skipped`
 * that CI reads, after the reason of every skipped test (lines `skipped: NAME: REASON`, see
 * support/test.ts). A test that hangs fails alone at its own bound; a run whose suites have all
 * ended but whose process stays up (a swarm, pool or server left open) is stopped and failed.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const RUN_LIMIT_MS = 9 * 60 * 1000
/** After uvu's summary, the time left for open handles to close before the run counts as leaking. */
const EXIT_GRACE_MS = Number(process.env.SWARMGRID_EXIT_GRACE_MS) || 30_000
const SKIP_MARK = 'skipped: '
const here = fileURLToPath(new URL('.', import.meta.url))
const uvu = fileURLToPath(new URL('../../node_modules/uvu/bin.js', import.meta.url))
// A pattern given picks among the suites by name ('wasi|js'), never the .d.ts or .map beside them;
// the runner's own test runs its fixtures (*.suite.js) this way.
const pattern = process.argv[2] === undefined ? '\\.test\\.js$' : `^(?=.*(?:${process.argv[2]})).*\\.(test|suite)\\.js$`

const child = spawn(process.execPath, [uvu, here, pattern], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, FORCE_COLOR: '0' }
})
let output = ''
const problems: string[] = []
let lingering: NodeJS.Timeout | undefined
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk)
  output += chunk.toString('utf8')
  if (lingering === undefined && /Duration:/.test(output)) {
    lingering = setTimeout(() => {
      problems.push(
        `every suite ended, but the test process was still up ${EXIT_GRACE_MS / 1000} s later: something was left open; stopped it`
      )
      child.kill('SIGKILL')
    }, EXIT_GRACE_MS)
  }
})
const limit = setTimeout(() => {
  problems.push(`test run still going after ${RUN_LIMIT_MS / 1000} s; stopped it`)
  child.kill('SIGKILL')
}, RUN_LIMIT_MS)

child.on('close', (code) => {
  clearTimeout(limit)
  clearTimeout(lingering)
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '')
  const count = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(plain)?.[1] ?? 0)
  // uvu's Total counts the tests that ran; skipped ones are apart from it.
  const total = count('Total')
  const passed = count('Passed')
  const skipped = count('Skipped')
  const failed = Math.max(total - passed, code === 0 && problems.length === 0 ? 0 : 1)
  const reasons = plain.split('\n').filter((line) => line.startsWith(SKIP_MARK))
  for (const problem of problems) console.error(`\n${problem}`)
  if (reasons.length > 0) console.log(`\n${reasons.join('\n')}`)
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`)
  process.exitCode = code === 0 && failed === 0 ? 0 : 1
})
