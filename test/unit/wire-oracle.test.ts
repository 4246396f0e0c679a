/**
 * The wire codecs against the fuzz oracle (test/support/wire-oracle.ts), a parser of the same
 * format that shares no code with them: on many thousands of mutated and random payloads, for
 * every message type, both must refuse the same bytes and read the same values from the rest.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import * as wire from '../../node/protocol/wire.js'
import { CODECS, Random, mutatedMessage } from '../support/fuzz-frames.js'
import { MESSAGE_TYPES, parseMessage, Refused } from '../support/wire-oracle.js'

const FAILURE_KINDS = ['error', 'timeout', 'memory', 'handback', 'refused', 'output']
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

/** The oracle's reading in the codec's terms: byte strings as hex, a failure kind by name. */
function comparable(type: number, value: Record<string, unknown>): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v) => {
      if (v instanceof Uint8Array || (v && v.type === 'Buffer')) return hex(v instanceof Uint8Array ? v : Uint8Array.from(v.data))
      if (type === 5 && key === 'kind' && typeof v === 'number') return FAILURE_KINDS[v]
      return v
    })
  )
}

function codecReading(type: number, payload: Uint8Array): unknown | Error {
  try {
    return comparable(type, wire.decodeMessage(CODECS[type], payload) as Record<string, unknown>)
  } catch (err) {
    return err as Error
  }
}

function oracleReading(type: number, payload: Uint8Array): unknown | Error {
  try {
    return comparable(type, parseMessage(type, payload))
  } catch (err) {
    if (!(err instanceof Refused)) throw err
    return err
  }
}

test('the codecs and the independent oracle refuse the same payloads and read the same values from the rest', () => {
  const random = new Random(0x0dac1e)
  const counts = MESSAGE_TYPES.map(() => ({ taken: 0, refused: 0 }))
  for (let i = 0; i < 80_000; i++) {
    const type = i % CODECS.length
    const payload = random.next() < 0.1 ? random.bytes(random.int(80)) : mutatedMessage(random, type).bytes
    const codec = codecReading(type, payload)
    const oracle = oracleReading(type, payload)
    const what = `${MESSAGE_TYPES[type]} payload ${hex(payload)}`
    if (codec instanceof Error || oracle instanceof Error) {
      assert.ok(
        codec instanceof Error && oracle instanceof Error,
        `${what}: codec ${codec instanceof Error ? `refused (${codec.message})` : 'took it'}, oracle ${oracle instanceof Error ? `refused (${oracle.message})` : 'took it'}`
      )
      assert.instance(codec, wire.MalformedMessageError, `${what}: the codec's refusal is a MalformedMessageError`)
      counts[type].refused++
    } else {
      assert.equal(codec, oracle, what)
      counts[type].taken++
    }
  }
  // Worth something only if every type saw both outcomes many times.
  for (const [type, { taken, refused }] of counts.entries()) {
    assert.ok(taken >= 150 && refused >= 150, `${MESSAGE_TYPES[type]}: ${taken} taken, ${refused} refused`)
  }
})

test.run()
