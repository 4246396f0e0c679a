/**
 * Runs a submitter's JavaScript module in QuickJS compiled to WebAssembly, never in the donor's
 * V8: the code sees the ECMAScript built-ins and nothing of the host (no process, require,
 * import(), timers, files or network). Each unit gets a runtime of its own with the donor's
 * memory cap (QuickJS's allocator limit, and the maximum of the build's WebAssembly memory) and
 * time cap (QuickJS's interrupt handler, checked as the interpreter runs, so an endless loop
 * ends without the thread being killed). Inputs
 * and outputs cross as JSON text; see worker/sandbox/quickjs-prelude.ts for what is made deterministic.
 */
import { createHash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten'
import { PRELUDE } from './quickjs-prelude.js'

export interface JsCaps {
  memoryMb: number
  timeMs: number
}

/** Codes of the errors a js unit fails with; the donor tells memory and time caps apart by them. */
export type JsErrorCode =
  | 'JS_TIME_CAP'
  | 'JS_MEMORY_CAP'
  | 'JS_STACK'
  | 'JS_IMPORT'
  | 'JS_THROWN'
  | 'JS_OUTPUT'
  | 'JS_MODULE'
  | 'JS_NOT_READY'

export class JsSandboxError extends Error {
  override name = 'JsSandboxError'
  constructor(
    readonly code: JsErrorCode,
    message: string
  ) {
    super(message)
  }
}

export function jsError(code: JsErrorCode, message: string): JsSandboxError {
  return new JsSandboxError(code, message)
}

/** QuickJS counts its own stack; below V8's, so deep recursion is QuickJS's error and not a host one (measured: ~1300 plain calls). */
const MAX_STACK_BYTES = 256 * 1024
/** One output as JSON text, and a unit's outputs together: they must fit a wire frame (15 MiB) as CBOR. */
export const MAX_OUTPUT_CHARS = 4 * 1024 * 1024
export const MAX_UNIT_OUTPUT_CHARS = 8 * 1024 * 1024

/** What the build itself needs below the heap it lends the code: its data and its C stack (its initial memory). */
const BUILD_BASE_PAGES = 256
const PAGE_BYTES = 65536
/** Room above the cap for reading what an out-of-memory unit threw; the build's memory has it on top of its base. */
const DUMP_ROOM_MB = 1
const SPARE_PAGES = (4 * 1024 * 1024) / PAGE_BYTES

interface Build {
  ready: QuickJSWASMModule | null
  loading: Promise<QuickJSWASMModule> | null
}
/** One build per memory cap: a thread has one cap, a coordinator one more for submit and merge. */
const builds = new Map<number, Build>()
/** The linear memory of each build and its maximum, for telling when a unit ran out of it. */
const memories = new WeakMap<QuickJSWASMModule, { memory: WebAssembly.Memory; maxBytes: number }>()

/**
 * Reads how much a runtime has allocated, from QuickJS's own counter in the build's memory
 * (JSRuntime starts with 4 allocator pointers, then malloc_count, malloc_size, malloc_limit),
 * and keeps the peak; it is sampled from the interrupt handler. The layout is checked against
 * the limit just set, and without a match there is no meter.
 */
class MallocMeter {
  peak = 0
  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly runtimePtr: number,
    private readonly limit: number
  ) {}

  static attach(memory: WebAssembly.Memory | undefined, runtime: QuickJSRuntime, limit: number): MallocMeter | null {
    const ptr = (runtime as unknown as { rt?: { value?: unknown } }).rt?.value
    if (!memory || typeof ptr !== 'number' || ptr % 4 !== 0 || ptr + 28 > memory.buffer.byteLength) return null
    const meter = new MallocMeter(memory, ptr, limit)
    return meter.word(24) === limit >>> 0 ? meter : null
  }

  sample(): void {
    const used = this.word(20)
    if (used > this.peak) this.peak = used
  }

  /** The code came within a few percent of the limit. */
  nearLimit(): boolean {
    this.sample()
    return this.peak > this.limit * 0.95
  }

  private word(offset: number): number {
    return new DataView(this.memory.buffer).getUint32(this.runtimePtr + offset, true)
  }
}

/**
 * QuickJS's WebAssembly build for units capped at `memoryMb` (~13 ms, ~9 MB; the wasm ships in
 * the npm package). Its linear memory may grow only by the cap: QuickJS's own limit does not
 * count ArrayBuffer contents (measured: 2 GiB of Float64Arrays under a 16 MiB limit), the
 * memory's maximum does, and malloc failing there is QuickJS's out of memory error.
 */
export function loadQuickJS(memoryMb: number): Promise<QuickJSWASMModule> {
  let build = builds.get(memoryMb)
  if (!build) builds.set(memoryMb, (build = { ready: null, loading: null }))
  if (build.ready) return Promise.resolve(build.ready)
  const entry = build
  entry.loading ??= newBuild(memoryMb).then(
    (q) => (entry.ready = q),
    (err) => {
      entry.loading = null
      throw err
    }
  )
  return entry.loading
}

/** Imported when first needed: a unit thread that never runs a js unit loads none of it. */
async function newBuild(memoryMb: number): Promise<QuickJSWASMModule> {
  const { newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC } = await import('quickjs-emscripten')
  const maximum = BUILD_BASE_PAGES + SPARE_PAGES + Math.ceil((memoryMb * 1024 * 1024) / PAGE_BYTES)
  const memory = new WebAssembly.Memory({ initial: BUILD_BASE_PAGES, maximum })
  const quickjs = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmMemory: memory }))
  memories.set(quickjs, { memory, maxBytes: maximum * PAGE_BYTES })
  return quickjs
}

/** The loaded build for this cap, for the coordinator's synchronous split and merge (tasks/js.ts prepares it). */
export function quickJSNow(memoryMb: number): QuickJSWASMModule {
  const ready = builds.get(memoryMb)?.ready
  if (!ready) throw jsError('JS_NOT_READY', 'the QuickJS sandbox is not loaded yet: await prepare() of the js task first')
  return ready
}

/** A host exception out of the interpreter (V8's own stack overflow) leaves a build's stack pointer astray: load a fresh one. */
function discardBuild(quickjs: QuickJSWASMModule): void {
  for (const [memoryMb, build] of builds) {
    if (build.ready !== quickjs) continue
    builds.delete(memoryMb)
    void loadQuickJS(memoryMb).catch(() => {})
  }
}

/** The four words of Math.random's state for one input: from the job's seed and the input's place in the job. */
export function inputSeed(jobSeed: string, index: number): [number, number, number, number] {
  const digest = createHash('sha256').update(`${jobSeed}:${index}`).digest()
  return [digest.readInt32LE(0), digest.readInt32LE(4), digest.readInt32LE(8), digest.readInt32LE(12) | 1]
}

export interface OpenOptions {
  /** What Date.now() returns: the job's creation time. */
  now: number
  caps: JsCaps
  /** The name stack traces give the module. */
  fileName?: string
}

/** One evaluated module in a runtime of its own; dispose() frees it. */
export class JsModule {
  private readonly bridge: QuickJSHandle
  private readonly namespace: QuickJSHandle
  private importTried: string | null = null
  private readonly deadline: number
  private readonly meter: MallocMeter | null

  private constructor(
    private readonly quickjs: QuickJSWASMModule,
    private readonly runtime: QuickJSRuntime,
    private readonly context: QuickJSContext,
    private readonly caps: JsCaps,
    source: string,
    options: OpenOptions
  ) {
    this.deadline = performance.now() + caps.timeMs
    runtime.setMemoryLimit(caps.memoryMb * 1024 * 1024)
    this.meter = MallocMeter.attach(memories.get(quickjs)?.memory, runtime, caps.memoryMb * 1024 * 1024)
    runtime.setMaxStackSize(MAX_STACK_BYTES)
    runtime.setInterruptHandler(() => {
      this.meter?.sample()
      return performance.now() > this.deadline
    })
    runtime.setModuleLoader((name) => {
      this.importTried ??= name
      return { error: new Error(`import of "${name}" refused: the sandbox loads no modules`) }
    })
    const prelude = this.unwrap(context.evalCode(PRELUDE, 'swarmgrid-prelude.js'), 'the sandbox prelude')
    this.bridge = this.unwrap(context.callFunction(prelude, context.undefined, context.newNumber(options.now)), 'the sandbox prelude')
    prelude.dispose()
    try {
      this.namespace = this.evaluate(source, options.fileName ?? 'fn.mjs')
    } catch (err) {
      this.bridge.dispose()
      throw err
    }
  }

  /** The module's namespace, once its top-level code (and any top-level await) has run. */
  private evaluate(source: string, fileName: string): QuickJSHandle {
    const context = this.context
    let evaluated = this.unwrap(context.evalCode(source, fileName, { type: 'module' }), 'the module')
    // A module with top-level await gives a promise of its namespace.
    const state = context.getPromiseState(evaluated)
    if (state.type !== 'fulfilled' || !state.notAPromise) {
      if (state.type === 'fulfilled') state.value.dispose()
      if (state.type === 'rejected') state.error.dispose()
      this.settle()
      const again = context.getPromiseState(evaluated)
      evaluated.dispose()
      if (again.type === 'pending') throw jsError('JS_MODULE', "the module's top-level await never settled")
      evaluated = this.unwrap(again.type === 'fulfilled' ? { value: again.value } : { error: again.error }, 'the module')
    }
    return evaluated
  }

  /** Evaluates `source` as an ES module under `caps`; throws a JsSandboxError saying why it cannot run. */
  static open(quickjs: QuickJSWASMModule, source: string, options: OpenOptions): JsModule {
    const runtime = quickjs.newRuntime()
    const context = runtime.newContext()
    try {
      return new JsModule(quickjs, runtime, context, options.caps, source, options)
    } catch (err) {
      release(quickjs, context, runtime)
      throw err
    }
  }

  /** typeof the module's export `name`. */
  exportType(name: string): string {
    return this.callBridge('has', [this.namespace, this.context.newString(name)])
  }

  /** Calls export `name` once per input, in order; each input's Math.random starts from its seed. */
  callEach(
    name: string,
    inputs: unknown[],
    seeds: Array<[number, number, number, number]> | null,
    onEach?: (done: number) => void
  ): unknown[] {
    const what = name === 'default' ? 'the function' : `${name}()`
    const type = this.callBridge('bind', [this.namespace, this.context.newString(name)])
    if (type !== 'function')
      throw jsError(
        'JS_MODULE',
        `the module's ${name === 'default' ? 'default export' : `export "${name}"`} is ${type === 'undefined' ? 'missing' : `a ${type}`}, not a function`
      )
    const outputs: unknown[] = []
    let chars = 0
    const read = (text: string) => {
      chars += text.length
      if (chars > MAX_UNIT_OUTPUT_CHARS)
        throw jsError(
          'JS_OUTPUT',
          `the unit's outputs passed ${MAX_UNIT_OUTPUT_CHARS} characters of JSON: ask for more --units, or smaller outputs`
        )
      return JSON.parse(text)
    }
    inputs.forEach((input, i) => {
      if (seeds)
        this.callBridge(
          'seed',
          seeds[i].map((n) => this.context.newNumber(n))
        )
      let reply = read(this.callBridge('call', [this.context.newString(JSON.stringify(input) ?? 'null')], what))
      // Promise jobs run even when the function returned at once: an import() it started fails the call.
      this.settle(what)
      if (reply.p) reply = read(this.callBridge('collect', [], what))
      if (this.importTried !== null) throw importRefused(this.importTried)
      if (reply.p) throw jsError('JS_THROWN', `${what} returned a promise that never settled`)
      if (reply.e !== undefined) throw this.thrown(reply.e, what)
      outputs.push(reply.v)
      onEach?.(i + 1)
    })
    return outputs
  }

  dispose(): void {
    this.namespace.dispose()
    this.bridge.dispose()
    release(this.quickjs, this.context, this.runtime)
  }

  /** Runs the promise jobs the module queued, under the same caps. */
  private settle(what = 'the module'): void {
    const result = this.runtime.executePendingJobs()
    if (result.error) {
      const err = this.classify(this.dumpError(result.error), what)
      result.error.dispose()
      throw err
    }
  }

  private callBridge(method: string, args: QuickJSHandle[], what = 'the sandbox'): string {
    const fn = this.context.getProp(this.bridge, method)
    try {
      const handle = this.unwrap(this.context.callFunction(fn, this.bridge, ...args), what)
      const text = this.context.typeof(handle) === 'string' ? this.context.getString(handle) : ''
      handle.dispose()
      if (text.length > MAX_OUTPUT_CHARS)
        throw jsError('JS_OUTPUT', `an output is ${text.length} characters of JSON, at most ${MAX_OUTPUT_CHARS}`)
      return text
    } finally {
      fn.dispose()
      for (const arg of args) if (arg !== this.namespace && arg.alive) arg.dispose()
    }
  }

  /** The value of an evaluation, or the error it threw as a JsSandboxError. */
  private unwrap(result: { value: QuickJSHandle } | { error: QuickJSHandle }, what: string): QuickJSHandle {
    if ('error' in result && result.error) {
      const dumped = this.dumpError(result.error)
      result.error.dispose()
      if (this.importTried !== null) throw importRefused(this.importTried)
      throw this.classify(dumped, what)
    }
    return (result as { value: QuickJSHandle }).value
  }

  /**
   * Reads a thrown value. Past the memory cap, reading it would itself fail (and say null): it
   * is read with a little room above the cap, which the build's memory keeps spare for this.
   */
  private dumpError(error: QuickJSHandle): unknown {
    this.runtime.setMemoryLimit((this.caps.memoryMb + DUMP_ROOM_MB) * 1024 * 1024)
    try {
      const dumped = this.context.dump(error)
      // QuickJS throws null when it cannot even make its out-of-memory error.
      if (dumped === null && this.outOfMemory()) return { name: 'InternalError', message: 'out of memory' }
      return dumped
    } finally {
      this.runtime.setMemoryLimit(this.caps.memoryMb * 1024 * 1024)
    }
  }

  /**
   * Whether the code came to the end of its memory: QuickJS's count came near the cap, or the
   * build's memory grew to within an eighth of its maximum (allocator overhead and fragmentation
   * can get there first: measured 36 MiB of memory for 6.6 MiB counted). Memory stays grown, so
   * a `throw null` after an earlier big unit in this thread would be taken for this too.
   */
  private outOfMemory(): boolean {
    const build = memories.get(this.quickjs)
    return this.meter?.nearLimit() === true || (build !== undefined && build.memory.buffer.byteLength >= (build.maxBytes * 7) / 8)
  }

  private classify(dumped: unknown, what: string): JsSandboxError {
    const { name, message } = (dumped ?? {}) as { name?: unknown; message?: unknown }
    const text = typeof name === 'string' && typeof message === 'string' ? `${name}: ${message}` : JSON.stringify(dumped)
    return this.thrown(text, what)
  }

  /** What a thrown error says, as the error the unit fails with. */
  private thrown(description: string, what: string): JsSandboxError {
    switch (description) {
      case 'InternalError: interrupted':
        return jsError(
          'JS_TIME_CAP',
          `js time cap: ${what} ran past the ${this.caps.timeMs} ms this peer allows a sandboxed unit (--wasm-time)`
        )
      case 'InternalError: out of memory':
        return jsError(
          'JS_MEMORY_CAP',
          `js memory cap: ${what} used all ${this.caps.memoryMb} MiB its job allows each unit (the job's memory param)`
        )
      case 'InternalError: stack overflow':
        return jsError('JS_STACK', `${what} recursed past the sandbox's ${MAX_STACK_BYTES / 1024} KiB stack`)
    }
    if (what === 'the module' && description.startsWith('SyntaxError'))
      return jsError('JS_MODULE', `the module does not parse: ${description}`)
    return jsError('JS_THROWN', `${what} threw ${description}`)
  }
}

function importRefused(name: string): JsSandboxError {
  return jsError(
    'JS_IMPORT',
    `the code imports "${name}": a js job's code is one bundled module with no imports and no import() ` +
      '(bundle it first: npx esbuild fn.mjs --bundle --format=esm --platform=browser --outfile=bundle.mjs)'
  )
}

function hostFailure(quickjs: QuickJSWASMModule, err: unknown): Error {
  if (err instanceof RangeError) {
    discardBuild(quickjs)
    return jsError('JS_STACK', `the code overflowed the host's stack (${err.message})`)
  }
  return err as Error
}

function release(quickjs: QuickJSWASMModule, context: QuickJSContext, runtime: QuickJSRuntime): void {
  // Freeing the runtime frees every object the code left; a build that fails at that is not trusted again.
  try {
    context.dispose()
    runtime.dispose()
  } catch {
    discardBuild(quickjs)
  }
}

/**
 * Opens the module, runs `fn(build, module)` and frees it; a host exception out of the
 * interpreter (V8's own stack overflow) becomes a JS_STACK error and retires this build.
 */
export function withModule<T>(quickjs: QuickJSWASMModule, source: string, options: OpenOptions, fn: (module: JsModule) => T): T {
  let module: JsModule | null = null
  try {
    module = JsModule.open(quickjs, source, options)
    return fn(module)
  } catch (err) {
    if (err instanceof JsSandboxError) throw err
    if (err instanceof RangeError) module = null // its build is retired: freeing into it could fail again
    throw hostFailure(quickjs, err)
  } finally {
    module?.dispose()
  }
}
