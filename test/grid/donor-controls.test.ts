/**
 * A donor under its owner's control, for real: a busy process beside it makes it pause and,
 * once gone, resume (with the hysteresis in its log); so does a hot CPU (sensor files of the
 * test's own); --cpu-limit holds the CPU its units use; pause, finish-then-pause and resume
 * from the control API and the CLI.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { processesSource } from '../../worker/cpu-meter.js'
import { ControlClient } from '../../node/control/client.js'
import type { DonorControlView } from '../../node/donor/controls.js'
import type { Peer } from '../../node/peer/peer.js'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startTestGrid, tempDir, until, type TestGrid } from '../support/helpers.js'

const burn = fileURLToPath(new URL('../../../test/fixtures/burn', import.meta.url))
const cli = fileURLToPath(new URL('../../node/cli/main.js', import.meta.url))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A process that burns a whole core, an eighth of one, or nothing, as told on its stdin. */
function busyProcess(): { child: ChildProcess; set(mode: 'full' | 'light'): void; stop(): void } {
  const code = `
    let mode = 'idle'
    process.stdin.on('data', (d) => { mode = String(d).trim().split('\\n').pop() })
    const spinCpu = (ms) => { const s = process.cpuUsage(); while ((process.cpuUsage(s).user + process.cpuUsage(s).system) / 1000 < ms) {} }
    const tick = () => {
      if (mode === 'full') spinCpu(95)
      else if (mode === 'light') spinCpu(12)
      setTimeout(tick, mode === 'full' ? 0 : 80)
    }
    tick()`
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'ignore', 'inherit'] })
  return { child, set: (mode) => child.stdin!.write(mode + '\n'), stop: () => child.kill('SIGKILL') }
}

async function burnGrid(donation: NonNullable<Parameters<TestGrid['add']>[0]>['donation'], threads = 1) {
  const grid = await startTestGrid()
  const coordinator = await grid.add({ donate: false, tasksDir: burn })
  const donor = await grid.add({ coordinate: false, threads, tasksDir: burn, donation })
  await until(() => coordinator.parts.coordinator.donorCount() === 1, 20_000, 'the donor to connect')
  return { grid, coordinator, donor }
}

const donorLog = (donor: Peer) => donor.log.filter((e) => e.kind === 'donor').map((e) => e.text)

test('a busy process beside the donor pauses it, its units go back, and it resumes only once the process has been quiet a while', async () => {
  const busy = busyProcess()
  // On a machine shared with other people's work, only this busy process counts as "other",
  // measured against one core: what anyone else runs must not decide the outcome.
  const { grid, coordinator, donor } = await burnGrid({
    pauseWhenBusyPct: 25,
    resumeBelowPct: 8,
    sampleMs: 250,
    busyForMs: 1000,
    idleForMs: 2000,
    cpuSource: (own) => processesSource(() => [busy.child.pid!], own, 1)
  })
  try {
    const job = await coordinator.submit({ task: 'burn', params: { loops: 400 }, units: 200, quorum: 1 })
    await until(() => donor.donorStats()!.busy > 0, 10_000, 'the donor to run units')
    const t0 = Date.now()
    busy.set('full')
    await until(() => donor.donorStats()!.gate === 'closed', 10_000, 'the donor to pause')
    const paused = Date.now()
    await until(() => donor.donorStats()!.busy === 0, 2000, 'the units to be handed back')
    const emptied = Date.now()
    const runBefore = donor.donorStats()!.unitsRun
    busy.set('light')
    await sleep(3000)
    assert.is(donor.donorStats()!.gate, 'closed', 'an eighth of a core is under 25% but not under 8%: still paused')
    assert.is(donor.donorStats()!.unitsRun, runBefore, 'no unit ran while paused')
    const quiet = Date.now()
    busy.stop()
    await until(() => donor.donorStats()!.gate === 'open', 10_000, 'the donor to resume')
    const resumed = Date.now()
    await until(() => donor.donorStats()!.unitsRun > runBefore, 10_000, 'units to run again')
    const log = donorLog(donor)
    const at = (re: RegExp) => log.findIndex((t) => re.test(t))
    const [pausing, still, resuming] = [
      at(/above 25% for 1 s: pausing/),
      at(/under 25% but not under 8%, so still paused/),
      at(/below 8% for 2 s: resuming/)
    ]
    assert.ok(pausing >= 0 && still > pausing && resuming > still, `log in order: ${JSON.stringify(log)}`)
    assert.ok(
      coordinator.log.some((e) => e.text.includes('handed back')),
      'the coordinator saw units handed back'
    )
    console.log(
      `  busy → paused ${paused - t0} ms, units handed back ${emptied - paused} ms later; ` +
        `quiet → resumed ${resumed - quiet} ms (busyFor 1 s, idleFor 2 s, samples every 250 ms)\n  log: ${log.slice(1).join(' | ')}`
    )
    await coordinator.cancel(job.id)
  } finally {
    busy.stop()
    await grid.destroy()
  }
})

test("through the production CPU meter (the whole machine less the donor's own CPU): burning every core pauses the donor, its own units count as its own", async () => {
  // machineSource, as `swarmgrid start --pause-when-busy` uses it. Other people's work on a shared
  // machine only adds to "other", so the pause is sure; the hysteresis is the test above's.
  const { grid, coordinator, donor } = await burnGrid({
    pauseWhenBusyPct: 50,
    resumeBelowPct: 5,
    sampleMs: 250,
    busyForMs: 1000,
    idleForMs: 60_000
  })
  const burners: ReturnType<typeof busyProcess>[] = []
  try {
    const job = await coordinator.submit({ task: 'burn', params: { loops: 400 }, units: 200, quorum: 1 })
    await until(() => donor.donorStats()!.busy > 0 || donor.donorStats()!.gate !== 'open', 10_000, 'the donor to run units (or pause)')
    const pool = donor.parts.controls!.pool
    const ownSeen: number[] = []
    if (donor.donorStats()!.gate === 'open') {
      // While its units run, the meter must count their CPU as the donor's own, never as other.
      const before = pool.externalCpuMs()
      await until(
        () => {
          const cpu = donor.donorControls()!.view().cpu
          if (cpu) ownSeen.push(cpu.ownPct)
          return ownSeen.length >= 200 || donor.donorStats()!.gate !== 'open'
        },
        10_000,
        'meter readings'
      )
      if (pool.externalCpuMs() - before > 100)
        assert.ok(
          Math.max(...ownSeen) > 0,
          `the units used ${pool.externalCpuMs() - before} ms of CPU, the meter saw none of it as the donor's own`
        )
    }
    for (let i = 0; i < 2 * availableParallelism(); i++) {
      const b = busyProcess()
      burners.push(b)
      b.set('full')
    }
    await until(() => donor.donorStats()!.gate === 'closed', 15_000, 'the donor to pause')
    await until(() => donor.donorStats()!.busy === 0, 5000, 'the units to be handed back')
    const view = donor.donorControls()!.view()
    assert.equal(view.reasons, ['busy'])
    assert.ok(view.cpu!.otherPct >= 50, `other processes at ${view.cpu!.otherPct}%`)
    assert.ok(
      donorLog(donor).some((t) => /above 50% for 1 s: pausing/.test(t)),
      JSON.stringify(donorLog(donor))
    )
    await coordinator.cancel(job.id)
  } finally {
    for (const b of burners) b.stop()
    await grid.destroy()
  }
})

test('a hot CPU pauses the donor until it has cooled', async () => {
  const sensors = await tempDir('swarmgrid-thermal-')
  const setCelsius = (c: number) => writeFile(join(sensors, 'thermal_zone0', 'temp'), `${c * 1000}\n`)
  await mkdir(join(sensors, 'thermal_zone0'))
  await setCelsius(50)
  const { grid, coordinator, donor } = await burnGrid({
    pauseWhenHotCelsius: 80,
    thermalDir: sensors,
    sampleMs: 100,
    busyForMs: 300,
    idleForMs: 600
  })
  try {
    const job = await coordinator.submit({ task: 'burn', params: { loops: 200 }, units: 100, quorum: 1 })
    await until(() => donor.donorStats()!.busy > 0, 10_000, 'the donor to run units')
    await setCelsius(91)
    await until(() => donor.donorStats()!.gate === 'closed' && donor.donorStats()!.busy === 0, 5000, 'the donor to pause')
    await setCelsius(77)
    await sleep(1000)
    assert.is(donor.donorStats()!.gate, 'closed', '77 °C is under 80 °C but not 5 °C under it')
    await setCelsius(60)
    await until(() => donor.donorStats()!.gate === 'open', 5000, 'the donor to resume')
    const log = donorLog(donor).join(' | ')
    assert.match(
      log,
      /the CPU is at 91 °C, above 80 °C for 0.3 s: pausing.*the CPU is at 77 °C: under 80 °C but not under 75 °C, so still paused.*the CPU is at 60 °C, below 75 °C for 0.6 s: resuming/
    )
    await coordinator.cancel(job.id)
  } finally {
    await grid.destroy()
    await rm(sensors, { recursive: true, force: true })
  }
})

test("--cpu-limit 50 holds the units' CPU under 50% of the machine, second by second", async () => {
  // As many threads as cores (up to 4, on a shared machine), so that the limit has work to hold back.
  const cores = availableParallelism()
  const threads = Math.min(cores, 4)
  const duty = Math.min(1, (0.5 * cores) / threads)
  const { grid, coordinator, donor } = await burnGrid({ cpuLimitPct: 50 }, threads)
  try {
    const job = await coordinator.submit({ task: 'burn', params: { loops: 4000 }, units: 4 * threads, quorum: 1 })
    const pool = donor.parts.controls!.pool
    await until(() => donor.donorStats()!.busy === threads, 10_000, `all ${threads} threads to run`)
    await sleep(1000)
    const perSecond: number[] = []
    const granted: number[] = []
    let lastCpu = pool.externalCpuMs()
    let lastAt = performance.now()
    for (let i = 0; i < 6; i++) {
      await sleep(1000)
      const cpu = pool.externalCpuMs()
      const now = performance.now()
      perSecond.push(((cpu - lastCpu) / (now - lastAt) / cores) * 100)
      granted.push(pool.limiter!.grantedFraction())
      lastCpu = cpu
      lastAt = now
    }
    const mean = perSecond.reduce((a, b) => a + b, 0) / perSecond.length
    const grantedMean = granted.reduce((a, b) => a + b, 0) / granted.length
    // What each thread got while let run: under 1 when other people's processes compete for the cores.
    const share = ((mean / 100) * cores) / (grantedMean * threads)
    console.log(
      `  --cpu-limit 50, ${threads} busy threads on ${cores} cores: per second ${perSecond.map((p) => p.toFixed(1)).join(', ')} % of the machine; ` +
        `mean ${mean.toFixed(1)}%; the units' process ran ${(grantedMean * 100).toFixed(1)}% of the time; each thread got ${(share * 100).toFixed(0)}% of a core while running`
    )
    assert.ok(Math.abs(grantedMean - duty) <= 0.06, `ran ${grantedMean} of the time, wanted ${duty}`)
    assert.ok(mean <= 55, `mean ${mean}% over the limit`)
    for (const p of perSecond) assert.ok(p <= 62, `one second at ${p}%`)
    const most = ((duty * threads) / cores) * 100
    assert.ok(mean >= most / 5, `mean ${mean}% of the machine, of ${most}% the units could have had: they hardly ran`)
    await coordinator.cancel(job.id)
  } finally {
    await grid.destroy()
  }
})

test('pause, finish-then-pause and resume from the control API and the CLI', async () => {
  const { grid, coordinator, donor } = await burnGrid({})
  try {
    const client = ControlClient.forDataDir(donor.dataDir)!
    const job = await coordinator.submit({ task: 'burn', params: { loops: 800 }, units: 100, quorum: 1 })
    await until(() => donor.donorStats()!.busy > 0, 10_000, 'the donor to run units')
    await sleep(200)

    const ranBefore = donor.donorStats()!.unitsRun
    const finishing = await client.post<DonorControlView>('/api/donor/finish')
    assert.equal([finishing.gate, finishing.state], ['drain', 'finishing'])
    const drained = Date.now()
    await until(() => donor.donorControls()!.view().state === 'paused', 15_000, 'the running unit to finish')
    const drainMs = Date.now() - drained
    const ranWhileFinishing = donor.donorStats()!.unitsRun
    assert.is(ranWhileFinishing, ranBefore + 1, 'the running unit finished; the queued one went back')

    const resumed = await client.post<DonorControlView>('/api/donor/resume')
    assert.is(resumed.state, 'donating')
    await until(() => donor.donorStats()!.unitsRun > ranWhileFinishing && donor.donorStats()!.busy > 0, 15_000, 'units to run again')

    const pausedAt = Date.now()
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'pause', '--data', donor.dataDir])
    assert.match(stdout, /^donor paused \(owner\)/)
    await until(() => donor.donorStats()!.busy === 0, 2000, 'the running unit to be handed back')
    const handbackMs = Date.now() - pausedAt
    const view = await client.get<DonorControlView>('/api/donor')
    assert.equal([view.state, view.reasons], ['paused', ['owner']])
    const { stdout: again } = await promisify(execFile)(process.execPath, [cli, 'resume', '--data', donor.dataDir])
    assert.match(again, /^donor donating/)
    const unauthorized = await fetchStatus(donor)
    assert.is(unauthorized, 401, 'commands need the control token')
    console.log(
      `  finish-then-pause: paused ${drainMs} ms later, once its running unit was done; ` +
        `swarmgrid pause: units handed back within ${handbackMs} ms of running the command`
    )
    await coordinator.cancel(job.id)
  } finally {
    await grid.destroy()
  }
})

/** A pause without the token, straight to the socket. */
async function fetchStatus(peer: Peer): Promise<number> {
  const { request } = await import('node:http')
  const socketPath = (await import('../../node/store/data-dir.js')).controlSocketPath(peer.dataDir)
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/api/donor/pause', method: 'POST' }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}

test.run()
