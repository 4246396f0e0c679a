/**
 * `swarmgrid service`: the systemd unit and launchd plist it writes, checked by the tools that
 * read them (systemd-analyze verify, a plist parser), found by `status`, removed by `uninstall`.
 * Every file goes to a temp dir (--target-dir); the real /etc/systemd and ~/.config are never touched.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import * as plist from 'plist'
import { CLI, runCli, tempDir } from '../support/helpers.js'
import { launchdPlist, serviceFile, systemdUnit, type ServiceSpec } from '../../node/cli/service-files.js'

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir('swarmgrid-service-')
  try {
    await body(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function verify(file: string, user: boolean): void {
  if (!hasSystemdAnalyze) {
    console.warn('systemd-analyze is not installed: the unit is not verified (apt-get install systemd)')
    return
  }
  // A user manager needs a runtime dir; a session may have none (containers, CI): give it the unit's.
  const env = user ? { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? dirname(file) } : process.env
  const result = spawnSync('systemd-analyze', [...(user ? ['--user'] : []), 'verify', file], { encoding: 'utf8', env })
  assert.is(result.status, 0, result.stderr)
  assert.is(result.stderr.trim(), '', `systemd-analyze verify complained: ${result.stderr}`)
}

test('install --user writes a unit that systemd-analyze verifies: restart on failure, Nice=19, CPUQuota from --cpu-limit, the data dir and this binary', async () => {
  await withDir(async (dir) => {
    const data = join(dir, 'my data %d')
    const { code, stdout, stderr } = await runCli([
      'service',
      'install',
      '--user',
      '--platform',
      'linux',
      '--target-dir',
      join(dir, 'units'),
      '--cpu-limit',
      '50',
      '--data',
      data
    ])
    assert.is(code, 0, stderr)
    const file = join(dir, 'units', 'swarmgrid.service')
    const text = readFileSync(file, 'utf8')
    assert.ok(stdout.includes(`wrote ${file}`))
    for (const line of text.split('\n').filter(Boolean)) assert.ok(stdout.includes(line), `printed: ${line}`)
    assert.match(stdout, /systemctl --user enable --now swarmgrid\.service/)
    assert.match(text, /^Restart=on-failure$/m)
    assert.match(text, /^Nice=19$/m)
    assert.match(text, new RegExp(`^CPUQuota=${Math.round(50 * availableParallelism())}%$`, 'm'))
    assert.match(text, /^WantedBy=default\.target$/m)
    assert.ok(text.includes(`ExecStart="${process.execPath}" "${CLI}" "start" "--data" "${data.replace('%', '%%')}"`), text)
    verify(file, true)
  })
})

test('a system unit verifies too, runs as the installing user and starts with the machine', async () => {
  await withDir(async (dir) => {
    const { code, stderr, stdout } = await runCli([
      'service',
      'install',
      '--platform',
      'linux',
      '--target-dir',
      dir,
      '--data',
      join(dir, 'data'),
      '--json'
    ])
    assert.is(code, 0, stderr)
    const out = JSON.parse(stdout)
    assert.is(out.file, join(dir, 'swarmgrid.service'))
    assert.match(out.text, /^WantedBy=multi-user\.target$/m)
    assert.not.match(out.text, /CPUQuota/)
    assert.ok(out.start.includes('sudo systemctl enable --now swarmgrid.service'))
    verify(out.file, false)
  })
})

test('a bad unit fails the check: the verification can fail', async () => {
  if (!hasSystemdAnalyze) return
  await withDir(async (dir) => {
    const spec: ServiceSpec = { node: join(dir, 'no-node-here'), bin: CLI, dataDir: dir, user: true, cores: 2 }
    const file = join(dir, 'swarmgrid.service')
    writeFileSync(file, systemdUnit(spec))
    const result = spawnSync('systemd-analyze', ['--user', 'verify', file], {
      encoding: 'utf8',
      env: { ...process.env, XDG_RUNTIME_DIR: dir }
    })
    assert.is.not(result.status, 0)
  })
})

test('status finds the installed service and its data dir; uninstall removes it and its enable link', async () => {
  await withDir(async (dir) => {
    const flags = ['--user', '--platform', 'linux', '--target-dir', dir]
    const before = await runCli(['service', 'status', ...flags, '--json'])
    assert.is(before.code, 1)
    assert.is(JSON.parse(before.stdout).installed, false)
    assert.is((await runCli(['service', 'install', ...flags, '--data', join(dir, 'd')])).code, 0)
    // What `systemctl --user enable` would have made.
    mkdirSync(join(dir, 'default.target.wants'))
    symlinkSync(join(dir, 'swarmgrid.service'), join(dir, 'default.target.wants', 'swarmgrid.service'))
    const status = await runCli(['service', 'status', ...flags, '--json'])
    assert.is(status.code, 0, status.stderr)
    assert.equal(JSON.parse(status.stdout), {
      installed: true,
      file: join(dir, 'swarmgrid.service'),
      dataDir: join(dir, 'd'),
      manager: null,
      running: null
    })
    const removed = await runCli(['service', 'uninstall', ...flags])
    assert.is(removed.code, 0, removed.stderr)
    assert.match(removed.stdout, /systemctl --user stop swarmgrid\.service/)
    assert.not.ok(existsSync(join(dir, 'swarmgrid.service')))
    assert.not.ok(existsSync(join(dir, 'default.target.wants', 'swarmgrid.service')))
    assert.is((await runCli(['service', 'uninstall', ...flags])).code, 1)
    assert.is((await runCli(['service', 'status', ...flags])).code, 1)
  })
})

test("on macOS it writes a launchd plist a plist parser reads back: KeepAlive on failure, Nice 19, the peer's own CPU limit", async () => {
  await withDir(async (dir) => {
    const data = join(dir, 'data & <more>')
    const { code, stderr } = await runCli([
      'service',
      'install',
      '--user',
      '--platform',
      'darwin',
      '--target-dir',
      dir,
      '--cpu-limit',
      '25',
      '--data',
      data
    ])
    assert.is(code, 0, stderr)
    const file = join(dir, 'dev.swarmgrid.peer.plist')
    const parsed = plist.parse(readFileSync(file, 'utf8')) as Record<string, any>
    assert.is(parsed.Label, 'dev.swarmgrid.peer')
    assert.equal(parsed.ProgramArguments, [process.execPath, CLI, 'start', '--data', data, '--cpu-limit', '25'])
    assert.equal(parsed.KeepAlive, { SuccessfulExit: false })
    assert.is(parsed.RunAtLoad, true)
    assert.is(parsed.Nice, 19)
    assert.is(parsed.EnvironmentVariables.SWARMGRID_DATA, data)
    const status = await runCli(['service', 'status', '--user', '--platform', 'darwin', '--target-dir', dir, '--json'])
    assert.is(JSON.parse(status.stdout).dataDir, data)
  })
  // A system daemon runs as a named account.
  const text = launchdPlist({ node: '/n', bin: '/b', dataDir: '/d', user: false, account: 'alice', cores: 4 })
  assert.is((plist.parse(text) as Record<string, any>).UserName, 'alice')
})

test('the files go where the service managers read them unless told otherwise', () => {
  assert.is(serviceFile('linux', false), '/etc/systemd/system/swarmgrid.service')
  assert.is(serviceFile('linux', true, undefined, { XDG_CONFIG_HOME: '/home/u/.config' }), '/home/u/.config/systemd/user/swarmgrid.service')
  assert.is(serviceFile('darwin', false), '/Library/LaunchDaemons/dev.swarmgrid.peer.plist')
  assert.match(serviceFile('darwin', true), /\/Library\/LaunchAgents\/dev\.swarmgrid\.peer\.plist$/)
  assert.is(serviceFile('linux', true, '/tmp/x'), '/tmp/x/swarmgrid.service')
})

test('bad service arguments are usage errors', async () => {
  assert.is((await runCli(['service'])).code, 2)
  assert.is((await runCli(['service', 'launch'])).code, 2)
  assert.is((await runCli(['service', 'install', '--platform', 'win32', '--target-dir', '/nonexistent'])).code, 2)
  assert.is((await runCli(['service', 'install', '--cpu-limit', '150', '--target-dir', '/nonexistent'])).code, 2)
})

test.run()
