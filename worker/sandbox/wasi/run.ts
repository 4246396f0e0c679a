/**
 * One run of a WASI command module: checked, rewritten to be deterministic, capped at the
 * donor's memory, started at _start with the run's args, stdin, env and files, and turned into
 * the run's output. proc_exit(n) is a normal end with exit n; a trap, the memory cap or an
 * output cap fails the run.
 */
import { createHash } from 'node:crypto'
import { capModule, inspectModule, mib, rejected } from '../wasm-binary.js'
import { MEMORY_CAP_PREFIX } from '../wasm-sandbox.js'
import { WASI_FUNCTIONS, WASI_MODULE } from './abi.js'
import { GROW_TRAP, transformModule } from './code-transform.js'
import { ProcExit, WasiRun, type RunConfig } from './syscalls.js'

export interface RunOutput {
  exit: number
  stdout: Uint8Array
  stderr: Uint8Array
  files: Record<string, Uint8Array>
}

const MAX_TABLE_ENTRIES = 100_000
const CACHE_SIZE = 4

/**
 * What split checks on the coordinator (so a bad module is refused at submit, naming what is
 * wrong) and run checks again on every donor.
 */
export function checkWasiModule(bytes: Uint8Array): void {
  if (!WebAssembly.validate(bytes as BufferSource)) {
    inspectModule(bytes)
    throw rejected('it does not validate')
  }
  const info = inspectModule(bytes)
  for (const imp of info.imports) {
    const name = `${imp.module}.${imp.name}`
    const wanted = imp.module === WASI_MODULE ? WASI_FUNCTIONS.get(imp.name) : undefined
    if (!wanted) throw rejected(`it imports ${name}, which this WASI sandbox does not offer (it offers ${WASI_MODULE} functions only)`)
    const got = `(${imp.type.params.join(', ')}) -> (${imp.type.results.join(', ')})`
    if (got !== wanted) throw rejected(`it imports ${name} as ${got}; WASI preview 1 has it as ${wanted}`)
  }
  const start = info.exports.get('_start')
  if (!start) throw rejected('it exports no _start: a WASI command module is needed (a reactor or library has no main)')
  if (start.params.length > 0 || start.results.length > 0) throw rejected('its _start takes or returns values')
  transformModule(bytes) // refuses threads, SIMD and unknown instructions here too
}

interface Compiled {
  module: WebAssembly.Module
  initial: number
  maximum: number
}
const cache = new Map<string, Compiled>()
/** A program's hash by its bytes object: a donor's thread is handed the same object for every unit of it (worker/run-unit.ts). */
const hashes = new WeakMap<Uint8Array, string>()

function hashOf(bytes: Uint8Array): string {
  let hash = hashes.get(bytes)
  if (hash === undefined) {
    hash = createHash('sha256').update(bytes).digest('hex')
    hashes.set(bytes, hash)
  }
  return hash
}

function compile(bytes: Uint8Array, maxPages: number): Compiled {
  const key = `${hashOf(bytes)}/${maxPages}`
  let compiled = cache.get(key)
  if (!compiled) {
    checkWasiModule(bytes)
    const capped = capModule(transformModule(bytes).bytes, maxPages, MAX_TABLE_ENTRIES)
    if (!capped.memory) throw rejected('it has no memory of its own, which WASI needs')
    compiled = {
      module: new WebAssembly.Module(capped.bytes as BufferSource),
      initial: capped.memory.initial,
      maximum: capped.memory.maximum!
    }
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!)
    cache.set(key, compiled)
  }
  return compiled
}

export function runWasi(program: Uint8Array, config: RunConfig, maxPages: number): RunOutput {
  const { module, initial, maximum } = compile(program, maxPages)
  const memory = new WebAssembly.Memory({ initial, maximum })
  const run = new WasiRun(config)
  run.memory = memory
  const instance = new WebAssembly.Instance(module, { [WASI_MODULE]: run.imports(), swarmgrid: { memory } })
  let exit = 0
  try {
    ;(instance.exports._start as () => void)()
  } catch (err) {
    if (err instanceof ProcExit) exit = err.code
    else if (err instanceof WebAssembly.RuntimeError) {
      // memory.grow past the donor's cap traps in the module's grow helper (code-transform.ts).
      const used = memory.buffer.byteLength / 65536
      if (maximum === maxPages && GROW_TRAP.test(err.message)) {
        throw new Error(
          `${MEMORY_CAP_PREFIX}: the program had ${mib(used)} of the ${mib(maxPages)} its job allows each unit and asked for more (${err.message})`
        )
      }
      throw new Error(`the program trapped: ${err.message}`)
    } else throw err
  }
  return { exit, stdout: run.stdout.bytes(), stderr: run.stderr.bytes(), files: run.fs.outputFiles() }
}
