/**
 * The wire codecs: every message survives a round trip, and decoding refuses frames that
 * break the protocol's bounds before any handler could see them.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import c from 'compact-encoding'
import {
  LIMITS,
  MalformedMessageError,
  ROLE_COORDINATOR,
  ROLE_DONOR,
  assign,
  cancel,
  decodeMessage,
  encodeMessage,
  failure,
  hello,
  progress,
  result,
  verdict,
  want,
  type AssignMessage,
  type Encoding,
  type FailureKind,
  type HelloMessage
} from '../../node/protocol/wire.js'
import { mulberry32 } from '../../sim/seeded-random.js'

const FAILURE_KINDS: FailureKind[] = ['error', 'timeout', 'memory', 'handback', 'refused']

function roundTrip<T>(enc: Encoding<T>, value: T): T {
  return decodeMessage(enc, encodeMessage(enc, value))
}

/** Asserts that decoding `bytes` throws a MalformedMessageError whose message matches `what`. */
function refuses<T>(enc: Encoding<T>, bytes: Uint8Array, what: RegExp): void {
  try {
    decodeMessage(enc, bytes)
  } catch (err) {
    assert.instance(err, MalformedMessageError, `expected a MalformedMessageError, got ${String(err)}`)
    assert.match((err as Error).message, what)
    return
  }
  assert.unreachable(`decoding should have failed (${what})`)
}

/** Encodes a value the encoder takes but the decoder must refuse (encoding does not check bounds). */
function refusesValue<T>(enc: Encoding<T>, value: T, what: RegExp): void {
  refuses(enc, encodeMessage(enc, value), what)
}

function allBytes(): Uint8Array {
  return Uint8Array.from({ length: 256 }, (_, i) => i)
}

const sampleHello: HelloMessage = {
  version: 1,
  roles: ROLE_DONOR | ROLE_COORDINATOR,
  threads: 8,
  tasks: [
    { name: 'primes', version: 1 },
    { name: 'pi', version: 2 },
    { name: 'mandelbrot', version: 300 }
  ]
}

const sampleAssign: AssignMessage = {
  job: '0123456789abcdef',
  task: 'primes',
  taskVersion: 1,
  deadlineMs: 5 * 60 * 1000,
  units: [
    { lease: 70_000, unit: 12_345, input: allBytes() },
    { lease: 70_001, unit: 12_346, input: Uint8Array.of(1, 2) }
  ],
  expires: 1_800_000_000_000,
  signer: new Uint8Array(32).fill(7),
  signature: new Uint8Array(64).fill(9)
}

/** One valid message of each codec, for the truncation and fuzz tests. */
const samples: Array<[string, Encoding<any>, unknown]> = [
  ['hello', hello, sampleHello],
  ['want', want, { slots: 4 }],
  ['assign', assign, sampleAssign],
  ['progress', progress, { lease: 3, fraction: 0.25 }],
  [
    'result',
    result,
    { lease: 3, runMs: 1234, output: Uint8Array.of(0xa1, 0x65, 0x63, 0x6f, 0x75, 0x6e, 0x74, 0x18, 0x2a), cpuMs: 1200, speed: 1000 }
  ],
  ...FAILURE_KINDS.map((kind): [string, Encoding<any>, unknown] => [
    `failure (${kind})`,
    failure,
    { lease: 9, kind, reason: 'worker said no' }
  ]),
  ['cancel', cancel, { lease: 300 }],
  ['verdict', verdict, { lease: 2 ** 40, accepted: true }]
]

// --- round trips ---

test('hello round-trips, with its task kinds in order', () => {
  assert.equal(roundTrip(hello, sampleHello), sampleHello)
})

test('hello with no task kinds and no roles round-trips', () => {
  const value: HelloMessage = { version: 1, roles: 0, threads: 0, tasks: [] }
  assert.equal(roundTrip(hello, value), value)
})

test('want round-trips, up to the slots limit', () => {
  assert.equal(roundTrip(want, { slots: 4 }), { slots: 4 })
  assert.equal(roundTrip(want, { slots: LIMITS.slots }), { slots: LIMITS.slots })
})

test('assign round-trips a batch of units, with a binary input holding every byte value', () => {
  const decoded = roundTrip(assign, sampleAssign)
  assert.equal(decoded, sampleAssign)
  assert.instance(decoded.units[0].input, Uint8Array)
  assert.is(decoded.units[0].input.byteLength, 256)
})

test('assign round-trips with an empty input and the largest deadline', () => {
  const value: AssignMessage = { ...sampleAssign, units: [{ lease: 1, unit: 0, input: new Uint8Array(0) }], deadlineMs: LIMITS.deadlineMs }
  assert.equal(roundTrip(assign, value), value)
})

test('an assign of no units, or of more than the limit, is refused', () => {
  refusesValue(assign, { ...sampleAssign, units: [] }, /no units/)
  const units = Array.from({ length: LIMITS.unitsPerAssign + 1 }, (_, i) => ({ lease: i + 1, unit: i, input: new Uint8Array(0) }))
  refusesValue(assign, { ...sampleAssign, units }, /assigned units: 4097 entries/)
  assert.is(roundTrip(assign, { ...sampleAssign, units: units.slice(1) }).units.length, LIMITS.unitsPerAssign)
})

test('an unsigned assign round-trips with an empty signer and signature', () => {
  const value: AssignMessage = { ...sampleAssign, signer: new Uint8Array(0), signature: new Uint8Array(0) }
  assert.equal(roundTrip(assign, value), value)
})

test('a signer or signature of the wrong size, or one without the other, is refused', () => {
  refusesValue(assign, { ...sampleAssign, signer: new Uint8Array(31) }, /signer key/)
  refusesValue(assign, { ...sampleAssign, signature: new Uint8Array(65) }, /signature/)
  refusesValue(assign, { ...sampleAssign, signer: new Uint8Array(0) }, /signer without a signature/)
  refusesValue(assign, { ...sampleAssign, signature: new Uint8Array(0) }, /signer without a signature/)
})

test('progress round-trips at 0, in between and at 1', () => {
  for (const fraction of [0, 0.5, 1 / 3, 1]) {
    assert.equal(roundTrip(progress, { lease: 7, fraction }), { lease: 7, fraction })
  }
})

test('result round-trips with its output bytes', () => {
  const value = { lease: 2 ** 33 + 5, runMs: 86_400_000, output: allBytes().reverse(), cpuMs: 86_000_000, speed: LIMITS.speed }
  assert.equal(roundTrip(result, value), value)
})

test('a result claiming more CPU time than a deadline, or a speed past the limit, is refused', () => {
  const value = { lease: 1, runMs: 1, output: new Uint8Array(1), cpuMs: 1, speed: 1000 }
  refusesValue(result, { ...value, cpuMs: LIMITS.deadlineMs + 1 }, /cpu time/)
  refusesValue(result, { ...value, speed: LIMITS.speed + 1 }, /speed/)
})

test('failure round-trips for each kind', () => {
  for (const kind of FAILURE_KINDS) {
    const value = { lease: 9, kind, reason: `went wrong: ${kind} ✗ 💥` }
    assert.equal(roundTrip(failure, value), value, kind)
  }
})

test('cancel round-trips', () => {
  assert.equal(roundTrip(cancel, { lease: 1 }), { lease: 1 })
  assert.equal(roundTrip(cancel, { lease: Number.MAX_SAFE_INTEGER }), { lease: Number.MAX_SAFE_INTEGER })
})

test('verdict round-trips, accepted or not', () => {
  assert.equal(roundTrip(verdict, { lease: 5, accepted: true }), { lease: 5, accepted: true })
  assert.equal(roundTrip(verdict, { lease: 5, accepted: false }), { lease: 5, accepted: false })
})

test('encoding is deterministic: the same message gives the same bytes', () => {
  for (const [name, enc, value] of samples) {
    assert.equal(encodeMessage(enc, value), encodeMessage(enc, value), name)
  }
})

// --- refusals ---

test('every truncated frame, the empty one included, is refused as malformed', () => {
  for (const [name, enc, value] of samples) {
    const bytes = encodeMessage(enc, value)
    for (let length = 0; length < bytes.byteLength; length++) {
      try {
        decodeMessage(enc, bytes.subarray(0, length))
      } catch (err) {
        assert.instance(err, MalformedMessageError, `${name} cut to ${length} of ${bytes.byteLength} bytes: got ${String(err)}`)
        continue
      }
      assert.unreachable(`${name} cut to ${length} of ${bytes.byteLength} bytes should not decode`)
    }
  }
})

test('an unknown failure kind is refused', () => {
  const bytes = encodeMessage(failure, { lease: 9, kind: 'error', reason: 'x' })
  assert.is(bytes[1], 0, 'the kind follows a one-byte lease')
  const output = Uint8Array.from(bytes)
  output[1] = 5
  assert.is(decodeMessage(failure, output).kind, 'output', 'kind 5, the last one added, is a wasi run past its output caps')
  for (const kind of [6, 7, 0xfc]) {
    const bad = Uint8Array.from(bytes)
    bad[1] = kind
    refuses(failure, bad, /failure kind/)
  }
})

test('a progress fraction outside 0..1 or NaN is refused', () => {
  for (const fraction of [-0.001, 1.000001, 2, -1, NaN, Infinity, -Infinity]) {
    refusesValue(progress, { lease: 1, fraction }, /progress fraction/)
  }
})

test('a zero lease id is refused in every message that carries one', () => {
  const withZeroLease: Array<[string, Encoding<any>, unknown]> = [
    ['assign', assign, { ...sampleAssign, units: [{ ...sampleAssign.units[0], lease: 0 }] }],
    ['progress', progress, { lease: 0, fraction: 0.5 }],
    ['result', result, { lease: 0, runMs: 1, output: new Uint8Array(1), cpuMs: 1, speed: 1000 }],
    ['failure', failure, { lease: 0, kind: 'error', reason: 'x' }],
    ['cancel', cancel, { lease: 0 }],
    ['verdict', verdict, { lease: 0, accepted: true }]
  ]
  for (const [, enc, value] of withZeroLease) refusesValue(enc, value, /lease id/)
})

test('a task name longer than the limit is refused, in assign and in hello', () => {
  const long = 'x'.repeat(LIMITS.taskName + 1)
  refusesValue(assign, { ...sampleAssign, task: long }, /task name/)
  refusesValue(hello, { ...sampleHello, tasks: [{ name: long, version: 1 }] }, /task name/)
  const atLimit = 'x'.repeat(LIMITS.taskName)
  assert.is(roundTrip(assign, { ...sampleAssign, task: atLimit }).task, atLimit)
})

test('a failure reason longer than the limit is refused', () => {
  refusesValue(failure, { lease: 1, kind: 'error', reason: 'r'.repeat(LIMITS.reason + 1) }, /reason/)
  const atLimit = 'r'.repeat(LIMITS.reason)
  assert.is(roundTrip(failure, { lease: 1, kind: 'error', reason: atLimit }).reason, atLimit)
})

test('a job id longer than the limit is refused', () => {
  refusesValue(assign, { ...sampleAssign, job: 'j'.repeat(LIMITS.jobId + 1) }, /job id/)
  const atLimit = 'j'.repeat(LIMITS.jobId)
  assert.is(roundTrip(assign, { ...sampleAssign, job: atLimit }).job, atLimit)
})

test('too many task kinds are refused', () => {
  const tasks = Array.from({ length: LIMITS.taskKinds + 1 }, (_, i) => ({ name: `t${i}`, version: 1 }))
  refusesValue(hello, { ...sampleHello, tasks }, /task kinds/)
  const atLimit = tasks.slice(0, LIMITS.taskKinds)
  assert.is(roundTrip(hello, { ...sampleHello, tasks: atLimit }).tasks.length, LIMITS.taskKinds)
})

test('too many task kinds are refused from the length prefix, before any entry is decoded', () => {
  const head = encodeMessage(hello, { ...sampleHello, tasks: [] })
  assert.is(head[head.byteLength - 1], 0, 'the task list comes last, as a one-byte count')
  const prefix = (count: number): Uint8Array => {
    const state = c.state()
    c.uint.preencode(state, count)
    state.buffer = new Uint8Array(state.end)
    c.uint.encode(state, count)
    return state.buffer
  }
  for (const count of [LIMITS.taskKinds + 1, 0xffff, 0xffffffff]) {
    // The count promises entries that are not there: only a check of the prefix itself,
    // not a decoder running out of bytes, can say 'task kinds'.
    const frame = new Uint8Array([...head.subarray(0, head.byteLength - 1), ...prefix(count)])
    refuses(hello, frame, /task kinds/)
  }
})

test('roles outside the donor | coordinator bitfield are refused', () => {
  for (const roles of [4, 5, 8, 255, 1 << 20]) refusesValue(hello, { ...sampleHello, roles }, /roles/)
  for (const roles of [0, ROLE_DONOR, ROLE_COORDINATOR, ROLE_DONOR | ROLE_COORDINATOR]) {
    assert.is(roundTrip(hello, { ...sampleHello, roles }).roles, roles)
  }
})

test('a deadline of 0 is refused, and so is one past the limit', () => {
  refusesValue(assign, { ...sampleAssign, deadlineMs: 0 }, /deadline/)
  refusesValue(assign, { ...sampleAssign, deadlineMs: LIMITS.deadlineMs + 1 }, /deadline/)
})

test('thread counts and slot offers past their limits are refused', () => {
  refusesValue(hello, { ...sampleHello, threads: LIMITS.threads + 1 }, /threads/)
  refusesValue(want, { slots: LIMITS.slots + 1 }, /slots/)
})

// --- fuzz ---

const isUint = (n: unknown): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
const isLease = (n: unknown): boolean => isUint(n) && (n as number) > 0
const isString = (s: unknown, max: number): boolean => typeof s === 'string' && s.length <= max
const isPayload = (b: unknown): boolean => b instanceof Uint8Array && b.byteLength <= LIMITS.payload
const hasKeys = (value: object, keys: string[]): boolean => Object.keys(value).sort().join() === [...keys].sort().join()

/** What a decoded message of each codec may hold: anything else is out of bounds. */
const inBounds = new Map<Encoding<any>, (m: any) => boolean>([
  [
    hello,
    (m) =>
      hasKeys(m, ['version', 'roles', 'threads', 'tasks']) &&
      isUint(m.version) &&
      isUint(m.roles) &&
      m.roles <= (ROLE_DONOR | ROLE_COORDINATOR) &&
      isUint(m.threads) &&
      m.threads <= LIMITS.threads &&
      Array.isArray(m.tasks) &&
      m.tasks.length <= LIMITS.taskKinds &&
      m.tasks.every((t: any) => hasKeys(t, ['name', 'version']) && isString(t.name, LIMITS.taskName) && isUint(t.version))
  ],
  [want, (m) => hasKeys(m, ['slots']) && isUint(m.slots) && m.slots <= LIMITS.slots],
  [
    assign,
    (m) =>
      hasKeys(m, ['job', 'task', 'taskVersion', 'deadlineMs', 'units', 'expires', 'signer', 'signature']) &&
      isUint(m.expires) &&
      isString(m.job, LIMITS.jobId) &&
      isString(m.task, LIMITS.taskName) &&
      isUint(m.taskVersion) &&
      isUint(m.deadlineMs) &&
      m.deadlineMs > 0 &&
      m.deadlineMs <= LIMITS.deadlineMs &&
      Array.isArray(m.units) &&
      m.units.length > 0 &&
      m.units.length <= LIMITS.unitsPerAssign &&
      m.units.every((u: any) => hasKeys(u, ['lease', 'unit', 'input']) && isLease(u.lease) && isUint(u.unit) && isPayload(u.input)) &&
      ((m.signer.byteLength === 32 && m.signature.byteLength === 64) || (m.signer.byteLength === 0 && m.signature.byteLength === 0))
  ],
  [
    progress,
    (m) => hasKeys(m, ['lease', 'fraction']) && isLease(m.lease) && typeof m.fraction === 'number' && m.fraction >= 0 && m.fraction <= 1
  ],
  [
    result,
    (m) =>
      hasKeys(m, ['lease', 'runMs', 'output', 'cpuMs', 'speed']) &&
      isLease(m.lease) &&
      isUint(m.runMs) &&
      isPayload(m.output) &&
      isUint(m.cpuMs) &&
      m.cpuMs <= LIMITS.deadlineMs &&
      isUint(m.speed) &&
      m.speed <= LIMITS.speed
  ],
  [
    failure,
    (m) =>
      hasKeys(m, ['lease', 'kind', 'reason']) && isLease(m.lease) && FAILURE_KINDS.includes(m.kind) && isString(m.reason, LIMITS.reason)
  ],
  [cancel, (m) => hasKeys(m, ['lease']) && isLease(m.lease)],
  [verdict, (m) => hasKeys(m, ['lease', 'accepted']) && isLease(m.lease) && typeof m.accepted === 'boolean']
])

/** A random frame: pure noise, or a valid frame with a few bytes changed, cut or extended. */
function randomFrame(random: () => number): Uint8Array {
  const byte = (): number => Math.floor(random() * 256)
  if (random() < 0.4) return Uint8Array.from({ length: Math.floor(random() * 40) }, byte)
  const [, enc, value] = samples[Math.floor(random() * samples.length)]
  let bytes = Uint8Array.from(encodeMessage(enc, value))
  const edits = 1 + Math.floor(random() * 4)
  for (let i = 0; i < edits && bytes.byteLength > 0; i++) bytes[Math.floor(random() * bytes.byteLength)] = byte()
  const cut = random()
  if (cut < 0.2) bytes = bytes.subarray(0, Math.floor(random() * bytes.byteLength))
  else if (cut < 0.3) bytes = Uint8Array.from([...bytes, ...Array.from({ length: 1 + Math.floor(random() * 8) }, byte)])
  return bytes
}

test('random frames either throw or decode to values within bounds', () => {
  const random = mulberry32(0x5eed)
  let decoded = 0
  let refused = 0
  for (let i = 0; i < 4000; i++) {
    const bytes = randomFrame(random)
    for (const [enc, ok] of inBounds) {
      let message: unknown
      try {
        message = decodeMessage(enc, bytes)
      } catch (err) {
        assert.instance(err, Error, `frame ${i} threw a non-Error`)
        refused++
        continue
      }
      decoded++
      assert.ok(ok(message), `frame ${i} [${Array.from(bytes).join(',')}] decoded out of bounds: ${JSON.stringify(message)}`)
    }
  }
  // The fuzzer is only worth something if both outcomes actually happen.
  assert.ok(decoded > 1000, `only ${decoded} frames decoded`)
  assert.ok(refused > 1000, `only ${refused} frames were refused`)
})

// --- regressions ---

test('bytes after a valid message are refused as malformed', () => {
  assert.equal(Array.from(encodeMessage(cancel, { lease: 5 })), [5], 'cancel for lease 5 is the one byte 5')
  refuses(cancel, Uint8Array.of(5, 9, 9), /2 bytes after the message/)
  for (const [name, enc, value] of samples) {
    const bytes = encodeMessage(enc, value)
    try {
      decodeMessage(enc, Uint8Array.from([...bytes, 0]))
    } catch (err) {
      assert.instance(err, MalformedMessageError, `${name} with a trailing byte: got ${String(err)}`)
      assert.match((err as Error).message, /1 bytes after the message/, name)
      continue
    }
    assert.unreachable(`${name} with a trailing byte should not decode`)
  }
})

test.run()
