/**
 * Runs a submitter's JavaScript module in QuickJS compiled to WebAssembly, never in the donor's
 * V8: the code sees the ECMAScript built-ins and nothing of the host (no process, require,
 * import(), timers, files or network). Each unit gets a runtime of its own with the donor's
 * memory cap (QuickJS's allocator limit) and time cap (QuickJS's interrupt handler, checked
 * as the interpreter runs, so an endless loop ends without the thread being killed). Inputs
 * and outputs cross as JSON text; see worker/quickjs-prelude.ts for what is made deterministic.
 */
import { createHash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { newQuickJSWASMModule, type QuickJSContext, type QuickJSHandle, type QuickJSRuntime, type QuickJSWASMModule } from 'quickjs-emscripten'
import { PRELUDE } from './quickjs-prelude.js'

export interface JsCaps {
  memoryMb: number
  timeMs: number
}

/** Codes of the errors a js unit fails with; the donor tells memory and time caps apart by them. */
export type JsErrorCode = 'JS_TIME_CAP' | 'JS_MEMORY_CAP' | 'JS_STACK' | 'JS_IMPORT' | 'JS_THROWN' | 'JS_OUTPUT' | 'JS_MODULE' | 'JS_NOT_READY'

export class JsSandboxError extends Error {
  override name = 'JsSandboxError'
  constructor(readonly code: JsErrorCode, message: string) {
    super(message)
  }
}

export function jsError(code: JsErrorCode, message: string): JsSandboxError {
  return new JsSandboxError(code, message)
}

/** QuickJS counts its own stack; below V8's, so deep recursion is QuickJS's error and not a host one (measured: ~1300 plain calls). */
const MAX_STACK_BYTES = 256 * 1024
/** One output as JSON text; a unit's outputs must fit a wire frame together. */
export const MAX_OUTPUT_CHARS = 4 * 1024 * 1024

let loaded: QuickJSWASMModule | null = null
let loading: Promise<QuickJSWASMModule> | null = null

/** Loads QuickJS's WebAssembly build (it ships inside the npm package; ~13 ms, ~9 MB). */
export function loadQuickJS(): Promise<QuickJSWASMModule> {
  if (loaded) return Promise.resolve(loaded)
  loading ??= newQuickJSWASMModule().then((q) => (loaded = q), (err) => {
    loading = null
    throw err
  })
  return loading
}

/** The loaded build, for the coordinator's synchronous split and merge (tasks/js.ts prepares it). */
export function quickJSNow(): QuickJSWASMModule {
  if (!loaded) throw jsError('JS_NOT_READY', 'the QuickJS sandbox is not loaded yet: await prepare() of the js task first')
  return loaded
}

/** A host exception out of the interpreter (V8's own stack overflow) leaves the build's stack pointer astray: load a fresh one. */
function discardBuild(): void {
  loaded = null
  loading = null
  void loadQuickJS().catch(() => {})
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

  private constructor(private readonly runtime: QuickJSRuntime, private readonly context: QuickJSContext,
    private readonly caps: JsCaps, source: string, options: OpenOptions) {
    this.deadline = performance.now() + caps.timeMs
    runtime.setMemoryLimit(caps.memoryMb * 1024 * 1024)
    runtime.setMaxStackSize(MAX_STACK_BYTES)
    runtime.setInterruptHandler(() => performance.now() > this.deadline)
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
      if (again.type === 'pending') throw jsError('JS_MODULE', 'the module\'s top-level await never settled')
      evaluated = this.unwrap(again.type === 'fulfilled' ? { value: again.value } : { error: again.error }, 'the module')
    }
    return evaluated
  }

  /** Evaluates `source` as an ES module under `caps`; throws a JsSandboxError saying why it cannot run. */
  static open(quickjs: QuickJSWASMModule, source: string, options: OpenOptions): JsModule {
    const runtime = quickjs.newRuntime()
    const context = runtime.newContext()
    try {
      return new JsModule(runtime, context, options.caps, source, options)
    } catch (err) {
      release(context, runtime)
      throw err
    }
  }

  /** typeof the module's export `name`. */
  exportType(name: string): string {
    return this.callBridge('has', [this.namespace, this.context.newString(name)])
  }

  /** Calls export `name` once per input, in order; each input's Math.random starts from its seed. */
  callEach(name: string, inputs: unknown[], seeds: Array<[number, number, number, number]> | null, onEach?: (done: number) => void): unknown[] {
    const what = name === 'default' ? 'the function' : `${name}()`
    const type = this.callBridge('bind', [this.namespace, this.context.newString(name)])
    if (type !== 'function') throw jsError('JS_MODULE', `the module's ${name === 'default' ? 'default export' : `export "${name}"`} is ${type === 'undefined' ? 'missing' : `a ${type}`}, not a function`)
    const outputs: unknown[] = []
    inputs.forEach((input, i) => {
      if (seeds) this.callBridge('seed', seeds[i].map((n) => this.context.newNumber(n)))
      let reply = JSON.parse(this.callBridge('call', [this.context.newString(JSON.stringify(input) ?? 'null')], what))
      // Promise jobs run even when the function returned at once: an import() it started fails the call.
      this.settle(what)
      if (reply.p) reply = JSON.parse(this.callBridge('collect', [], what))
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
    release(this.context, this.runtime)
  }

  /** Runs the promise jobs the module queued, under the same caps. */
  private settle(what = 'the module'): void {
    const result = this.runtime.executePendingJobs()
    if (result.error) {
      const err = this.classify(this.context.dump(result.error), what)
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
      if (text.length > MAX_OUTPUT_CHARS) throw jsError('JS_OUTPUT', `an output is ${text.length} characters of JSON, at most ${MAX_OUTPUT_CHARS}`)
      return text
    } finally {
      fn.dispose()
      for (const arg of args) if (arg !== this.namespace && arg.alive) arg.dispose()
    }
  }

  /** The value of an evaluation, or the error it threw as a JsSandboxError. */
  private unwrap(result: { value: QuickJSHandle } | { error: QuickJSHandle }, what: string): QuickJSHandle {
    if ('error' in result && result.error) {
      const dumped = this.context.dump(result.error)
      result.error.dispose()
      if (this.importTried !== null) throw importRefused(this.importTried)
      throw this.classify(dumped, what)
    }
    return (result as { value: QuickJSHandle }).value
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
        return jsError('JS_TIME_CAP', `js time cap: ${what} ran past the ${this.caps.timeMs} ms this peer allows a sandboxed unit (--wasm-time)`)
      case 'InternalError: out of memory':
        return jsError('JS_MEMORY_CAP', `js memory cap: ${what} used all ${this.caps.memoryMb} MiB this peer allows a sandboxed unit (--wasm-memory)`)
      case 'InternalError: stack overflow':
        return jsError('JS_STACK', `${what} recursed past the sandbox's ${MAX_STACK_BYTES / 1024} KiB stack`)
    }
    if (what === 'the module' && description.startsWith('SyntaxError')) return jsError('JS_MODULE', `the module does not parse: ${description}`)
    return jsError('JS_THROWN', `${what} threw ${description}`)
  }
}

function importRefused(name: string): JsSandboxError {
  return jsError('JS_IMPORT', `the code imports "${name}": a js job's code is one bundled module with no imports and no import() ` +
    '(bundle it first: npx esbuild fn.mjs --bundle --format=esm --platform=browser --outfile=bundle.mjs)')
}

function hostFailure(err: unknown): Error {
  if (err instanceof RangeError) {
    discardBuild()
    return jsError('JS_STACK', `the code overflowed the host's stack (${err.message})`)
  }
  return err as Error
}

function release(context: QuickJSContext, runtime: QuickJSRuntime): void {
  // After an out-of-memory error QuickJS may still hold objects; freeing the runtime frees them all.
  try {
    context.dispose()
    runtime.dispose()
  } catch {
    discardBuild()
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
    module = null // its build is retired below; freeing into it could fail again
    throw hostFailure(err)
  } finally {
    module?.dispose()
  }
}
