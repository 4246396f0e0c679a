/**
 * `swarmgrid demo`: a whole grid on this machine. A private DHT on 127.0.0.1, one coordinator
 * with the dashboard and a few donors, four sample jobs (the last a JavaScript function the donors
 * run in QuickJS) cross-checked with quorum 2, and every answer checked against a run of the same
 * task here, without the grid.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import createTestnet from 'hyperdht/testnet.js'
import { integerFlag, type Parsed } from './args.js'
import { untilSignal } from './peer.js'
import { describeValue, printJson } from './output.js'
import { Peer } from '../peer/peer.js'
import { ProgressBar, formatDuration } from './progress-bar.js'
import type { JobSpec } from '../coordinator/job-spec.js'
import type { JobView } from '../coordinator/job-view.js'
import { builtinTaskByName } from '../../tasks/index.js'
import type { TaskModule } from '../../tasks/contract.js'
import { toJsonSafe } from '../../tasks/values.js'

const DEFAULT_DONORS = 3
const DEMO_GRID = 'demo'

/** A js job's code: one module, no imports, default export (input) -> output; merge runs on the coordinator. */
const COLLATZ = `// the start below n with the longest Collatz chain
export default (n) => {
  let best = 1, longest = 1
  for (let i = 1; i < n; i++) {
    let x = i, steps = 1
    while (x !== 1) { x = x % 2 ? 3 * x + 1 : x / 2; steps++ }
    if (steps > longest) { longest = steps; best = i }
  }
  return { n, best, steps: longest }
}
export const merge = (outputs) => outputs.reduce((a, b) => (b.steps > a.steps ? b : a))
`

export const SAMPLE_JOBS: JobSpec[] = [
  { task: 'primes', params: { from: 0, to: 3_000_000 }, units: 24, quorum: 2 },
  { task: 'pi', params: { samples: 4_000_000, seed: 7 }, units: 16, quorum: 2 },
  { task: 'mandelbrot', params: { width: 480, height: 320, maxIter: 400 }, units: 16, quorum: 2 },
  { task: 'js', params: { code: COLLATZ, inputs: Array.from({ length: 8 }, (_, i) => (i + 1) * 5000) }, quorum: 2 }
]

/** The answer a single process gets for the same job: split, run every unit, merge. */
export async function localAnswer(task: TaskModule, spec: JobSpec): Promise<unknown> {
  const params = spec.params ?? {}
  await task.prepare?.()
  const outputs = []
  let unitIndex = 0
  for (const input of task.split(params, spec.units ?? 1)) outputs.push(await task.run(input, { unitIndex: unitIndex++, progress() {} }))
  return task.merge(outputs, params)
}

export async function demoCommand({ values }: Parsed): Promise<number> {
  const donorCount = integerFlag('demo', values, 'donors') ?? DEFAULT_DONORS
  const json = !!values.json
  const say = (line: string) => {
    if (!json) console.log(line)
  }
  const root = await mkdtemp(join(tmpdir(), 'swarmgrid-demo-'))
  const testnet = await createTestnet(3)
  const peers: Peer[] = []
  try {
    say(`private DHT on ${testnet.bootstrap.map((b) => `${b.host}:${b.port}`).join(', ')}; data in ${root}`)
    // Every demo peer is on 127.0.0.1: were two keys on one host one replica, no unit could be cross-checked.
    const coordinator = await Peer.start({
      grid: DEMO_GRID,
      dataDir: join(root, 'coordinator'),
      donate: false,
      http: 0,
      dht: testnet.createNode(),
      sameHostReplicas: true
    })
    peers.push(coordinator)
    for (let i = 0; i < donorCount; i++) {
      peers.push(
        await Peer.start({
          grid: DEMO_GRID,
          dataDir: join(root, `donor-${i + 1}`),
          threads: 1,
          coordinate: false,
          http: false,
          dht: testnet.createNode()
        })
      )
    }
    say(`coordinator ${coordinator.key.slice(0, 8)} and ${donorCount} donors started; dashboard ${coordinator.dashboardUrl}`)

    const submitted = await Promise.all(SAMPLE_JOBS.map((spec) => coordinator.submit(spec)))
    const bar = !json && process.stdout.isTTY ? new ProgressBar(process.stdout) : null
    const draw = () => bar?.draw(submitted.map((job) => coordinator.status(job.id)!))
    const redraw = setInterval(draw, 150)
    const finals = await Promise.all(submitted.map((job) => coordinator.wait(job.id))).finally(() => clearInterval(redraw))
    draw()

    const checks = await Promise.all(finals.map((view, i) => check(view, SAMPLE_JOBS[i], root)))
    if (json) printJson({ dashboard: coordinator.url, jobs: finals, checks })
    for (const c of checks) say(c.line)
    const ok = checks.every((c) => c.ok)
    say(ok ? `all ${checks.length} answers match a run without the grid` : 'SOME ANSWERS ARE WRONG')
    if (values.keep) {
      const signalled = untilSignal()
      say(`the grid keeps running; dashboard ${coordinator.dashboardUrl} — Ctrl-C to stop`)
      await signalled
    }
    return ok ? 0 : 1
  } finally {
    await Promise.all(peers.map((peer) => peer.stop()))
    await testnet.destroy()
  }
}

async function check(view: JobView, spec: JobSpec, root: string): Promise<{ task: string; ok: boolean; line: string }> {
  const expected = await localAnswer(builtinTaskByName[spec.task], spec)
  const ok = view.state === 'done' && isDeepStrictEqual(toJsonSafe(view.result), toJsonSafe(expected))
  let shown = describeValue(view.result)
  const png = (view.result as { png?: Uint8Array } | null)?.png
  if (png instanceof Uint8Array) {
    const file = join(root, `${spec.task}.png`)
    await writeFile(file, png)
    shown += ` → ${file}`
  }
  const took = view.finishedAt ? formatDuration(view.finishedAt - view.createdAt) : '?'
  return {
    task: spec.task,
    ok,
    line:
      `${ok ? '✓' : '✗'} ${spec.task.padEnd(10)} ${view.state} in ${took}, ` +
      `${view.units} units, ${view.results} results: ${shown}${ok ? '' : ` (expected ${describeValue(expected)})`}`
  }
}
