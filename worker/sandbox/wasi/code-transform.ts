/**
 * Rewrites a WASI module's code so that honest donors agree on its output byte for byte:
 *
 * - NaN bits: arithmetic on NaN may give different NaN payloads on different CPUs (x86 and Arm
 *   differ in the sign of the default NaN). The bits of a float become visible only where it is
 *   stored to memory (f32.store, f64.store) or reinterpreted as an integer; at exactly those
 *   places a few inlined instructions (over two scratch locals added to each function) turn
 *   any NaN into the canonical one: a call to a helper function there cost nbody 2x.
 * - memory.grow: past the donor's --wasm-memory cap it would fail inside the module, which a
 *   program may handle and so print something that depends on the donor. A helper grows the
 *   memory instead: past the module's own maximum it fails as the module expects (the same on
 *   every donor); past the donor's cap it traps, which the run reports as a memory failure.
 * - Instructions whose results are not the same everywhere are refused at load: threads
 *   (atomics), SIMD (float lanes, relaxed SIMD) and anything this reader does not know.
 *
 * The grow helper is appended after every existing function and type, and the scratch locals
 * after each function's own, so no index in the module moves.
 */
import { concatBytes } from '../../../base/bytes.js'
import { Reader, encodeSections, leb, rejected, sections, type Section } from '../wasm-binary.js'

const SECTION = { type: 1, import: 2, function: 3, memory: 5, code: 10 } as const
const MAX_PAGES = 65536

/** V8's message for the trap the grow helper raises; a program's own traps of this kind are rare. */
export const GROW_TRAP = /float unrepresentable in integer range/

export interface Transformed {
  bytes: Uint8Array
  storesCanonicalised: number
}

/** A signed LEB128 of a non-negative number. */
function sleb(n: number): number[] {
  const out = leb(n)
  if (out[out.length - 1] & 0x40) {
    out[out.length - 1] |= 0x80
    out.push(0)
  }
  return out
}

function growBody(ownMaxPages: number): Uint8Array {
  const grow = [
    0x01,
    0x01,
    0x7f, // one i32 local
    0x3f,
    0x00,
    0xad,
    0x20,
    0x00,
    0xad,
    0x7c,
    0x42,
    ...sleb(ownMaxPages),
    0x56, // size + delta > own maximum?
    0x04,
    0x7f,
    0x41,
    0x7f, // then -1, as the module's own limit says
    0x05,
    0x20,
    0x00,
    0x40,
    0x00,
    0x22,
    0x01,
    0x41,
    0x7f,
    0x46, // else grow; failed?
    0x04,
    0x40,
    0x43,
    0x00,
    0x00,
    0xc0,
    0x7f,
    0xa8,
    0x1a,
    0x0b, // the donor's cap: trap, as i32.trunc_f32_s(NaN) (GROW_TRAP)
    0x20,
    0x01,
    0x0b,
    0x0b
  ]
  return Uint8Array.from([...leb(grow.length), ...grow])
}

const GROW_TYPE = [0x60, 1, 0x7f, 1, 0x7f]

/** value -> (value == value ? value : canonical NaN), through scratch local `t`: branchless, inline. */
function canonical(t: number, double: boolean): number[] {
  const nan = double ? [0x44, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f] : [0x43, 0, 0, 0xc0, 0x7f]
  return [0x21, ...leb(t), 0x20, ...leb(t), ...nan, 0x20, ...leb(t), 0x20, ...leb(t), double ? 0x61 : 0x5b, 0x1b]
}

function skipLeb(r: Reader): void {
  while (r.byte() & 0x80) {
    /* continuation */
  }
}

/** One function body with the NaN checks and grow calls put in; counts the stores it guarded. */
function rewriteBody(body: Uint8Array, params: number, growCall: number[], counter: { stores: number }): Uint8Array {
  const r = new Reader(body, 'a function body')
  const groups = r.u32()
  const declarations = r.pos
  let locals = params
  for (let n = groups; n > 0; n--) {
    locals += r.u32()
    r.valtype()
  }
  if (locals + 2 > 50_000) throw rejected('a function has more locals than the engine allows')
  const helpers = { canon32: canonical(locals, false), canon64: canonical(locals + 1, true), grow: growCall }
  // The scratch locals (an f32, an f64) come after the function's own.
  const parts: Uint8Array[] = [Uint8Array.from(leb(groups + 2)), body.subarray(declarations, r.pos), Uint8Array.of(1, 0x7d, 1, 0x7c)]
  let copied = r.pos
  const insert = (at: number, call: number[], resume: number) => {
    parts.push(body.subarray(copied, at), Uint8Array.from(call))
    copied = resume
  }
  while (!r.done) {
    const at = r.pos
    const op = r.byte()
    if (op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x1a || op === 0x1b || op === 0xd1) continue
    if (op >= 0x45 && op <= 0xc4) {
      if (op === 0xbc) {
        insert(at, helpers.canon32, at)
        counter.stores++
      }
      if (op === 0xbd) {
        insert(at, helpers.canon64, at)
        counter.stores++
      }
      continue
    }
    if (op >= 0x28 && op <= 0x3e) {
      // loads and stores: a memarg
      if (op === 0x38) {
        insert(at, helpers.canon32, at)
        counter.stores++
      }
      if (op === 0x39) {
        insert(at, helpers.canon64, at)
        counter.stores++
      }
      const align = r.u32()
      if (align & 0x40) throw rejected('it uses more than one memory')
      r.u32()
      continue
    }
    switch (op) {
      case 0x02:
      case 0x03:
      case 0x04:
        skipLeb(r)
        break // block type
      case 0x0c:
      case 0x0d:
      case 0x10:
      case 0x12:
      case 0xd2:
        r.u32()
        break
      case 0x20:
      case 0x21:
      case 0x22:
      case 0x23:
      case 0x24:
      case 0x25:
      case 0x26:
        r.u32()
        break
      case 0x0e:
        for (let n = r.u32() + 1; n > 0; n--) r.u32()
        break
      case 0x11:
      case 0x13:
        r.u32()
        r.u32()
        break
      case 0x1c:
        for (let n = r.u32(); n > 0; n--) r.valtype()
        break
      case 0x3f:
        r.byte()
        break
      case 0x40: {
        if (r.byte() !== 0) throw rejected('it uses more than one memory')
        insert(at, helpers.grow, r.pos)
        break
      }
      case 0x41:
      case 0x42:
        skipLeb(r)
        break
      case 0x43:
        r.take(4)
        break
      case 0x44:
        r.take(8)
        break
      case 0xd0:
        r.byte()
        break
      case 0xfc: {
        const sub = r.u32()
        if (sub <= 7) break
        if (sub === 8) {
          r.u32()
          r.byte()
        } else if (sub === 10) {
          r.byte()
          r.byte()
        } else if (sub === 11) r.byte()
        else if (sub === 12 || sub === 14) {
          r.u32()
          r.u32()
        } else if (sub === 9 || (sub >= 13 && sub <= 17)) r.u32()
        else throw rejected(`it uses instruction 0xfc ${sub}, which this sandbox does not know`)
        break
      }
      case 0xfd:
        throw rejected('it uses SIMD, refused here: its float lanes (and relaxed SIMD) may differ between machines')
      case 0xfe:
        throw rejected('it uses threads (atomic instructions); runs here are single-threaded and deterministic')
      default:
        throw rejected(
          `it uses instruction 0x${op.toString(16)}, which this sandbox does not know (exceptions, GC and typed references are not supported)`
        )
    }
  }
  parts.push(body.subarray(copied))
  return concatBytes(parts)
}

/** The module with its float stores guarded and its memory.grow through the helper. */
export function transformModule(bytes: Uint8Array): Transformed {
  const list: Section[] = sections(bytes)
  const find = (id: number) => list.find((s) => s.id === id)
  const paramCounts: number[] = []
  let importedFunctions = 0
  let definedFunctions = 0
  let ownMax = MAX_PAGES
  const typeSection = find(SECTION.type)
  if (typeSection) {
    const r = new Reader(typeSection.payload, 'the type section')
    for (let n = r.u32(); n > 0; n--) {
      if (r.byte() !== 0x60) throw rejected('only plain function types are supported (no GC types)')
      paramCounts.push(r.u32())
      r.take(paramCounts[paramCounts.length - 1])
      r.take(r.u32())
    }
  }
  const typeCount = paramCounts.length
  const imports = find(SECTION.import)
  if (imports) {
    const r = new Reader(imports.payload, 'the import section')
    for (let n = r.u32(); n > 0; n--) {
      r.name()
      r.name()
      if (r.byte() !== 0) throw rejected('it imports something other than functions')
      r.u32()
      importedFunctions++
    }
  }
  const functions = find(SECTION.function)
  const functionTypes: number[] = []
  if (functions) {
    const r = new Reader(functions.payload, 'the function section')
    for (let n = r.u32(); n > 0; n--) functionTypes.push(r.u32())
    definedFunctions = functionTypes.length
  }
  const memory = find(SECTION.memory)
  if (memory) {
    const r = new Reader(memory.payload, 'the memory section')
    if (r.u32() === 1) ownMax = r.limits().maximum ?? MAX_PAGES
  }
  const code = find(SECTION.code)
  if (!code) return { bytes, storesCanonicalised: 0 }
  const first = importedFunctions + definedFunctions
  const growCall = [0x10, ...leb(first)]
  const counter = { stores: 0 }

  const r = new Reader(code.payload, 'the code section')
  const count = r.u32()
  if (count !== definedFunctions) throw rejected('its code and function sections disagree')
  const bodies: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const params = paramCounts[functionTypes[i]]
    if (params === undefined) throw rejected(`function ${i} has type ${functionTypes[i]}, which does not exist`)
    const body = rewriteBody(r.take(r.u32()), params, growCall, counter)
    bodies.push(Uint8Array.from(leb(body.byteLength)), body)
  }
  if (!typeSection || !functions) throw rejected('it has code but no type or function section')
  const appendTo = (section: Section, count: number, extra: number[][]): Uint8Array => {
    const header = new Reader(section.payload, `section ${section.id}`)
    header.u32()
    return concatBytes([Uint8Array.from(leb(count + extra.length)), section.payload.subarray(header.pos), Uint8Array.from(extra.flat())])
  }
  const types = appendTo(typeSection, typeCount, [GROW_TYPE])
  const funcs = appendTo(functions, definedFunctions, [leb(typeCount)])
  const codePayload = concatBytes([Uint8Array.from(leb(count + 1)), ...bodies, growBody(ownMax)])
  const out = list.map((s) =>
    s.id === SECTION.type
      ? { id: s.id, payload: types }
      : s.id === SECTION.function
        ? { id: s.id, payload: funcs }
        : s.id === SECTION.code
          ? { id: s.id, payload: codePayload }
          : s
  )
  return { bytes: encodeSections(out), storesCanonicalised: counter.stores }
}

/**
 * The module without its custom sections but "name" (function names in trap messages): DWARF
 * debug info is most of a C program as Debian's wasi-libc builds it, and no donor needs it.
 */
export function withoutDebugInfo(bytes: Uint8Array): Uint8Array {
  const list = sections(bytes)
  const kept = list.filter((s) => s.id !== 0 || new Reader(s.payload, 'a custom section').name() === 'name')
  return kept.length === list.length ? bytes : encodeSections(kept)
}
