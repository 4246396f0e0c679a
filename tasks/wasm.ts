/**
 * wasm: the submitter's own code, as a WebAssembly module carried by the job. Each unit calls
 * one exported function with numbers and its answer is a number (or a list of them); donors
 * run it in the sandbox of worker/sandbox/wasm-sandbox.ts with the memory and time caps their owners
 * set. Every unit input names the module by its SHA-256 (tasks/shared-bytes.ts), so the
 * submitter's signature over the unit covers the code as well as its arguments, and the module
 * travels once per donor.
 */
import { MEMORY_PARAM, jobMemoryMb, unitMemoryMb } from './sandboxed.js'
import { ParamError, type Params, type RunContext, type TaskModule } from './contract.js'
import { checkInput, evenRuns, rejectUnknown, unitCount } from './params.js'
import { checkModule, runWasmUnit, type WasmUnit } from '../worker/sandbox/wasm-sandbox.js'
import { WasmRejectedError, pagesFor } from '../worker/sandbox/wasm-binary.js'
import { MAX_SHARED_BYTES, plainBytes, sharedBytes } from './shared-bytes.js'

/** The module travels by hash, once per donor, as a wasi program does. */
export const MAX_MODULE_BYTES = MAX_SHARED_BYTES
const MAX_INPUTS = 100_000
const MAX_ARGS = 64
const REDUCERS = ['list', 'sum', 'min', 'max'] as const
type Reduce = (typeof REDUCERS)[number]

export const params = {
  module: 'the WebAssembly module, base64 (a job file may say {"file": "x.wasm"} instead)',
  entry: 'the exported function each unit calls (default "run")',
  range: '[from, to]: split into --units sub-ranges, each unit calls entry(lo, hi)',
  inputs: '[[args…], …]: one unit per list of arguments (instead of range)',
  reduce: 'how unit answers combine: list (default), sum, min or max',
  memory: MEMORY_PARAM
}

export type WasmResult = { value: unknown } | { values: unknown[] }

function moduleBytes(raw: unknown): Uint8Array {
  let bytes: Uint8Array
  if (raw instanceof Uint8Array) bytes = raw
  else if (typeof raw === 'string' && /^[A-Za-z0-9+/=\s]+$/.test(raw)) bytes = new Uint8Array(Buffer.from(raw, 'base64'))
  else throw new ParamError('wasm needs --param module=BASE64 (or "module": {"file": "x.wasm"} in a job file)')
  if (bytes.byteLength === 0) throw new ParamError('wasm: the module is empty')
  if (bytes.byteLength > MAX_MODULE_BYTES)
    throw new ParamError(`wasm: the module is ${bytes.byteLength} bytes, at most ${MAX_MODULE_BYTES}`)
  return bytes
}

function argLists(p: Params, units: number): Array<Array<number | string>> {
  if (p.range !== undefined && p.inputs !== undefined) throw new ParamError('wasm takes range or inputs, not both')
  if (p.range !== undefined) {
    const range = p.range as unknown[]
    const [from, to] = Array.isArray(range) ? range.map(Number) : [NaN, NaN]
    if (!Array.isArray(range) || range.length !== 2 || !Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from >= to) {
      throw new ParamError(`wasm: range must be [from, to] with whole numbers from < to; got ${JSON.stringify(p.range)}`)
    }
    const parts = Math.min(unitCount('wasm', units), to - from)
    return [...evenRuns(to - from, parts)].map((run) => [from + run.start, from + run.start + run.size])
  }
  const inputs = p.inputs
  const isArg = (a: unknown) => typeof a === 'number' || (typeof a === 'string' && /^-?\d{1,20}$/.test(a))
  if (
    !Array.isArray(inputs) ||
    inputs.length === 0 ||
    inputs.length > MAX_INPUTS ||
    !inputs.every((args) => Array.isArray(args) && args.length <= MAX_ARGS && args.every(isArg))
  ) {
    throw new ParamError(`wasm needs range: [from, to], or inputs: a list of 1 to ${MAX_INPUTS} argument lists of numbers`)
  }
  return inputs as Array<Array<number | string>>
}

function reduceParam(p: Params): Reduce {
  const reduce = (p.reduce ?? 'list') as Reduce
  if (!REDUCERS.includes(reduce)) throw new ParamError(`wasm: reduce is one of ${REDUCERS.join(', ')}, not ${JSON.stringify(p.reduce)}`)
  return reduce
}

const wasm: TaskModule<WasmUnit, unknown, WasmResult> & { params: typeof params } = {
  name: 'wasm',
  version: 1,
  params,

  split(p: Params, units: number): Iterable<WasmUnit> {
    rejectUnknown('wasm', p, params)
    const module = moduleBytes(p.module)
    const entry = p.entry === undefined ? 'run' : String(p.entry)
    const lists = argLists(p, units)
    reduceParam(p)
    const memoryMb = jobMemoryMb('wasm', p)
    try {
      for (const length of new Set(lists.map((args) => args.length))) checkModule(module, entry, length)
    } catch (err) {
      if (err instanceof WasmRejectedError) throw new ParamError(err.message)
      throw err
    }
    // Shared bytes as split gives it: units carry its hash, and run sees the bytes again.
    const shared = sharedBytes(module) as unknown as Uint8Array
    return lists.map((args) => ({ module: shared, entry, args, memoryMb }))
  },

  run(input: WasmUnit, ctx: RunContext): unknown {
    const module = plainBytes(input?.module)
    // A unit may come from any coordinator: the bounds split applies are checked again here.
    checkInput(
      'wasm',
      module !== null &&
        module.byteLength <= MAX_MODULE_BYTES &&
        typeof input.entry === 'string' &&
        Array.isArray(input.args) &&
        input.args.length <= MAX_ARGS
    )
    const pages = pagesFor(unitMemoryMb('wasm', input.memoryMb, ctx))
    return runWasmUnit({ ...input, module: module! }, pages, (f) => ctx.progress(f))
  },

  merge(outputs: unknown[], p: Params): WasmResult {
    const reduce = reduceParam(p)
    if (reduce === 'list') return { values: outputs }
    const numbers = outputs.map((o) => {
      if (typeof o !== 'number') throw new Error(`reduce ${reduce} needs numbers, a unit answered ${JSON.stringify(o)}`)
      return o
    })
    const pick =
      reduce === 'sum'
        ? (a: number, b: number) => a + b
        : reduce === 'min'
          ? (a: number, b: number) => Math.min(a, b)
          : (a: number, b: number) => Math.max(a, b)
    const value = numbers.reduce(pick)
    return { value }
  }
}

export default wasm

/** Job files name a module by path; the job sent to a peer carries its bytes, base64. */
export function inlineModuleFile(params: Params | undefined, read: (path: string) => Uint8Array): Params | undefined {
  const module = params?.module as { file?: unknown } | undefined
  if (!module || typeof module !== 'object' || typeof module.file !== 'string') return params
  return { ...params, module: Buffer.from(read(module.file)).toString('base64') }
}
