/**
 * Frames for fuzzing a live peer: random bytes, and well-formed swarmgrid messages that are
 * then mutated (bits flipped, cut short, grown, spliced, varints inflated, types and channels
 * changed). Each frame comes with the verdict of an oracle that decodes it with the same
 * codecs: `malformed` when the peer must close the connection for it, `unknown` when the
 * frame is a control frame whose effect the oracle does not model.
 */
import c from 'compact-encoding'
import * as wire from '../../node/protocol/wire.js'
import { mulberry32 } from '../../sim/seeded-random.js'

export type Verdict = 'well-formed' | 'malformed' | 'unknown'
export interface FuzzFrame { bytes: Uint8Array; verdict: Verdict; kind: string; mutated: boolean }

/** The message types of the swarmgrid channel, in the order the channel adds them. */
const CODECS: Array<wire.Encoding<any>> = [wire.hello, wire.want, wire.assign, wire.progress, wire.result, wire.failure, wire.cancel, wire.verdict]

/** A small seeded PRNG (mulberry32), so a failing run can be replayed from its seed. */
export class Random {
  readonly next: () => number
  constructor(seed: number) { this.next = mulberry32(seed) }
  int(below: number): number { return Math.floor(this.next() * below) }
  pick<T>(items: readonly T[]): T { return items[this.int(items.length)] }
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i++) out[i] = this.int(256)
    return out
  }
  /** Mostly small numbers, sometimes the edges a codec must refuse. */
  uint(): number { return this.pick([0, 1, 2, 7, 255, 4096, 4097, 65536, 2 ** 32, 2 ** 53 - 1, this.int(1000)]) }
  string(max: number): string { return 'x'.repeat(this.pick([0, 1, max, max + 1, this.int(max)])) }
}

/** A message of `type` with fields drawn near and past their bounds. */
function message(random: Random, type: number): unknown {
  const lease = random.uint()
  const payload = () => random.bytes(random.pick([0, 1, 16, 200]))
  switch (type) {
    case 0: return { version: random.pick([wire.PROTOCOL_VERSION, random.uint()]), roles: random.int(5), threads: random.uint(),
      tasks: Array.from({ length: random.pick([0, 1, 3, 65]) }, () => ({ name: random.string(wire.LIMITS.taskName), version: random.int(3) })) }
    case 1: return { slots: random.pick([0, 1, 4, wire.LIMITS.slots, wire.LIMITS.slots + 1]) }
    case 2: return { job: random.string(wire.LIMITS.jobId), task: random.string(wire.LIMITS.taskName), taskVersion: random.int(3),
      deadlineMs: random.uint(), units: Array.from({ length: random.pick([0, 1, 3]) }, () => ({ lease: random.uint(), unit: random.uint(), input: payload() })),
      expires: random.uint(), signer: random.bytes(random.pick([0, 32, 31])), signature: random.bytes(random.pick([0, 64])) }
    case 3: return { lease, fraction: random.pick([0, 0.5, 1, 1.5, -1, Number.NaN]) }
    case 4: return { lease, runMs: random.uint(), output: payload(), cpuMs: random.uint(), speed: random.uint() }
    case 5: return { lease, kind: random.pick(['error', 'timeout', 'memory', 'handback']), reason: random.string(wire.LIMITS.reason) }
    case 6: return { lease }
    default: return { lease, accepted: random.next() < 0.5 }
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

function mutate(random: Random, bytes: Uint8Array): { bytes: Uint8Array; how: string } {
  const copy = Uint8Array.from(bytes)
  const at = () => random.int(Math.max(1, copy.length))
  switch (random.int(7)) {
    case 0: return { bytes: copy, how: 'none' }
    case 1: {
      for (let i = random.int(4) + 1; i > 0 && copy.length > 0; i--) copy[at()] ^= 1 << random.int(8)
      return { bytes: copy, how: 'bit flips' }
    }
    case 2: return { bytes: copy.subarray(0, at()), how: 'cut short' }
    case 3: return { bytes: concat(copy, random.bytes(random.int(16) + 1)), how: 'grown' }
    case 4: {
      const start = at()
      return { bytes: concat(copy.subarray(0, start), random.bytes(random.int(8)), copy.subarray(start + random.int(8))), how: 'spliced' }
    }
    case 5: {
      const start = at()
      return { bytes: concat(copy.subarray(0, start), new Uint8Array([0xfc, 0xff, 0xff, 0xff, 0xff]), copy.subarray(start + 1)), how: 'varint inflated' }
    }
    default: return { bytes: copy.subarray(0, 0), how: 'emptied' }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) { out.set(part, offset); offset += part.length }
  return out
}

/** What the peer makes of `payload` as a message of `type` on its swarmgrid channel. */
function judge(type: number, payload: Uint8Array): Verdict {
  if (type >= CODECS.length) return 'malformed'
  try {
    wire.decodeMessage(CODECS[type], payload)
    return 'well-formed'
  } catch {
    return 'malformed'
  }
}

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
    case 1: return { slots: random.int(wire.LIMITS.slots + 1) }
    case 3: return { lease, fraction: random.next() }
    case 6: return { lease }
    default: return { lease, accepted: random.next() < 0.5 }
  }
}

/**
 * One frame for the channel the fuzzer opened (local id `channel`): with probability `benign`
 * a message drawn at random from the schema of those the target must take from anyone
 * (`harmless`: want and progress for a coordinator), else random bytes or a mutated message of
 * any type.
 */
export function fuzzFrame(random: Random, channel: number, benign = 0, harmless = HARMLESS_TO_COORDINATOR): FuzzFrame {
  if (random.next() < benign) {
    const type = random.pick(harmless)
    return { bytes: concat(header(channel, type), wire.encodeMessage(CODECS[type], drawn(random, type))), verdict: 'well-formed', kind: `drawn ${type}`, mutated: false }
  }
  const roll = random.next()
  if (roll < 0.1) {
    const bytes = random.bytes(random.int(300) + 1)
    return { bytes, verdict: 'unknown', kind: 'random bytes', mutated: true }
  }
  if (roll < 0.15) {
    return { bytes: concat(header(channel + 1 + random.int(50), random.int(8)), random.bytes(random.int(40))), verdict: 'malformed', kind: 'unknown channel', mutated: true }
  }
  if (roll < 0.2) {
    return { bytes: concat(header(channel, 8 + random.int(200)), random.bytes(random.int(40))), verdict: 'malformed', kind: 'unknown type', mutated: true }
  }
  // Past hello, only the harmless types are sure to be taken; others break rules the oracle does not model.
  const type = random.pick([...harmless, ...CODECS.keys()])
  const { bytes: payload, how } = mutate(random, encode(random, type))
  const verdict = judge(type, payload)
  return { bytes: concat(header(channel, type), payload), verdict: verdict === 'well-formed' && !harmless.includes(type) ? 'unknown' : verdict, kind: `${how} ${type}`, mutated: true }
}
