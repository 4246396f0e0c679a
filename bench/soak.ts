/**
 * `npm run soak`: a job over many units on a grid of real processes while donors are killed
 * (SIGKILL), frozen (SIGSTOP) and brought back, and the coordinator is killed and restarted
 * with the same --data. Prints what happened and whether the answer matched a calm run.
 *
 *   node dist/bench/soak.js [--units 400] [--donors 4] [--seconds 150] [--seed 7]
 *
 * Bounded: after --seconds it stops everything and fails. Exit status 0 only on a match.
 */
import { parseArgs } from 'node:util'
import primes from '../tasks/primes.js'
import { Random } from '../test/support/fuzz-frames.js'
import { ProcessGrid, calmRun } from '../test/support/process-grid.js'
import type { Background } from '../test/support/helpers.js'

const { values } = parseArgs({
  options: {
    units: { type: 'string', default: '400' },
    donors: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '150' },
    seed: { type: 'string', default: '7' }
  }
})
const UNITS = Number(values.units)
const DONORS = Number(values.donors)
const LIMIT_MS = Number(values.seconds) * 1000
const random = new Random(Number(values.seed))
/** 5 million numbers from 10^9 per unit: some 20-40 ms of sieving each. */
const params = { from: 1e9, to: 1e9 + UNITS * 5e6 }
const COORDINATOR_KILLS_AT = [0.3, 0.7]

const started = Date.now()
const stamp = () => `t=${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function main(): Promise<boolean> {
  console.log(`soak: primes [${params.from}, ${params.to}) in ${UNITS} units, quorum 2, ${DONORS} donors of 1 thread, seed ${values.seed}`)
  const calmStarted = Date.now()
  const calm = await calmRun(primes, params, UNITS)
  console.log(`calm run in this process: ${JSON.stringify(calm)} in ${((Date.now() - calmStarted) / 1000).toFixed(1)} s`)

  const grid = await ProcessGrid.start({ grid: 'soak' })
  const coordinators: Background[] = []
  const donorRuns: Background[] = []
  const counts = { donorKills: 0, donorStalls: 0, coordinatorKills: 0 }
  // Restarts still scheduled when the job ends must not start processes that nobody stops.
  let over = false
  const interrupted = () => {
    over = true
    void grid.destroy().finally(() => process.exit(130))
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  try {
    const startCoordinator = () => {
      if (over) return
      coordinators.push(grid.start('c', ['--no-donate']))
    }
    const startDonor = (name: string) => {
      if (over) return
      donorRuns.push(grid.start(name, ['--no-coordinate', '--threads', '1']))
    }
    startCoordinator()
    await grid.ready('c')
    const names = Array.from({ length: DONORS }, (_, i) => `d${i + 1}`)
    for (const name of names) startDonor(name)
    await grid.ready(...names)
    await grid.donorsOffered('c', DONORS)

    const job = await grid.submit('c', { task: 'primes', params, units: UNITS, quorum: 2, deadline: 20 })
    const jobStarted = Date.now()
    let coordinatorKills = 0
    let coordinatorDown = false
    let nextChaos = Date.now() + 1000
    let nextReport = Date.now() + 5000
    let done = null
    while (!done) {
      if (Date.now() - started > LIMIT_MS) throw new Error(`still running after ${LIMIT_MS / 1000} s`)
      const view = await grid.view('c', job.id)
      if (view && view.state !== 'running') {
        done = view
        break
      }
      const share = view ? view.accepted / UNITS : 0
      if (view && Date.now() >= nextReport) {
        console.log(`${stamp()}  ${view.accepted}/${UNITS} units accepted, ${view.results} results`)
        nextReport = Date.now() + 5000
      }
      if (view && !coordinatorDown && coordinatorKills < COORDINATOR_KILLS_AT.length && share >= COORDINATOR_KILLS_AT[coordinatorKills]) {
        coordinatorKills++
        counts.coordinatorKills++
        coordinatorDown = true
        console.log(`${stamp()}  SIGKILL coordinator at ${view.accepted}/${UNITS} units accepted; back in 2 s`)
        await grid.peers.get('c')!.stop('SIGKILL')
        void sleep(2000).then(async () => {
          startCoordinator()
          await grid.ready('c').catch(() => {})
          coordinatorDown = false
        })
      } else if (Date.now() >= nextChaos) {
        const name = random.pick(names)
        const donor = grid.peers.get(name)!
        if (random.next() < 0.25) {
          counts.donorStalls++
          console.log(`${stamp()}  SIGSTOP ${name} for 5 s`)
          donor.signal('SIGSTOP')
          void sleep(5000).then(() => donor.signal('SIGCONT'))
        } else if (donor.running) {
          counts.donorKills++
          console.log(`${stamp()}  SIGKILL ${name}; back in 1 s`)
          await donor.stop('SIGKILL')
          void sleep(1000).then(() => startDonor(name))
        }
        nextChaos = Date.now() + 700 + random.int(1500)
      }
      await sleep(100)
    }

    const logs = coordinators.flatMap((c) => c.logs)
    const reissues = logs.filter((l) => l.startsWith('[reissue]'))
    const reasons = new Map<string, number>()
    for (const line of reissues) {
      const reason =
        ['donor left', 'deadline', 'handed back', 'disagree', 'answered it twice'].find((r) => line.includes(r)) ?? 'unit error'
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
    }
    const matched = JSON.stringify(done.result) === JSON.stringify(calm)
    console.log(
      `\nunits ${UNITS}, results ${done.results}, donor kills ${counts.donorKills}, donor stalls ${counts.donorStalls}, ` +
        `coordinator kills ${counts.coordinatorKills}, reissues ${reissues.length} (${[...reasons].map(([r, n]) => `${r}: ${n}`).join(', ')}), ` +
        `kept results delivered after a restart ${logs.filter((l) => l.startsWith('[late]')).length}`
    )
    console.log(`job ${done.state} in ${((Date.now() - jobStarted) / 1000).toFixed(1)} s: ${JSON.stringify(done.result)}`)
    console.log(`result matches the calm run: ${matched ? 'yes' : 'NO'}`)
    return done.state === 'done' && matched
  } finally {
    over = true
    process.off('SIGINT', interrupted)
    process.off('SIGTERM', interrupted)
    for (const donor of donorRuns) donor.signal('SIGCONT')
    await grid.destroy()
  }
}

main().then(
  (ok) => {
    process.exitCode = ok ? 0 : 1
  },
  (err) => {
    console.error(`soak failed: ${(err as Error).message}`)
    process.exitCode = 1
  }
)
