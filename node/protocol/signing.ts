/**
 * Jobs are signed by their submitter's key, the peer's own ed25519 identity (the `key HEX`
 * that `start` prints), so a donor can decide whose code runs on its machine whatever path a
 * unit took to reach it. A signature covers one assign, a batch of units of one job: the job
 * id, task kind and version, each unit's index and input (which names a job's program by SHA-256),
 * the key of the coordinator that may hand the batch out, and when the signature expires.
 * Binding the coordinator stops another peer from replaying a batch it saw signed for someone
 * else; the expiry stops a batch from being replayed for ever. Leases and the deadline are
 * transport and are left out. One signature per batch rather than per unit keeps signing off
 * the dispatch path's critical cost.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import c from 'compact-encoding'
import { LIMITS, SIGNATURE_BYTES, SIGNER_BYTES, type AssignMessage } from './wire.js'

/** Domain separation: these bytes can never be mistaken for anything else this key signs. */
const DOMAIN = 'swarmgrid units v3'
/**
 * How long a signature outlives the batch's deadline, and how far ahead of a donor's clock an
 * expiry may be: room for clocks that disagree by as much, never a batch that holds for ever.
 */
export const EXPIRY_SLACK_MS = 60 * 60 * 1000
/** DER headers that turn a raw ed25519 seed or public key into something node:crypto takes. */
const PKCS8_SEED_HEADER = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_HEADER = Buffer.from('302a300506032b6570032100', 'hex')
const KEY_CACHE_SIZE = 256

export interface SigningKeyPair {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

type Verdict = { ok: true; signer: string } | { ok: false; reason: string }

type Signed = Pick<AssignMessage, 'job' | 'task' | 'taskVersion' | 'units' | 'expires'>

/**
 * The bytes a submitter signs for a batch of units: the inputs themselves, length-prefixed,
 * rather than a digest of each, since ed25519 hashes the whole statement anyway and a hash
 * object per tiny input cost more than the hashing.
 */
export function unitsStatement(msg: Signed, coordinator: Uint8Array): Uint8Array {
  const state = c.state()
  c.string.preencode(state, DOMAIN)
  c.fixed32.preencode(state, coordinator)
  c.uint.preencode(state, msg.expires)
  c.string.preencode(state, msg.job)
  c.string.preencode(state, msg.task)
  c.uint.preencode(state, msg.taskVersion)
  c.uint.preencode(state, msg.units.length)
  for (const u of msg.units) {
    c.uint.preencode(state, u.unit)
    c.uint8array.preencode(state, u.input)
  }
  state.buffer = new Uint8Array(state.end)
  c.string.encode(state, DOMAIN)
  c.fixed32.encode(state, coordinator)
  c.uint.encode(state, msg.expires)
  c.string.encode(state, msg.job)
  c.string.encode(state, msg.task)
  c.uint.encode(state, msg.taskVersion)
  c.uint.encode(state, msg.units.length)
  for (const u of msg.units) {
    c.uint.encode(state, u.unit)
    c.uint8array.encode(state, u.input)
  }
  return state.buffer
}

/**
 * A signer for a key pair as Hyperswarm holds it (libsodium's 64-byte secret key: the seed,
 * then the public key), for batches that `coordinator` (by default the key pair's own peer)
 * hands out. Each signature expires EXPIRY_SLACK_MS after the batch's deadline.
 */
export function assignSigner(
  keyPair: SigningKeyPair,
  coordinator: Uint8Array = keyPair.publicKey,
  clock: () => number = Date.now
): (msg: AssignMessage) => AssignMessage {
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_SEED_HEADER, keyPair.secretKey.subarray(0, 32)]),
    format: 'der',
    type: 'pkcs8'
  })
  const signer = Uint8Array.from(keyPair.publicKey)
  const bound = Uint8Array.from(coordinator)
  return (msg) => {
    const signed = { ...msg, expires: clock() + msg.deadlineMs + EXPIRY_SLACK_MS, signer }
    return { ...signed, signature: new Uint8Array(sign(null, unitsStatement(signed, bound), privateKey)) }
  }
}

const publicKeys = new Map<string, KeyObject>()

function publicKeyObject(raw: Uint8Array): KeyObject {
  const hex = Buffer.from(raw).toString('hex')
  let key = publicKeys.get(hex)
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_HEADER, raw]), format: 'der', type: 'spki' })
    if (publicKeys.size >= KEY_CACHE_SIZE) publicKeys.delete(publicKeys.keys().next().value!)
    publicKeys.set(hex, key)
  }
  return key
}

/**
 * Whether the assign carries a valid signature for batches handed out by `coordinator` (hex,
 * the key of the connection it came on), unexpired at `now`, and whose.
 */
export function verifyAssign(msg: AssignMessage, coordinator: string, now: number = Date.now()): Verdict {
  if (msg.signer.byteLength === 0) return { ok: false, reason: 'the job is not signed' }
  if (msg.signer.byteLength !== SIGNER_BYTES || msg.signature.byteLength !== SIGNATURE_BYTES) {
    return { ok: false, reason: 'the job signature is malformed' }
  }
  const signer = Buffer.from(msg.signer).toString('hex')
  const coordinatorKey = Buffer.from(coordinator, 'hex')
  if (coordinatorKey.byteLength !== SIGNER_BYTES)
    return { ok: false, reason: `no coordinator key to check the signature by ${signer.slice(0, 8)} against` }
  let valid = false
  try {
    valid = verify(null, unitsStatement(msg, coordinatorKey), publicKeyObject(msg.signer), msg.signature)
  } catch {
    valid = false
  }
  if (!valid)
    return {
      ok: false,
      reason: `the signature by ${signer.slice(0, 8)} does not match the units and their coordinator ${coordinator.slice(0, 8)}`
    }
  if (msg.expires <= now)
    return { ok: false, reason: `the signature by ${signer.slice(0, 8)} expired ${Math.round((now - msg.expires) / 1000)} s ago` }
  if (msg.expires > now + LIMITS.deadlineMs + 2 * EXPIRY_SLACK_MS) {
    return {
      ok: false,
      reason: `the signature by ${signer.slice(0, 8)} holds until ${new Date(msg.expires).toISOString()}, further ahead than any deadline`
    }
  }
  return { ok: true, signer }
}

/** A key as users type it: 64 hex digits. */
export function parseKey(text: string): string | null {
  const key = text.trim().toLowerCase()
  return /^[0-9a-f]{64}$/.test(key) ? key : null
}
