/**
 * The process that runs a donor's units when it has a --cpu-limit: a Piscina pool like the
 * in-process one, driven over IPC, so that the peer can stop and continue this process as a
 * whole (node/cpu-limiter.ts) without ever stopping its own networking.
 */
import { setPriority } from 'node:os'
import { MessageChannel } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { expose } from 'comlink/dist/esm/comlink.mjs'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { unitWorkerEntry } from './pool-entry.js'
import type { RunRequest, RunResponse, UnitReporter } from './messages.js'

export interface UnitProcessConfig { threads: number; memoryMb: number; nice?: number }

export type ToUnitProcess =
  | { t: 'run'; id: number; request: Omit<RunRequest, 'port'> }
  | { t: 'cancel'; id: number }

export type FromUnitProcess =
  | { t: 'started'; id: number }
  | { t: 'progress'; id: number; fraction: number }
  | { t: 'done'; id: number; response: RunResponse }
  | { t: 'failed'; id: number; error: { name: string; message: string; code?: string } }
  | { t: 'cpu'; ms: number }

const CPU_REPORT_MS = 200

function send(msg: FromUnitProcess): void {
  if (process.connected) process.send!(msg)
}

function main(): void {
  const config = JSON.parse(process.env.SWARMGRID_UNIT_PROCESS ?? '{}') as UnitProcessConfig
  // Before the pool exists, so every thread it makes inherits the niceness.
  if (config.nice) {
    try { setPriority(config.nice) } catch { /* not allowed: run as we are */ }
  }
  const pool = new Piscina({ ...unitWorkerEntry(), minThreads: config.threads, maxThreads: config.threads,
    resourceLimits: { maxOldGenerationSizeMb: config.memoryMb } })
  const running = new Map<number, AbortController>()

  // The peer is gone (even if it was killed): nothing here is of use to anyone.
  process.on('disconnect', () => process.exit(0))
  setInterval(() => {
    const { user, system } = process.cpuUsage()
    send({ t: 'cpu', ms: (user + system) / 1000 })
  }, CPU_REPORT_MS).unref()

  process.on('message', (msg: ToUnitProcess) => {
    if (msg.t === 'cancel') { running.get(msg.id)?.abort(); return }
    if (msg.t !== 'run') return
    const { id } = msg
    const { port1, port2 } = new MessageChannel()
    const reporter: UnitReporter = {
      started: () => send({ t: 'started', id }),
      progress: (fraction) => send({ t: 'progress', id, fraction })
    }
    expose(reporter, nodeEndpoint(port1 as any))
    const abort = new AbortController()
    running.set(id, abort)
    const request: RunRequest = { ...msg.request, port: port2 }
    pool.run(request, { transferList: [port2] as any, signal: abort.signal }).then(
      (response: RunResponse) => send({ t: 'done', id, response }),
      (err: Error & { code?: string }) => send({ t: 'failed', id, error: { name: err.name, message: err.message, code: err.code } })
    ).finally(() => {
      running.delete(id)
      port1.close()
    })
  })
}

main()
