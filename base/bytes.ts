/**
 * Byte arrays joined into one of their own. Buffer.concat would do, but it may return a view
 * into Node's shared pool, and such a view, sent to a thread or kept, carries the whole pool.
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}
