/**
 * mandelbrot: renders a region of the Mandelbrot set as an RGB image, one band of rows per
 * unit, merged into a PNG.
 *
 * Replicas of a unit must agree byte for byte, so the pixel path uses only +, -, *, / and
 * comparisons, which IEEE 754 fixes exactly in every engine; Math.log and friends are only
 * approximated by spec, so the smooth colouring uses a log2 written out of those operations.
 */
import type { Params, RunContext, TaskModule } from './contract.js'
import { ParamError, paramSchema } from './contract.js'
import { encodePng } from './png.js'
import { checkInput, evenRuns, isSafeInt, numberParam, rejectUnknown, unitCount } from './params.js'

export interface MandelbrotInput {
  row0: number
  rows: number
  width: number
  height: number
  maxIter: number
  x0: number
  x1: number
  y0: number
  y1: number
}
export interface MandelbrotOutput {
  row0: number
  rows: number
  pixels: Uint8Array
}
export interface MandelbrotResult {
  png: Uint8Array
  width: number
  height: number
  maxIter: number
}

export const params = {
  width: 'image width in pixels (integer >= 1, default 640)',
  height: 'image height in pixels (integer >= 1, default 480; width*height <= 16777216)',
  maxIter: 'iterations before a point counts as inside the set (integer 1..1000000, default 500)',
  x0: 'left edge of the region on the real axis (default -2.5)',
  x1: 'right edge of the region (default 1)',
  y0: 'bottom edge on the imaginary axis (default: centred on 0, same scale as x)',
  y1: 'top edge (default: centred on 0, same scale as x)'
}

export const MAX_PIXELS = 16 * 1024 * 1024
const MAX_ITER = 1_000_000
// |z|^2 above 2^16 rather than 4: a large bailout makes the smooth colouring continuous.
const BAILOUT = 65536

export const schema = paramSchema(params, {
  width: { type: 'integer', minimum: 1, maximum: MAX_PIXELS, default: 640 },
  height: { type: 'integer', minimum: 1, maximum: MAX_PIXELS, default: 480 },
  maxIter: { type: 'integer', minimum: 1, maximum: MAX_ITER, default: 500 },
  x0: { type: 'number', default: -2.5 },
  x1: { type: 'number', default: 1 },
  y0: { type: 'number' },
  y1: { type: 'number' }
})

function parse(p: Params): Omit<MandelbrotInput, 'row0' | 'rows'> {
  rejectUnknown('mandelbrot', p, params)
  const int = (name: string, def: number, max: number) =>
    numberParam('mandelbrot', p, name, { hint: `an integer from 1 to ${max}`, default: def, min: 1, max })
  const width = int('width', 640, MAX_PIXELS)
  const height = int('height', 480, MAX_PIXELS)
  if (width * height > MAX_PIXELS) {
    throw new ParamError(
      `mandelbrot renders at most ${MAX_PIXELS} pixels; pass a smaller --param width=W and height=H (got ${width}x${height})`
    )
  }
  const maxIter = int('maxIter', 500, MAX_ITER)
  const real = (name: string, def: number) => numberParam('mandelbrot', p, name, { hint: 'a finite number', default: def, integer: false })
  const x0 = real('x0', -2.5)
  const x1 = real('x1', 1)
  if (!(x1 > x0)) throw new ParamError(`mandelbrot needs --param x0=A x1=B with A < B (got x0=${x0}, x1=${x1})`)
  // Square pixels unless the caller pins both vertical edges.
  const span = ((x1 - x0) * height) / width
  let y0 = real('y0', -span / 2)
  let y1 = real('y1', span / 2)
  if (p.y0 != null && p.y1 == null) y1 = y0 + span
  if (p.y0 == null && p.y1 != null) y0 = y1 - span
  if (!(y1 > y0)) throw new ParamError(`mandelbrot needs --param y0=A y1=B with A < B (got y0=${y0}, y1=${y1})`)
  return { width, height, maxIter, x0, x1, y0, y1 }
}

/** log2 from exact operations only: scale into [sqrt(1/2), sqrt(2)), then the atanh series. */
function log2(x: number): number {
  // |z|^2 overflows for regions far outside the set; the halving loop would never end.
  if (x === Infinity) return 1024
  let e = 0
  while (x >= Math.SQRT2) {
    x *= 0.5
    e++
  }
  while (x < Math.SQRT1_2) {
    x *= 2
    e--
  }
  const t = (x - 1) / (x + 1)
  const t2 = t * t
  let sum = 0
  let term = t
  for (let k = 1; k < 24; k += 2) {
    sum += term / k
    term *= t2
  }
  return e + (2 * sum) / Math.LN2
}

// Ultra Fractal's default gradient (deep blue, white, orange, black), looped.
const STOPS: Array<[number, number, number, number]> = [
  [0, 0, 7, 100],
  [0.16, 32, 107, 203],
  [0.42, 237, 255, 255],
  [0.6425, 255, 170, 0],
  [0.8575, 0, 2, 0],
  [1, 0, 7, 100]
]
const PALETTE_SIZE = 2048
const PALETTE = new Uint8Array(PALETTE_SIZE * 3)
for (let i = 0, s = 0; i < PALETTE_SIZE; i++) {
  const pos = i / PALETTE_SIZE
  while (pos > STOPS[s + 1][0]) s++
  const [p0, ...c0] = STOPS[s]
  const [p1, ...c1] = STOPS[s + 1]
  const f = (pos - p0) / (p1 - p0)
  for (let c = 0; c < 3; c++) PALETTE[i * 3 + c] = Math.round(c0[c] + (c1[c] - c0[c]) * f)
}
// Iterations per trip round the palette: the gradient repeats toward the boundary.
const CYCLE = 48

/** Fills `out` (rows * width * 3 bytes) with the band of rows starting at input.row0. */
function render(input: MandelbrotInput, out: Uint8Array, progress: (f: number) => void): void {
  const { row0, rows, width, height, maxIter, x0, x1, y0, y1 } = input
  const dx = (x1 - x0) / width
  const dy = (y1 - y0) / height
  let o = 0
  for (let r = 0; r < rows; r++) {
    // Pixel centres, top row first: image rows run downwards, the imaginary axis upwards.
    const cy = y1 - (row0 + r + 0.5) * dy
    for (let col = 0; col < width; col++, o += 3) {
      const cx = x0 + (col + 0.5) * dx
      // Main cardioid and period-2 bulb: inside for sure, and the most expensive to iterate.
      const q = (cx - 0.25) * (cx - 0.25) + cy * cy
      if (q * (q + (cx - 0.25)) <= 0.25 * cy * cy || (cx + 1) * (cx + 1) + cy * cy <= 0.0625) continue
      let x = 0,
        y = 0,
        x2 = 0,
        y2 = 0,
        n = 0
      while (n < maxIter && x2 + y2 <= BAILOUT) {
        y = 2 * x * y + cy
        x = x2 - y2 + cx
        x2 = x * x
        y2 = y * y
        n++
      }
      if (x2 + y2 <= BAILOUT) continue // out is zeroed: black inside the set
      // Continuous escape count: log2(log2 |z|^2 / 16) runs 0..1 between two iterations.
      const mu = n + 1 - log2(log2(x2 + y2) / 16)
      const t = mu / CYCLE
      const i = Math.floor((t - Math.floor(t)) * PALETTE_SIZE) * 3
      out[o] = PALETTE[i]
      out[o + 1] = PALETTE[i + 1]
      out[o + 2] = PALETTE[i + 2]
    }
    if ((r & 7) === 7) progress((r + 1) / rows)
  }
}

const mandelbrot: TaskModule<MandelbrotInput, MandelbrotOutput, MandelbrotResult> & { params: typeof params } = {
  name: 'mandelbrot',
  version: 1,
  params,
  schema,

  // Not a generator itself: bad params must throw when split is called, not on first next().
  split(p: Params, units: number): Iterable<MandelbrotInput> {
    const image = parse(p)
    const parts = Math.min(unitCount('mandelbrot', units), image.height)
    return (function* () {
      for (const band of evenRuns(image.height, parts)) yield { ...image, row0: band.start, rows: band.size }
    })()
  },

  run(input: MandelbrotInput, ctx: RunContext): MandelbrotOutput {
    const i = input ?? ({} as MandelbrotInput)
    const finite = [i.x0, i.x1, i.y0, i.y1].every((v) => typeof v === 'number' && Number.isFinite(v))
    checkInput(
      'mandelbrot',
      finite &&
        isSafeInt(i.width, 1) &&
        isSafeInt(i.height, 1) &&
        isSafeInt(i.rows, 1) &&
        isSafeInt(i.row0) &&
        isSafeInt(i.maxIter, 1) &&
        i.maxIter <= MAX_ITER &&
        i.row0 + i.rows <= i.height &&
        i.width * i.height <= MAX_PIXELS
    )
    const pixels = new Uint8Array(i.rows * i.width * 3)
    render(i, pixels, (f) => ctx.progress(f))
    return { row0: i.row0, rows: i.rows, pixels }
  },

  merge(outputs: MandelbrotOutput[], p: Params): MandelbrotResult {
    const { width, height, maxIter } = parse(p)
    const stride = width * 3
    const rgb = new Uint8Array(stride * height)
    let next = 0
    for (const o of outputs) {
      // Bands must tile the image exactly, in order; anything else is a coordinator bug.
      if (o.row0 !== next || o.pixels.length !== o.rows * stride) {
        throw new Error(`mandelbrot: band at row ${o.row0} (${o.rows} rows) does not continue the image at row ${next}`)
      }
      rgb.set(o.pixels, o.row0 * stride)
      next += o.rows
    }
    if (next !== height) throw new Error(`mandelbrot: bands cover ${next} of ${height} rows`)
    return { png: encodePng(rgb, width, height), width, height, maxIter }
  }
}

export default mandelbrot
