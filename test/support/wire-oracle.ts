/**
 * A second reading of swarmgrid's wire format, written from its schema byte by byte and sharing
 * no code with node/protocol/wire.ts, so that a bound dropped or a field misread there shows up
 * as a disagreement. Only compact-encoding's primitives are taken as given (their forms are the
 * format's definition): a uint is one byte up to 0xfc, else 0xfd/0xfe/0xff and 2/4/8 bytes
 * little-endian, at most 2^53 - 1; a string or byte string is a uint length and the bytes; a float64 is 8 bytes
 * little-endian; a bool is one byte, 1 meaning true.
 *
 * `judgeFrame` goes on to what a peer must do with a whole protomux frame in the session the
 * fuzzer holds (its hello said, its one channel open): the rules of channel.ts, peer.ts and
 * lease-routes.ts as the README states them.
 */
import { LIMITS, ROLE_COORDINATOR, ROLE_DONOR } from '../../node/protocol/wire.js'
import { RUN_SPAN } from '../../node/store/lease-log.js'

export class Refused extends Error {}

const refuse = (what: string): never => {
  throw new Refused(what)
}

class Reader {
  private at = 0
  constructor(private readonly bytes: Uint8Array) {}

  private take(n: number): Uint8Array {
    if (this.bytes.byteLength - this.at < n) refuse('out of bounds')
    const out = this.bytes.subarray(this.at, this.at + n)
    this.at += n
    return out
  }

  uint(): number {
    const first = this.take(1)[0]
    const width = first <= 0xfc ? 0 : first === 0xfd ? 2 : first === 0xfe ? 4 : 8
    if (width === 0) return first
    let value = 0n
    const bytes = this.take(width)
    for (let i = width - 1; i >= 0; i--) value = value * 256n + BigInt(bytes[i])
    return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : refuse('uint past 2^53 - 1')
  }

  blob(): Uint8Array {
    return this.take(this.uint())
  }
  string(): string {
    return Buffer.from(this.blob()).toString('utf8')
  }
  float64(): number {
    return Buffer.from(this.take(8)).readDoubleLE(0)
  }
  bool(): boolean {
    return this.take(1)[0] === 1
  }
  lease(): number {
    const id = this.uint()
    return id > 0 ? id : refuse('lease 0')
  }
  boundedUint(max: number, what: string): number {
    const n = this.uint()
    return n <= max ? n : refuse(what)
  }
  boundedString(max: number, what: string): string {
    const s = this.string()
    return s.length <= max ? s : refuse(what)
  }
  /** A name or id: bounded, and with no control character at all. */
  name(max: number, what: string): string {
    const s = this.boundedString(max, what)
    return [...s].some(unprintable) ? refuse(`${what} with a control character`) : s
  }
  /** Free text: bounded, each run of control characters read as one space. */
  text(max: number, what: string): string {
    let out = ''
    let inRun = false
    for (const ch of this.boundedString(max, what)) {
      if (!unprintable(ch)) {
        out += ch
        inRun = false
      } else if (!inRun) {
        out += ' '
        inRun = true
      }
    }
    return out
  }
  hash(): Uint8Array {
    const b = this.blob()
    return b.byteLength === 32 ? b : refuse('hash')
  }
  boundedBlob(max: number, what: string): Uint8Array {
    const b = this.blob()
    return b.byteLength <= max ? b : refuse(what)
  }
  count(max: number, what: string): number {
    return this.boundedUint(max, what)
  }
  remaining(): number {
    return this.bytes.byteLength - this.at
  }
  end(): void {
    if (this.remaining() !== 0) refuse('trailing bytes')
  }
}

export const MESSAGE_TYPES = ['hello', 'want', 'assign', 'progress', 'result', 'failure', 'cancel', 'verdict', 'fetch', 'piece'] as const
/** error, timeout, memory, handback, refused, output. */
const FAILURE_KINDS = 6

/** C0 and C1 controls, DEL, and the marks and overrides that reorder text. */
function unprintable(ch: string): boolean {
  const code = ch.codePointAt(0)!
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  )
}

type Parsed = Record<string, unknown>

const parsers: Array<(r: Reader) => Parsed> = [
  (r) => {
    const version = r.uint()
    const roles = r.boundedUint(ROLE_DONOR | ROLE_COORDINATOR, 'roles')
    const threads = r.boundedUint(LIMITS.threads, 'threads')
    const tasks = Array.from({ length: r.count(LIMITS.taskKinds, 'task kinds') }, () => ({
      name: r.name(LIMITS.taskName, 'task name'),
      version: r.uint()
    }))
    return { version, roles, threads, tasks }
  },
  (r) => ({ slots: r.boundedUint(LIMITS.slots, 'slots') }),
  (r) => {
    const job = r.name(LIMITS.jobId, 'job id')
    const task = r.name(LIMITS.taskName, 'task')
    const taskVersion = r.uint()
    const deadlineMs = r.uint()
    if (deadlineMs === 0 || deadlineMs > LIMITS.deadlineMs) refuse('deadline')
    const units = Array.from({ length: r.count(LIMITS.unitsPerAssign, 'units') }, () => ({
      lease: r.lease(),
      unit: r.uint(),
      input: r.boundedBlob(LIMITS.payload, 'input')
    }))
    const expires = r.uint()
    const signer = r.blob()
    const signature = r.blob()
    if (signer.byteLength !== 0 && signer.byteLength !== 32) refuse('signer')
    if (signature.byteLength !== 0 && signature.byteLength !== 64) refuse('signature')
    if ((signer.byteLength === 0) !== (signature.byteLength === 0)) refuse('signer without signature')
    if (units.length === 0) refuse('no units')
    return { job, task, taskVersion, deadlineMs, units, expires, signer, signature }
  },
  (r) => {
    const lease = r.lease()
    const fraction = r.float64()
    return fraction >= 0 && fraction <= 1 ? { lease, fraction } : refuse('fraction')
  },
  (r) => ({
    lease: r.lease(),
    runMs: r.uint(),
    output: r.boundedBlob(LIMITS.payload, 'output'),
    cpuMs: r.boundedUint(LIMITS.deadlineMs, 'cpu time'),
    speed: r.boundedUint(LIMITS.speed, 'speed')
  }),
  (r) => ({ lease: r.lease(), kind: r.boundedUint(FAILURE_KINDS - 1, 'failure kind'), reason: r.text(LIMITS.reason, 'reason') }),
  (r) => ({ lease: r.lease() }),
  (r) => ({ lease: r.lease(), accepted: r.bool() }),
  (r) => ({ hash: r.hash() }),
  (r) => {
    const hash = r.hash()
    const offset = r.uint()
    const total = r.uint()
    if (total === 0 || total > LIMITS.sharedBytes) refuse('shared bytes size')
    const bytes = r.blob()
    if (bytes.byteLength === 0 || bytes.byteLength > LIMITS.pieceBytes) refuse('piece size')
    if (offset + bytes.byteLength > total) refuse('piece past the end')
    return { hash, offset, total, bytes }
  }
]

/** The message of `type` in `payload`, or a Refused error when the format does not allow it. */
export function parseMessage(type: number, payload: Uint8Array): Parsed {
  const parse = parsers[type] ?? refuse(`message type ${type}`)
  const reader = new Reader(payload)
  const message = parse(reader)
  reader.end()
  return message
}

export type Verdict = 'well-formed' | 'malformed' | 'unknown'

/** The peer the fuzzer talks to, and what it knows of its lease ids. */
export interface Target {
  coordinates: boolean
  donates: boolean
  /** This run's lease ids lie in [first, end): below it are earlier runs' (stale), past it none was ever issued. */
  leases: { first: number; end: number }
}

/**
 * What `target` must do with one whole frame on a connection whose hello is said and whose
 * swarmgrid channel is the fuzzer's channel `channel`: take it, or close the connection
 * ('unknown' where the outcome depends on state the oracle does not see).
 */
export function judgeFrame(frame: Uint8Array, channel: number, target: Target): Verdict {
  const reader = new Reader(frame)
  let id: number, type: number
  try {
    id = reader.uint()
    type = reader.uint()
  } catch {
    return 'malformed'
  }
  // Channel 0 carries protomux's own control frames: open, reject, close, batch (types 0 to 3).
  if (id === 0) return type > 3 ? 'malformed' : 'unknown'
  if (id !== channel || type >= MESSAGE_TYPES.length) return 'malformed'
  let message: Parsed
  try {
    message = parseMessage(type, frame.subarray(frame.byteLength - reader.remaining()))
  } catch (err) {
    if (err instanceof Refused) return 'malformed'
    throw err
  }
  const name = MESSAGE_TYPES[type]
  if (name === 'hello') return 'malformed' // a second hello (whatever its version)
  const forCoordinator = name === 'want' || name === 'progress' || name === 'result' || name === 'failure' || name === 'fetch'
  if (forCoordinator ? !target.coordinates : !target.donates) return 'malformed'
  if (name === 'want' || name === 'cancel' || name === 'verdict') return 'well-formed'
  // Whether a fetch names a job the sender holds leases of, or a piece one this donor asked for, is state the oracle does not see.
  if (name === 'fetch' || name === 'piece') return 'unknown'
  if (name === 'assign') return 'unknown' // signatures, jobs and task kinds: the donor's own checks
  const lease = message.lease as number
  // Below this run's ids a lease may be an earlier run's: late, not a lie (a session sends far fewer than MAX_STALE).
  if (lease < target.leases.first) return 'well-formed'
  if (lease >= target.leases.end) return 'malformed'
  return 'unknown'
}

/** The lease ids of a coordinator on a fresh data dir: its first run is run 1 (node/store/lease-log.ts). */
export function freshLeases(): Target['leases'] {
  return { first: RUN_SPAN, end: 2 * RUN_SPAN }
}
