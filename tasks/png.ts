/**
 * A minimal PNG encoder for 8-bit RGB images: enough to hand a rendered image to a browser
 * or a file without an image library.
 */
import zlib from 'node:zlib'
import { concatBytes } from '../base/bytes.js'

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)

// zlib.crc32 arrived in Node 20.15; earlier 20.x peers fall back to a table.
let table: Uint32Array | undefined
function crc32(data: Uint8Array): number {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(data)
  if (!table) {
    table = new Uint32Array(256)
    for (let n = 0; n < 256; n++) {
      let c = n
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      table[n] = c >>> 0
    }
  }
  let c = 0xffffffff
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i)
  out.set(data, 8)
  // The CRC covers the type and the data, not the length.
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
  return out
}

/** Encodes `rgb` (width * height * 3 bytes, rows top to bottom) as a PNG file. */
export function encodePng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new RangeError(`PNG size must be positive integers, got ${width}x${height}`)
  }
  const stride = width * 3
  if (rgb.length !== stride * height) {
    throw new RangeError(`PNG of ${width}x${height} needs ${stride * height} RGB bytes, got ${rgb.length}`)
  }

  const ihdr = new Uint8Array(13)
  const view = new DataView(ihdr.buffer)
  view.setUint32(0, width)
  view.setUint32(4, height)
  ihdr.set([8, 2, 0, 0, 0], 8) // bit depth 8, colour type RGB, deflate, adaptive filters, no interlace

  // Every scanline starts with its filter type; 0 (None) keeps encoding trivial.
  const raw = new Uint8Array((stride + 1) * height)
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1)
  const idat = zlib.deflateSync(raw)

  const parts = [PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]
  return concatBytes(parts)
}

/** Width and height from a PNG's IHDR, or undefined when the bytes are not a PNG. */
export function pngSize(png: Uint8Array): { width: number; height: number } | undefined {
  if (png.length < 24 || PNG_SIGNATURE.some((b, i) => png[i] !== b)) return undefined
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength)
  if (String.fromCharCode(png[12], png[13], png[14], png[15]) !== 'IHDR') return undefined
  return { width: view.getUint32(16), height: view.getUint32(20) }
}
