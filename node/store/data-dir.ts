/**
 * The files a peer keeps in its data dir besides the store: its identity seed, the control
 * token and, while it runs, where its control API listens. All readable by the owner only.
 */
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, platform, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const OWNER_ONLY = 0o600
/** Unix socket paths longer than this do not fit in sockaddr_un on Linux. */
const MAX_SOCKET_PATH = 100

export interface RunningPeerInfo { pid: number; key: string; socket: string; url: string | null }

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

/** A secret made once and kept: the same --data gives the same key, the same token. */
function secretFile(dir: string, name: string, bytes: number): Buffer {
  const path = join(dir, name)
  if (existsSync(path)) return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex')
  const secret = randomBytes(bytes)
  writeFileSync(path, secret.toString('hex') + '\n', { mode: OWNER_ONLY, flag: 'wx' })
  return secret
}

export function identitySeed(dir: string): Buffer { return secretFile(dir, 'identity', 32) }

export function controlToken(dir: string): string { return secretFile(dir, 'token', 24).toString('hex') }

export function readControlToken(dir: string): string | null {
  const path = join(dir, 'token')
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : null
}

/**
 * Where the control API listens for the CLI: a Unix socket in the data dir (or in the temp dir
 * when that path is too long for one), and on Windows, which has no such sockets in every
 * version Node supports, a named pipe whose name comes from the data dir.
 */
export function controlSocketPath(dir: string, os: NodeJS.Platform = platform()): string {
  const hash = () => createHash('sha256').update(os === 'win32' ? resolve(dir).toLowerCase() : resolve(dir)).digest('hex').slice(0, 16)
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
