/**
 * Just enough of the WebAssembly binary format to decide whether a submitter's module may run
 * on a donor, and to put a cap on its memory: the module's own memory becomes one the host
 * makes (an import with a maximum), so memory.grow past the donor's cap fails inside the
 * module and the host can tell that is what happened. Anything this reader does not know
 * (shared or 64-bit memory, GC types, imports beyond the sandbox's) is refused, not guessed.
 */
import { concatBytes } from '../../base/bytes.js'
import { SwarmgridError } from '../../base/errors.js'

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref'
export interface FuncType {
  params: ValType[]
  results: ValType[]
}
export interface Limits {
  initial: number
  maximum: number | null
}
export interface ModuleInfo {
  imports: Array<{ module: string; name: string; type: FuncType }>
  memory: Limits | null
  exports: Map<string, FuncType>
}

export class WasmRejectedError extends SwarmgridError {
  override name = 'WasmRejectedError'
  constructor(message: string) {
    super('WASM_REJECTED', message)
  }
}

export function rejected(why: string): WasmRejectedError {
  return new WasmRejectedError(`the WebAssembly module is refused: ${why}`)
}

const VALTYPES: Record<number, ValType> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
  0x70: 'funcref',
  0x6f: 'externref'
}
export const SECTION = { custom: 0, type: 1, import: 2, function: 3, table: 4, memory: 5, export: 7 } as const
const PAGE_BYTES = 65536

export interface Section {
  id: number
  payload: Uint8Array
}

export class Reader {
  pos = 0
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string
  ) {}
  get done(): boolean {
    return this.pos >= this.bytes.byteLength
  }
  byte(): number {
    if (this.pos >= this.bytes.byteLength) throw rejected(`${this.what} ends early`)
    return this.bytes[this.pos++]
  }
  /** An unsigned LEB128 of at most 32 bits. */
  u32(): number {
    let result = 0
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte()
      result += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) throw rejected(`${this.what} has a number past 32 bits`)
        return result
      }
    }
    throw rejected(`${this.what} has an overlong number`)
  }
  take(length: number): Uint8Array {
    if (this.pos + length > this.bytes.byteLength) throw rejected(`${this.what} ends early`)
    const out = this.bytes.subarray(this.pos, this.pos + length)
    this.pos += length
    return out
  }
  name(): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.take(this.u32()))
    } catch (err) {
      throw err instanceof WasmRejectedError ? err : rejected(`${this.what} has a name that is not UTF-8`)
    }
  }
  valtype(): ValType {
    const b = this.byte()
    const type = VALTYPES[b]
    if (!type) throw rejected(`value type 0x${b.toString(16)} is not supported here`)
    return type
  }
  limits(): Limits {
    const flags = this.byte()
    if (flags > 1)
      throw rejected(
        flags & 2
          ? 'shared memory (threads) is not deterministic'
          : `limits flags 0x${flags.toString(16)} (64-bit memory) are not supported`
      )
    const initial = this.u32()
    return { initial, maximum: flags === 1 ? this.u32() : null }
  }
}

export function leb(n: number): number[] {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return out
}

function nameBytes(text: string): number[] {
  const b = [...new TextEncoder().encode(text)]
  return [...leb(b.length), ...b]
}

export function sections(bytes: Uint8Array): Section[] {
  const r = new Reader(bytes, 'the module')
  const magic = r.take(Math.min(8, bytes.byteLength))
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
  if (magic.byteLength < 8 || header.some((b, i) => magic[i] !== b)) {
    throw rejected('it does not start with the WebAssembly header (\\0asm, version 1); JavaScript and other code never run here')
  }
  const out: Section[] = []
  while (!r.done) {
    const id = r.byte()
    out.push({ id, payload: r.take(r.u32()) })
  }
  return out
}

/** What a module imports, what memory it declares and the signatures of its exported functions. */
export function inspectModule(bytes: Uint8Array): ModuleInfo {
  const types: FuncType[] = []
  const funcTypes: number[] = []
  const info: ModuleInfo = { imports: [], memory: null, exports: new Map() }
  const exported: Array<{ name: string; index: number }> = []
  for (const { id, payload } of sections(bytes)) {
    const r = new Reader(payload, `section ${id}`)
    if (id === SECTION.type) {
      for (let n = r.u32(); n > 0; n--) {
        if (r.byte() !== 0x60) throw rejected('only plain function types are supported (no GC types)')
        const params = Array.from({ length: r.u32() }, () => r.valtype())
        types.push({ params, results: Array.from({ length: r.u32() }, () => r.valtype()) })
      }
    } else if (id === SECTION.import) {
      for (let n = r.u32(); n > 0; n--) {
        const module = r.name()
        const name = r.name()
        const kind = r.byte()
        if (kind !== 0) throw rejected(`it imports ${module}.${name}, which is not a function; the sandbox gives functions only`)
        const typeIndex = r.u32()
        funcTypes.push(typeIndex)
        info.imports.push({ module, name, type: typeOf(types, typeIndex) })
      }
    } else if (id === SECTION.function) {
      for (let n = r.u32(); n > 0; n--) funcTypes.push(r.u32())
    } else if (id === SECTION.memory) {
      const count = r.u32()
      if (count > 1) throw rejected('it declares more than one memory')
      if (count === 1) info.memory = r.limits()
    } else if (id === SECTION.export) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name()
        const kind = r.byte()
        const index = r.u32()
        if (kind === 0) exported.push({ name, index })
      }
    }
  }
  for (const { name, index } of exported) {
    if (index >= funcTypes.length) throw rejected(`export ${name} names function ${index}, which does not exist`)
    info.exports.set(name, typeOf(types, funcTypes[index]))
  }
  return info
}

function typeOf(types: FuncType[], index: number): FuncType {
  const type = types[index]
  if (!type) throw rejected(`type ${index} does not exist`)
  return type
}

/**
 * The module with its memory turned into an import the host provides, capped at `maxPages`,
 * and its tables capped at `maxTableEntries`. Returns the memory's limits, or null when the
 * module has none.
 */
export function capModule(bytes: Uint8Array, maxPages: number, maxTableEntries: number): { bytes: Uint8Array; memory: Limits | null } {
  const list = sections(bytes)
  let memory: Limits | null = null
  const out: Section[] = []
  for (const section of list) {
    if (section.id === SECTION.memory) {
      const r = new Reader(section.payload, 'the memory section')
      if (r.u32() === 1) memory = r.limits()
      continue
    }
    if (section.id === SECTION.table) {
      out.push({ id: section.id, payload: capTables(section.payload, maxTableEntries) })
      continue
    }
    out.push(section)
  }
  if (memory) {
    if (memory.initial > maxPages) {
      throw rejected(`it starts with ${mib(memory.initial)} of memory; its job allows ${mib(maxPages)}`)
    }
    memory = { initial: memory.initial, maximum: Math.min(memory.maximum ?? maxPages, maxPages) }
    const entry = [...nameBytes('swarmgrid'), ...nameBytes('memory'), 0x02, 0x01, ...leb(memory.initial), ...leb(memory.maximum!)]
    const at = out.findIndex((s) => s.id === SECTION.import)
    if (at >= 0) {
      const r = new Reader(out[at].payload, 'the import section')
      const count = r.u32()
      const rest = out[at].payload.subarray(r.pos)
      // Appended last, so the memory is index 0 and every function index stays as it was.
      out[at] = { id: SECTION.import, payload: Uint8Array.from([...leb(count + 1), ...rest, ...entry]) }
    } else {
      const before = out.findIndex((s) => s.id !== SECTION.custom && s.id !== SECTION.type)
      const section = { id: SECTION.import, payload: Uint8Array.from([...leb(1), ...entry]) }
      out.splice(before < 0 ? out.length : before, 0, section)
    }
  }
  return { bytes: encodeSections(out), memory }
}

function capTables(payload: Uint8Array, cap: number): Uint8Array {
  const r = new Reader(payload, 'the table section')
  const out: number[] = []
  const count = r.u32()
  out.push(...leb(count))
  for (let i = 0; i < count; i++) {
    const ref = r.byte()
    if (ref !== 0x70 && ref !== 0x6f) throw rejected('a table with an initializer is not supported')
    const { initial, maximum } = r.limits()
    if (initial > cap) throw rejected(`a table starts with ${initial} entries; the cap is ${cap}`)
    out.push(ref, 0x01, ...leb(initial), ...leb(Math.min(maximum ?? cap, cap)))
  }
  if (!r.done) throw rejected('the table section has bytes after its tables')
  return Uint8Array.from(out)
}

export function encodeSections(list: Section[]): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00)]
  for (const { id, payload } of list) parts.push(Uint8Array.from([id, ...leb(payload.byteLength)]), payload)
  return concatBytes(parts)
}

export function mib(pages: number): string {
  return `${Math.round(((pages * PAGE_BYTES) / (1024 * 1024)) * 10) / 10} MiB`
}

export function pagesFor(mebibytes: number): number {
  return Math.max(1, Math.floor((mebibytes * 1024 * 1024) / PAGE_BYTES))
}
