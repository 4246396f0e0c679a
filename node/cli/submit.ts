/** `swarmgrid submit`: hands a job to the running peer for --data, or runs a peer for it here. */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { UsageError, integerFlag, numberFlag, parseParams, type Parsed } from './args.js'
import { untilSignal } from './peer.js'
import { resolveSettings } from './config.js'
import { InterruptedError } from './exit-codes.js'
import { describeValue, printJson } from './output.js'
import { ControlClient } from '../control/client.js'
import { defaultDataDir } from '../store/data-dir.js'
import { Peer } from '../peer/peer.js'
import { ProgressBar, formatDuration } from './progress-bar.js'
import type { JobSpec } from '../coordinator/job-spec.js'
import type { JobView } from '../coordinator/job-view.js'
import { inlineModuleFile } from '../../tasks/wasm.js'
import { describeSizing } from '../coordinator/unit-sizing.js'
import { inlineJsFiles } from '../../tasks/js-files.js'
import { describeWasiResult, inlineWasiFiles, wasiParamsFromFlags } from '../../tasks/wasi-cli.js'

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
    // A wasm, wasi or js job names its files relative to the job file; the job carries the bytes.
    const read = (path: string) => {
      try {
        return readFileSync(resolve(dirname(values.job), path))
      } catch (err) {
        throw new UsageError(
          'submit',
          `--job ${values.job}: ${path}: ${(err as Error).message} (npm run build makes the examples' programs)`
        )
      }
    }
    spec.params = spec.task === 'wasi' ? inlineWasiFiles(spec.params, read) : inlineJsFiles(inlineModuleFile(spec.params, read), read)
  }
  const wasi = wasiParamsFromFlags(values, (path) => {
    try {
      return readFileSync(path)
    } catch (err) {
      throw new UsageError('submit', `${path}: ${(err as Error).message}`)
    }
  })
  if (wasi) {
    if (positionals[0] !== undefined && positionals[0] !== 'wasi')
      throw new UsageError('submit', `--program is for the wasi task, not ${positionals[0]}`)
    spec = { ...spec, task: 'wasi', params: { ...spec.params, ...wasi } }
  }
  const task = positionals[0] ?? spec.task
  if (!task) throw new UsageError('submit', 'which task? swarmgrid submit TASK (primes, pi, mandelbrot) or --job FILE.json')
  return {
    ...spec,
    task,
    // --param code='{"file": "fn.mjs"}' names a file relative to here.
    params: inlineJsFiles({ ...spec.params, ...parseParams('submit', values.param) }, (path) => readParamFile(path)),
    ...unitsOrSeconds(values, spec),
    quorum: integerFlag('submit', values, 'quorum') ?? spec.quorum,
    maxResults: integerFlag('submit', values, 'max-results') ?? spec.maxResults,
    deadline: numberFlag('submit', values, 'deadline') ?? spec.deadline,
    errorRate: fractionFlag(values, 'error-rate') ?? spec.errorRate,
    saboteurs: fractionFlag(values, 'saboteurs') ?? spec.saboteurs,
    spotChecks: fractionFlag(values, 'spot-checks') ?? spec.spotChecks
  }
}

/**
 * --units N or --unit-seconds T. Either flag replaces whichever of the two a job file gives,
 * so that one file serves both ways; both flags at once make no sense.
 */
function unitsOrSeconds(values: Record<string, any>, spec: Partial<JobSpec>): Pick<JobSpec, 'units' | 'unitSeconds'> {
  const units = integerFlag('submit', values, 'units')
  const unitSeconds = numberFlag('submit', values, 'unit-seconds')
  if (units !== undefined && unitSeconds !== undefined) {
    throw new UsageError('submit', 'give --units N or --unit-seconds T, not both')
  }
  if (units !== undefined) return { units, unitSeconds: undefined }
  if (unitSeconds !== undefined) return { units: undefined, unitSeconds }
  return { units: spec.units, unitSeconds: spec.unitSeconds }
}

function readParamFile(path: string): Uint8Array {
  try {
    return readFileSync(path)
  } catch (err) {
    throw new UsageError('submit', `--param: ${path}: ${(err as Error).message}`)
  }
}

/** A share from 0 to 1; the coordinator checks the range and says what it takes. */
function fractionFlag(values: Record<string, any>, flag: string): number | undefined {
  const raw = values[flag]
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (raw === '' || !Number.isFinite(n) || n < 0 || n >= 1)
    throw new UsageError('submit', `--${flag} takes a number from 0 to below 1, not "${raw}"`)
  return n
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

async function viaRunningPeer(
  client: ControlClient,
  spec: JobSpec,
  values: Record<string, any>,
  bar: ProgressBar | null
): Promise<JobView | null> {
  // Ctrl-C stops the waiting, not the job: the peer goes on with it. Listening from here on,
  // since the job may be on the peer before its answer is back here.
  let signalled: string | null = null
  const interrupted = untilSignal().then((signal) => {
    signalled = signal
  })
  let view = await client.post<JobView>('/api/jobs', spec)
  if (values.detach) {
    announceDetached(view, values.json)
    return null
  }
  const told = new Set<string>()
  while (view.state === 'running') {
    bar?.draw([view])
    tellRefusals(view, told, bar)
    await Promise.race([new Promise((resolve) => setTimeout(resolve, REFRESH_MS)), interrupted])
    if (signalled) {
      const id = view.id.slice(0, 8)
      throw new InterruptedError(
        signalled,
        `${signalled}: stopped waiting; job ${id} goes on at the peer (swarmgrid status ${id}; swarmgrid cancel ${id})`
      )
    }
    view = await client.get<JobView>(`/api/jobs/${view.id}`)
  }
  bar?.draw([view])
  return view
}

function interruptedJob(signal: string, id: string, dir: string): Error {
  return new InterruptedError(
    signal,
    `${signal}: stopped; job ${id.slice(0, 8)} is kept in ${dir} and goes on when a peer starts there (swarmgrid start --data ${dir})`
  )
}

async function viaOwnPeer(parsed: Parsed, spec: JobSpec, bar: ProgressBar | null): Promise<JobView | null> {
  const { values } = parsed
  const settings = resolveSettings('submit', values)
  // Listening before the peer starts: a Ctrl-C while it starts must not kill the process mid-write.
  const signalled = untilSignal()
  const peer = await Peer.start(settings.peer)
  try {
    const submitted = await peer.submit(spec)
    if (values.detach) {
      announceDetached(submitted, values.json)
      return null
    }
    if (bar && peer.url) console.error(`dashboard ${peer.dashboardUrl}`)
    const told = new Set<string>()
    const redraw = setInterval(() => {
      const v = peer.status(submitted.id)
      if (v && bar) bar.draw([v])
      if (v) tellRefusals(v, told, bar)
    }, REFRESH_MS)
    // Ctrl-C stops the peer cleanly (units handed back, store closed); the job waits in the store.
    const interrupted = signalled.then((signal) => {
      throw interruptedJob(signal, submitted.id, peer.dataDir)
    })
    const final = await Promise.race([peer.wait(submitted.id), interrupted]).finally(() => clearInterval(redraw))
    bar?.draw([final])
    return final
  } finally {
    await peer.stop()
  }
}

/**
 * Donors that will not run the job say why, once each: on stderr, so --json stays one object;
 * on a terminal above the bar, which the next draw puts back on the line left blank for it.
 */
function tellRefusals(view: JobView, told: Set<string>, bar: ProgressBar | null): void {
  for (const { peer, reason } of view.refusals ?? []) {
    if (told.has(peer)) continue
    told.add(peer)
    const line = `donor ${peer.slice(0, 8)} refused this job: ${reason}`
    if (bar) process.stdout.write(`\x1b[1F\x1b[2K${line}\n\n`)
    else console.error(line)
  }
}

function announceDetached(view: JobView, json: boolean): void {
  if (json) printJson({ id: view.id, task: view.task, state: view.state, units: view.units })
  else console.log(`submitted ${view.task} job ${view.id} (${view.units} units); follow it with: swarmgrid status ${view.id}`)
}

function report(view: JobView, json: boolean): void {
  if (json) {
    printJson(view)
    return
  }
  const took = view.finishedAt ? formatDuration(view.finishedAt - view.createdAt) : '?'
  console.log(
    `job ${view.id} ${view.state} in ${took}: ${view.accepted}/${view.units} units, ${view.results} results` +
      (view.redundancy ? ` (${view.redundancy.toFixed(2)} per unit)` : '')
  )
  if (view.sizing) console.log(`sized to ${describeSizing(view.sizing)}`)
  if (view.outvoted.length) console.log(`outvoted: ${view.outvoted.map((k) => k.slice(0, 8)).join(', ')}`)
  if (view.error) console.log(`error: ${view.error}`)
  if (view.result !== null)
    console.log(`result: ${view.task === 'wasi' ? describeWasiResult(view.result, view.id) : describeValue(view.result)}`)
}
