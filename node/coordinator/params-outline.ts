/**
 * A job's params with their bulk left out: a program, a run's stdin or a long list goes by its
 * size. The job record keeps this outline, since it is rewritten behind every result, and the live
 * feed sends a tighter one, since it goes out with every update.
 */
export interface OutlineLimits {
  /** Strings longer than this go as { $chars }. */
  chars: number
  /** Byte strings longer than this, and {"base64": …} values that hold more, go as { $bytes }. */
  bytes: number
  /** Lists longer than this go as { $items }. */
  items: number
}

/** What the job record keeps in full. */
export const RECORD_OUTLINE: OutlineLimits = { chars: 4096, bytes: 1024, items: 64 }

export function outlineOf(value: unknown, limits: OutlineLimits = RECORD_OUTLINE): unknown {
  if (value instanceof Uint8Array) return value.byteLength > limits.bytes ? { $bytes: value.byteLength } : value
  if (typeof value === 'string') return value.length > limits.chars ? { $chars: value.length } : value
  if (Array.isArray(value)) return value.length > limits.items ? { $items: value.length } : value.map((v) => outlineOf(v, limits))
  if (value === null || typeof value !== 'object') return value
  // How the API takes bytes: sized by what they decode to, as the form and the CLI count them.
  const base64 = (value as { base64?: unknown }).base64
  if (typeof base64 === 'string' && Object.keys(value).length === 1 && base64.length > limits.bytes) {
    return { $bytes: base64Bytes(base64) }
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, outlineOf(v, limits)]))
}

/** How many bytes a base64 text holds, without decoding it. */
function base64Bytes(text: string): number {
  const clean = text.replace(/[^A-Za-z0-9+/]/g, '')
  return Math.floor((clean.length * 3) / 4)
}
