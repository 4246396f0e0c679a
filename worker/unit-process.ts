/**
 * The process that runs a donor's units when it has a --cpu-limit: a Piscina pool like the
 * in-process one, driven over IPC, so that the peer can stop and continue this process as a
 * whole (worker/cpu-limiter.ts) without ever stopping its own networking.
 */
import { setPriority } from 'node:os'
import { createUnitPool } from './unit-pool.js'
import { inSharedMemory } from '../tasks/shared-bytes.js'
import { RecentShared } from './recent-shared.js'
import {
  toUnitError,
  type BatchRequest,
  type FromUnitProcess,
  type RunResponse,
  type ToUnitProcess,
  type UnitProcessBatch,
  type UnitProcessConfig,
  type UnitReporter,
  UNIT_PROCESS_SHARED_KEPT
} from './messages.js'

const CPU_REPORT_MS = 200
/** Shared bytes kept in this process's shared memory, by hash, so its threads get each once and without a copy per batch. */
const sharedKept = new RecentShared(UNIT_PROCESS_SHARED_KEPT, inSharedMemory)

/**
 * The batch with its shared bytes in this process's memory. Called as each batch arrives, in
 * the order the peer sent them, which is what keeps its mirror of sharedKept true.
 */
function inOwnSharedMemory(request: UnitProcessBatch): BatchRequest {
  const shared = request.shared?.map(([hash, bytes]): [string, Uint8Array] => {
    const kept = bytes === null ? sharedKept.touch(hash) : sharedKept.get(hash, bytes)
    if (!kept) throw new Error(`the unit process holds no bytes for ${hash.slice(0, 12)}`)
    return [hash, kept]
  })
  return { ...request, shared }
}

function send(msg: FromUnitProcess): void {
  if (process.connected) process.send!(msg)
}

function main(): void {
  const config = JSON.parse(process.env.SWARMGRID_UNIT_PROCESS ?? '{}') as UnitProcessConfig
  // Before the pool exists, so every thread it makes inherits the niceness.
  if (config.nice) {
    try {
      setPriority(config.nice)
    } catch {
      /* not allowed: run as we are */
    }
  }
  // The same thread pool a donor without a CPU limit runs in its own process.
  const pool = createUnitPool({ threads: config.threads, memoryMb: config.memoryMb })
  const running = new Map<number, AbortController>()

  // The peer is gone (even if it was killed): nothing here is of use to anyone.
  process.on('disconnect', () => process.exit(0))
  setInterval(() => {
    const { user, system } = process.cpuUsage()
    send({ t: 'cpu', ms: (user + system) / 1000 })
  }, CPU_REPORT_MS).unref()

  process.on('message', (msg: ToUnitProcess) => {
    if (msg.t === 'cancel') {
      running.get(msg.id)?.abort()
      return
    }
    if (msg.t !== 'run') return
    const { id } = msg
    const reporter: UnitReporter = {
      started: () => send({ t: 'started', id }),
      progress: (index, fraction) => send({ t: 'progress', id, index, fraction })
    }
    let request: BatchRequest
    try {
      request = inOwnSharedMemory(msg.request)
    } catch (err) {
      send({ t: 'failed', id, error: toUnitError(err) })
      return
    }
    const abort = new AbortController()
    running.set(id, abort)
    pool
      .run(request, { reporter, signal: abort.signal })
      .then(
        (response: RunResponse) => send({ t: 'done', id, response }),
        (err: unknown) => send({ t: 'failed', id, error: toUnitError(err) })
      )
      .finally(() => running.delete(id))
  })
}

main()
