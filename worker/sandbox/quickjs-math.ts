/**
 * Math functions for the js sandbox that give V8's bits: QuickJS takes them from musl's libm,
 * V8 from fdlibm (src/base/ieee754.cc), and the two differ in the last bit for some inputs
 * (measured: exp 190 of 2000, log 2 of 2000). These are fdlibm's e_exp.c and e_log.c as V8
 * has them, so that a function's output in the sandbox is the one it gives in Node. Checked
 * against V8 in test/js.test.ts. The rest of Math (sin, pow, ...) is still musl's: donors agree
 * with one another, and may differ from Node in the last bit.
 *
 * exp and log are translated from fdlibm, whose notice follows:
 * ====================================================
 * Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
 *
 * Developed at SunSoft, a Sun Microsystems, Inc. business.
 * Permission to use, copy, modify, and distribute this
 * software is freely granted, provided that this notice
 * is preserved.
 * ====================================================
 */
export const MATH_PRELUDE = String.raw`
  const words = new DataView(new ArrayBuffer(8))
  const high = (x) => { words.setFloat64(0, x); return words.getInt32(0) }
  const low = (x) => { words.setFloat64(0, x); return words.getUint32(4) }
  const fromWords = (hi, lo) => { words.setInt32(0, hi); words.setUint32(4, lo); return words.getFloat64(0) }

  const LN2_HI = 6.93147180369123816490e-01
  const LN2_LO = 1.90821492927058770002e-10
  const INV_LN2 = 1.44269504088896338700e+00
  const TWO_M1000 = 9.33263618503218878990e-302
  const P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03, P3 = 6.61375632143793436117e-05
  const P4 = -1.65339022054652515390e-06, P5 = 4.13813679705723846039e-08
  function exp(value) {
    let x = Number(value)
    let hi = 0, lo = 0, k = 0
    let hx = high(x)
    const xsb = (hx >>> 31) & 1
    hx &= 0x7fffffff
    if (hx >= 0x40862e42) {
      if (hx >= 0x7ff00000) {
        if (((hx & 0xfffff) | low(x)) !== 0) return x + x
        return xsb === 0 ? x : 0
      }
      if (x > 7.09782712893383973096e+02) return Infinity
      if (x < -7.45133219101941108420e+02) return 0
    }
    if (hx > 0x3fd62e42) {
      if (hx < 0x3ff0a2b2) {
        if (x === 1) return Math.E // as V8 has it: the reduction below gets its last bit wrong
        hi = xsb === 0 ? x - LN2_HI : x + LN2_HI
        lo = xsb === 0 ? LN2_LO : -LN2_LO
        k = 1 - xsb - xsb
      } else {
        k = Math.trunc(INV_LN2 * x + (xsb === 0 ? 0.5 : -0.5))
        hi = x - k * LN2_HI
        lo = k * LN2_LO
      }
      x = hi - lo
    } else if (hx < 0x3e300000) {
      return 1 + x
    }
    const t = x * x
    const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))))
    if (k === 0) return 1 - ((x * c) / (c - 2) - x)
    const y = 1 - ((lo - (x * c) / (2 - c)) - hi)
    if (k >= -1021) {
      if (k === 1024) return y * 2 * fromWords(0x7fe00000, 0)
      return y * fromWords(0x3ff00000 + (k << 20), 0)
    }
    return y * fromWords(0x3ff00000 + ((k + 1000) << 20), 0) * TWO_M1000
  }

  const TWO54 = 1.80143985094819840000e+16
  const LG1 = 6.666666666666735130e-01, LG2 = 3.999999999940941908e-01, LG3 = 2.857142874366239149e-01
  const LG4 = 2.222219843214978396e-01, LG5 = 1.818357216161805012e-01, LG6 = 1.531383769920937332e-01
  const LG7 = 1.479819860511658591e-01
  function log(value) {
    let x = Number(value)
    let hx = high(x)
    const lx = low(x)
    let k = 0
    if (hx < 0x00100000) {
      if (((hx & 0x7fffffff) | lx) === 0) return -Infinity
      if (hx < 0) return NaN
      k -= 54
      x *= TWO54
      hx = high(x)
    }
    if (hx >= 0x7ff00000) return x + x
    k += (hx >> 20) - 1023
    hx &= 0x000fffff
    const i = (hx + 0x95f64) & 0x100000
    x = fromWords(hx | (i ^ 0x3ff00000), low(x))
    k += i >> 20
    const f = x - 1
    if ((0x000fffff & (2 + hx)) < 3) {
      if (f === 0) return k === 0 ? 0 : k * LN2_HI + k * LN2_LO
      const R = f * f * (0.5 - 0.33333333333333333 * f)
      return k === 0 ? f - R : k * LN2_HI - ((R - k * LN2_LO) - f)
    }
    const s = f / (2 + f)
    const dk = k
    const z = s * s
    let j = hx - 0x6147a
    const w = z * z
    const j2 = 0x6b851 - hx
    const t1 = w * (LG2 + w * (LG4 + w * LG6))
    const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)))
    j |= j2
    const R = t2 + t1
    if (j > 0) {
      const hfsq = 0.5 * f * f
      return k === 0 ? f - (hfsq - s * (hfsq + R)) : dk * LN2_HI - ((hfsq - (s * (hfsq + R) + dk * LN2_LO)) - f)
    }
    return k === 0 ? f - s * (f - R) : dk * LN2_HI - ((s * (f - R) - dk * LN2_LO) - f)
  }

  Object.defineProperty(Math, 'exp', { value: exp, writable: true, configurable: true })
  Object.defineProperty(Math, 'log', { value: log, writable: true, configurable: true })
`
