/**
 * Values as bytes. cbor-x has no canonical mode, so object keys are sorted here before
 * encoding anything whose digest is compared across peers.
 */
import { createHash } from 'node:crypto'
import { Encoder } from 'cbor-x'

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false })

function canonicalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalize)
  if (value === null || typeof value !== 'object') return value
  if (ArrayBuffer.isView(value) || value instanceof Map || value instanceof Set || value instanceof Date) return value
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
