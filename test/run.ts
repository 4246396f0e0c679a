/**
 * Runs every suite in dist/test with uvu and ends with the plain line `N passed, N failed`
 * that CI reads. A run that hangs (a swarm, pool or server left open) is stopped and failed.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const RUN_LIMIT_MS = 9 * 60 * 1000
const here = fileURLToPath(new URL('.', import.meta.url))
const uvu = fileURLToPath(new URL('../../node_modules/uvu/bin.js', import.meta.url))
const pattern = process.argv[2] ?? '\\.test\\.js$'

const child = spawn(process.execPath, [uvu, here, pattern], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } })
let output = ''
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk)
  output += chunk.toString('utf8')
})
const limit = setTimeout(() => {
  console.error(`\ntest run still going after ${RUN_LIMIT_MS / 1000} s: something was left open; stopping it`)
  child.kill('SIGKILL')
}, RUN_LIMIT_MS)

child.on('close', (code) => {
  clearTimeout(limit)
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '')
  const count = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(plain)?.[1] ?? 0)
  const total = count('Total')
  const passed = count('Passed')
  const skipped = count('Skipped')
  const failed = Math.max(total - passed - skipped, code === 0 ? 0 : 1)
  console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
  process.exitCode = code === 0 && failed === 0 ? 0 : 1
})
