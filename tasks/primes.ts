/**
 * primes: how many primes lie in [from, to). Units are contiguous sub-ranges, each counted
 * with an odd-only segmented sieve of Eratosthenes.
 */
import { paramSchema, type Params, type RunContext, type TaskModule } from './contract.js'
import { checkInput, evenRuns, isSafeInt, numberParam, rejectUnknown, unitCount } from './params.js'

export interface PrimesInput {
  from: number
  to: number
}
export interface PrimesOutput {
  count: number
}

export const params = {
  from: 'first number of the range, inclusive (integer >= 0, default 0)',
  to: 'end of the range, exclusive (integer > from, required)'
}

// 2^18 odd numbers = 256 KiB of sieve: big enough to amortise the walk over the base
// primes, small enough to stay in L2.
const SEGMENT = 1 << 18

export const schema = paramSchema(params, {
  from: { type: 'integer', minimum: 0, default: 0 },
  to: { type: 'integer', minimum: 1, required: true }
})

function parse(p: Params): PrimesInput {
  rejectUnknown('primes', p, params)
  const from = numberParam('primes', p, 'from', { hint: 'an integer >= 0', default: 0 })
  const to = numberParam('primes', p, 'to', { hint: from === 0 ? 'an integer > 0' : `an integer > from=${from}`, min: from + 1 })
  return { from, to }
}

/** Odd primes up to `limit` inclusive (2 is handled by the caller). */
function oddPrimesUpTo(limit: number): Float64Array {
  if (limit < 3) return new Float64Array(0)
  // Index i stands for 2i+1; only odd numbers are stored, halving memory for large `to`.
  const n = Math.floor((limit - 1) / 2) + 1
  const composite = new Uint8Array(n)
  let found = 0
  for (let i = 1; i < n; i++) {
    if (composite[i]) continue
    found++
    const p = 2 * i + 1
    for (let j = (p * p - 1) / 2; j < n; j += p) composite[j] = 1
  }
  const primes = new Float64Array(found)
  for (let i = 1, k = 0; i < n; i++) if (!composite[i]) primes[k++] = 2 * i + 1
  return primes
}

/** Largest integer whose square is <= n, exact where Math.sqrt may round up near 2^53. */
function isqrt(n: number): number {
  let r = Math.floor(Math.sqrt(n))
  while (r * r > n) r--
  while ((r + 1) * (r + 1) <= n) r++
  return r
}

export function countPrimes(from: number, to: number, progress?: (fraction: number) => void): number {
  let count = from <= 2 && to > 2 ? 1 : 0
  let lo = Math.max(from, 3)
  if (lo % 2 === 0) lo++
  if (lo >= to) return count
  const base = oddPrimesUpTo(isqrt(to - 1))
  const segment = new Uint8Array(SEGMENT)
  const span = to - lo
  for (let segLo = lo; segLo < to; segLo += 2 * SEGMENT) {
    // Slot j of this segment stands for the odd number segLo + 2j.
    const n = Math.min(SEGMENT, Math.floor((to - segLo + 1) / 2))
    const segHi = segLo + 2 * (n - 1)
    segment.fill(0, 0, n)
    for (let k = 0; k < base.length; k++) {
      const p = base[k]
      if (p * p > segHi) break
      // First odd multiple of p at or above segLo, but never p itself; `%` is exact on
      // integers where `Math.ceil(segLo / p)` might round.
      const r = segLo % p
      let m = r === 0 ? segLo : segLo + (p - r)
      if (m % 2 === 0) m += p
      if (m < p * p) m = p * p
      for (let j = (m - segLo) / 2; j < n; j += p) segment[j] = 1
    }
    for (let j = 0; j < n; j++) count += segment[j] ^ 1
    progress?.((segHi + 1 - lo) / span)
  }
  return count
}

const primes: TaskModule<PrimesInput, PrimesOutput, PrimesOutput> & { params: typeof params } = {
  name: 'primes',
  version: 1,
  params,
  schema,

  // Not a generator itself: bad params must throw when split is called, not on first next().
  split(p: Params, units: number): Iterable<PrimesInput> {
    const { from, to } = parse(p)
    const parts = Math.min(unitCount('primes', units), to - from)
    return (function* () {
      for (const run of evenRuns(to - from, parts)) {
        yield { from: from + run.start, to: from + run.start + run.size }
      }
    })()
  },

  run(input: PrimesInput, ctx: RunContext): PrimesOutput {
    checkInput('primes', isSafeInt(input?.from) && isSafeInt(input?.to) && input.from <= input.to)
    return { count: countPrimes(input.from, input.to, (f) => ctx.progress(f)) }
  },

  merge(outputs: PrimesOutput[]): PrimesOutput {
    let count = 0
    for (const o of outputs) count += o.count
    return { count }
  }
}

export default primes
