/** `swarmgrid submit`: hands a job to the running peer for --data, or runs a peer for it here. */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { UsageError, integerFlag, numberFlag, parseParams, type Parsed } from './cli-args.js'
import { peerOptions } from './cli-peer.js'
import { describeValue, printJson } from './cli-output.js'
import { ControlClient } from './control-client.js'
import { defaultDataDir } from './data-dir.js'
import { Peer } from './peer.js'
import { ProgressBar, formatDuration } from './progress-bar.js'
import type { JobSpec } from './coordinator.js'
import type { JobView } from './job-view.js'

/** How often the bar is redrawn, and a running peer asked for news. */
const REFRESH_MS = 200

function jobSpec({ values, positionals }: Parsed): JobSpec {
  let spec: Partial<JobSpec> = {}
  if (values.job) {
    try {
      spec = JSON.parse(readFileSync(values.job, 'utf8'))
    } catch (err) {
      throw new UsageError('submit', `--job ${values.job}: ${(err as Error).message}`)
    }
    if (!spec || typeof spec !== 'object') throw new UsageError('submit', `--job ${values.job} must hold a JSON object`)
  }
  const task = positionals[0] ?? spec.task
  if (!task) throw new UsageError('submit', 'which task? swarmgrid submit TASK (primes, pi, mandelbrot) or --job FILE.json')
  return {
    ...spec,
    task,
    params: { ...spec.params, ...parseParams('submit', values.param) },
    units: integerFlag('submit', values, 'units') ?? spec.units,
    quorum: integerFlag('submit', values, 'quorum') ?? spec.quorum,
    maxResults: integerFlag('submit', values, 'max-results') ?? spec.maxResults,
    deadline: numberFlag('submit', values, 'deadline') ?? spec.deadline
  }
}

export async function submitCommand(parsed: Parsed): Promise<number> {
  const spec = jobSpec(parsed)
  const { values } = parsed
  const client = ControlClient.forDataDir(resolve(values.data ?? defaultDataDir()))
  const bar = !values.json && process.stdout.isTTY ? new ProgressBar(process.stdout) : null
  const final = client ? await viaRunningPeer(client, spec, values, bar) : await viaOwnPeer(parsed, spec, bar)
  if (!final) return 0
  report(final, values.json)
  return final.state === 'done' ? 0 : 1
}

async function viaRunningPeer(client: ControlClient, spec: JobSpec, values: Record<string, any>, bar: ProgressBar | null): Promise<JobView | null> {
  let view = await client.post<JobView>('/api/jobs', spec)
  if (values.detach) { announceDetached(view, values.json); return null }
  while (view.state === 'running') {
    bar?.draw([view])
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS))
    view = await client.get<JobView>(`/api/jobs/${view.id}`)
  }
  bar?.draw([view])
  return view
}

async function viaOwnPeer(parsed: Parsed, spec: JobSpec, bar: ProgressBar | null): Promise<JobView | null> {
  const { values } = parsed
  const peer = await Peer.start(peerOptions('submit', values))
  try {
    const submitted = await peer.submit(spec)
    if (values.detach) { announceDetached(submitted, values.json); return null }
    if (bar && peer.url) console.error(`dashboard ${peer.dashboardUrl}`)
    const redraw = setInterval(() => { const v = peer.status(submitted.id); if (v && bar) bar.draw([v]) }, REFRESH_MS)
    const final = await peer.wait(submitted.id).finally(() => clearInterval(redraw))
    bar?.draw([final])
    return final
  } finally {
    await peer.stop()
  }
}

function announceDetached(view: JobView, json: boolean): void {
  if (json) printJson({ id: view.id, task: view.task, state: view.state, units: view.units })
  else console.log(`submitted ${view.task} job ${view.id} (${view.units} units); follow it with: swarmgrid status ${view.id}`)
}

function report(view: JobView, json: boolean): void {
  if (json) { printJson(view); return }
  const took = view.finishedAt ? formatDuration(view.finishedAt - view.createdAt) : '?'
  console.log(`job ${view.id} ${view.state} in ${took}: ${view.accepted}/${view.units} units, ${view.results} results` +
    (view.redundancy ? ` (${view.redundancy.toFixed(2)} per unit)` : ''))
  if (view.outvoted.length) console.log(`outvoted: ${view.outvoted.map((k) => k.slice(0, 8)).join(', ')}`)
  if (view.error) console.log(`error: ${view.error}`)
  if (view.result !== null) console.log(`result: ${describeValue(view.result)}`)
}
