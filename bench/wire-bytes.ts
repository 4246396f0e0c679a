/**
 * Bytes on the wire per unit, counted from the codecs themselves and the framing of each
 * layer under them. The layers' constants come from the packages in node_modules (checked
 * against protomux 3.12, @hyperswarm/secret-stream 6.9, libudx), not from measurement:
 *
 *   protomux, one message alone: uint channel id + uint message type, then the message
 *   protomux, corked batch:      0x00 0x00 + uint channel id once, then per message a uint
 *                                length + uint type + the message
 *   secret-stream, per write:    3-byte little-endian length + libsodium secretstream ABYTES
 *                                (1 encrypted tag byte + 16-byte Poly1305 MAC = 17)
 *   UDX over UDP/IPv4, per packet: 20-byte UDX header + 8 UDP + 20 IPv4, and every data
 *                                packet is acknowledged by one more such header
 */
import { createRequire } from 'node:module'
import c from 'compact-encoding'
import * as wire from '../node/protocol/wire.js'
import { encodeValue } from '../tasks/values.js'

const require = createRequire(import.meta.url)

/** secret-stream's per-write overhead: its length prefix plus the AEAD's added bytes. */
function secretStreamOverhead(): number {
  let abytes = 17
  try {
    abytes = (require('sodium-native') as { crypto_secretstream_xchacha20poly1305_ABYTES: number })
      .crypto_secretstream_xchacha20poly1305_ABYTES
  } catch {
    /* sodium-javascript build: the same constant */
  }
  return 3 + abytes
}

export const FRAMING = {
  /** One message sent alone: channel id 1 and a message type below 253 take a byte each. */
  protomux: c.encode(c.uint, 1).byteLength + c.encode(c.uint, 7).byteLength,
  secretStream: secretStreamOverhead(),
  udxPacket: 20 + 8 + 20
}

export interface WireRow {
  message: string
  direction: string
  payload: number
  frame: number
  packet: number
}

export interface WireFigure {
  inputBytes: number
  outputBytes: number
  rows: WireRow[]
  /** Per unit when units go one at a time, every message its own frame and packet (long units). */
  perUnit: { payload: number; frame: number; packets: number }
  /** Per unit when `batch` units go out in one assign and their results, verdicts and the next want come back corked, as short units do. */
  batched: { batch: number; frame: number }
  /** What a submitter's signature adds to each assign (one per batch). */
  signedAssignExtra: number
}

/**
 * The messages one unit costs at quorum 1 on a donor that asks again for each unit it
 * finishes: want, assign, one progress report (a unit's first ctx.progress call is always
 * forwarded), result, verdict. `input` and `output` are task values, encoded as the grid does.
 */
export function wireFigure(input: unknown, output: unknown, batch = 64): WireFigure {
  const inputBytes = encodeValue(input)
  const outputBytes = encodeValue(output)
  // Ids as a job of a few hundred thousand units has them: leases and units past 65,535 take 5 bytes.
  const lease = 100_000
  const unit = (i: number) => ({ lease: lease + i, unit: 99_999 + i, input: inputBytes })
  const assignOf = (count: number, signed: boolean) => ({
    job: '0123456789abcdef',
    task: 'primes',
    taskVersion: 1,
    deadlineMs: 300_000,
    units: Array.from({ length: count }, (_, i) => unit(i)),
    expires: signed ? 1_800_000_000_000 : 0,
    signer: new Uint8Array(signed ? 32 : 0),
    signature: new Uint8Array(signed ? 64 : 0)
  })
  const result = { lease, runMs: 30, output: outputBytes, cpuMs: 30, speed: 1000 }
  const encode = <T>(enc: wire.Encoding<T>, msg: object) => wire.encodeMessage(enc, msg as T)
  const messages: Array<[string, string, Uint8Array]> = [
    ['want', 'donor → coordinator', encode(wire.want, { slots: 1 })],
    ['assign (signed)', 'coordinator → donor', encode(wire.assign, assignOf(1, true))],
    ['progress', 'donor → coordinator', encode(wire.progress, { lease, fraction: 0.5 })],
    ['result', 'donor → coordinator', encode(wire.result, result)],
    ['verdict', 'coordinator → donor', encode(wire.verdict, { lease, accepted: true })]
  ]
  const signedExtra = messages[1][2].byteLength - encode(wire.assign, assignOf(1, false)).byteLength
  const rows = messages.map(([message, direction, bytes]) => {
    const frame = bytes.byteLength + FRAMING.protomux + FRAMING.secretStream
    return { message, direction, payload: bytes.byteLength, frame, packet: frame + FRAMING.udxPacket }
  })
  const sum = (f: (r: WireRow) => number) => rows.reduce((total, r) => total + f(r), 0)
  // Batched: one signed assign of `batch` units and one want per batch; per unit a result and
  // a verdict; each message in a corked frame pays its length prefix and type, and the two
  // frames (one each way) share the batch header and the encryption. Progress coalesces away.
  const inBatch = (bytes: number) => bytes + c.encode(c.uint, bytes + 1).byteLength + 1
  const assignBytes = encode(wire.assign, assignOf(batch, true)).byteLength
  const perBatch = inBatch(assignBytes) + inBatch(encode(wire.want, { slots: batch }).byteLength) + 2 * (2 + 1 + FRAMING.secretStream)
  const perUnitInBatch = inBatch(messages[3][2].byteLength) + inBatch(messages[4][2].byteLength)
  return {
    inputBytes: inputBytes.byteLength,
    outputBytes: outputBytes.byteLength,
    rows,
    // Each data packet draws an acknowledgement: a bare header the other way.
    perUnit: {
      payload: sum((r) => r.payload),
      frame: sum((r) => r.frame),
      packets: sum((r) => r.packet) + rows.length * FRAMING.udxPacket
    },
    batched: { batch, frame: perBatch / batch + perUnitInBatch },
    signedAssignExtra: signedExtra
  }
}
