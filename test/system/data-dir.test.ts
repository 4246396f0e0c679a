/**
 * The data dir as the machine leaves it (issue 13, findings 3, 11 and 14): a token file that is
 * empty (a full disk leaves it so) or hand-written, two `start`s on one dir, and flags whose
 * values used to crash the process or print Node's raw errors. Real CLI processes.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Background, runCli, tempDir } from '../support/helpers.js'
import { ControlServer } from '../../node/control/server.js'
import { controlToken, DataDirError } from '../../node/store/data-dir.js'
import { Peer } from '../../node/peer/peer.js'
import { ControlClient } from '../../node/control/client.js'

/** A private bootstrap node on 127.0.0.1 for the whole suite: every peer here joins it, and nothing leaves loopback. */
let bootstrap: Background
let BOOTSTRAP = ''
let quiet: string[] = []

test.before(async () => {
  bootstrap = new Background(['bootstrap', '--host', '127.0.0.1', '--port', '0'])
  BOOTSTRAP = (await bootstrap.line('bootstrap ')).split(' ')[1]
  quiet = ['--bootstrap', BOOTSTRAP, '--no-donate', '--grid', 'datadir']
})

test.after(async () => {
  await bootstrap.stop()
})

test('a token is made atomically: 48 hex digits, owner-only, no temporary file left, the same on every read', async () => {
  const dir = await tempDir()
  try {
    const token = controlToken(dir)
    assert.match(token, /^[0-9a-f]{48}$/)
    assert.is(readFileSync(join(dir, 'token'), 'utf8'), token + '\n')
    assert.is(statSync(join(dir, 'token')).mode & 0o777, 0o600)
    assert.equal(
      readdirSync(dir).filter((f) => f.includes('tmp')),
      []
    )
    assert.is(controlToken(dir), token)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('an empty or malformed token file stops start, saying which file and what to do; nothing is served', async () => {
  const dir = await tempDir()
  try {
    for (const [name, text] of [
      ['empty', ''],
      ['blank', '\n'],
      ['hand-written', 'letmein\n'],
      ['one digit short', 'a'.repeat(47)],
      ['uppercase', 'A'.repeat(48)]
    ]) {
      const data = join(dir, name)
      mkdirSync(data)
      writeFileSync(join(data, 'token'), text)
      const started = await runCli(['start', '--data', data, '--http', '0', ...quiet])
      assert.is(started.code, 1, `${name}: ${started.stderr}`)
      assert.match(started.stderr, new RegExp(`${join(data, 'token').replace(/[/.]/g, '\\$&')} is not a control token`), name)
      assert.match(started.stderr, /Remove it and start again/, name)
      assert.not.match(started.stdout, /ready/, `${name}: never ready`)
      assert.is(ControlClient.forDataDir(data), null, `${name}: no control socket to reach`)
    }
    // The library refuses the same, with a code, and leaves the dir free for a fixed start.
    const data = join(dir, 'empty')
    const err = await Peer.start({ dataDir: data, bootstrap: [BOOTSTRAP], donate: false, http: 0 }).catch((e) => e)
    assert.instance(err, DataDirError)
    assert.is(err.code, 'BAD_SECRET')
    assert.throws(
      () => new ControlServer(''),
      (e: DataDirError) => e.code === 'NO_TOKEN' && /refusing to serve/.test(e.message)
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a started peer has a well-formed token, and every write without it gets 401', async () => {
  const dir = await tempDir()
  const peer = new Background(['start', '--data', dir, '--http', '0', ...quiet])
  try {
    const url = (await peer.line('ready')).split(' ')[1]
    const token = readFileSync(join(dir, 'token'), 'utf8').trim()
    assert.match(token, /^[0-9a-f]{48}$/)
    assert.ok(url.endsWith(`#token=${token}`))
    // The exact requests that got through with an empty token: no Authorization header.
    for (const path of ['api/donor/pause', 'api/jobs']) {
      const answer = await fetch(new URL(path, url), {
        method: 'POST',
        body: '{"task":"pi"}',
        headers: { 'content-type': 'application/json' }
      })
      assert.is(answer.status, 401, path)
    }
  } finally {
    await peer.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test('a second start on one data dir exits, naming the PID that holds it; the first stays reachable; a killed holder frees it', async () => {
  const dir = await tempDir()
  const first = new Background(['start', '--data', dir, '--no-http', ...quiet])
  const third: Background[] = []
  try {
    const key = (await first.line('key ')).split(' ')[1]
    await first.line('ready')
    const second = await runCli(['start', '--data', dir, '--no-http', ...quiet])
    assert.is(second.code, 1, second.stderr)
    assert.match(second.stderr, new RegExp(`in use by a swarmgrid peer already running as PID ${first.pid}`))
    assert.match(second.stderr, /stop it first, or give this peer its own --data/)
    // The first peer still owns its control socket: the CLI reaches it there.
    const client = ControlClient.forDataDir(dir)
    assert.ok(client, 'the first peer is still registered')
    assert.is(client!.info.pid, first.pid)
    const info = await client!.get<{ key: string }>('/api/info')
    assert.is(info.key, key)
    // A peer killed outright leaves no lock behind.
    await first.stop('SIGKILL')
    const after = new Background(['start', '--data', dir, '--no-http', ...quiet])
    third.push(after)
    assert.is((await after.line('key ')).split(' ')[1], key)
    await after.line('ready')
    assert.is(readFileSync(join(dir, 'lock'), 'utf8').trim(), String(after.pid))
    assert.is(await after.stop('SIGTERM'), 0)
  } finally {
    await first.stop('SIGKILL')
    for (const p of third) await p.stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  }
})

test('two peers in one process on one data dir: the second is refused with a code', async () => {
  const dir = await tempDir()
  const peer = await Peer.start({ dataDir: dir, bootstrap: [BOOTSTRAP], donate: false, http: false, grid: 'datadir' })
  try {
    const err = await Peer.start({ dataDir: dir, bootstrap: [BOOTSTRAP], donate: false, http: false, grid: 'datadir' }).catch((e) => e)
    assert.instance(err, DataDirError)
    assert.is(err.code, 'DATA_DIR_LOCKED')
    assert.match(err.message, new RegExp(`another peer in this process \\(PID ${process.pid}\\)`))
  } finally {
    await peer.stop()
    await rm(dir, { recursive: true, force: true })
  }
  // Stopped, it let go.
  const dir2 = await tempDir()
  try {
    const a = await Peer.start({ dataDir: dir2, bootstrap: [BOOTSTRAP], donate: false, http: false, grid: 'datadir' })
    await a.stop()
    const b = await Peer.start({ dataDir: dir2, bootstrap: [BOOTSTRAP], donate: false, http: false, grid: 'datadir' })
    await b.stop()
  } finally {
    await rm(dir2, { recursive: true, force: true })
  }
})

test('flags at and just past their limits: --memory, --http, --wasm-memory, --program-cache, negative --units; messages, not crashes', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['start', '--memory', '1'], /--memory takes a whole number of at least 16, not "1"/],
    [['start', '--memory', '15'], /--memory takes a whole number of at least 16, not "15"/],
    [['start', '--http', '70000'], /--http takes a whole number from 0 to 65535, not "70000"/],
    [['start', '--http', '65536'], /--http takes a whole number from 0 to 65535, not "65536"/],
    [['start', '--http', '-1'], /--http takes a whole number from 0 to 65535, not "-1"/],
    [['start', '--wasm-memory', '4097'], /--wasm-memory takes a whole number from 1 to 4096, not "4097"/],
    [['start', '--wasm-memory', '5000'], /--wasm-memory takes a whole number from 1 to 4096, not "5000"/],
    [['start', '--program-cache', '-1'], /--program-cache takes a whole number of at least 0, not "-1"/],
    [['submit', 'primes', '--units', '-1'], /--units takes a whole number of at least 1, not "-1"/],
    [['submit', 'primes', '--quorum', '-2'], /--quorum/]
  ]
  for (const [args, message] of cases) {
    const run = await runCli(args)
    assert.is(run.code, 2, `${args.join(' ')}: ${run.stderr}`)
    assert.match(run.stderr, message, args.join(' '))
    assert.not.match(run.stderr, /node:internal|ERR_|\n\s+at /, `${args.join(' ')}: no raw Node error`)
  }
  // The library refuses the same, with a code, before anything starts.
  const smallDir = await tempDir()
  const small = await Peer.start({ dataDir: smallDir, bootstrap: [BOOTSTRAP], memoryMb: 15, http: false, grid: 'datadir' }).catch((e) => e)
  await rm(smallDir, { recursive: true, force: true })
  assert.is(small.code, 'MEMORY_TOO_SMALL', String(small))
  // --memory 16, the floor, runs units: the pool's threads start within it.
  const dir = await tempDir()
  try {
    const run = await runCli([
      'submit',
      'primes',
      '--param',
      'to=20000',
      '--units',
      '2',
      '--quorum',
      '1',
      '--memory',
      '16',
      '--data',
      dir,
      '--no-http',
      '--bootstrap',
      BOOTSTRAP,
      '--grid',
      'datadir',
      '--json'
    ])
    assert.is(run.code, 0, run.stderr)
    assert.equal(JSON.parse(run.stdout).result, { count: 2262 })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
