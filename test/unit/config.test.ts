/**
 * DATA/config.json: every start flag can live there; a command-line flag wins over it, it wins
 * over the environment, that over the defaults; `swarmgrid config` says where each came from;
 * a bad file stops `start` before anything runs, naming the file, the key and what is allowed.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli, tempDir } from '../support/helpers.js'
import { PEER_FLAGS } from '../../node/cli/args.js'
import { readConfigFile, resolveSettings } from '../../node/cli/config.js'

async function withDataDir(config: unknown, body: (dir: string, file: string) => Promise<void>): Promise<void> {
  const root = await tempDir('swarmgrid-config-')
  const dir = join(root, 'data')
  mkdirSync(dir)
  const file = join(dir, 'config.json')
  if (config !== undefined) writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config))
  try {
    await body(dir, file)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

type Row = { key: string; value: unknown; source: string }

async function settings(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Map<string, Row>> {
  const saved = { ...process.env }
  Object.assign(process.env, env)
  try {
    const { code, stdout, stderr } = await runCli(['config', '--json', ...args])
    assert.is(code, 0, stderr)
    return new Map((JSON.parse(stdout).settings as Row[]).map((row) => [row.key, row]))
  } finally {
    process.env = saved
  }
}

test('precedence: the command line over config.json over the environment over the defaults', async () => {
  await withDataDir(
    { threads: 3, grid: 'lab', bootstrap: '127.0.0.1:4000', nice: 10, block: ['aa'], 'no-http': true, retention: '7d' },
    async (dir) => {
      const rows = await settings(['--data', dir, '--grid', 'override', '--http', '8080'], { SWARMGRID_BOOTSTRAP: '127.0.0.1:5000' })
      assert.equal(rows.get('grid'), { key: 'grid', value: 'override', source: 'flag' })
      assert.equal(rows.get('threads'), { key: 'threads', value: '3', source: 'config' })
      assert.equal(rows.get('bootstrap'), { key: 'bootstrap', value: '127.0.0.1:4000', source: 'config' })
      assert.equal(rows.get('block'), { key: 'block', value: ['aa'], source: 'config' })
      assert.equal(rows.get('retention'), { key: 'retention', value: '7d', source: 'config' })
      // --http on the command line replaces the file's "no-http".
      assert.equal(rows.get('http'), { key: 'http', value: '8080', source: 'flag' })
      assert.is(rows.get('no-http')!.source, 'default')
      assert.is(rows.get('data')!.source, 'flag')
      assert.is(rows.get('max-peers')!.source, 'default')
    }
  )
  await withDataDir(undefined, async (dir) => {
    const rows = await settings([], { SWARMGRID_DATA: dir, SWARMGRID_BOOTSTRAP: '127.0.0.1:5000' })
    assert.equal(rows.get('bootstrap'), { key: 'bootstrap', value: '127.0.0.1:5000', source: 'env' })
    assert.equal(rows.get('data'), { key: 'data', value: dir, source: 'env' })
    assert.equal(rows.get('max-peers'), { key: 'max-peers', value: 64, source: 'default' })
  })
})

test('the settings in force are what the peer is given', async () => {
  await withDataDir({ threads: 3, 'no-donate': true, 'max-peers': 9, retention: '90s', 'log-format': 'json' }, async (dir) => {
    const s = resolveSettings('start', { data: dir, 'max-peers': '12' })
    assert.is(s.peer.threads, 3)
    assert.is(s.peer.donate, false)
    assert.is(s.peer.maxPeers, 12)
    assert.is(s.peer.retentionMs, 90_000)
    assert.is(s.logFormat, 'json')
  })
})

test('every start flag but --data is a key of the file', async () => {
  await withDataDir(undefined, async (dir) => {
    const rows = await settings(['--data', dir])
    assert.equal([...rows.keys()].sort(), Object.keys(PEER_FLAGS).sort())
  })
})

const badConfigs: Array<[string, unknown, RegExp]> = [
  ['an unknown key', { thread: 2 }, /config\.json: "thread": is not a setting\. Allowed keys: grid, bootstrap, .*threads/],
  ['a bad number', { threads: 'many' }, /config\.json: "threads": takes a whole number of at least 1, not "many"/],
  ['a wrong type', { 'no-donate': 'yes' }, /config\.json: "no-donate": takes true or false, not "yes"/],
  ['an object for a string', { grid: { name: 'x' } }, /config\.json: "grid": takes a string or a number/],
  ['a bad bootstrap', { bootstrap: 'nowhere' }, /config\.json: "bootstrap": /],
  ['a bad schedule', { schedule: ['sometimes'] }, /config\.json: "schedule": /],
  ['a bad log format', { 'log-format': 'xml' }, /config\.json: "log-format": takes text or json, not "xml"/],
  ['a bad retention', { retention: 'soon' }, /config\.json: "retention": takes a time such as 90s/],
  ['the data dir itself', { data: '/elsewhere' }, /config\.json: "data": the data dir is where this file lives/],
  ['not JSON', '{threads: 2', /config\.json: is not valid JSON/],
  ['not an object', '[1, 2]', /config\.json: must hold one JSON object/]
]

test('a bad config.json fails start at once (exit 2), naming the file, the key and what is allowed', async () => {
  for (const [what, config, message] of badConfigs) {
    await withDataDir(config, async (dir, file) => {
      const { code, stderr, stdout } = await runCli(['start', '--data', dir, '--no-http', '--bootstrap', '127.0.0.1:9'])
      assert.is(code, 2, `${what}: ${stderr}`)
      assert.is(stdout, '', what)
      assert.match(stderr, message, what)
      assert.ok(stderr.includes(file), `${what}: ${stderr}`)
    })
  }
})

test('a flag on the command line does not hide a bad file', async () => {
  await withDataDir({ threads: 0 }, async (dir, file) => {
    assert.throws(
      () => resolveSettings('start', { data: dir, threads: '2' }),
      (err: Error) => err.name === 'ConfigError' && err.message.startsWith(`${file}: "threads"`)
    )
    assert.equal(readConfigFile(join(dir, 'none.json')), {})
  })
})

test.run()
