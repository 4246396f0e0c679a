/**
 * Frames for fuzzing a live peer: random bytes, and well-formed swarmgrid messages that are
 * then mutated (bits flipped, cut short, grown, spliced, varints inflated, types and channels
 * changed). Each frame comes with the verdict of the oracle in wire-oracle.ts, which reads the
 * bytes with a parser of its own (not node/protocol/wire.ts) and knows the target's roles and
 * lease ids: `malformed` when the peer must close the connection for it, `well-formed` when it
 * must take it, `unknown` only where the outcome hangs on state the oracle does not see.
 */
import c from 'compact-encoding'
import { concatBytes } from '../../base/bytes.js'
import * as wire from '../../node/protocol/wire.js'
import { mulberry32 } from '../../sim/seeded-random.js'
import { MESSAGE_TYPES, judgeFrame, type Target, type Verdict } from './wire-oracle.js'

export type { Target, Verdict }
/** `tags` say what the frame is made of, so a campaign can require enough of each. */
export interface FuzzFrame {
  bytes: Uint8Array
  verdict: Verdict
  kind: string
  mutated: boolean
  tags: string[]
}

/** The message types of the swarmgrid channel, in the order the channel adds them. */
export const CODECS: Array<wire.Encoding<any>> = [
  wire.hello,
  wire.want,
  wire.assign,
  wire.progress,
  wire.result,
  wire.failure,
  wire.cancel,
  wire.verdict,
  wire.fetch,
  wire.piece
]

/** A small seeded PRNG (mulberry32), so a failing run can be replayed from its seed. */
export class Random {
  readonly next: () => number
  constructor(seed: number) {
    this.next = mulberry32(seed)
  }
  int(below: number): number {
    return Math.floor(this.next() * below)
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]
  }
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i++) out[i] = this.int(256)
    return out
  }
  /** Mostly small numbers, sometimes the edges a codec must refuse. */
  uint(): number {
    return this.pick([0, 1, 2, 7, 255, 4096, 4097, 65536, 2 ** 32, 2 ** 53 - 1, this.int(1000)])
  }
  string(max: number): string {
    return 'x'.repeat(this.pick([0, 1, max, max + 1, this.int(max)]))
  }
}

/** A message of `type` with fields drawn near and past their bounds. */
function message(random: Random, type: number): unknown {
  const lease = random.uint()
  const payload = () => random.bytes(random.pick([0, 1, 16, 200]))
  switch (type) {
    case 0:
      return {
        version: random.pick([wire.PROTOCOL_VERSION, random.uint()]),
        roles: random.int(5),
        threads: random.uint(),
        tasks: Array.from({ length: random.pick([0, 1, 3, 65]) }, () => ({
          name: random.string(wire.LIMITS.taskName),
          version: random.int(3)
        }))
      }
    case 1:
      return { slots: random.pick([0, 1, 4, wire.LIMITS.slots, wire.LIMITS.slots + 1]) }
    case 2:
      return {
        job: random.string(wire.LIMITS.jobId),
        task: random.string(wire.LIMITS.taskName),
        taskVersion: random.int(3),
        deadlineMs: random.uint(),
        units: Array.from({ length: random.pick([0, 1, 3]) }, () => ({ lease: random.uint(), unit: random.uint(), input: payload() })),
        expires: random.uint(),
        signer: random.bytes(random.pick([0, 32, 31])),
        signature: random.bytes(random.pick([0, 64]))
      }
    case 3:
      return { lease, fraction: random.pick([0, 0.5, 1, 1.5, -1, Number.NaN]) }
    case 4:
      return { lease, runMs: random.uint(), output: payload(), cpuMs: random.uint(), speed: random.uint() }
    case 5:
      return { lease, kind: random.pick(['error', 'timeout', 'memory', 'handback']), reason: random.string(wire.LIMITS.reason) }
    case 6:
      return { lease }
    case 8:
      return { hash: random.bytes(random.pick([32, 32, 31, 0])) }
    case 9: {
      const total = random.pick([1, 100, wire.LIMITS.sharedBytes, wire.LIMITS.sharedBytes + 1, 0])
      return {
        hash: random.bytes(random.pick([32, 32, 33])),
        offset: random.pick([0, 0, 1, 99, total]),
        total,
        bytes: random.bytes(random.pick([1, 16, 100, 0]))
      }
    }
    default:
      return { lease, accepted: random.next() < 0.5 }
  }
}

/** Encodes leniently: a value the codec cannot encode becomes random bytes of the same type. */
function encode(random: Random, type: number): Uint8Array {
  try {
    return wire.encodeMessage(CODECS[type], message(random, type))
  } catch {
    return random.bytes(random.int(64))
  }
}

/** Every way `mutate` changes a message, so a campaign can require each of them. */
export const MUTATIONS = ['none', 'bit flips', 'cut short', 'grown', 'spliced', 'varint inflated', 'emptied'] as const

/** A message of `type` with fields near and past their bounds, then mutated. */
export function mutatedMessage(random: Random, type: number): { bytes: Uint8Array; how: string } {
  return mutate(random, encode(random, type))
}

function mutate(random: Random, bytes: Uint8Array): { bytes: Uint8Array; how: string } {
  const copy = Uint8Array.from(bytes)
  const at = () => random.int(Math.max(1, copy.length))
  switch (random.int(7)) {
    case 0:
      return { bytes: copy, how: 'none' }
    case 1: {
      for (let i = random.int(4) + 1; i > 0 && copy.length > 0; i--) copy[at()] ^= 1 << random.int(8)
      return { bytes: copy, how: 'bit flips' }
    }
    case 2:
      return { bytes: copy.subarray(0, at()), how: 'cut short' }
    case 3:
      return { bytes: concat(copy, random.bytes(random.int(16) + 1)), how: 'grown' }
    case 4: {
      const start = at()
      return { bytes: concat(copy.subarray(0, start), random.bytes(random.int(8)), copy.subarray(start + random.int(8))), how: 'spliced' }
    }
    case 5: {
      const start = at()
      return {
        bytes: concat(copy.subarray(0, start), new Uint8Array([0xfc, 0xff, 0xff, 0xff, 0xff]), copy.subarray(start + 1)),
        how: 'varint inflated'
      }
    }
    default:
      return { bytes: copy.subarray(0, 0), how: 'emptied' }
  }
}

const concat = (...parts: Uint8Array[]) => concatBytes(parts)

function header(channel: number, type: number): Uint8Array {
  return concat(c.encode(c.uint, channel), c.encode(c.uint, type))
}

/**
 * Message types a peer must take from anyone without closing the connection, by the role it
 * plays. Progress is not among them: a coordinator takes it only for a lease the sender holds.
 */
export const HARMLESS_TO_COORDINATOR: readonly number[] = [1]
export const HARMLESS_TO_DONOR: readonly number[] = [6, 7]

/** A well-formed message of a harmless type, its lease drawn at random. */
function drawn(random: Random, type: number): unknown {
  const lease = 1 + random.int(2 ** 40)
  switch (type) {
    case 1:
      return { slots: random.int(wire.LIMITS.slots + 1) }
    case 3:
      return { lease, fraction: random.next() }
    case 6:
      return { lease }
    default:
      return { lease, accepted: random.next() < 0.5 }
  }
}

/**
 * One frame for the channel the fuzzer opened (local id `channel`): with probability `benign`
 * a message drawn at random from the schema of those the target must take from anyone
 * (`harmless`: want and progress for a coordinator), else random bytes or a mutated message of
 * any type, judged by the oracle for `target`.
 */
export function fuzzFrame(random: Random, channel: number, benign: number, harmless: readonly number[], target: Target): FuzzFrame {
  if (random.next() < benign) {
    const type = random.pick(harmless)
    const bytes = concat(header(channel, type), wire.encodeMessage(CODECS[type], drawn(random, type)))
    return { bytes, verdict: judgeFrame(bytes, channel, target), kind: `drawn ${type}`, mutated: false, tags: ['drawn'] }
  }
  const judged = (bytes: Uint8Array, kind: string, tags: string[]): FuzzFrame => ({
    bytes,
    verdict: judgeFrame(bytes, channel, target),
    kind,
    mutated: true,
    tags
  })
  const roll = random.next()
  if (roll < 0.1) return judged(random.bytes(random.int(300) + 1), 'random bytes', ['random bytes'])
  if (roll < 0.15) {
    return judged(concat(header(channel + 1 + random.int(50), random.int(8)), random.bytes(random.int(40))), 'unknown channel', [
      'unknown channel'
    ])
  }
  if (roll < 0.2)
    return judged(concat(header(channel, 8 + random.int(200)), random.bytes(random.int(40))), 'unknown type', ['unknown type'])
  const type = random.pick([...harmless, ...CODECS.keys()])
  const { bytes: payload, how } = mutatedMessage(random, type)
  return judged(concat(header(channel, type), payload), `${how} ${type}`, [`mutation: ${how}`, `type: ${MESSAGE_TYPES[type]}`])
}
