/**
 * Bounds on a value as bytes, checked by walking its CBOR without decoding it. Decoding an
 * output and encoding it again (to compare canonical bytes) costs time and heap per item, not
 * per byte: 15 MiB of empty arrays is 15 million items, seconds of a coordinator's main thread
 * and gigabytes of heap. The walk stops at the first item past the bound and allocates
 * nothing, so a hostile output costs no more than the bound allows. It also refuses the CBOR
 * tags that make cbor-x build more than plain values (shared references, packed tables, error
 * objects): with those a small input could decode into a large or cyclic value.
 */
import { SwarmgridError } from '../base/errors.js'
import { HASH_BYTES, SHARED_BYTES_TAG } from './shared-bytes.js'

export interface ValueLimits {
  /** Data items (numbers, strings, arrays, maps, map keys and values) in the whole value. */
  items: number
  /** Arrays, maps and tags nested in one another. */
  depth: number
  /** The encoded value's size. */
  bytes: number
  /** Bytes of text strings in all, which cost a UTF-8 decode each (byte strings are only copied). */
  textBytes: number
}

/** The most a unit's input or output may be: a frame is at most 16 MiB (secret-stream's 3-byte length). */
export const MAX_VALUE_BYTES = 15 * 1024 * 1024

/**
 * What a task's output may hold unless the task says otherwise (TaskModule.outputLimits):
 * decoding and re-encoding this many items, or this much text, takes a few ms, and every
 * built-in task's output holds far fewer (bulk data travels as byte strings, one item each).
 */
export const DEFAULT_OUTPUT_LIMITS: ValueLimits = { items: 4096, depth: 32, bytes: MAX_VALUE_BYTES, textBytes: 1024 * 1024 }

/** Tags cbor-x gives for the plain values encodeValue writes: epoch dates, typed arrays, sets. */
function plainTag(tag: number): boolean {
  return tag === 1 || (tag >= 64 && tag <= 87 && tag !== 76) || tag === 258
}

/** A value past its bounds (too big, too deep, a tag no plain value has): an honest task's output can be too. */
export class ValueLimitError extends SwarmgridError {
  override name = 'ValueLimitError'
}

/** Bytes that are no CBOR value at all: no honest peer sends them. */
export class MalformedValueError extends SwarmgridError {
  override name = 'MalformedValueError'
}

function overLimit(what: string): ValueLimitError {
  return new ValueLimitError('VALUE_LIMIT', what)
}
function malformedValue(what: string): MalformedValueError {
  return new MalformedValueError('MALFORMED_VALUE', `not a CBOR value: ${what}`)
}

/** The limits a task asks for, over the defaults. */
export function limitsOf(task: { outputLimits?: Partial<ValueLimits> } | undefined): ValueLimits {
  return { ...DEFAULT_OUTPUT_LIMITS, ...task?.outputLimits }
}

/**
 * Throws ValueLimitError when the value has more items, depth or bytes than `limits`, or a tag
 * no plain value has; MalformedValueError when the bytes are not exactly one CBOR value.
 * Indefinite lengths are refused too: encodeValue never writes them.
 */
export function checkValue(bytes: Uint8Array, limits: ValueLimits, shared?: (hash: string) => void): void {
  if (bytes.byteLength > limits.bytes) throw overLimit(`${bytes.byteLength} bytes, more than the ${limits.bytes} allowed`)
  const end = bytes.byteLength
  let pos = 0
  let items = 0
  let text = 0
  /** Items still to come in each open array, map or tag, innermost last. */
  const open: number[] = []
  let remaining = 1
  const argument = (info: number): number => {
    if (info < 24) return info
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0
    if (size === 0) throw malformedValue(info === 31 ? 'an indefinite length' : `additional information ${info}`)
    if (pos + size > end) throw malformedValue('cut short')
    let value = 0
    for (let i = 0; i < size; i++) value = value * 256 + bytes[pos++]
    return value
  }
  while (true) {
    if (remaining === 0) {
      if (open.length === 0) break
      remaining = open.pop()!
      continue
    }
    if (pos >= end) throw malformedValue('cut short')
    const initial = bytes[pos++]
    const major = initial >> 5
    const info = initial & 31
    remaining--
    if (++items > limits.items) throw overLimit(`more than ${limits.items} items`)
    if (major === 7) {
      // Simple values and floats: only their width matters here.
      if (info === 24) pos += 1
      else if (info === 25) pos += 2
      else if (info === 26) pos += 4
      else if (info === 27) pos += 8
      else if (info >= 28) throw malformedValue(info === 31 ? 'a break outside an indefinite length' : `simple value ${info}`)
      if (pos > end) throw malformedValue('cut short')
      continue
    }
    const n = argument(info)
    if (major === 0 || major === 1) continue
    if (major === 2 || major === 3) {
      if (n > end - pos) throw malformedValue('a string longer than the value')
      if (major === 3 && (text += n) > limits.textBytes) throw overLimit(`more than ${limits.textBytes} bytes of text`)
      pos += n
      continue
    }
    let inside: number
    if (major === 4 || major === 5) {
      inside = major === 5 ? 2 * n : n
      // Each item takes a byte at least: a count larger than what is left is a lie, and one past the bound is refused now.
      if (inside > end - pos) throw malformedValue('more entries than bytes left')
      if (items + inside > limits.items) throw overLimit(`more than ${limits.items} items`)
    } else if (n === SHARED_BYTES_TAG && shared) {
      // Shared bytes named by their hash (tasks/shared-bytes.ts): always a 32-byte string, nothing else.
      if (end - pos < HASH_BYTES + 2 || bytes[pos] !== 0x58 || bytes[pos + 1] !== HASH_BYTES)
        throw malformedValue('shared bytes without their hash')
      shared(Buffer.from(bytes.buffer, bytes.byteOffset + pos + 2, HASH_BYTES).toString('hex'))
      pos += HASH_BYTES + 2
      if (++items > limits.items) throw overLimit(`more than ${limits.items} items`)
      continue
    } else {
      if (!plainTag(n)) throw overLimit(`CBOR tag ${n}, which no plain value has`)
      inside = 1
    }
    if (open.length >= limits.depth) throw overLimit(`nested more than ${limits.depth} deep`)
    open.push(remaining)
    remaining = inside
  }
  if (pos !== end) throw malformedValue(`${end - pos} bytes after the value`)
}

/** The tag's head as CBOR writes it: major type 6, a 2-byte argument. */
const SHARED_TAG_BYTES = Buffer.from([0xd9, SHARED_BYTES_TAG >> 8, SHARED_BYTES_TAG & 0xff])

/** What a donor reads of a unit input before it holds it: bounds far past any honest input, which only its own task checks. */
const INPUT_LIMITS: ValueLimits = { items: 10_000_000, depth: 64, bytes: MAX_VALUE_BYTES, textBytes: MAX_VALUE_BYTES }

/**
 * The hashes of the shared bytes a unit input names (tasks/shared-bytes.ts), read without
 * decoding it; throws as checkValue does when the input is no CBOR value within INPUT_LIMITS.
 */
export function sharedHashesOf(input: Uint8Array): string[] {
  // Most inputs name none: a search for the tag's bytes is far cheaper than the walk.
  if (Buffer.from(input.buffer, input.byteOffset, input.byteLength).indexOf(SHARED_TAG_BYTES) < 0) return []
  const hashes = new Set<string>()
  checkValue(input, INPUT_LIMITS, (hash) => hashes.add(hash))
  return [...hashes]
}
