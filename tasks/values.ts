/**
 * Values as bytes. cbor-x has no canonical mode, so object keys are sorted here before
 * encoding anything whose digest is compared across peers.
 */
import { createHash } from 'node:crypto'
import { Encoder, addExtension } from 'cbor-x'
import { HASH_BYTES, SHARED_BYTES_TAG, SharedBytes, collectShared, resolveShared } from './shared-bytes.js'
import { MalformedValueError } from './value-limits.js'

// A reference travels as its hash alone: the bytes go once per donor, apart (tasks/shared-bytes.ts).
addExtension({
  Class: SharedBytes,
  tag: SHARED_BYTES_TAG,
  // cbor-x writes the tag, then this its content; what it returns is not used.
  encode(shared: SharedBytes, encode: (value: unknown) => Uint8Array) {
    return encode(Buffer.from(shared.hash, 'hex'))
  },
  decode(hash: unknown) {
    if (!(hash instanceof Uint8Array) || hash.byteLength !== HASH_BYTES)
      throw new MalformedValueError('MALFORMED_VALUE', `shared bytes named by something other than a ${HASH_BYTES}-byte hash`)
    return new SharedBytes(null, Buffer.from(hash).toString('hex'))
  }
})

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false })

function canonicalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalize)
  if (value === null || typeof value !== 'object') return value
  if (ArrayBuffer.isView(value) || value instanceof SharedBytes || value instanceof Map || value instanceof Set || value instanceof Date)
    return value
  const sorted: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key]
    if (v !== undefined) sorted[key] = canonicalize(v)
  }
  return sorted
}

/**
 * Canonical CBOR bytes: equal values give equal bytes on every peer. cbor-x hands back a view
 * into its shared output buffer, which after one large value is tens of MiB; a view is copied
 * whole when it crosses to a thread and kept whole when it is stored, so the bytes get a buffer
 * of their own.
 */
export function encodeValue(value: unknown): Uint8Array {
  const bytes = encoder.encode(canonicalize(value))
  return bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes)
}

export function decodeValue<T = unknown>(bytes: Uint8Array): T {
  return encoder.decode(bytes) as T
}

/** Hex SHA-256 of the canonical bytes of a value already encoded with encodeValue. */
export function digestBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Turns byte arrays into base64 strings so a value can go out as JSON. */
export function toJsonSafe(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')
  if (Array.isArray(value)) return value.map(toJsonSafe)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = toJsonSafe(v)
  return out
}

/**
 * A unit input as a donor's task run sees it: through canonical CBOR, each shared byte string
 * back in place (tasks/shared-bytes.ts). For running a split's units in this process.
 */
export function asRunSees<T>(input: unknown): T {
  return resolveShared(decodeValue(encodeValue(input)), collectShared(input)) as T
}
