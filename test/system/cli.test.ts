/** The CLI as its users run it: real processes, a bootstrap node on 127.0.0.1, peers and jobs. */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { readFileSync, statSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Background, runCli, tempDir } from '../support/helpers.js'

const run = (args: string[], env?: NodeJS.ProcessEnv) => runCli(args, undefined, env)

/** Runs `body` with a temp dir and a bootstrap node on 127.0.0.1, and cleans both up. */
async function withBootstrap(body: (address: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir()
  const bootstrap = new Background(['bootstrap', '--host', '127.0.0.1', '--port', '0'])
  try {
    const address = (await bootstrap.line('bootstrap ')).split(' ')[1]
    assert.match(address, /^127\.0\.0\.1:\d+$/)
    await body(address, dir)
  } finally {
    await bootstrap.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

test('every command has --help with an example', async () => {
  for (const command of ['bootstrap', 'start', 'submit', 'status', 'results', 'demo']) {
    const { code, stdout } = await run([command, '--help'])
    assert.is(code, 0, command)
    assert.match(stdout, /Example:/, command)
  }
})

test('a bad flag exits non-zero and says what to do', async () => {
  const { code, stderr } = await run(['start', '--threads', 'many'])
  assert.is(code, 2)
  assert.match(stderr, /--threads takes a whole number/)
  assert.match(stderr, /swarmgrid start --help/)
})

test('an unknown command lists the commands', async () => {
  const { code, stderr } = await run(['launch'])
  assert.is(code, 2)
  assert.match(stderr, /unknown command "launch"/)
  assert.match(stderr, /demo/)
})

test('status of a data dir with no peer ever says how to start one', async () => {
  const dir = await tempDir()
  try {
    const { code, stderr } = await run(['status', '--data', join(dir, 'none')])
    assert.is(code, 1)
    assert.match(stderr, /swarmgrid start --data/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a peer or a bootstrap node signalled the moment it prints that it is ready stops cleanly', async () => {
  await withBootstrap(async (address, dir) => {
    for (let i = 0; i < 5; i++) {
      const peer = new Background(['start', '--bootstrap', address, '--data', join(dir, `p${i}`), '--no-donate', '--no-http'])
      await peer.line('ready')
      // stop() fails naming the signal if the process died of it rather than stopping.
      assert.is(await peer.stop('SIGTERM'), 0, `try ${i + 1}: exit status`)
    }
  })
  for (let i = 0; i < 5; i++) {
    const bootstrap = new Background(['bootstrap', '--host', '127.0.0.1', '--port', '0'])
    await bootstrap.line('bootstrap ')
    assert.is(await bootstrap.stop('SIGTERM'), 0, `bootstrap try ${i + 1}: exit status`)
  }
})

test('bootstrap, two started peers, submit --json, status, results and a clean stop', async () => {
  await withBootstrap(async (address, dir) => {
    const peers: Background[] = []
    try {
      for (const name of ['a', 'b']) {
        peers.push(
          new Background(['start', '--bootstrap', address, '--grid', 'cli', '--data', join(dir, name), '--threads', '1', '--no-http'])
        )
      }
      const keyA = (await peers[0].line('key ')).split(' ')[1]
      assert.match(keyA, /^[0-9a-f]{64}$/)
      for (const peer of peers) await peer.line('ready')

      // Peer a runs for --data a: the job goes to it, and both peers run its units.
      const submitted = await run([
        'submit',
        'primes',
        '--param',
        'from=0',
        '--param',
        'to=3000000',
        '--units',
        '8',
        '--quorum',
        '2',
        '--data',
        join(dir, 'a'),
        '--json'
      ])
      assert.is(submitted.code, 0, submitted.stderr)
      const job = JSON.parse(submitted.stdout)
      assert.is(job.state, 'done')
      assert.equal(job.result, { count: 216816 })
      assert.is(job.units, 8)
      assert.is(job.accepted, 8)
      assert.ok(job.results >= 16)

      const status = await run(['status', job.id, '--data', join(dir, 'a'), '--json'])
      assert.is(status.code, 0, status.stderr)
      const view = JSON.parse(status.stdout)
      for (const field of ['id', 'task', 'state', 'result', 'units', 'accepted', 'results']) assert.equal(view[field], job[field], field)

      const out = join(dir, 'result.json')
      const results = await run(['results', job.id.slice(0, 6), '--data', join(dir, 'a'), '--out', out])
      assert.is(results.code, 0, results.stderr)
      assert.equal(JSON.parse(readFileSync(out, 'utf8')), { count: 216816 })

      const started = Date.now()
      for (const peer of peers) assert.is(await peer.stop('SIGTERM'), 0)
      assert.ok(Date.now() - started < 10_000, 'peers stop within seconds')

      // The same --data gives the same key.
      const again = new Background(['start', '--bootstrap', address, '--grid', 'cli', '--data', join(dir, 'a'), '--no-http', '--no-donate'])
      peers.push(again)
      assert.is((await again.line('key ')).split(' ')[1], keyA)
      await again.line('ready')
      assert.is(await again.stop('SIGINT'), 0)
    } finally {
      await Promise.all(peers.map((p) => p.stop('SIGKILL')))
    }
  })
})

test('submit --detach stores the job and returns its id; status shows it waiting', async () => {
  await withBootstrap(async (address, dir) => {
    const data = join(dir, 'solo')
    const submitted = await run([
      'submit',
      'pi',
      '--param',
      'samples=100000',
      '--units',
      '4',
      '--data',
      data,
      '--bootstrap',
      address,
      '--grid',
      'detach',
      '--no-donate',
      '--no-http',
      '--detach',
      '--json'
    ])
    assert.is(submitted.code, 0, submitted.stderr)
    const { id } = JSON.parse(submitted.stdout)
    assert.match(id, /^[0-9a-f]{16}$/)
    const status = await run(['status', id, '--data', data, '--json'])
    const view = JSON.parse(status.stdout)
    assert.is(view.state, 'running')
    assert.is(view.accepted, 0)
    assert.is(statSync(join(data, 'token')).mode & 0o777, 0o600, 'the control token is readable by its owner only')
  })
})

test('a bad task parameter exits non-zero with what to pass', async () => {
  await withBootstrap(async (address, dir) => {
    const { code, stderr } = await run([
      'submit',
      'primes',
      '--param',
      'to=banana',
      '--data',
      join(dir, 'p'),
      '--bootstrap',
      address,
      '--no-http'
    ])
    assert.is(code, 2)
    assert.match(stderr, /--param to=/)
  })
})

test.run()
