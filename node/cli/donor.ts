/**
 * The donor's side of the CLI: the flags that say how to lend the machine, `pause` and
 * `resume`, and what `status` shows of the donor and of the credit each peer earned.
 */
import { MAX_WASM_MEMORY_MB } from '../../tasks/sandboxed.js'
import { resolve } from 'node:path'
import { UsageError, integerFlag, type Parsed } from './args.js'
import { ControlClient } from '../control/client.js'
import { CreditLedger, formatCredit, type CreditRecord } from '../coordinator/credit.js'
import { defaultDataDir } from '../store/data-dir.js'
import type { DonationOptions, DonorControlView } from '../donor/controls.js'
import { DonorPolicy } from '../donor/policy.js'
import { parseSchedule } from '../donor/schedule.js'
import { printJson } from './output.js'
import type { Store } from '../store/store.js'

/** What `start` does when not told otherwise: units yield the CPU to every program of the owner. */
export const START_NICE = 19

function percentFlag(command: string, values: Record<string, any>, flag: string): number | undefined {
  const raw = values[flag]
  if (raw === undefined) return undefined
  const n = Number(String(raw).replace(/%$/, ''))
  if (!Number.isFinite(n) || n <= 0 || n > 100)
    throw new UsageError(command, `--${flag} takes a percentage above 0 and at most 100, not "${raw}"`)
  return n
}

function mebibytes(mb: number | undefined): number | undefined {
  return mb === undefined ? undefined : mb * 1024 * 1024
}

/** The donation options from start's (and submit's) flags, checked now so a typo is a usage error. */
export function donationOptions(command: string, values: Record<string, any>): DonationOptions {
  const options: DonationOptions = {
    cpuLimitPct: percentFlag(command, values, 'cpu-limit'),
    pauseWhenBusyPct: percentFlag(command, values, 'pause-when-busy'),
    resumeBelowPct: percentFlag(command, values, 'resume-below'),
    pauseWhenHotCelsius: integerFlag(command, values, 'pause-when-hot', 30),
    schedule: values.schedule,
    paused: values.paused,
    trust: values.trust,
    allowTasks: values['allow-tasks']
      ?.split(',')
      .map((t: string) => t.trim())
      .filter(Boolean),
    nice: values.nice !== undefined ? integerFlag(command, values, 'nice', 0) : command === 'start' ? START_NICE : undefined,
    // wasm32 addresses 4 GiB at most: a larger cap makes every wasm unit fail to instantiate.
    wasmMemoryMb: integerFlag(command, values, 'wasm-memory', 1, MAX_WASM_MEMORY_MB),
    wasmTimeSeconds: integerFlag(command, values, 'wasm-time'),
    sharedCacheBytes: mebibytes(integerFlag(command, values, 'program-cache', 0))
  }
  if (options.nice !== undefined && options.nice > 19) throw new UsageError(command, `--nice takes 0 to 19, not ${options.nice}`)
  if (options.resumeBelowPct !== undefined && options.pauseWhenBusyPct === undefined) {
    throw new UsageError(command, '--resume-below goes with --pause-when-busy PCT')
  }
  if (options.resumeBelowPct !== undefined && options.resumeBelowPct >= options.pauseWhenBusyPct!) {
    throw new UsageError(
      command,
      `--resume-below (${options.resumeBelowPct}) must be under --pause-when-busy (${options.pauseWhenBusyPct}), or donating would flap`
    )
  }
  try {
    parseSchedule(options.schedule ?? [])
    new DonorPolicy({ trust: options.trust, allowTasks: options.allowTasks })
  } catch (err) {
    throw new UsageError(command, (err as Error).message)
  }
  return options
}

function runningPeer(command: string, values: Record<string, any>): ControlClient {
  const dir = resolve(values.data ?? defaultDataDir())
  const client = ControlClient.forDataDir(dir)
  if (!client) throw new UsageError(command, `no peer runs for ${dir}; start one (swarmgrid start --data ${dir}) or pass its --data`)
  return client
}

export function describeDonor(view: DonorControlView): string {
  const why = view.reasons.length ? ` (${view.reasons.join(', ')})` : ''
  const cpu = view.cpu ? `; other programs ${view.cpu.otherPct}% of the CPU, this peer ${view.cpu.ownPct}%` : ''
  const limit = view.cpuLimitPct !== null ? `; limit ${view.cpuLimitPct}%` : ''
  const heat = view.celsius !== null ? `; CPU at ${Math.round(view.celsius)} °C` : ''
  return `donor ${view.state}${why}: ${view.busy}/${view.threads} threads busy${cpu}${heat}${limit}; ${view.policy}`
}

async function donorCommand(command: 'pause' | 'resume', { values }: Parsed): Promise<number> {
  const client = runningPeer(command, values)
  const path = command === 'resume' ? '/api/donor/resume' : values.finish ? '/api/donor/finish' : '/api/donor/pause'
  const view = await client.post<DonorControlView>(path)
  if (values.json) printJson(view)
  else console.log(describeDonor(view))
  return 0
}

export const pauseCommand = (parsed: Parsed) => donorCommand('pause', parsed)
export const resumeCommand = (parsed: Parsed) => donorCommand('resume', parsed)

/** The donor line of `status`, when a peer runs for the data dir and donates. */
export async function runningDonor(values: Record<string, any>): Promise<DonorControlView | null> {
  const client = ControlClient.forDataDir(resolve(values.data ?? defaultDataDir()))
  if (!client) return null
  try {
    return await client.get<DonorControlView>('/api/donor')
  } catch {
    return null
  }
}

/** Credit by peer key; a store from before credit existed has none. */
export function creditByPeer(store: Store): Map<string, CreditRecord> {
  try {
    return new Map(new CreditLedger(store).all().map((r) => [r.key, r]))
  } catch {
    return new Map()
  }
}

export { formatCredit }
