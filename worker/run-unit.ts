/**
 * The Piscina thread entry: runs one unit of a task and returns its output as canonical
 * CBOR, so that equal outputs give equal bytes on every peer.
 */
import { performance } from 'node:perf_hooks'
import { wrap, releaseProxy } from 'comlink/dist/esm/comlink.mjs'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { TaskRegistry } from '../tasks/registry.js'
import { decodeValue, encodeValue } from '../tasks/values.js'
import type { RunRequest, RunResponse, UnitReporter } from './messages.js'

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

export default async function runUnit(request: RunRequest): Promise<RunResponse> {
  const reporter = wrap<UnitReporter>(nodeEndpoint(request.port as any))
  let lastReport = 0
  try {
    const task = (await registryFor(request.tasksDir)).require(request.task)
    const started = performance.now()
    const output = await task.run(decodeValue(request.input), {
      unitIndex: request.unit,
      progress(fraction: number) {
        const now = performance.now()
        if (now - lastReport < PROGRESS_INTERVAL_MS) return
        lastReport = now
        void reporter.progress(Math.min(1, Math.max(0, Number(fraction) || 0)))
      }
    })
    return { output: encodeValue(output), runMs: Math.round(performance.now() - started) }
  } finally {
    reporter[releaseProxy]()
    request.port.close()
  }
}
