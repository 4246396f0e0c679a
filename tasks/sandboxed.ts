/**
 * The task kinds that run their submitter's own code in a sandbox (wasm, wasi, js), and the
 * memory their units may use. That memory is the job's, not the donor's: a module that probes
 * it (memory.grow, an allocation loop that catches its failure) must see the same limit on every
 * donor, or honest donors would disagree. A donor that lends less than a job asks declines its
 * units; one that lends more still gives each unit exactly what the job asked.
 */
import { SwarmgridError } from '../base/errors.js'
import { ParamError, type Params, type RunContext } from './contract.js'

export const SANDBOXED_TASKS: ReadonlySet<string> = new Set(['wasm', 'wasi', 'js'])

/** What a sandboxed job's units get unless it says otherwise, and what a donor lends by default. */
export const DEFAULT_WASM_MEMORY_MB = 256
/** How long a donor lets one sandboxed unit run unless its owner says otherwise (--wasm-time). */
export const DEFAULT_WASM_TIME_SECONDS = 60
/** wasm32 addresses 4 GiB: no job may ask, and no donor lend, more. */
export const MAX_WASM_MEMORY_MB = 4096

export const MEMORY_PARAM =
  `memory each unit may use, in MiB (default ${DEFAULT_WASM_MEMORY_MB}, at most ${MAX_WASM_MEMORY_MB}); ` +
  'the same on every donor: one that lends less (--wasm-memory) declines the job'

/** A donor that lends less memory than a unit's job asks: the unit goes back, marked refused, and the job is not offered it again. */
export class UnitDeclinedError extends SwarmgridError {
  override name = 'UnitDeclinedError'
  constructor(message: string) {
    super('UNIT_DECLINED', message)
  }
}

function isMemoryMb(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= MAX_WASM_MEMORY_MB
}

/** The memory a job's units may use, from its `memory` param. */
export function jobMemoryMb(task: string, p: Params): number {
  if (p.memory === undefined) return DEFAULT_WASM_MEMORY_MB
  if (!isMemoryMb(p.memory))
    throw new ParamError(`${task}: memory is a whole number of MiB from 1 to ${MAX_WASM_MEMORY_MB}, not ${JSON.stringify(p.memory)}`)
  return p.memory
}

/** The memory this unit runs with: its job's, if this donor lends that much; else the unit is declined. */
export function unitMemoryMb(task: string, asked: unknown, ctx: RunContext): number {
  // Units from a coordinator that predates the job's memory run with the default, as they did.
  const memoryMb = asked === undefined ? DEFAULT_WASM_MEMORY_MB : asked
  if (!isMemoryMb(memoryMb))
    throw new ParamError(`${task}: a unit's memory must be 1 to ${MAX_WASM_MEMORY_MB} MiB, not ${JSON.stringify(asked)}`)
  const lent = ctx.limits?.wasmMemoryMb ?? DEFAULT_WASM_MEMORY_MB
  if (memoryMb > lent)
    throw new UnitDeclinedError(`the job asks ${memoryMb} MiB for each ${task} unit; this donor lends at most ${lent} (--wasm-memory)`)
  return memoryMb
}
