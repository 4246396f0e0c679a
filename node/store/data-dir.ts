/**
 * The files a peer keeps in its data dir besides the store: its identity seed, the control
 * token and, while it runs, where its control API listens. All readable by the owner only.
 */
import { SwarmgridError } from '../../base/errors.js'
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { homedir, platform, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const OWNER_ONLY = 0o600
/** Unix socket paths longer than this do not fit in sockaddr_un on Linux. */
const MAX_SOCKET_PATH = 100

export interface RunningPeerInfo {
  pid: number
  key: string
  socket: string
  url: string | null
}

/** $SWARMGRID_DATA, or the platform's usual per-user data folder. */
export function defaultDataDir(): string {
  if (process.env.SWARMGRID_DATA) return resolve(process.env.SWARMGRID_DATA)
  if (platform() === 'darwin') return join(homedir(), 'Library', 'Application Support', 'swarmgrid')
  if (platform() === 'win32') return join(process.env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'swarmgrid')
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'swarmgrid')
}

export function ensureDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
}

/** A data dir file that is there but unusable: the peer refuses to start rather than guess. */
export class DataDirError extends SwarmgridError {
  override name = 'DataDirError'
  constructor(code: 'BAD_SECRET' | 'NO_TOKEN' | 'DATA_DIR_LOCKED', message: string) {
    super(code, message)
  }
}

/** The secrets this module makes, and the only shape it accepts back: lowercase hex of that many bytes. */
const SECRETS = {
  identity: { bytes: 32, what: 'identity seed', lost: 'this peer then gets a new key' },
  token: { bytes: 24, what: 'control token', lost: 'the dashboard URL then changes' }
} as const
type SecretName = keyof typeof SECRETS

/** Whether `text` is a control token as this module writes it (an empty one would let anyone in). */
export function isWellFormedToken(text: string): boolean {
  return new RegExp(`^[0-9a-f]{${SECRETS.token.bytes * 2}}$`).test(text)
}

function parseSecret(name: SecretName, path: string, text: string): Buffer {
  const { bytes, what, lost } = SECRETS[name]
  const trimmed = text.trim()
  if (new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(trimmed)) return Buffer.from(trimmed, 'hex')
  const found =
    trimmed.length === 0
      ? 'it is empty (a full disk can leave it so)'
      : `it holds ${trimmed.length} characters that are not ${bytes * 2} hex digits`
  throw new DataDirError('BAD_SECRET', `${path} is not a ${what}: ${found}. Remove it and start again to make a new one (${lost})`)
}

/**
 * A secret made once and kept: the same --data gives the same key, the same token. Written to
 * a temporary file, synced, then linked into place, so the name never points at a half-written
 * file, and of two processes making it at once, one wins and both read the winner's.
 */
function secretFile(dir: string, name: SecretName): Buffer {
  const path = join(dir, name)
  if (existsSync(path)) return parseSecret(name, path, readFileSync(path, 'utf8'))
  const secret = randomBytes(SECRETS[name].bytes)
  const temp = `${path}.${process.pid}.tmp`
  const fd = openSync(temp, 'w', OWNER_ONLY)
  try {
    writeSync(fd, secret.toString('hex') + '\n')
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  try {
    linkSync(temp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return parseSecret(name, path, readFileSync(path, 'utf8'))
  } finally {
    rmSync(temp, { force: true })
  }
  syncDir(dir)
  return secret
}

/** The new name is durable only once its directory is synced too. */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    /* not every platform can open a directory */
  }
}

export function identitySeed(dir: string): Buffer {
  return secretFile(dir, 'identity')
}

export function controlToken(dir: string): string {
  return secretFile(dir, 'token').toString('hex')
}

/** The token clients send; null when there is none or it is not one (the peer then refuses to run). */
export function readControlToken(dir: string): string | null {
  const path = join(dir, 'token')
  if (!existsSync(path)) return null
  const text = readFileSync(path, 'utf8').trim()
  return isWellFormedToken(text) ? text : null
}

/**
 * Where the control API listens for the CLI: a Unix socket in the data dir (or in the temp dir
 * when that path is too long for one), and on Windows, which has no such sockets in every
 * version Node supports, a named pipe whose name comes from the data dir.
 */
export function controlSocketPath(dir: string, os: NodeJS.Platform = platform()): string {
  const hash = () =>
    createHash('sha256')
      .update(os === 'win32' ? resolve(dir).toLowerCase() : resolve(dir))
      .digest('hex')
      .slice(0, 16)
  if (os === 'win32') return `\\\\.\\pipe\\swarmgrid-${hash()}`
  const inside = join(resolve(dir), 'control.sock')
  if (inside.length <= MAX_SOCKET_PATH) return inside
  return join(tmpdir(), `swarmgrid-${hash()}.sock`)
}

/** A named pipe is no file: there is nothing to remove before listening or after. */
export function isNamedPipe(path: string): boolean {
  return path.startsWith('\\\\.\\pipe\\') || path.startsWith('\\\\?\\pipe\\')
}

const runningFile = (dir: string) => join(dir, 'peer.json')

export function writeRunningPeer(dir: string, info: RunningPeerInfo): void {
  writeFileSync(runningFile(dir), JSON.stringify(info) + '\n', { mode: OWNER_ONLY })
}

export function clearRunningPeer(dir: string): void {
  rmSync(runningFile(dir), { force: true })
}

/** The peer that owns this data dir, if its process is still alive. */
export function readRunningPeer(dir: string): RunningPeerInfo | null {
  try {
    const info = JSON.parse(readFileSync(runningFile(dir), 'utf8')) as RunningPeerInfo
    process.kill(info.pid, 0)
    return info
  } catch {
    return null
  }
}
