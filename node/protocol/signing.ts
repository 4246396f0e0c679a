/**
 * Jobs are signed by their submitter's key, the peer's own ed25519 identity (the `key HEX`
 * that `start` prints), so a donor can decide whose code runs on its machine whatever path a
 * unit took to reach it. A signature covers one assign, a batch of units of one job: the job
 * id, task kind and version, and each unit's index and input (which holds a wasm job's
 * module). Leases and the deadline are transport and are left out. One signature per batch
 * rather than per unit keeps signing off the dispatch path's critical cost.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import c from 'compact-encoding'
import { SIGNATURE_BYTES, SIGNER_BYTES, type AssignMessage } from './wire.js'

/** Domain separation: these bytes can never be mistaken for anything else this key signs. */
const DOMAIN = 'swarmgrid units v2'
/** DER headers that turn a raw ed25519 seed or public key into something node:crypto takes. */
const PKCS8_SEED_HEADER = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_HEADER = Buffer.from('302a300506032b6570032100', 'hex')
const KEY_CACHE_SIZE = 256

export interface SigningKeyPair { publicKey: Uint8Array; secretKey: Uint8Array }

type Verdict = { ok: true; signer: string } | { ok: false; reason: string }

type Signed = Pick<AssignMessage, 'job' | 'task' | 'taskVersion' | 'units'>

/**
 * The bytes a submitter signs for a batch of units: the inputs themselves, length-prefixed,
 * rather than a digest of each, since ed25519 hashes the whole statement anyway and a hash
 * object per tiny input cost more than the hashing.
 */
export function unitsStatement(msg: Signed): Uint8Array {
  const state = c.state()
  c.string.preencode(state, DOMAIN); c.string.preencode(state, msg.job); c.string.preencode(state, msg.task)
  c.uint.preencode(state, msg.taskVersion); c.uint.preencode(state, msg.units.length)
  for (const u of msg.units) { c.uint.preencode(state, u.unit); c.uint8array.preencode(state, u.input) }
  state.buffer = new Uint8Array(state.end)
  c.string.encode(state, DOMAIN); c.string.encode(state, msg.job); c.string.encode(state, msg.task)
  c.uint.encode(state, msg.taskVersion); c.uint.encode(state, msg.units.length)
  for (const u of msg.units) { c.uint.encode(state, u.unit); c.uint8array.encode(state, u.input) }
  return state.buffer
}

/**
 * A signer for a key pair as Hyperswarm holds it (libsodium's 64-byte secret key: the seed,
 * then the public key).
 */
export function assignSigner(keyPair: SigningKeyPair): (msg: AssignMessage) => AssignMessage {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_SEED_HEADER, keyPair.secretKey.subarray(0, 32)]), format: 'der', type: 'pkcs8' })
  const signer = Uint8Array.from(keyPair.publicKey)
  return (msg) => ({ ...msg, signer, signature: new Uint8Array(sign(null, unitsStatement(msg), privateKey)) })
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

/** Whether the assign carries a valid signature, and whose. */
export function verifyAssign(msg: AssignMessage): Verdict {
  if (msg.signer.byteLength === 0) return { ok: false, reason: 'the job is not signed' }
  if (msg.signer.byteLength !== SIGNER_BYTES || msg.signature.byteLength !== SIGNATURE_BYTES) {
    return { ok: false, reason: 'the job signature is malformed' }
  }
  let valid = false
  try {
    valid = verify(null, unitsStatement(msg), publicKeyObject(msg.signer), msg.signature)
  } catch {
    valid = false
  }
  const signer = Buffer.from(msg.signer).toString('hex')
  return valid ? { ok: true, signer } : { ok: false, reason: `the signature by ${signer.slice(0, 8)} does not match the units` }
}

/** A key as users type it: 64 hex digits. */
export function parseKey(text: string): string | null {
  const key = text.trim().toLowerCase()
  return /^[0-9a-f]{64}$/.test(key) ? key : null
}
