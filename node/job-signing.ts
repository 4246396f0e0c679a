/**
 * Jobs are signed by their submitter's key, the peer's own ed25519 identity (the `key HEX`
 * that `start` prints), so a donor can decide whose code runs on its machine whatever path a
 * unit took to reach it. The signature covers what runs and on what: job id, unit index, task
 * kind and version, and the SHA-256 of the unit input (which holds a wasm job's module). The
 * lease and deadline are transport and are left out.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import c from 'compact-encoding'
import { SIGNATURE_BYTES, SIGNER_BYTES, type AssignMessage } from './wire.js'

/** Domain separation: these bytes can never be mistaken for anything else this key signs. */
const DOMAIN = 'swarmgrid unit v1'
/** DER headers that turn a raw ed25519 seed or public key into something node:crypto takes. */
const PKCS8_SEED_HEADER = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_HEADER = Buffer.from('302a300506032b6570032100', 'hex')
const KEY_CACHE_SIZE = 256

export interface SigningKeyPair { publicKey: Uint8Array; secretKey: Uint8Array }

type Verdict = { ok: true; signer: string } | { ok: false; reason: string }

const statement = {
  preencode(state: any, m: Statement) {
    c.string.preencode(state, DOMAIN); c.string.preencode(state, m.job); c.uint.preencode(state, m.unit)
    c.string.preencode(state, m.task); c.uint.preencode(state, m.taskVersion); c.fixed32.preencode(state, m.inputDigest)
  },
  encode(state: any, m: Statement) {
    c.string.encode(state, DOMAIN); c.string.encode(state, m.job); c.uint.encode(state, m.unit)
    c.string.encode(state, m.task); c.uint.encode(state, m.taskVersion); c.fixed32.encode(state, m.inputDigest)
  },
  decode(): Statement { throw new Error('statements are only ever encoded') }
}

interface Statement { job: string; unit: number; task: string; taskVersion: number; inputDigest: Uint8Array }

/** The bytes a submitter signs for one unit. */
export function unitStatement(msg: Pick<AssignMessage, 'job' | 'unit' | 'task' | 'taskVersion' | 'input'>): Uint8Array {
  const inputDigest = createHash('sha256').update(msg.input).digest()
  return c.encode(statement as any, { job: msg.job, unit: msg.unit, task: msg.task, taskVersion: msg.taskVersion, inputDigest })
}

/**
 * A signer for a key pair as Hyperswarm holds it (libsodium's 64-byte secret key: the seed,
 * then the public key).
 */
export function assignSigner(keyPair: SigningKeyPair): (msg: AssignMessage) => AssignMessage {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_SEED_HEADER, keyPair.secretKey.subarray(0, 32)]), format: 'der', type: 'pkcs8' })
  const signer = Uint8Array.from(keyPair.publicKey)
  return (msg) => ({ ...msg, signer, signature: new Uint8Array(sign(null, unitStatement(msg), privateKey)) })
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
    valid = verify(null, unitStatement(msg), publicKeyObject(msg.signer), msg.signature)
  } catch {
    valid = false
  }
  const signer = Buffer.from(msg.signer).toString('hex')
  return valid ? { ok: true, signer } : { ok: false, reason: `the signature by ${signer.slice(0, 8)} does not match the unit` }
}

/** A key as users type it: 64 hex digits. */
export function parseKey(text: string): string | null {
  const key = text.trim().toLowerCase()
  return /^[0-9a-f]{64}$/.test(key) ? key : null
}
