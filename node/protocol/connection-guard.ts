/**
 * Two guards on every connection, below the wire protocol.
 *
 * Heartbeat: Hyperswarm peers send a keep-alive every 5 s when they have nothing else to say,
 * but nothing ends a connection whose other side has gone silent: a peer killed with SIGKILL
 * sends no FIN over UDP, and a stopped one sends nothing at all. A silence longer than a few
 * keep-alives ends the connection, which hands that peer's leases to others.
 *
 * Frame size: @hyperswarm/secret-stream reads a 3-byte length and then allocates the whole
 * message (up to 16 MiB) before it can authenticate a byte of it. The guard reads the same
 * lengths from the raw stream just before secret-stream does and ends the connection as soon as
 * a length above the limit arrives, so an oversized frame is refused before it is buffered.
 */
import { SwarmgridError } from '../../base/errors.js'
import type { SecretStream } from 'hyperswarm'
import { LIMITS } from './wire.js'

/** Hyperswarm's keep-alive interval; SWARMGRID_HEARTBEAT_MS changes it (every peer of a grid alike). */
export const DEFAULT_HEARTBEAT_MS = 5000
/** Keep-alives that may go missing before the other side is taken as gone. */
const MISSED_HEARTBEATS = 3
/**
 * How long a new connection may bring nothing from the other side. Both sides speak as soon as
 * it opens, so one that stays silent is half-open (hyperdht's hole punch can destroy the other
 * end's stream just after the handshake: docs/first-contact.md). Ending it soon lets Hyperswarm
 * dial again, and stops it from winning the pair's duplicate-connection tie-break over a live one.
 */
export const FIRST_BYTES_MS = 3000
/** Frames before the remote peer's hello: a hello is a few KiB at most. */
export const MAX_FRAME_BEFORE_HELLO = 64 * 1024
/** Frames after it: one payload and its message's other fields. */
export const MAX_FRAME = LIMITS.payload + 64 * 1024
/** What secret-stream adds to each message (a tag byte and the AEAD's MAC). */
const CIPHER_OVERHEAD = 17
const LENGTH_DONE = 0x1000000

export class OversizedFrameError extends SwarmgridError {
  override name = 'OversizedFrameError'
  constructor(message: string) {
    super('OVERSIZED_FRAME', message)
  }
}

export function oversizedFrame(length: number, limit: number): OversizedFrameError {
  return new OversizedFrameError(`frame of ${length} bytes announced, at most ${limit} accepted`)
}

export function heartbeatMs(env: NodeJS.ProcessEnv = process.env): number {
  const ms = Number(env.SWARMGRID_HEARTBEAT_MS)
  return Number.isSafeInteger(ms) && ms >= 100 ? ms : DEFAULT_HEARTBEAT_MS
}

export interface GuardOptions {
  /** Silence that ends the connection; default three of the connection's own keep-alive intervals. */
  silenceMs?: number
  /** Silence before the first byte from the other side that ends the connection; default FIRST_BYTES_MS. */
  firstBytesMs?: number
  /** The largest plaintext frame accepted now (it grows once the remote peer has said hello). */
  maxFrame: () => number
}

interface RawStream {
  prependListener(event: 'data', listener: (data: Uint8Array) => void): unknown
}

/** Secret-stream's own parser state, so the guard starts in step with it mid-stream. */
interface ParserState {
  _state: number
  _len: number
  _tmp: number
}

export function guardConnection(conn: SecretStream, options: GuardOptions): void {
  const keepAlive = (conn as unknown as { keepAlive?: number }).keepAlive || DEFAULT_HEARTBEAT_MS
  const silence = options.silenceMs ?? MISSED_HEARTBEATS * keepAlive
  const raw = ((conn as any)._rawStream ?? conn.rawStream) as RawStream | null
  if (!raw || typeof raw.prependListener !== 'function') {
    conn.setTimeout(silence)
    return
  }
  let heard = ((conn as unknown as { rawBytesRead?: number }).rawBytesRead ?? 0) > 0
  conn.setTimeout(heard ? silence : Math.min(silence, options.firstBytesMs ?? FIRST_BYTES_MS))
  const own = conn as unknown as ParserState
  let inBody = own._state === 1
  let length = own._len
  let factor = inBody ? LENGTH_DONE : own._tmp
  let received = inBody ? own._tmp : 0
  const tooLong = (): boolean => {
    const limit = options.maxFrame() + CIPHER_OVERHEAD
    if (length <= limit) return false
    conn.destroy(oversizedFrame(length - CIPHER_OVERHEAD, limit - CIPHER_OVERHEAD))
    return true
  }
  // Bytes that came before the swarm handed us the connection may have started a frame already.
  if (inBody && tooLong()) return

  raw.prependListener('data', (data: Uint8Array) => {
    if (!heard) {
      heard = true
      conn.setTimeout(silence)
    }
    let offset = 0
    while (offset < data.byteLength && !conn.destroying) {
      if (!inBody) {
        while (factor !== LENGTH_DONE && offset < data.byteLength) {
          length += factor * data[offset++]
          factor *= 256
        }
        if (factor !== LENGTH_DONE || tooLong()) return
        inBody = true
        received = 0
      }
      const take = Math.min(length - received, data.byteLength - offset)
      received += take
      offset += take
      if (received === length) {
        inBody = false
        length = 0
        factor = 1
      }
    }
  })
}
