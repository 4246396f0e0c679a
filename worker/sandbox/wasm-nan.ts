/**
 * NaN canonicalisation: the wasm spec leaves the sign and payload of a NaN that arithmetic
 * produces up to the CPU (x64 gives 0xfff8000000000000 for 0/0, others differ), and a module
 * can read those bits back (i64.reinterpret_f64, a store to memory), so honest donors on
 * different machines would disagree. After every instruction that can make such a NaN, this
 * rewrite inserts
 *
 *     local.tee $t ; fNN.const canonical-NaN ; local.get $t ; local.get $t ; fNN.eq ; select
 *
 * which keeps any value but NaN and turns every NaN into the one positive quiet NaN
 * (0x7fc00000, 0x7ff8000000000000), as wasmtime's NaN canonicalisation does. $t is a local of
 * each function's own, added after its others. Bit-level instructions (abs, neg, copysign,
 * reinterpret, loads, stores, constants) are deterministic and left alone. SIMD, whose float
 * lanes would need the same, is refused rather than left nondeterministic.
 */
import { Reader, SECTION, encodeSections, leb, rejected, sections, type Section } from './wasm-binary.js'

const F32 = 0x7d
const F64 = 0x7c
/** f32.ceil … f32.max, f32.demote_f64. */
const MAKES_F32 = new Set([0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0xb6])
/** f64.ceil … f64.max, f64.promote_f32. */
const MAKES_F64 = new Set([0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xbb])
const CANONICAL_F32 = [0x00, 0x00, 0xc0, 0x7f]
const CANONICAL_F64 = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f]
const BLOCK_TYPES = new Set([0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f])

/** The module with every NaN its arithmetic can make turned into the canonical one. */
export function canonicaliseNaNs(bytes: Uint8Array): Uint8Array {
  const list = sections(bytes)
  const types: number[] = []
  const funcTypes: number[] = []
  for (const { id, payload } of list) {
    const r = new Reader(payload, `section ${id}`)
    if (id === SECTION.type) {
      for (let n = r.u32(); n > 0; n--) {
        if (r.byte() !== 0x60) throw rejected('only plain function types are supported (no GC types)')
        const params = r.u32()
        for (let i = 0; i < params; i++) r.byte()
        for (let i = r.u32(); i > 0; i--) r.byte()
        types.push(params)
      }
    } else if (id === SECTION.function) {
      for (let n = r.u32(); n > 0; n--) funcTypes.push(r.u32())
    }
  }
  const out: Section[] = list.map((section) =>
    section.id === CODE_SECTION
      ? {
          id: CODE_SECTION,
          payload: rewriteCode(
            section.payload,
            funcTypes.map((t) => types[t] ?? 0)
          )
        }
      : section
  )
  return encodeSections(out)
}

const CODE_SECTION = 10

function rewriteCode(payload: Uint8Array, paramCounts: number[]): Uint8Array {
  const r = new Reader(payload, 'the code section')
  const count = r.u32()
  if (count !== paramCounts.length) throw rejected('the code section does not match the function section')
  const parts: number[][] = [leb(count)]
  for (let i = 0; i < count; i++) {
    const body = new Reader(r.take(r.u32()), `function ${i}`)
    const rewritten = rewriteBody(body, paramCounts[i])
    parts.push(leb(rewritten.length), rewritten)
  }
  return Uint8Array.from(parts.flat())
}

function rewriteBody(r: Reader, params: number): number[] {
  const groups = r.u32()
  const decls: number[] = []
  let locals = 0
  for (let g = 0; g < groups; g++) {
    const n = r.u32()
    const type = r.byte()
    locals += n
    decls.push(...leb(n), type)
  }
  const t32 = params + locals
  const t64 = t32 + 1
  const out: number[] = [...leb(groups + 2), ...decls, 0x01, F32, 0x01, F64]
  const copyFrom = (start: number) => {
    for (let i = start; i < r.pos; i++) out.push(r.bytes[i])
  }
  while (!r.done) {
    const start = r.pos
    const op = r.byte()
    skipImmediates(r, op)
    copyFrom(start)
    if (MAKES_F32.has(op)) out.push(0x22, ...leb(t32), 0x43, ...CANONICAL_F32, 0x20, ...leb(t32), 0x20, ...leb(t32), 0x5b, 0x1b)
    else if (MAKES_F64.has(op)) out.push(0x22, ...leb(t64), 0x44, ...CANONICAL_F64, 0x20, ...leb(t64), 0x20, ...leb(t64), 0x61, 0x1b)
  }
  return out
}

/** A signed LEB128 (i32, i64 or s33): only its length matters here. */
function skipSigned(r: Reader): void {
  for (let i = 0; i < 10; i++) if ((r.byte() & 0x80) === 0) return
  throw rejected(`${r.what} has an overlong number`)
}

function skipImmediates(r: Reader, op: number): void {
  if (op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x1a || op === 0x1b || op === 0x19 || op === 0xd1) return
  if (op >= 0x45 && op <= 0xc4) return // numeric instructions take none
  switch (op) {
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x06: // block, loop, if, try
      if (BLOCK_TYPES.has(r.bytes[r.pos])) r.byte()
      else skipSigned(r)
      return
    case 0x07:
    case 0x08:
    case 0x09:
    case 0x18: // catch, throw, rethrow, delegate
    case 0x0c:
    case 0x0d:
    case 0x10:
    case 0x12: // br, br_if, call, return_call
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x23:
    case 0x24:
    case 0x25:
    case 0x26: // locals, globals, table.get/set
    case 0xd2: // ref.func
      r.u32()
      return
    case 0x0e: // br_table
      for (let n = r.u32(); n > 0; n--) r.u32()
      r.u32()
      return
    case 0x11:
    case 0x13: // call_indirect, return_call_indirect
      r.u32()
      r.u32()
      return
    case 0x1c: // select with types
      for (let n = r.u32(); n > 0; n--) r.byte()
      return
    case 0x3f:
    case 0x40: // memory.size, memory.grow
      r.u32()
      return
    case 0x41:
    case 0x42:
      skipSigned(r)
      return
    case 0x43:
      r.take(4)
      return
    case 0x44:
      r.take(8)
      return
    case 0xd0:
      r.byte()
      return // ref.null
    case 0xfc:
      return skipPrefixed(r)
    case 0xfd:
      throw rejected('it uses SIMD, whose float results are not the same on every CPU')
  }
  if (op >= 0x28 && op <= 0x3e) {
    // loads and stores: align (with a memory index when bit 6 is set), offset
    const align = r.u32()
    if (align & 0x40) r.u32()
    r.u32()
    return
  }
  throw rejected(`instruction 0x${op.toString(16)} is not supported here`)
}

/** The 0xfc instructions: saturating truncations, bulk memory and tables. */
function skipPrefixed(r: Reader): void {
  const sub = r.u32()
  if (sub <= 7) return
  if (sub === 8 || sub === 10 || sub === 12 || sub === 14) {
    r.u32()
    r.u32()
    return
  }
  if (sub === 9 || sub === 11 || sub === 13 || (sub >= 15 && sub <= 17)) {
    r.u32()
    return
  }
  throw rejected(`instruction 0xfc ${sub} is not supported here`)
}
