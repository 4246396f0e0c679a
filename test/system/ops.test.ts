/**
 * The operators' commands against live peers (real `swarmgrid` processes on a private DHT on
 * 127.0.0.1): cancel, delete, logs [--follow], retention, log lines in text and JSON, and the
 * exit codes scripts rely on: 0, 1 for a failed job, 2 for usage, 130 for a submit given SIGINT.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Background, runCli, until } from '../support/helpers.js'
import { ProcessGrid, TEST_ENV, fixtureDir } from '../support/process-grid.js'
import { readRunningPeer } from '../../node/store/data-dir.js'
import type { JobView } from '../../node/coordinator/job-view.js'

const SLOW = fixtureDir('slow')
const FAILING = fixtureDir('ops')
const LEVELS = ['debug', 'info', 'warn', 'error']
const TEXT_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO |WARN |ERROR) \[[a-z-]+\] \S/

let grid: ProcessGrid
let A: string
let R: string

/** Peer a: slow tasks, JSON log. Peer r, on a grid of its own: a task that fails, text log, finished jobs kept 2 s. */
test.before(async () => {
  grid = await ProcessGrid.start()
  A = grid.dataDir('a')
  R = grid.dataDir('r')
  grid.start('a', ['--tasks', SLOW, '--threads', '2', '--log-format', 'json'])
  grid.start('r', ['--grid', 'ops-r', '--tasks', FAILING, '--threads', '2', '--retention', '2s'])
  await grid.ready('a', 'r')
})

test.after(async () => {
  await grid.destroy()
})

const cli = (...args: string[]) => runCli(args)

async function detached(dir: string, ...args: string[]): Promise<string> {
  const { code, stdout, stderr } = await cli('submit', ...args, '--data', dir, '--detach', '--json')
  assert.is(code, 0, stderr)
  return JSON.parse(stdout).id
}

async function statusOf(dir: string, id: string): Promise<JobView> {
  const { code, stdout, stderr } = await cli('status', id, '--data', dir, '--json')
  assert.is(code, 0, stderr)
  return JSON.parse(stdout)
}

test('a bare swarmgrid prints usage on stderr and exits 2; --version, help CMD and --help show exit codes', async () => {
  const bare = await cli()
  assert.is(bare.code, 2)
  assert.is(bare.stdout, '')
  assert.match(bare.stderr, /Usage: swarmgrid COMMAND/)
  const version = await cli('--version')
  assert.is(version.code, 0)
  assert.match(version.stdout, /^swarmgrid \d+\.\d+\.\d+\n$/)
  const help = await cli('help', 'cancel')
  assert.is(help.code, 0)
  assert.match(help.stdout, /^swarmgrid cancel JOB/)
  assert.match(help.stdout, /Example:/)
  assert.is((await cli('help', 'launch')).code, 2)
  const usage = await cli('--help')
  assert.match(usage.stdout, /Exit codes:[\s\S]*130/)
  for (const command of ['cancel', 'delete', 'logs', 'config', 'service']) {
    const { code, stdout } = await cli(command, '--help')
    assert.is(code, 0, command)
    assert.match(stdout, /Example:/, command)
  }
})

test('every log line has its time and level: JSON objects with --log-format json, text otherwise', async () => {
  const a = grid.peers.get('a')!
  assert.ok(a.logs.length >= 1)
  for (const line of a.logs) {
    const entry = JSON.parse(line)
    assert.ok(!Number.isNaN(Date.parse(entry.time)) && entry.time.endsWith('Z'), line)
    assert.ok(LEVELS.includes(entry.level), line)
    assert.type(entry.kind, 'string')
    assert.type(entry.msg, 'string')
  }
  assert.ok(a.logs.some((l) => JSON.parse(l).msg.startsWith('joined grid')))
  const r = grid.peers.get('r')!
  for (const line of r.logs) assert.match(line, TEXT_LINE)

  // `swarmgrid logs` reads the same lines back from the data dir, in either format.
  const text = await cli('logs', '--data', A)
  assert.is(text.code, 0, text.stderr)
  for (const line of text.stdout.trim().split('\n')) assert.match(line, TEXT_LINE)
  const json = await cli('logs', '--data', A, '--log-format', 'json')
  const entries = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.ok(entries.some((e) => e.msg.startsWith('joined grid') && e.level === 'info'))
  assert.is((await cli('logs', '--data', A, '--log-format', 'xml')).code, 2)

  // A peer that cannot start says why in its own format too.
  const failed = await cli(
    'start',
    '--data',
    grid.dataDir('broken'),
    '--no-http',
    '--bootstrap',
    grid.address,
    '--tasks',
    join(grid.dir, 'none'),
    '--log-format',
    'json'
  )
  assert.is(failed.code, 1)
  const lines = failed.stderr
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.is(lines.length, 1, failed.stderr)
  assert.is(lines[0].level, 'error')
  assert.match(lines[0].msg, /^cannot start: cannot read task directory/)
})

test('cancel stops a running job; cancelling it again exits 1; delete removes it and all stored for it', async () => {
  const id = await detached(A, 'slow', '--param', 'ms=3000', '--units', '12', '--quorum', '1')
  const deleteRunning = await cli('delete', id.slice(0, 10), '--data', A)
  assert.is(deleteRunning.code, 1)
  assert.match(deleteRunning.stderr, /still running: cancel it first/)

  const cancelled = await cli('cancel', id.slice(0, 10), '--data', A)
  assert.is(cancelled.code, 0, cancelled.stderr)
  assert.match(cancelled.stdout, new RegExp(`cancelled slow job ${id}`))
  assert.is((await statusOf(A, id)).state, 'cancelled')
  const again = await cli('cancel', id, '--data', A)
  assert.is(again.code, 1)
  assert.match(again.stderr, /not running/)

  const events = await cli('logs', id.slice(0, 8), '--data', A, '--json')
  assert.is(events.code, 0, events.stderr)
  const lines = events.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.ok(
    lines.every((l) => l.job === id),
    events.stdout
  )
  assert.ok(
    lines.some((l) => /^submitted slow job/.test(l.msg)),
    events.stdout
  )
  assert.ok(
    lines.some((l) => / cancelled/.test(l.msg)),
    events.stdout
  )

  const deleted = await cli('delete', id, '--data', A, '--json')
  assert.is(deleted.code, 0, deleted.stderr)
  assert.equal(JSON.parse(deleted.stdout), { id, deleted: true })
  assert.is((await cli('status', id, '--data', A)).code, 2)
  assert.is((await cli('delete', id, '--data', A)).code, 2)
  assert.is((await cli('cancel', 'ffff0000', '--data', A)).code, 2)
  assert.is((await cli('cancel', 'not-hex', '--data', A)).code, 2)
  const left = await grid.readStore('a', (store) => ({
    job: store.job(id),
    inputs: Array.from({ length: 12 }, (_, unit) => store.input(id, unit)).filter(Boolean).length,
    accepted: store.acceptedUnits(id).length,
    result: store.result(id)
  }))
  assert.equal(left, { job: undefined, inputs: 0, accepted: 0, result: undefined })
})

test('delete with no peer running works on the store; a job stored as running needs --force', async () => {
  const id = await detached(A, 'slow', '--param', 'ms=20', '--units', '2', '--quorum', '1')
  await grid.wait('a', id, 30_000)
  const running = await detached(A, 'slow', '--param', 'ms=5000', '--units', '8', '--quorum', '1')
  assert.is(await grid.peers.get('a')!.stop('SIGTERM'), 0)
  try {
    assert.is((await cli('delete', running, '--data', A)).code, 1)
    const done = await cli('delete', id, '--data', A)
    assert.is(done.code, 0, done.stderr)
    const forced = await cli('delete', running, '--data', A, '--force')
    assert.is(forced.code, 0, forced.stderr)
    assert.equal(await grid.readStore('a', (store) => store.listJobs().filter((j) => j.id === id || j.id === running)), [])
  } finally {
    grid.start('a', ['--tasks', SLOW, '--threads', '2', '--log-format', 'json'])
    await grid.ready('a')
  }
})

test("logs --follow prints the lines that come, a job's only with JOB, until Ctrl-C, then exits 0", async () => {
  const all = new Background(['logs', '--follow', '--lines', '1', '--data', A])
  try {
    await until(() => all.lines.length >= 1, 10_000, 'the last line of the log')
    const id = await detached(A, 'slow', '--param', 'ms=50', '--units', '2', '--quorum', '1')
    const one = new Background(['logs', id.slice(0, 8), '--follow', '--data', A, '--json'])
    await until(() => all.lines.some((l) => l.includes(`submitted slow job ${id.slice(0, 8)}`)), 10_000, 'the submitted line')
    await until(() => one.lines.some((l) => / done/.test(JSON.parse(l).msg)), 20_000, "the job's done line")
    assert.ok(
      one.lines.every((l) => JSON.parse(l).job === id),
      one.lines.join('\n')
    )
    assert.is(await one.stop('SIGINT'), 0)
    assert.ok(
      all.lines.every((l) => TEXT_LINE.test(l)),
      all.lines.join('\n')
    )
  } finally {
    assert.is(await all.stop('SIGINT'), 0)
  }
})

test('exit codes: a failed job exits 1; a submit given SIGINT exits 130, to a running peer or with a peer of its own', async () => {
  const failed = await cli('submit', 'bad-merge', '--units', '2', '--quorum', '1', '--data', R, '--json')
  assert.is(failed.code, 1, failed.stderr)
  assert.is(JSON.parse(failed.stdout).state, 'failed')

  const client = grid.client('a')
  const before = (await client.get<JobView[]>('/api/jobs')).length
  const waiting = new Background(['submit', 'slow', '--param', 'ms=3000', '--units', '8', '--quorum', '1', '--data', A])
  const end = Date.now() + 20_000
  while ((await client.get<JobView[]>('/api/jobs')).length === before && Date.now() < end) await new Promise((r) => setTimeout(r, 100))
  assert.is(await waiting.stop('SIGINT'), 130)
  assert.ok(
    waiting.logs.some((l) => /SIGINT: stopped waiting; job [0-9a-f]{8} goes on at the peer/.test(l)),
    waiting.logs.join(' | ')
  )

  const own = grid.dataDir('own')
  const alone = new Background(
    [
      'submit',
      'slow',
      '--param',
      'ms=3000',
      '--units',
      '4',
      '--quorum',
      '1',
      '--data',
      own,
      '--bootstrap',
      grid.address,
      '--grid',
      'ops-own',
      '--no-http',
      '--tasks',
      SLOW,
      '--threads',
      '1'
    ],
    { env: TEST_ENV }
  )
  await until(() => readRunningPeer(own) !== null, 20_000, "the submit's own peer to listen")
  await until(() => existsSync(join(own, 'store')), 5000, 'its store')
  await new Promise((r) => setTimeout(r, 500))
  assert.is(await alone.stop('SIGINT'), 130)
  assert.ok(
    alone.logs.some((l) => /SIGINT: stopped; job [0-9a-f]{8} is kept in/.test(l)),
    alone.logs.join(' | ')
  )
})

test('retention: a finished job is deleted with all stored for it once its retention has passed', async () => {
  const id = await detached(R, 'primes', '--param', 'to=10000', '--units', '2', '--quorum', '1')
  await grid.wait('r', id, 30_000)
  const r = grid.peers.get('r')!
  await r.log(new RegExp(`deleted \\d+ finished jobs? past the retention time: .*${id.slice(0, 8)}`), 10_000)
  assert.is((await cli('status', id, '--data', R)).code, 2)
  assert.is(await grid.readStore('r', (store) => store.input(id, 0)), undefined)
})

test.run()
