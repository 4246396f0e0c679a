/**
 * Bytes that many units of a job share (a wasi program, js code, a wasm module): a split marks
 * them with sharedBytes(), and a unit input then holds only their SHA-256, as a CBOR tag, so the
 * submitter's signature over the inputs covers the hash, the coordinator stores the bytes once
 * per job, and a donor fetches them once and caches them (node/donor/shared-source.ts and
 * shared-cache.ts). The thread that runs a unit puts the bytes back in place of each reference
 * (resolveShared) before the task's run sees its input: task modules see plain bytes.
 */
import { createHash } from 'node:crypto'
import { SwarmgridError } from '../base/errors.js'

/** The CBOR tag of a reference: cbor-x leaves tags above 40500 to applications. */
export const SHARED_BYTES_TAG = 40512
export const HASH_BYTES = 32
/** The most one piece of shared bytes may be: what real programs need, and what a donor accepts to fetch. */
export const MAX_SHARED_BYTES = 32 * 1024 * 1024

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Shared bytes as a split gives them (with the bytes), or as a unit input holds them (the hash alone). */
export class SharedBytes {
  private hex: string | null
  constructor(
    /** Absent once decoded from a unit input: only the hash travels there. */
    readonly bytes: Uint8Array | null,
    hash?: string
  ) {
    this.hex = hash ?? null
  }

  /** Hex SHA-256 of the bytes, computed once. */
  get hash(): string {
    this.hex ??= sha256Hex(this.bytes!)
    return this.hex
  }
}

/** Marks bytes for the unit inputs to carry by hash. */
export function sharedBytes(bytes: Uint8Array): SharedBytes {
  return new SharedBytes(bytes)
}

/**
 * The bytes of a value a task's run got: plain bytes as a donor's thread resolves them, or shared
 * bytes straight from split that still hold theirs (a split's units run in the same process:
 * tests, the library); null for anything else.
 */
export function plainBytes(value: unknown): Uint8Array | null {
  if (value instanceof Uint8Array) return value
  if (value instanceof SharedBytes) return value.bytes
  return null
}

export class MissingSharedBytesError extends SwarmgridError {
  override name = 'MissingSharedBytesError'
}

/**
 * The value with every reference replaced by its bytes from `blobs` (hex → bytes). Only the
 * shapes encodeValue writes are walked; a reference to bytes not given fails the unit.
 */
export function resolveShared(value: unknown, blobs: ReadonlyMap<string, Uint8Array>): unknown {
  if (value instanceof SharedBytes) {
    const bytes = blobs.get(value.hash) ?? value.bytes
    if (!bytes)
      throw new MissingSharedBytesError(
        'MALFORMED_VALUE',
        `the unit names shared bytes ${value.hash.slice(0, 12)}, which did not come with it`
      )
    return bytes
  }
  if (Array.isArray(value)) return value.map((v) => resolveShared(v, blobs))
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || value instanceof Map || value instanceof Date)
    return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = resolveShared(v, blobs)
  return out
}

/** Every reference in a value as a split gave it, with its bytes, by hash. */
export function collectShared(value: unknown, into: Map<string, Uint8Array> = new Map()): Map<string, Uint8Array> {
  if (value instanceof SharedBytes) {
    if (value.bytes) into.set(value.hash, value.bytes)
  } else if (Array.isArray(value)) for (const v of value) collectShared(v, into)
  else if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    for (const v of Object.values(value)) collectShared(v, into)
  }
  return into
}

/** The bytes in a SharedArrayBuffer of their own: posted to a thread, they are not copied. */
export function inSharedMemory(bytes: Uint8Array): Uint8Array {
  if (bytes.buffer instanceof SharedArrayBuffer) return bytes
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength))
  shared.set(bytes)
  return shared
}
