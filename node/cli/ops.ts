/** The operators' commands: cancel and delete a job, read and follow the peer's log, show the settings. */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { UsageError, integerFlag, type Parsed } from './args.js'
import { ControlClient, ControlError } from '../control/client.js'
import { defaultDataDir } from '../store/data-dir.js'
import { Store } from '../store/store.js'
import { deleteFinishedJob } from '../store/job-delete.js'
import { isSwarmgridError } from '../../base/errors.js'
import type { JobView } from '../coordinator/job-view.js'
import { printJson } from './output.js'
import { describeSettings, logFormatOf, resolveSettings } from './config.js'
import { formatLogLine, logFilePath, parseLogLines, type LogLine } from './log-lines.js'
import { untilSignal } from './peer.js'

const FOLLOW_POLL_MS = 250
const DEFAULT_LINES = 200

const dataDirOf = (values: Record<string, any>) => resolve(values.data ?? defaultDataDir())

function jobArgument(command: string, positionals: string[]): string {
  const id = positionals[0]
  if (!id) throw new UsageError(command, `which job? swarmgrid ${command} JOB (swarmgrid status lists them)`)
  if (!/^[0-9a-f]+$/.test(id)) throw new UsageError(command, `a job id is hexadecimal (such as 9410a220), not "${id}"`)
  return id
}

/**
 * A job that is not there is the user's mistake (exit 2); one that cannot be changed now is the
 * peer refusing (exit 1), whether the peer or the store said so.
 */
function noSuchJob(command: string, err: unknown): never {
  if ((err instanceof ControlError && err.status === 404) || isSwarmgridError(err, 'NOT_FOUND'))
    throw new UsageError(command, (err as Error).message)
  if (isSwarmgridError(err, 'CONFLICT')) throw new Error(err.message)
  throw err
}

export async function cancelCommand({ values, positionals }: Parsed): Promise<number> {
  const id = jobArgument('cancel', positionals)
  const dir = dataDirOf(values)
  const client = ControlClient.forDataDir(dir)
  if (!client)
    throw new Error(
      `no peer runs for ${dir}: a job is cancelled by the peer that coordinates it (swarmgrid start --data ${dir}, then cancel)`
    )
  let view: JobView
  try {
    view = await client.post<JobView>(`/api/jobs/${id}/cancel`)
  } catch (err) {
    if (err instanceof ControlError && err.status === 409) throw new Error(`${err.message}; nothing to cancel (swarmgrid status ${id})`)
    noSuchJob('cancel', err)
  }
  if (values.json) printJson(view)
  else console.log(`cancelled ${view.task} job ${view.id} at ${view.accepted}/${view.units} units`)
  return 0
}

export async function deleteCommand({ values, positionals }: Parsed): Promise<number> {
  const id = jobArgument('delete', positionals)
  const dir = dataDirOf(values)
  const client = ControlClient.forDataDir(dir)
  let deleted: string
  try {
    if (client) deleted = (await client.delete<{ id: string }>(`/api/jobs/${id}`)).id
    else deleted = await deleteInStore(dir, id, !!values.force)
  } catch (err) {
    noSuchJob('delete', err)
  }
  if (values.json) printJson({ id: deleted, deleted: true })
  else console.log(`deleted job ${deleted}`)
  return 0
}

async function deleteInStore(dir: string, id: string, force: boolean): Promise<string> {
  await Store.open(dir, { readOnly: true }).close() // says how to start a peer when there is no store at all
  const store = Store.open(dir)
  try {
    return await deleteFinishedJob(
      store,
      id,
      (full) => !force && store.job(full)?.state === 'running',
      `it goes on when a peer starts there; cancel it then, or pass --force to delete it now`
    )
  } finally {
    await store.close()
  }
}

export async function logsCommand({ values, positionals }: Parsed): Promise<number> {
  const job = positionals[0] === undefined ? null : jobArgument('logs', positionals)
  const format = values.json ? 'json' : logFormatOf('logs', values)
  const limit = integerFlag('logs', values, 'lines', 1) ?? DEFAULT_LINES
  const dir = dataDirOf(values)
  const file = logFilePath(dir)
  if (!existsSync(file) && !existsSync(file + '.1')) {
    throw new Error(`no log in ${dir} yet: a peer started there (swarmgrid start --data ${dir}) writes ${file}`)
  }
  // Ctrl-C is heard from here on: a person may press it as soon as the old lines show.
  const stopped = values.follow ? untilSignal() : null
  const wanted = (line: LogLine) => job === null || (line.job?.startsWith(job) ?? false)
  const print = (line: LogLine) => process.stdout.write(formatLogLine(line, format) + '\n')
  const old = [file + '.1', file]
    .filter(existsSync)
    .map((path) => readFileSync(path, 'utf8'))
    .join('')
  const lines = parseLogLines(old).filter(wanted)
  lines.slice(-limit).forEach(print)
  if (!stopped) {
    if (job !== null && lines.length === 0) throw new Error(`no events of job ${job} in ${file}`)
    return 0
  }
  await followFile(file, statSync(file).size, stopped, (text) => parseLogLines(text).filter(wanted).forEach(print))
  return 0
}

/** Calls `onText` with whatever whole lines are appended to the file, until `stopped` (SIGINT or SIGTERM). */
async function followFile(path: string, from: number, stopped: Promise<unknown>, onText: (text: string) => void): Promise<void> {
  let offset = from
  let partial = ''
  const poll = () => {
    if (!existsSync(path)) return
    const size = statSync(path).size
    if (size < offset) offset = 0 // rotated: the new file starts from nothing
    if (size === offset) return
    const fd = openSync(path, 'r')
    try {
      const buffer = Buffer.alloc(size - offset)
      offset += readSync(fd, buffer, 0, buffer.length, offset)
      const text = partial + buffer.toString('utf8')
      const cut = text.lastIndexOf('\n') + 1
      partial = text.slice(cut)
      if (cut > 0) onText(text.slice(0, cut))
    } finally {
      closeSync(fd)
    }
  }
  const timer = setInterval(poll, FOLLOW_POLL_MS)
  try {
    await stopped
  } finally {
    clearInterval(timer)
  }
}

export async function configCommand({ values }: Parsed): Promise<number> {
  const settings = resolveSettings('start', values)
  const rows = describeSettings(settings)
  if (values.json) {
    printJson({ file: settings.configFile, exists: existsSync(settings.configFile), settings: rows })
    return 0
  }
  console.log(`settings of a peer started now for ${settings.dataDir}`)
  console.log(`config file: ${settings.configFile}${existsSync(settings.configFile) ? '' : ' (none yet)'}\n`)
  const width = Math.max(...rows.map((r) => r.key.length))
  for (const row of rows) {
    const value = typeof row.value === 'string' ? row.value : JSON.stringify(row.value)
    console.log(`${row.key.padEnd(width)}  ${value.padEnd(36)}  ${row.source}`)
  }
  return 0
}
