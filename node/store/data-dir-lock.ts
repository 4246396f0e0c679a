/**
 * One peer per data dir. Two peers on one dir run with the same key and the second takes over
 * the control socket, so the first can no longer be reached; the second must refuse to start.
 *
 * On Linux the lock is a listening socket in the abstract namespace, named after the dir: the
 * kernel lets one process bind it and frees it when that process dies, however it dies, so a
 * SIGKILLed peer leaves no stale lock behind. Elsewhere it is a file made with O_EXCL, and a
 * file whose PID is no longer alive is taken over.
 */
import { createHash } from 'node:crypto'
import { readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { DataDirError } from './data-dir.js'

export interface DataDirLock {
  release(): Promise<void>
}

const lockFile = (dir: string) => join(dir, 'lock')

/** Takes the data dir for this process, or throws a DataDirError (code DATA_DIR_LOCKED) naming the PID that holds it. */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  return process.platform === 'linux' ? socketLock(dir) : fileLock(dir)
}

function lockedError(dir: string, pid: number | null): DataDirError {
  const holder = pid === null ? 'another process' : pid === process.pid ? `another peer in this process (PID ${pid})` : `PID ${pid}`
  return new DataDirError(
    'DATA_DIR_LOCKED',
    `the data dir ${dir} is in use by a swarmgrid peer already running as ${holder}: stop it first, or give this peer its own --data`
  )
}

function holderPid(dir: string): number | null {
  try {
    const pid = Number(readFileSync(lockFile(dir), 'utf8').trim())
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

async function socketLock(dir: string): Promise<DataDirLock> {
  const name = '\0swarmgrid-lock-' + createHash('sha256').update(realpathSync(dir)).digest('hex').slice(0, 40)
  const server: Server = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? lockedError(dir, holderPid(dir)) : err))
    server.listen(name, () => resolve())
  })
  // The socket only marks the dir taken: it must not keep the process alive.
  server.unref()
  writeFileSync(lockFile(dir), `${process.pid}\n`, { mode: 0o600 })
  return heldLock(dir, () => new Promise<void>((resolve) => server.close(() => resolve())))
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function fileLock(dir: string): Promise<DataDirLock> {
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(lockFile(dir), `${process.pid}\n`, { mode: 0o600, flag: 'wx' })
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = holderPid(dir)
      if (attempt > 0 || (pid !== null && alive(pid))) throw lockedError(dir, pid)
      rmSync(lockFile(dir), { force: true })
    }
  }
  return heldLock(dir)
}

/** The hold on `dir`: releasing it once removes the PID file if it is still this process's, then lets go of the rest. */
function heldLock(dir: string, letGo: () => Promise<void> = async () => {}): DataDirLock {
  let released = false
  return {
    async release() {
      if (released) return
      released = true
      if (holderPid(dir) === process.pid) rmSync(lockFile(dir), { force: true })
      await letGo()
    }
  }
}
