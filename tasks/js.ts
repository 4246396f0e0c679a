/**
 * js: the submitter's own JavaScript function, run on any donor in QuickJS compiled to
 * WebAssembly (worker/sandbox/quickjs-sandbox.ts), never in the donor's V8. `code` is one ES module
 * with no imports whose default export is `(input) -> output` over JSON values; each input
 * is one call. Inputs are grouped into units of consecutive calls: one call per unit up to
 * --units (default MAX_UNITS). Every unit input names the code by its SHA-256 (tasks/shared-bytes.ts),
 * so the submitter's signature over the unit covers it, and the code travels once per donor. The result is { outputs } in input order, plus { value }
 * when the module also exports merge(outputs), which the coordinator runs in the same sandbox.
 *
 * Deterministic by construction: Date.now() and new Date() are the job's creation time, local
 * time is UTC, and Math.random is reseeded before each call from the job id and the input's
 * place in the job, so honest donors agree byte for byte.
 */
import { DEFAULT_WASM_TIME_SECONDS, MEMORY_PARAM, jobMemoryMb, unitMemoryMb } from './sandboxed.js'
import { createHash } from 'node:crypto'
import { ParamError, type JobContext, type Params, type RunContext, type TaskModule } from './contract.js'
import { checkInput, evenRuns, rejectUnknown, unitCount } from './params.js'
import { MAX_SHARED_BYTES, plainBytes, sharedBytes, type SharedBytes } from './shared-bytes.js'
import { inputSeed, JsSandboxError, loadQuickJS, quickJSNow, withModule, type JsCaps } from '../worker/sandbox/quickjs-sandbox.js'

/** The code travels by hash, once per donor (tasks/shared-bytes.ts). */
export const MAX_CODE_BYTES = MAX_SHARED_BYTES
export const MAX_INPUTS = 100_000
/** A job splits into at most this many units unless --units asks for fewer. */
export const MAX_UNITS = 10_000
/** The inputs of one unit as JSON; with the code they must fit one wire frame. */
const MAX_UNIT_INPUT_CHARS = 8 * 1024 * 1024
/** Defaults when the donor sets none: the same as its wasm caps (--wasm-memory, --wasm-time). */
/** The coordinator's own checks at submit and its merge run on its main thread, in one build (capped at merge's memory): shorter. */
const SUBMIT_CAPS: JsCaps = { memoryMb: 256, timeMs: 5_000 }
export const MERGE_CAPS: JsCaps = { memoryMb: 512, timeMs: 10_000 }

export const params = {
  code: 'one ES module\'s source, no imports, whose default export is (input) -> output (a job file may say {"file": "fn.mjs"})',
  inputs: 'a list of JSON values, one call each (a job file may say {"file": "inputs.jsonl"}: one JSON value a line)',
  memory: MEMORY_PARAM
}

export interface JsUnit {
  /** The module's source; split makes it shared bytes (its UTF-8), which run sees as bytes. */
  code: string | Uint8Array | SharedBytes
  inputs: unknown[]
  /** The place of inputs[0] in the job: it seeds Math.random. */
  first: number
  seed: string
  /** What Date.now() returns: the job's creation time. */
  now: number
  /** QuickJS's heap limit for this unit: the job's, in MiB (sandboxed.ts). */
  memoryMb?: number
}

export interface JsResult {
  outputs: unknown[]
  value?: unknown
}

function codeParam(raw: unknown): string {
  const code = raw instanceof Uint8Array ? Buffer.from(raw).toString('utf8') : raw
  if (typeof code !== 'string' || code.trim() === '') {
    throw new ParamError(
      'js needs code: an ES module\'s source whose default export is a function (in a job file "code": {"file": "fn.mjs"})'
    )
  }
  const bytes = Buffer.byteLength(code)
  if (bytes > MAX_CODE_BYTES) throw new ParamError(`js: the code is ${bytes} bytes, at most ${MAX_CODE_BYTES}`)
  return code
}

function inputsParam(raw: unknown): unknown[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_INPUTS) {
    throw new ParamError(`js needs inputs: a list of 1 to ${MAX_INPUTS} JSON values (in a job file "inputs": {"file": "inputs.jsonl"})`)
  }
  raw.forEach((input, i) => {
    try {
      JSON.stringify(input)
    } catch (err) {
      throw new ParamError(`js: input ${i} is no JSON value (${(err as Error).message})`)
    }
  })
  return raw
}

const sources = new WeakMap<Uint8Array, string>()

/** The code as text: a unit's shared bytes are decoded once per thread, however many units share them. */
function sourceOf(raw: unknown): string | null {
  if (typeof raw === 'string') return raw
  const code = plainBytes(raw)
  if (!code) return null
  let text = sources.get(code)
  if (text === undefined) {
    text = Buffer.from(code.buffer, code.byteOffset, code.byteLength).toString('utf8')
    sources.set(code, text)
  }
  return text
}

function asParamError(err: unknown): unknown {
  return err instanceof JsSandboxError ? new ParamError(`js: ${err.message}`) : err
}

function capsOf(input: JsUnit, ctx: RunContext): JsCaps {
  return { memoryMb: unitMemoryMb('js', input.memoryMb, ctx), timeMs: ctx.limits?.wasmTimeMs ?? DEFAULT_WASM_TIME_SECONDS * 1000 }
}

function jobSeed(code: string, job: JobContext | undefined, now: number): string {
  return createHash('sha256')
    .update(job?.id ?? `${now}`)
    .update('\0')
    .update(code)
    .digest('hex')
    .slice(0, 32)
}

const js: TaskModule<JsUnit, unknown[], JsResult> & { params: typeof params; prepare(): Promise<void> } = {
  name: 'js',
  version: 1,
  params,
  defaultUnits: MAX_UNITS,

  /** Loads the sandbox that split and merge use on the coordinator. */
  async prepare() {
    await loadQuickJS(MERGE_CAPS.memoryMb)
  },

  split(p: Params, units: number, job?: JobContext): Iterable<JsUnit> {
    rejectUnknown('js', p, params)
    const code = codeParam(p.code)
    const inputs = inputsParam(p.inputs)
    const now = job?.createdAt ?? Date.now()
    try {
      withModule(quickJSNow(MERGE_CAPS.memoryMb), code, { now, caps: SUBMIT_CAPS }, (module) => {
        const type = module.exportType('default')
        if (type !== 'function')
          throw new ParamError(
            `js: the code's default export is ${type === 'undefined' ? 'missing' : `a ${type}`}; it must be a function (input) -> output`
          )
      })
    } catch (err) {
      throw asParamError(err)
    }
    const seed = jobSeed(code, job, now)
    const memoryMb = jobMemoryMb('js', p)
    const parts = Math.min(unitCount('js', units), inputs.length)
    const shared = sharedBytes(new Uint8Array(Buffer.from(code, 'utf8')))
    return [...evenRuns(inputs.length, parts)].map(({ start, size }) => {
      const slice = inputs.slice(start, start + size)
      const chars = JSON.stringify(slice).length
      if (chars > MAX_UNIT_INPUT_CHARS)
        throw new ParamError(
          `js: inputs ${start}..${start + size - 1} are ${chars} characters of JSON in one unit, at most ${MAX_UNIT_INPUT_CHARS}; ask for more --units`
        )
      return { code: shared, inputs: slice, first: start, seed, now, memoryMb }
    })
  },

  async run(input: JsUnit, ctx: RunContext): Promise<unknown[]> {
    // A unit may come from any coordinator: the bounds split applies are checked again here.
    const code = sourceOf(input?.code)
    checkInput(
      'js',
      code !== null &&
        Buffer.byteLength(code) <= MAX_CODE_BYTES &&
        Array.isArray(input.inputs) &&
        input.inputs.length > 0 &&
        input.inputs.length <= MAX_INPUTS &&
        Number.isSafeInteger(input.first) &&
        input.first >= 0 &&
        typeof input.seed === 'string' &&
        input.seed.length <= 64 &&
        typeof input.now === 'number' &&
        Number.isFinite(input.now)
    )
    const caps = capsOf(input, ctx)
    const quickjs = await loadQuickJS(caps.memoryMb)
    const seeds = input.inputs.map((_, i) => inputSeed(input.seed, input.first + i))
    return withModule(quickjs, code!, { now: input.now, caps }, (module) =>
      module.callEach('default', input.inputs, seeds, (done) => ctx.progress(done / input.inputs.length))
    )
  },

  merge(outputs: unknown[][], p: Params, job?: JobContext): JsResult {
    const code = codeParam(p.code)
    const inputs = inputsParam(p.inputs)
    // Split cut the inputs into runs of these sizes; an accepted output of another length is a lie that agreed.
    const sizes = [...evenRuns(inputs.length, outputs.length)].map((run) => run.size)
    outputs.forEach((unit, i) => {
      if (!Array.isArray(unit) || unit.length !== sizes[i]) {
        throw new Error(
          `js merge: unit ${i} answered ${Array.isArray(unit) ? `${unit.length} outputs` : 'no list'} for its ${sizes[i]} inputs`
        )
      }
    })
    const all = outputs.flat(1)
    const now = job?.createdAt ?? Date.now()
    let value: unknown
    try {
      value = withModule(quickJSNow(MERGE_CAPS.memoryMb), code, { now, caps: MERGE_CAPS, fileName: 'fn.mjs (merge)' }, (module) => {
        if (module.exportType('merge') !== 'function') return undefined
        return module.callEach('merge', [all], [inputSeed(jobSeed(code, job, now), -1)])[0]
      })
    } catch (err) {
      throw err instanceof JsSandboxError ? new Error(`js merge: ${err.message}`) : err
    }
    return value === undefined ? { outputs: all } : { outputs: all, value }
  }
}

export default js
