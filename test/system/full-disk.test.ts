/**
 * A full disk under the store (issue 13, finding 9): the data dir on a 12 MiB tmpfs, a
 * mandelbrot job whose outputs do not fit. The job stops with the reason, the peer goes on
 * serving, `status` says why, and a restart on the same full disk neither crashes nor loops.
 * Needs root (mount); skipped, saying so, where the test cannot mount.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Background, runCli, tempDir } from '../support/helpers.js'
import { ControlClient } from '../../node/control/client.js'

const SIZE = '12m'
/** About 26 MiB of accepted output in 40 units of ~0.7 MiB: the disk fills a third of the way through. */
const JOB = ['mandelbrot', '--param', 'width=4000', '--param', 'height=3000', '--param', 'maxIter=50', '--units', '40', '--quorum', '1']

let mountPoint: string | null = null
let why = ''

function tryMount(dir: string): boolean {
  if (process.getuid?.() !== 0) {
    why = 'not root: mounting a tmpfs needs root'
    return false
  }
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE}`, 'tmpfs', dir], { stdio: 'pipe' })
    return true
  } catch (err) {
    why = `mount -t tmpfs failed: ${(err as Error).message.split('\n')[0]}`
    return false
  }
}

const base = await tempDir('swarmgrid-fulldisk-')
if (tryMount(base)) mountPoint = base
else console.log(`full-disk.test: skipped (${why})`)

const name = 'a full disk stops the job with the reason; the peer keeps serving, status says why, a restart does not crash'
;(mountPoint ? test : test.skip)(name, async () => {
  const data = join(mountPoint!, 'peer')
  mkdirSync(data)
  const bootstrap = new Background(['bootstrap', '--host', '127.0.0.1', '--port', '0'])
  const peers: Background[] = []
  try {
    const address = (await bootstrap.line('bootstrap ')).split(' ')[1]
    const flags = ['--data', data, '--bootstrap', address, '--grid', 'fulldisk', '--threads', '2', '--http', '0']
    const peer = new Background(['start', ...flags])
    peers.push(peer)
    await peer.line('ready')

    const submitted = await runCli(['submit', ...JOB, '--data', data, '--detach', '--json'])
    assert.is(submitted.code, 0, submitted.stderr)
    const { id } = JSON.parse(submitted.stdout)

    const stopped = await peer.log(/mandelbrot job \w+ failed: stopped: the store in .* could not be written/, 60_000)
    assert.match(stopped, /KiB free: free some space, then start the peer again/)
    assert.ok(peer.running, 'the peer is still running')

    // It keeps serving: the control API answers, over the socket and HTTP.
    const client = ControlClient.forDataDir(data)!
    const info = await client.get<{ key: string }>('/api/info')
    assert.match(info.key, /^[0-9a-f]{64}$/)
    const url = peer.lines.find((l) => l.startsWith('ready '))!.split(' ')[1]
    assert.is((await fetch(new URL('api/jobs', url))).status, 200)

    const status = await runCli(['status', id, '--data', data, '--json'])
    assert.is(status.code, 0, status.stderr)
    const view = JSON.parse(status.stdout)
    assert.is(view.state, 'failed')
    assert.match(view.error, /^stopped: the store in .* could not be written/)
    assert.ok(view.accepted > 0 && view.accepted < 40, `some units were stored before the disk filled (${view.accepted})`)

    assert.is(await peer.stop('SIGTERM'), 0, 'it stops cleanly too')

    // Started again on the same full disk: no crash, and no loop of resuming and crashing.
    const again = new Background(['start', ...flags])
    peers.push(again)
    await again.line('ready')
    await new Promise((resolve) => setTimeout(resolve, 3000))
    assert.ok(again.running, `the restarted peer runs: ${again.logs.slice(-3).join(' | ')}`)
    const after = await runCli(['status', id, '--data', data, '--json'])
    assert.is(JSON.parse(after.stdout).state, 'failed')
    assert.is(await again.stop('SIGTERM'), 0)
  } finally {
    for (const p of peers) await p.stop('SIGKILL')
    await bootstrap.stop()
  }
})

test.after(() => {
  if (mountPoint) execFileSync('umount', [mountPoint])
  rmSync(base, { recursive: true, force: true })
})

test.run()
