/**
 * worker/ — the thread side: the Piscina pool a donor runs units in (unit-pool.ts, with the child process
 * used under --cpu-limit, unit-process.ts), the typed messages between them (messages.ts), CPU
 * measurement (cpu-meter.ts, cpu-limiter.ts, speed.ts) and the sandboxes below it all (sandbox/).
 *
 * This file is the Piscina thread entry: runs a batch of units of a task one after another and returns
 * each output as canonical CBOR, so that equal outputs give equal bytes on every peer.
 */
import { setPriority } from 'node:os'
import { performance } from 'node:perf_hooks'
import { wrap, releaseProxy } from 'comlink/dist/esm/comlink.mjs'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { TaskRegistry } from '../tasks/registry.js'
import type { TaskModule } from '../tasks/contract.js'
import { decodeValue, encodeValue } from '../tasks/values.js'
import { toUnitError, type RunRequest, type RunResponse, type UnitOutcome, type UnitReporter } from './messages.js'
import { threadCpuMs } from './cpu-meter.js'
import { resolveShared } from '../tasks/shared-bytes.js'
import { RecentShared } from './recent-shared.js'

/** Shared bytes this thread saw last, by hash: the same bytes object each time, which the sandboxes cache their work by. */
const sharedSeen = new RecentShared(4)

/** The batch's shared bytes, each the object this thread saw first for its hash. */
function sharedOf(request: RunRequest): Map<string, Uint8Array> {
  return new Map((request.shared ?? []).map(([hash, bytes]) => [hash, sharedSeen.get(hash, bytes)]))
}

/** A unit reports progress at most this often, however often its task calls ctx.progress. */
const PROGRESS_INTERVAL_MS = 100

const registries = new Map<string, Promise<TaskRegistry>>()

function registryFor(dir: string | null): Promise<TaskRegistry> {
  const key = dir ?? ''
  let registry = registries.get(key)
  if (!registry) {
    registry = TaskRegistry.load(dir ?? undefined)
    registries.set(key, registry)
  }
  return registry
}

let niceness = 0
/** The kernel counts thread CPU time in 10 ms ticks: readings this close to the wall time are its rounding. */
const TICK_NOISE_MS = 20

/**
 * The CPU time a unit claims credit for: the thread's own where it clearly differs from the
 * wall time (the unit was preempted, or stopped by --cpu-limit), else the wall time, which a
 * short unit's two tick readings would round to nothing.
 */
function cpuTime(runMs: number, threadMs: number | null): number {
  return threadMs === null || Math.abs(runMs - threadMs) <= TICK_NOISE_MS ? runMs : threadMs
}

/** Only on Linux is niceness per thread; elsewhere it would slow the donor's own networking too. */
function niceThisThread(nice: number | undefined): void {
  if (!nice || nice === niceness || process.platform !== 'linux') return
  try {
    setPriority(nice)
    niceness = nice
  } catch {
    // Not allowed here (a container without CAP_SYS_NICE lowering it back): run as we are.
  }
}

async function runOne(
  task: TaskModule,
  request: RunRequest,
  index: number,
  reporter: ReturnType<typeof wrap<UnitReporter>>,
  shared: Map<string, Uint8Array>
): Promise<UnitOutcome> {
  const { unit, input } = request.units[index]
  const started = performance.now()
  // A unit shorter than the interval reports nothing: its result says it all.
  let lastReport = started
  try {
    const cpuBefore = threadCpuMs()
    const decoded = decodeValue(input)
    const output = await task.run(shared.size > 0 ? resolveShared(decoded, shared) : decoded, {
      unitIndex: unit,
      limits: request.limits,
      progress(fraction: number) {
        const now = performance.now()
        if (now - lastReport < PROGRESS_INTERVAL_MS) return
        lastReport = now
        void reporter.progress(index, Math.min(1, Math.max(0, Number(fraction) || 0)))
      }
    })
    const encoded = encodeValue(output)
    const runMs = performance.now() - started
    const cpuAfter = threadCpuMs()
    return {
      ok: true,
      output: encoded,
      runMs,
      cpuMs: cpuTime(runMs, cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null)
    }
  } catch (err) {
    return { ok: false, error: toUnitError(err) }
  }
}

export default async function runBatch(request: RunRequest): Promise<RunResponse> {
  const reporter = wrap<UnitReporter>(nodeEndpoint(request.port as any))
  try {
    niceThisThread(request.nice)
    ;(reporter as any).started().catch(() => {})
    const task = (await registryFor(request.tasksDir)).require(request.task)
    const outcomes: UnitOutcome[] = []
    const shared = sharedOf(request)
    for (let index = 0; index < request.units.length; index++) outcomes.push(await runOne(task, request, index, reporter, shared))
    return { outcomes }
  } finally {
    reporter[releaseProxy]()
    request.port.close()
  }
}
