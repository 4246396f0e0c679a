#!/usr/bin/env node
/**
 * node/cli/ — the swarmgrid command: this entry parses, dispatches and turns errors into
 * messages and exit codes (from each error's code, base/errors.ts); flags and help (args.ts,
 * donor-flags.ts), output (output.ts, progress-bar.ts) and one file per group of commands
 * (peer.ts, submit.ts, donor.ts, explain.ts, demo.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { COMMANDS, USAGE, UsageError, integerFlag, parse, type Parsed } from './args.js'
import { DEFAULT_BOOTSTRAP_PORT, runBootstrapNode } from '../peer/bootstrap.js'
import { untilSignal } from './peer.js'
import { defaultDataDir } from '../store/data-dir.js'
import { Peer } from '../peer/peer.js'
import type { LogEntry } from '../../base/log.js'
import { resolveSettings } from './config.js'
import { PeerLogWriter } from './log-lines.js'
import { cancelCommand, configCommand, deleteCommand, logsCommand } from './ops.js'
import { serviceCommand } from './service.js'
import { EXIT_USAGE, exitCodeOf } from './exit-codes.js'
import { Store } from '../store/store.js'
import { jobView, type JobView } from '../coordinator/job-view.js'
import { toJsonSafe } from '../../tasks/values.js'
import { describeValue, printJson } from './output.js'
import { submitCommand } from './submit.js'
import { ControlClient } from '../control/client.js'
import { writeWasiResults } from '../../tasks/wasi-cli.js'
import { demoCommand } from './demo.js'
import { explainUnit } from './explain.js'
import { describeSizing } from '../coordinator/unit-sizing.js'
import { creditByPeer, describeDonor, formatCredit, pauseCommand, resumeCommand, runningDonor } from './donor.js'
import { writeJsOutputs } from '../../tasks/js-files.js'
import type { JsResult } from '../../tasks/js.js'

async function bootstrapCommand({ values }: Parsed): Promise<number> {
  const host = values.host ?? '127.0.0.1'
  const port = integerFlag('bootstrap', values, 'port', 0) ?? DEFAULT_BOOTSTRAP_PORT
  const node = await runBootstrapNode(host, port)
  // Listening before the line that says so: a signal sent on reading it must stop this cleanly.
  const signalled = untilSignal()
  console.log(`bootstrap ${host}:${node.address().port}`)
  await signalled
  await node.destroy()
  return 0
}

async function startCommand({ values }: Parsed): Promise<number> {
  const settings = resolveSettings('start', values)
  const log = new PeerLogWriter(settings.dataDir, settings.logFormat)
  let peer: Peer
  try {
    peer = await Peer.start(settings.peer)
  } catch (err) {
    // A service's log must say why it would not start, in its own format.
    log.say('error', `cannot start: ${(err as Error).message}`)
    throw Object.assign(err as Error, { reported: true })
  }
  // Listening before `ready`: a script that stops the peer as soon as it reads it got a process
  // killed by the signal, its store not closed, instead of a clean stop (test/system/data-dir.test.ts).
  const signalled = untilSignal()
  console.log(`key ${peer.key}`)
  console.log(peer.url ? `ready ${peer.dashboardUrl}` : 'ready')
  const print = (entry: LogEntry) => log.write(entry)
  // Peers may have joined while this one was still starting: their lines are in the log already.
  peer.log.forEach(print)
  peer.on('log', print)
  const signal = await signalled
  log.say('info', `${signal}: stopping (handing back units in flight)`)
  await peer.stop()
  log.say('info', 'stopped')
  return 0
}

function openStoreForReading(values: Record<string, any>): Store {
  return Store.open(resolve(values.data ?? defaultDataDir()), { readOnly: true })
}

function findJobView(store: Store, id: string): JobView {
  const record = store.findJob(id)
  if (!record) throw new UsageError('status', `no job "${id}" in this data dir (swarmgrid status lists them)`)
  return jobView(record, undefined, store.result(record.id))
}

async function statusCommand({ values, positionals }: Parsed): Promise<number> {
  const store = openStoreForReading(values)
  try {
    if (positionals[0] && values.unit !== undefined) return await explainUnit(store, values, positionals[0])
    if (positionals[0]) {
      const view = await liveJobView(values, findJobView(store, positionals[0]))
      if (values.json) printJson(view)
      else describeJob(view)
      return 0
    }
    const jobs = store.listJobs().map((record) => jobView(record, undefined, store.result(record.id)))
    const credit = creditByPeer(store)
    const peers = store.allReputations().map((p) => ({ ...p, credit: credit.get(p.key)?.credit ?? 0 }))
    const donor = await runningDonor(values)
    if (values.json) {
      printJson({ jobs, peers, donor })
      return 0
    }
    if (donor) console.log(describeDonor(donor) + '\n')
    if (jobs.length === 0) console.log('no jobs yet (swarmgrid submit --help)')
    for (const job of jobs) {
      console.log(`${job.id}  ${job.task.padEnd(10)} ${job.state.padEnd(9)} ${job.accepted}/${job.units} units  ${job.results} results`)
    }
    if (peers.length > 0) {
      console.log('\npeer      host             validated  outvoted  errors   credit')
      for (const p of peers) {
        const flag = p.blacklisted ? `  ← blacklisted: ${p.blacklisted}` : p.invalidated > 0 ? '  ← lost votes' : ''
        console.log(
          `${p.key.slice(0, 8)}  ${p.host.padEnd(15)}  ${String(p.validated).padStart(9)}  ${String(p.invalidated).padStart(8)}  ${String(p.errors).padStart(6)}  ${formatCredit(p.credit).padStart(7)}${flag}`
        )
      }
    }
    return 0
  } finally {
    await store.close()
  }
}

/**
 * The job as the peer running for this data dir sees it, when one runs: it knows what the
 * store may not hold yet, e.g. why a job stopped when the disk was too full to write it down.
 */
async function liveJobView(values: Record<string, any>, stored: JobView): Promise<JobView> {
  const client = ControlClient.forDataDir(resolve(values.data ?? defaultDataDir()))
  if (!client) return stored
  try {
    return await client.get<JobView>(`/api/jobs/${stored.id}`)
  } catch {
    return stored
  }
}

function describeJob(view: JobView): void {
  // A program carried in the params (wasm, wasi) is shown by its size, not as base64.
  console.log(
    `job ${view.id}: ${view.task} ${JSON.stringify(view.params, (_key, v) => (typeof v === 'string' && v.length > 200 ? `<${v.length} chars>` : v))}`
  )
  console.log(`state ${view.state}, ${view.accepted}/${view.units} units accepted, ${view.results} results, quorum ${view.quorum}`)
  if (view.sizing) console.log(`sized to ${describeSizing(view.sizing)}`)
  if (view.error) console.log(`error: ${view.error}`)
  if (view.outvoted.length) console.log(`outvoted peers: ${view.outvoted.map((k) => k.slice(0, 8)).join(', ')}`)
  if (view.result !== null) console.log(`result: ${describeValue(view.result)}`)
}

async function resultsCommand({ values, positionals }: Parsed): Promise<number> {
  if (!positionals[0]) throw new UsageError('results', 'which job? swarmgrid results JOB (swarmgrid status lists them)')
  const store = openStoreForReading(values)
  try {
    const record = store.findJob(positionals[0])
    if (!record) throw new UsageError('results', `no job "${positionals[0]}" in this data dir`)
    const bytes = store.result(record.id)
    if (!bytes)
      throw new UsageError('results', `job ${record.id} has no result: it is ${record.state}${record.error ? ` (${record.error})` : ''}`)
    const result = findJobView(store, record.id).result as Record<string, unknown>
    const out: string | undefined = values.out
    if (!out) {
      printJson(result)
      return 0
    }
    if (record.task === 'js' && !/\.(json|cbor)$/.test(out)) {
      for (const path of writeJsOutputs(result as unknown as JsResult, out)) console.error(`wrote ${path}`)
      return 0
    }
    if (record.task === 'wasi' && !/\.(json|cbor)$/.test(out)) {
      console.error(`wrote ${writeWasiResults(result, out)} runs to ${out}`)
      return 0
    }
    if (out.endsWith('.png')) {
      if (!(result?.png instanceof Uint8Array))
        throw new UsageError('results', `the ${record.task} result has no image; use --out FILE.json`)
      writeFileSync(out, result.png)
    } else if (out.endsWith('.cbor')) {
      writeFileSync(out, bytes)
    } else {
      writeFileSync(out, JSON.stringify(toJsonSafe(result), null, 2) + '\n')
    }
    console.error(`wrote ${out}`)
    return 0
  } finally {
    await store.close()
  }
}

const HANDLERS: Record<string, (parsed: Parsed) => Promise<number>> = {
  bootstrap: bootstrapCommand,
  start: startCommand,
  submit: submitCommand,
  status: statusCommand,
  results: resultsCommand,
  pause: pauseCommand,
  resume: resumeCommand,
  demo: demoCommand,
  cancel: cancelCommand,
  delete: deleteCommand,
  logs: logsCommand,
  config: configCommand,
  service: serviceCommand,
  help: helpCommand
}

async function helpCommand({ positionals }: Parsed): Promise<number> {
  const topic = positionals[0]
  if (!topic) {
    console.log(USAGE)
    return 0
  }
  if (!COMMANDS[topic]) throw new UsageError('help', `no command "${topic}"; the commands: ${Object.keys(COMMANDS).join(', ')}`)
  console.log(COMMANDS[topic].help)
  return 0
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (!command) {
    console.error(USAGE)
    return EXIT_USAGE
  }
  if (command === '--help' || command === '-h') {
    console.log(USAGE)
    return 0
  }
  if (command === '--version' || command === '-V') {
    console.log(`swarmgrid ${version()}`)
    return 0
  }
  if (!HANDLERS[command]) {
    console.error(`swarmgrid: unknown command "${command}"\n\n${USAGE}`)
    return EXIT_USAGE
  }
  try {
    const parsed = parse(command, rest)
    if (parsed.values.help) {
      console.log(COMMANDS[command].help)
      return 0
    }
    return await HANDLERS[command](parsed)
  } catch (err) {
    if ((err as { reported?: boolean }).reported) {
      /* already in the log */
    } else if (err instanceof UsageError) console.error(`swarmgrid ${err.command}: ${err.message}\n(see: swarmgrid ${err.command} --help)`)
    else console.error(`swarmgrid ${command}: ${(err as Error).message}`)
    return exitCodeOf(err)
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    console.error(err)
    process.exitCode = 1
  }
)
