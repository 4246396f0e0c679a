/**
 * Runs one unit of a submitter's WebAssembly module inside the donor's worker thread. The
 * module sees nothing of the host but this interface, which returns nothing a module could
 * tell machines apart by, so a unit gives the same answer on every donor:
 *
 *   swarmgrid.memory     its own linear memory, made by the host, capped at its job's memory (tasks/sandboxed.ts)
 *   swarmgrid.progress   (f64) -> ()            how far the unit has come, 0..1
 *   env.abort            (i32, i32, i32, i32) -> ()   AssemblyScript's abort: fails the unit
 *
 * No clock, no randomness, no files, no network. Time is capped by the donor, which ends the
 * thread when a unit runs past it (node/donor/donor.ts); memory by the cap below.
 */
import { createHash } from 'node:crypto'
import { capModule, inspectModule, mib, rejected, type FuncType, type Limits, type ValType } from './wasm-binary.js'
import { canonicaliseNaNs } from './wasm-nan.js'

/** One unit: the module, the export it calls with its arguments, and the memory its job gives it in MiB (tasks/sandboxed.ts). */
export interface WasmUnit {
  module: Uint8Array
  entry: string
  args: Array<number | string>
  memoryMb?: number
}

/** A unit failure message starting so is reported to the coordinator as kind 'memory'. */
export const MEMORY_CAP_PREFIX = 'wasm memory cap'
const MAX_TABLE_ENTRIES = 100_000
const CACHE_SIZE = 8

const ALLOWED_IMPORTS: Record<string, string> = {
  'swarmgrid.progress': '(f64) -> ()',
  'env.abort': '(i32, i32, i32, i32) -> ()'
}

export function isMemoryCapError(err: unknown): boolean {
  return typeof (err as Error)?.message === 'string' && (err as Error).message.startsWith(MEMORY_CAP_PREFIX)
}

function memoryCapError(usedPages: number, limitPages: number, cause: Error): Error {
  const used = usedPages >= limitPages ? `used all ${mib(limitPages)}` : `had ${mib(usedPages)} of the ${mib(limitPages)}`
  return new Error(
    `${MEMORY_CAP_PREFIX}: the module ${used} its job allows each unit (the job's memory param), then failed (${cause.message})`
  )
}

function badArgument(entry: string, index: number, type: ValType, value: unknown): Error {
  return rejected(`argument ${index} of ${entry} is ${JSON.stringify(value)}, which is no ${type}`)
}

function signature(type: FuncType): string {
  return `(${type.params.join(', ')}) -> (${type.results.join(', ')})`
}

/** Checks a module against the sandbox's rules; what split does on the coordinator, and run on every donor. */
export function checkModule(bytes: Uint8Array, entry: string, argCount?: number): FuncType {
  if (!WebAssembly.validate(bytes as BufferSource)) {
    inspectModule(bytes) // says what is wrong when it can: a JavaScript file fails on its header
    throw rejected('it does not validate')
  }
  const info = inspectModule(bytes)
  canonicaliseNaNs(bytes) // refuses, at submit as on every donor, what it could not make deterministic
  for (const imp of info.imports) {
    const wanted = ALLOWED_IMPORTS[`${imp.module}.${imp.name}`]
    if (!wanted)
      throw rejected(`it imports ${imp.module}.${imp.name}; a module may import only ${Object.keys(ALLOWED_IMPORTS).join(' and ')}`)
    if (signature(imp.type) !== wanted) throw rejected(`${imp.module}.${imp.name} must be ${wanted}, not ${signature(imp.type)}`)
  }
  const type = info.exports.get(entry)
  if (!type) throw rejected(`it exports no function "${entry}" (exports: ${[...info.exports.keys()].join(', ') || 'none'})`)
  for (const t of [...type.params, ...type.results]) {
    if (!['i32', 'i64', 'f32', 'f64'].includes(t)) throw rejected(`${entry} takes or returns ${t}; only numbers cross the sandbox`)
  }
  if (argCount !== undefined && argCount !== type.params.length) {
    throw rejected(`${entry} takes ${type.params.length} arguments ${signature(type)}, the unit has ${argCount}`)
  }
  return type
}

interface Compiled {
  module: WebAssembly.Module
  memory: Limits | null
  entryType: FuncType
}
const cache = new Map<string, Compiled>()
/** A module's hash by its bytes object: a donor's thread is handed the same object for every unit of it (worker/run-unit.ts). */
const hashes = new WeakMap<Uint8Array, string>()

function compile(unit: WasmUnit, maxPages: number): Compiled {
  let hash = hashes.get(unit.module)
  if (hash === undefined) {
    hash = createHash('sha256').update(unit.module).digest('hex')
    hashes.set(unit.module, hash)
  }
  const key = `${hash}/${maxPages}/${unit.entry}`
  let compiled = cache.get(key)
  if (!compiled) {
    const entryType = checkModule(unit.module, unit.entry)
    const capped = capModule(unit.module, maxPages, MAX_TABLE_ENTRIES)
    compiled = { module: new WebAssembly.Module(canonicaliseNaNs(capped.bytes) as BufferSource), memory: capped.memory, entryType }
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!)
    cache.set(key, compiled)
  }
  return compiled
}

function toArgument(entry: string, index: number, type: ValType, value: unknown): number | bigint {
  if (type === 'i64') {
    if ((typeof value === 'number' && Number.isSafeInteger(value)) || (typeof value === 'string' && /^-?\d{1,20}$/.test(value))) {
      return BigInt.asIntN(64, BigInt(value))
    }
    throw badArgument(entry, index, type, value)
  }
  if (typeof value !== 'number') throw badArgument(entry, index, type, value)
  if (type === 'i32' && !(Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 32)) throw badArgument(entry, index, type, value)
  return value
}

/** Results as plain values whose canonical bytes are the same on every machine. */
function fromResult(value: unknown): unknown {
  if (typeof value === 'bigint')
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString()
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN'
  if (Array.isArray(value)) return value.map(fromResult)
  return value
}

export function runWasmUnit(unit: WasmUnit, maxPages: number, progress: (fraction: number) => void): unknown {
  const { module, memory: limits, entryType } = compile(unit, maxPages)
  const memory = limits ? new WebAssembly.Memory({ initial: limits.initial, maximum: limits.maximum! }) : null
  const imports = {
    swarmgrid: { progress: (fraction: number) => progress(fraction), ...(memory ? { memory } : {}) },
    env: {
      abort: (_message: number, _file: number, line: number, column: number) => {
        throw new Error(`the module aborted (line ${line}, column ${column})`)
      }
    }
  }
  const args = unit.args.map((value, i) => toArgument(unit.entry, i, entryType.params[i], value))
  if (args.length !== entryType.params.length)
    throw rejected(`${unit.entry} takes ${entryType.params.length} arguments, the unit has ${args.length}`)
  try {
    const instance = new WebAssembly.Instance(module, imports)
    return fromResult((instance.exports[unit.entry] as (...a: unknown[]) => unknown)(...args))
  } catch (err) {
    // memory.grow past the cap fails inside the module, which says nothing to the host: a trap
    // with more than half the cap in use is taken for that (an allocator doubling its heap
    // fails at half). A maximum of the module's own is no news of the donor's.
    const used = memory ? memory.buffer.byteLength / 65536 : 0
    if (limits?.maximum === maxPages && used * 2 > maxPages) throw memoryCapError(used, maxPages, err as Error)
    throw err
  }
}
