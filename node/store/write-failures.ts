/**
 * When the disk under the store fills up (or fails), lmdb rejects the commit's every write, and
 * then rejects a second promise with the cause. Unhandled, either ends the process, and a peer
 * that resumes the same job crashes the same way at every start. Every write the store makes
 * goes through here instead: a caller that awaits it still sees the error (the coordinator then
 * stops that job, saying why); one that does not (write-behind records, lease log, bans) has it
 * reported to the listeners, and the peer goes on serving.
 */
import { statfsSync } from 'node:fs'
import { SwarmgridError } from '../../base/errors.js'

export class StoreWriteError extends SwarmgridError {
  override name = 'StoreWriteError'
  constructor(message: string) {
    super('STORE_WRITE_FAILED', message)
  }
}

export type WriteFailureListener = (err: StoreWriteError) => void

/** The same failure is reported to listeners at most this often: a full disk fails every write. */
const REPORT_EVERY_MS = 10_000
/** How long to wait for lmdb's second promise, the one with the cause. */
const CAUSE_WAIT_MS = 500

/** Every store open in this process, for failures that lmdb leaves with no owner (below). */
const open = new Set<WriteFailures>()

/**
 * lmdb-js starts each event turn's batch of writes with a commit promise of its own that it
 * returns to no one; when that commit fails (a full disk) the rejection is unhandled and would
 * end the process, whatever its callers do with theirs. While a store is open, exactly that
 * rejection (lmdb's "Commit failed" error, which carries `commitError`) is reported to the open
 * stores instead; any other unhandled rejection is thrown on, as Node would.
 */
function onUnhandled(reason: unknown): void {
  if (!isCommitFailure(reason)) throw reason
  for (const failures of open) failures.background(Promise.reject(reason))
}

function isCommitFailure(reason: unknown): boolean {
  const e = reason as { message?: unknown; commitError?: { then?: unknown } } | null
  return !!e && typeof e.message === 'string' && e.message.startsWith('Commit failed') && typeof e.commitError?.then === 'function'
}

export class WriteFailures {
  private readonly listeners = new Set<WriteFailureListener>()
  private lastReported = 0
  /** The last failure, for anyone who asks later. */
  last: StoreWriteError | null = null

  constructor(private readonly dir: string) {
    if (open.size === 0) process.on('unhandledRejection', onUnhandled)
    open.add(this)
  }

  /** The store closed: its failures are no longer this module's to catch. */
  close(): void {
    if (!open.delete(this)) return
    if (open.size === 0) process.off('unhandledRejection', onUnhandled)
  }

  on(listener: WriteFailureListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** lmdb hands every write of one batch the same promise: one handler each is enough. */
  private readonly handled = new WeakSet<Promise<unknown>>()

  /** Handles a write that nobody awaits: its failure is reported, never thrown. */
  background(write: Promise<unknown>): void {
    if (this.handled.has(write)) return
    this.handled.add(write)
    write.catch((err) => {
      void this.describe(err).then((failure) => this.report(failure))
    })
  }

  /** The promise itself, with its rejection already in hand (no unhandled rejection), turned into a StoreWriteError. */
  watch<T>(write: Promise<T>): Promise<T> {
    return write.catch(async (err) => {
      throw await this.describe(err)
    })
  }

  /** What went wrong, with the cause when lmdb gives it and the space left on the disk. */
  async describe(err: unknown): Promise<StoreWriteError> {
    if (err instanceof StoreWriteError) return err
    const e = err as Error & { commitError?: Promise<unknown> }
    let cause: string | null = null
    if (e?.commitError && typeof e.commitError.then === 'function') {
      let timer!: NodeJS.Timeout
      cause = await Promise.race([
        e.commitError.then(
          () => null,
          (c: Error) => c?.message ?? String(c)
        ),
        new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), CAUSE_WAIT_MS)
          timer.unref()
        })
      ])
      clearTimeout(timer)
    }
    const failure = new StoreWriteError(
      `the store in ${this.dir} could not be written (${cause ?? e?.message ?? String(err)})${this.space()}`
    )
    this.last = failure
    return failure
  }

  private report(failure: StoreWriteError): void {
    const now = Date.now()
    if (now - this.lastReported < REPORT_EVERY_MS) return
    this.lastReported = now
    for (const listener of this.listeners) listener(failure)
  }

  private space(): string {
    try {
      const { bavail, bsize } = statfsSync(this.dir)
      const free = bavail * bsize
      return free < 64 * 1024 * 1024 ? `; the disk has ${Math.round(free / 1024)} KiB free: free some space, then start the peer again` : ''
    } catch {
      return ''
    }
  }
}
