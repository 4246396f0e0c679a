/**
 * node/protocol/ — what crosses the network between two peers: the wire messages (this file), the channel that
 * speaks them on one connection (channel.ts), the guard that bounds frames before and after hello
 * (connection-guard.ts), the links the coordinator and the donor talk through, over the network or
 * inside one peer (links.ts), and the signatures on assigns (signing.ts). It knows nothing of jobs
 * beyond their messages.
 *
 * The wire messages of the swarmgrid protocol: one compact-encoding codec per message, each
 * checking its bounds while it decodes, so that a malformed frame throws before any handler
 * sees it (protomux then destroys that one connection).
 */
import { SwarmgridError } from '../../base/errors.js'
import c from 'compact-encoding'
import type { Encoding } from 'protomux'
import { isPrintable, printable } from './printable.js'
import { MAX_VALUE_BYTES } from '../../tasks/value-limits.js'
import { MAX_TASK_NAME } from '../../tasks/contract.js'
import { HASH_BYTES, MAX_SHARED_BYTES } from '../../tasks/shared-bytes.js'
export type { Encoding }

export const PROTOCOL = 'swarmgrid/1'
/**
 * 2: assign carries the submitter's signature, result its CPU time and the donor's speed, failure may be 'refused'.
 * 3: assign carries a batch of units of one job under one signature.
 * 4: the signature binds the coordinator's key and an expiry (assign carries `expires`); names and ids hold no control characters.
 * 5: unit inputs name shared bytes (a program) by SHA-256; a donor asks for them (fetch) and they come in pieces.
 */
export const PROTOCOL_VERSION = 5

/** Limits that no honest peer comes near; past them a frame is malformed. */
export const LIMITS = {
  taskName: MAX_TASK_NAME,
  taskKinds: 64,
  jobId: 64,
  reason: 1024,
  slots: 4096,
  /** Units in one assign: a donor never has more slots than this open at once. */
  unitsPerAssign: 4096,
  threads: 1024,
  /**
   * Units a donor may hold per thread it declared, offered and leased together: what an honest
   * donor holds ahead for the shortest units (donor/batch-sizing.ts). A coordinator grants it
   * only to a donor whose results have been coming back (coordinator/donor-offers.ts).
   */
  heldPerThread: 2048,
  /** What a donor holds per thread before it has shown anything: one unit running, one waiting. */
  heldPerThreadAtFirst: 2,
  /** Unit inputs and outputs: a frame is at most 16 MiB (secret-stream's 3-byte length). */
  payload: MAX_VALUE_BYTES,
  deadlineMs: 7 * 24 * 3600 * 1000,
  /** Shared bytes (a program) in all, and in one piece: a piece never holds the channel up for long. */
  sharedBytes: MAX_SHARED_BYTES,
  pieceBytes: 1024 * 1024,
  /** A donor's benchmark score, 1000 being the reference machine. */
  speed: 1_000_000
} as const

/** An ed25519 public key and signature; both are empty on an unsigned assign. */
export const SIGNER_BYTES = 32
export const SIGNATURE_BYTES = 64

export const ROLE_DONOR = 1
export const ROLE_COORDINATOR = 2

/** 'refused': the donor's owner does not allow this job here (signer, task kind); it is no error of the unit. */
/** 'output': a sandboxed program wrote past the output caps (tasks/wasi.ts). New kinds go last: the index is on the wire. */
export type FailureKind = 'error' | 'timeout' | 'memory' | 'handback' | 'refused' | 'output'
const FAILURE_KINDS: FailureKind[] = ['error', 'timeout', 'memory', 'handback', 'refused', 'output']

export interface TaskKind {
  name: string
  version: number
}

/** First message on a channel, both ways. */
export interface HelloMessage {
  version: number
  roles: number
  threads: number
  tasks: TaskKind[]
}
/** Donor → coordinator: this many more units can come my way. */
export interface WantMessage {
  slots: number
}
export interface AssignedUnit {
  lease: number
  unit: number
  input: Uint8Array
}
/** Coordinator → donor: run these units of one job, each under its lease, and answer each before the deadline. */
export interface AssignMessage {
  job: string
  task: string
  taskVersion: number
  deadlineMs: number
  units: AssignedUnit[]
  /** When the signature stops holding, in ms since the epoch (0 when unsigned). */
  expires: number
  /** The submitter's key and its signature over the units (node/protocol/signing.ts), or empty. */
  signer: Uint8Array
  signature: Uint8Array
}
export interface ProgressMessage {
  lease: number
  fraction: number
}
/** cpuMs and speed let the coordinator grant credit: CPU-seconds scaled by the donor's benchmark. */
export interface ResultMessage {
  lease: number
  runMs: number
  output: Uint8Array
  cpuMs: number
  speed: number
}
export interface FailureMessage {
  lease: number
  kind: FailureKind
  reason: string
}
/** Coordinator → donor: stop working on this lease, its result is no longer wanted. */
export interface CancelMessage {
  lease: number
}
/** Coordinator → donor: what became of the result given under this lease. */
export interface VerdictMessage {
  lease: number
  accepted: boolean
}

/** Donor → coordinator: send me the shared bytes with this SHA-256, which a unit I hold names. */
export interface FetchMessage {
  hash: Uint8Array
}
/** Coordinator → donor: bytes [offset, offset + bytes.length) of the `total` shared bytes with this hash. */
export interface PieceMessage {
  hash: Uint8Array
  offset: number
  total: number
  bytes: Uint8Array
}

export class MalformedMessageError extends SwarmgridError {
  override name = 'MalformedMessageError'
  constructor(message: string) {
    super('MALFORMED_MESSAGE', message)
  }
}

export function malformed(what: string): MalformedMessageError {
  return new MalformedMessageError(`malformed message: ${what}`)
}

type Fields<T> = { [K in keyof T]: Encoding<T[K]> }

/** A codec for an object whose fields are encoded in the order they are listed. */
function struct<T extends object>(fields: Fields<T>, check: (value: T) => void = () => {}): Encoding<T> {
  const entries = Object.entries(fields) as Array<[keyof T, Encoding]>
  return {
    preencode(state, value) {
      for (const [k, enc] of entries) enc.preencode(state, value[k])
    },
    encode(state, value) {
      for (const [k, enc] of entries) enc.encode(state, value[k])
    },
    decode(state) {
      const value = {} as T
      for (const [k, enc] of entries) value[k] = enc.decode(state)
      check(value)
      return value
    }
  }
}

/** Wraps a codec so a decoded value outside its bounds throws. */
function bounded<T>(enc: Encoding<T>, what: string, ok: (value: T) => boolean): Encoding<T> {
  return {
    preencode: enc.preencode,
    encode: enc.encode,
    decode(state) {
      const value = enc.decode(state)
      if (!ok(value)) throw malformed(what)
      return value
    }
  }
}

/** A name or id: control characters in it are malformed, since it is logged and shown as it is. */
function boundedString(what: string, max: number): Encoding<string> {
  return bounded<string>(c.string, what, (s) => s.length <= max && isPrintable(s))
}

/** Free text (a failure's reason): its control characters become spaces as it is decoded. */
function boundedText(what: string, max: number): Encoding<string> {
  const text = bounded<string>(c.string, what, (s) => s.length <= max)
  return { ...text, decode: (state) => printable(text.decode(state)) }
}

/** Reads the length prefix first so an oversized array is refused before it is decoded. */
function boundedArray<T>(enc: Encoding<T>, what: string, max: number): Encoding<T[]> {
  const array = c.array(enc) as Encoding<T[]>
  return {
    preencode: array.preencode,
    encode: array.encode,
    decode(state) {
      const start = state.start
      const length = c.uint.decode(state)
      if (length > max) throw malformed(`${what}: ${length} entries, at most ${max}`)
      state.start = start
      return array.decode(state)
    }
  }
}

const uint = c.uint as Encoding<number>
const lease = bounded(uint, 'lease id', (n) => n > 0)
const payload = bounded<Uint8Array>(c.uint8array as Encoding<Uint8Array>, 'payload size', (b) => b.byteLength <= LIMITS.payload)
const taskName = boundedString('task name', LIMITS.taskName)
const bytes = c.uint8array as Encoding<Uint8Array>
const signer = bounded(bytes, 'signer key', (b) => b.byteLength === 0 || b.byteLength === SIGNER_BYTES)
const signature = bounded(bytes, 'signature', (b) => b.byteLength === 0 || b.byteLength === SIGNATURE_BYTES)

const taskKind = struct<TaskKind>({ name: taskName, version: uint })

export const hello = struct<HelloMessage>({
  version: uint,
  roles: bounded(uint, 'roles', (n) => n <= (ROLE_DONOR | ROLE_COORDINATOR)),
  threads: bounded(uint, 'threads', (n) => n <= LIMITS.threads),
  tasks: boundedArray(taskKind, 'task kinds', LIMITS.taskKinds)
})

export const want = struct<WantMessage>({ slots: bounded(uint, 'slots', (n) => n <= LIMITS.slots) })

const assignedUnit = struct<AssignedUnit>({ lease, unit: uint, input: payload })

export const assign = struct<AssignMessage>(
  {
    job: boundedString('job id', LIMITS.jobId),
    task: taskName,
    taskVersion: uint,
    deadlineMs: bounded(uint, 'deadline', (n) => n > 0 && n <= LIMITS.deadlineMs),
    units: boundedArray(assignedUnit, 'assigned units', LIMITS.unitsPerAssign),
    expires: uint,
    signer,
    signature
  },
  (m) => {
    if ((m.signer.byteLength === 0) !== (m.signature.byteLength === 0)) throw malformed('a signer without a signature, or the reverse')
    if (m.units.length === 0) throw malformed('an assign of no units')
  }
)

export const progress = struct<ProgressMessage>({
  lease,
  fraction: bounded(c.float64 as Encoding<number>, 'progress fraction', (f) => f >= 0 && f <= 1)
})

export const result = struct<ResultMessage>({
  lease,
  runMs: uint,
  output: payload,
  cpuMs: bounded(uint, 'cpu time', (n) => n <= LIMITS.deadlineMs),
  speed: bounded(uint, 'speed', (n) => n <= LIMITS.speed)
})

const failureKind: Encoding<FailureKind> = {
  preencode(state, kind) {
    uint.preencode(state, FAILURE_KINDS.indexOf(kind))
  },
  encode(state, kind) {
    uint.encode(state, FAILURE_KINDS.indexOf(kind))
  },
  decode(state) {
    const kind = FAILURE_KINDS[uint.decode(state)]
    if (kind === undefined) throw malformed('failure kind')
    return kind
  }
}

export const failure = struct<FailureMessage>({ lease, kind: failureKind, reason: boundedText('reason', LIMITS.reason) })
export const cancel = struct<CancelMessage>({ lease })
export const verdict = struct<VerdictMessage>({ lease, accepted: c.bool as Encoding<boolean> })

const hash = bounded(bytes, 'hash', (b) => b.byteLength === HASH_BYTES)

export const fetch = struct<FetchMessage>({ hash })

export const piece = struct<PieceMessage>(
  {
    hash,
    offset: uint,
    total: bounded(uint, 'shared bytes size', (n) => n > 0 && n <= LIMITS.sharedBytes),
    bytes: bounded(bytes, 'piece size', (b) => b.byteLength > 0 && b.byteLength <= LIMITS.pieceBytes)
  },
  (m) => {
    if (m.offset + m.bytes.byteLength > m.total) throw malformed('a piece past the end of its bytes')
  }
)

/** Encodes one message alone, as the tests and the fuzzer need it. */
export function encodeMessage<T>(enc: Encoding<T>, value: T): Uint8Array {
  return c.encode(enc as any, value)
}

/** Decodes one whole message; short, long or otherwise broken bytes are a MalformedMessageError. */
export function decodeMessage<T>(enc: Encoding<T>, bytes: Uint8Array): T {
  try {
    return whole(enc).decode(c.state(0, bytes.byteLength, bytes as any))
  } catch (err) {
    throw err instanceof MalformedMessageError ? err : malformed((err as Error).message)
  }
}

/** A codec that refuses bytes after its message: compact-encoding and protomux would ignore them. */
export function whole<T>(encoding: Encoding<T>): Encoding<T> {
  return {
    preencode: encoding.preencode,
    encode: encoding.encode,
    decode(state) {
      const value = encoding.decode(state)
      if (state.start !== state.end) throw malformed(`${state.end - state.start} bytes after the message`)
      return value
    }
  }
}
