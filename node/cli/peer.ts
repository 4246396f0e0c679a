/** What start, submit and demo share: peer options from flags, and waiting for a signal. */
import { resolve } from 'node:path'
import { UsageError, integerFlag } from './args.js'
import { parseBootstrap } from '../peer/bootstrap.js'
import { defaultDataDir } from '../store/data-dir.js'
import type { PeerOptions } from '../peer/peer.js'
import { donationOptions } from './donor.js'
import { parseRetention } from '../peer/retention.js'
import { MIN_UNIT_MEMORY_MB } from '../../worker/unit-pool.js'

export function peerOptions(command: string, values: Record<string, any>): PeerOptions {
  let http: number | false = 0
  if (values['no-http']) http = false
  else if (values.http !== undefined) http = integerFlag(command, values, 'http', 0, 65535)!
  let bootstrap: PeerOptions['bootstrap']
  try {
    bootstrap = parseBootstrap(values.bootstrap ?? process.env.SWARMGRID_BOOTSTRAP)
  } catch (err) {
    throw new UsageError(command, `--bootstrap: ${(err as Error).message}`)
  }
  return {
    grid: values.grid,
    bootstrap,
    host: values.host,
    dataDir: resolve(values.data ?? defaultDataDir()),
    threads: integerFlag(command, values, 'threads'),
    donate: !values['no-donate'],
    coordinate: !values['no-coordinate'],
    tasksDir: values.tasks ? resolve(values.tasks) : undefined,
    http,
    maxPeers: integerFlag(command, values, 'max-peers'),
    block: values.block,
    memoryMb: integerFlag(command, values, 'memory', MIN_UNIT_MEMORY_MB),
    ...(values['same-host-replicas'] ? { sameHostReplicas: true } : {}),
    donation: donationOptions(command, values),
    ...retentionOption(command, values)
  }
}

function retentionOption(command: string, values: Record<string, any>): Pick<PeerOptions, 'retentionMs'> {
  if (values.retention === undefined) return {}
  const ms = parseRetention(String(values.retention))
  if (ms === null) throw new UsageError(command, `--retention takes a time such as 90s, 30m, 12h or 7d, not "${values.retention}"`)
  return { retentionMs: ms }
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string) => {
      process.off('SIGINT', on)
      process.off('SIGTERM', on)
      resolve(signal)
    }
    process.on('SIGINT', on)
    process.on('SIGTERM', on)
  })
}
