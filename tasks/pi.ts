/**
 * pi: Monte Carlo estimate from points drawn in the unit square. The samples are cut into
 * fixed blocks whose random streams depend only on (seed, block index), and a unit is a run
 * of whole blocks, so the result is the same however many units the job is split into.
 */
import { paramSchema, type Params, type RunContext, type TaskModule } from './contract.js'
import { checkInput, evenRuns, isSafeInt, numberParam, rejectUnknown, unitCount } from './params.js'

export interface PiInput {
  seed: number
  block: number
  blocks: number
  samples: number
}
export interface PiOutput {
  inside: number
  samples: number
}
export interface PiResult {
  pi: number
  inside: number
  samples: number
}

export const params = {
  samples: 'number of random points (integer >= 1, required)',
  seed: 'seed of the random streams (integer >= 0, default 1)'
}

/** Samples per block: the granularity of units, and of reseeding. Changing it changes results. */
export const BLOCK = 1 << 16

const TWO_32 = 0x1_0000_0000

export const schema = paramSchema(params, {
  samples: { type: 'integer', minimum: 1, required: true },
  seed: { type: 'integer', minimum: 0, default: 1 }
})

function parse(p: Params): { samples: number; seed: number } {
  rejectUnknown('pi', p, params)
  const samples = numberParam('pi', p, 'samples', { hint: 'an integer >= 1', min: 1 })
  const seed = numberParam('pi', p, 'seed', { hint: 'an integer >= 0', default: 1 })
  return { samples, seed }
}

// The murmur3 finaliser: every input bit affects every output bit.
function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Initial state of a block's stream; seed and block are up to 2^53, so both halves count. */
export function blockState(seed: number, block: number): number {
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9)
  h = fmix32(h ^ Math.floor(seed / TWO_32))
  h = fmix32(h ^ (block >>> 0))
  return fmix32(h ^ Math.floor(block / TWO_32) ^ 0x7f4a7c15)
}

/** Points of one block that fall inside the quarter circle (splitmix32 stream). */
function insideOfBlock(seed: number, block: number, n: number): number {
  let state = blockState(seed, block)
  let inside = 0
  for (let i = 0; i < n; i++) {
    // Inlined splitmix32 twice: a closure call per number would double the run time.
    state = (state + 0x9e3779b9) | 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    const x = ((z ^ (z >>> 16)) >>> 0) / TWO_32
    state = (state + 0x9e3779b9) | 0
    z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    const y = ((z ^ (z >>> 16)) >>> 0) / TWO_32
    if (x * x + y * y < 1) inside++
  }
  return inside
}

const pi: TaskModule<PiInput, PiOutput, PiResult> & { params: typeof params } = {
  name: 'pi',
  version: 1,
  params,
  schema,

  // Not a generator itself: bad params must throw when split is called, not on first next().
  split(p: Params, units: number): Iterable<PiInput> {
    const { samples, seed } = parse(p)
    const blocks = Math.ceil(samples / BLOCK)
    const parts = Math.min(unitCount('pi', units), blocks)
    return (function* () {
      for (const run of evenRuns(blocks, parts)) {
        const end = Math.min(samples, (run.start + run.size) * BLOCK)
        yield { seed, block: run.start, blocks: run.size, samples: end - run.start * BLOCK }
      }
    })()
  },

  run(input: PiInput, ctx: RunContext): PiOutput {
    const { seed, block, blocks, samples } = input ?? {}
    checkInput(
      'pi',
      isSafeInt(seed) &&
        isSafeInt(block) &&
        isSafeInt(blocks, 1) &&
        isSafeInt(samples, 1) &&
        samples > (blocks - 1) * BLOCK &&
        samples <= blocks * BLOCK
    )
    let inside = 0
    for (let b = 0; b < blocks; b++) {
      inside += insideOfBlock(seed, block + b, Math.min(BLOCK, samples - b * BLOCK))
      if ((b & 15) === 15) ctx.progress((b + 1) / blocks)
    }
    return { inside, samples }
  },

  merge(outputs: PiOutput[], p: Params): PiResult {
    let inside = 0
    let samples = 0
    for (const o of outputs) {
      inside += o.inside
      samples += o.samples
    }
    // A missing or doubled unit would still give a plausible pi; refuse it instead.
    const expected = parse(p).samples
    if (samples !== expected) throw new Error(`pi: units cover ${samples} samples, the job asked for ${expected}`)
    return { pi: (4 * inside) / samples, inside, samples }
  }
}

export default pi
