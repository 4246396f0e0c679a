/**
 * node/store/ — what a peer keeps on disk: this store, the shapes of its records (records.ts), the records written behind it (write-behind.ts), the
 * log of leases out (lease-log.ts) and the data dir's other files: identity, token, running-peer
 * note (data-dir.ts).
 *
 * The peer's crash-safe store (lmdb) under --data: jobs, unit inputs, accepted outputs, job
 * results and peer reputation. lmdb lets the CLI read it while the owning peer writes it.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { open, type Database, type Key, type RootDatabase } from 'lmdb'
import { WriteBehind } from './write-behind.js'
import type { AcceptedOutput, JobRecord, Reputation } from './records.js'
import { WriteFailures } from './write-failures.js'

type UnitKey = [string, number]

/** Named databases of other modules keyed [job, unit], which a deleted job takes with it. */
const JOB_KEYED_SUBS = ['left-out-units']

/**
 * Writes are gathered this long into one transaction. Each commit syncs to disk and holds up
 * the main thread a little; with a result every few milliseconds that was a commit per result.
 * Verdicts wait for the commit and its sync, so this is also what an accepted result waits for its verdict.
 */
const COMMIT_DELAY_MS = 10

/** Unit inputs written per transaction when a job is stored: a few ms of the main thread each. */
const INPUTS_PER_TXN = 5000

export function storePath(dataDir: string): string {
  return join(dataDir, 'store')
}

export class Store {
  private readonly jobs: Database<JobRecord, string>
  private readonly inputs: Database<Uint8Array, UnitKey>
  private readonly accepted: Database<AcceptedOutput, UnitKey>
  private readonly results: Database<Uint8Array, string>
  private readonly peers: Database<Reputation, string>
  /** Shared bytes by hex SHA-256 (tasks/shared-bytes.ts): once, however many units and jobs name them. */
  private readonly shared: Database<Uint8Array, string>
  /** [hash, job] for every job whose units name the hash: the bytes go with the last of them. */
  private readonly sharedUsers: Database<true, [string, string]>
  /** Each job's whole params, as canonical CBOR, written once: the record holds only their outline. */
  private readonly params: Database<Uint8Array, string>
  /** Job records and reputations change with every result: they are written behind (node/store/write-behind.ts). */
  private readonly jobWrites: WriteBehind<JobRecord>
  private readonly reputationWrites: WriteBehind<Reputation>
  private readonly writeBehinds: Array<WriteBehind<any, any>> = []

  /** Every failed write is reported here, and none ends the process (write-failures.ts). */
  readonly failures: WriteFailures

  private constructor(
    private readonly root: RootDatabase,
    dataDir: string
  ) {
    this.failures = new WriteFailures(dataDir)
    this.guard(root, ['transaction'])
    this.jobs = this.guard(root.openDB({ name: 'jobs' }))
    this.inputs = this.guard(root.openDB({ name: 'inputs', encoding: 'binary' }))
    this.accepted = this.guard(root.openDB({ name: 'accepted' }))
    this.results = this.guard(root.openDB({ name: 'results', encoding: 'binary' }))
    this.peers = this.guard(root.openDB({ name: 'peers' }))
    this.shared = this.guard(root.openDB({ name: 'shared-bytes', encoding: 'binary' }))
    this.sharedUsers = this.guard(root.openDB({ name: 'shared-users' }))
    this.params = this.guard(root.openDB({ name: 'params', encoding: 'binary' }))
    this.jobWrites = this.writeBehind(this.jobs)
    this.reputationWrites = this.writeBehind(this.peers)
  }

  static open(dataDir: string, { readOnly = false } = {}): Store {
    const path = storePath(dataDir)
    if (readOnly && !existsSync(path)) throw noStore(dataDir)
    if (!readOnly) mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    return new Store(open({ path, maxDbs: 32, readOnly, commitDelay: COMMIT_DELAY_MS }), dataDir)
  }

  /**
   * Writes the job's unit inputs, then its record: a job is stored whole or not at all, since
   * until its record is written no one knows of the job. The inputs go in transactions of at
   * most INPUTS_PER_TXN, so that a huge job does not hold up the main thread in one piece;
   * if any fails, those written are removed again.
   */
  async createJob(
    job: JobRecord,
    inputs: readonly Uint8Array[],
    extra: { shared?: ReadonlyMap<string, Uint8Array>; params?: Uint8Array } = {}
  ): Promise<void> {
    try {
      await this.root.transaction(() => {
        for (const [hash, bytes] of extra.shared ?? []) {
          if (!this.shared.doesExist(hash)) this.shared.put(hash, bytes)
          this.sharedUsers.put([hash, job.id], true)
        }
        if (extra.params) this.params.put(job.id, extra.params)
      })
      for (let start = 0; start < inputs.length; start += INPUTS_PER_TXN) {
        await this.root.transaction(() => {
          const end = Math.min(inputs.length, start + INPUTS_PER_TXN)
          for (let index = start; index < end; index++) this.inputs.put([job.id, index], inputs[index])
        })
      }
      await this.jobs.put(job.id, job)
    } catch (err) {
      this.failures.background(
        this.root.transaction(() => {
          for (const { key } of this.inputs.getRange({ start: [job.id, 0], end: [job.id, Number.MAX_SAFE_INTEGER] }))
            this.inputs.remove(key)
          this.forgetShared(job.id, [...(extra.shared?.keys() ?? [])])
          this.params.remove(job.id)
        })
      )
      throw err
    }
  }

  job(id: string): JobRecord | undefined {
    return this.jobWrites.get(id)
  }

  listJobs(): JobRecord[] {
    return this.jobWrites.all().sort((a, b) => a.createdAt - b.createdAt)
  }

  /** Finds a job by a prefix of its id, as users type the first few characters. */
  findJob(idOrPrefix: string): JobRecord | undefined {
    const exact = this.job(idOrPrefix)
    if (exact) return exact
    const matches = this.listJobs().filter((j) => j.id.startsWith(idOrPrefix))
    return matches.length === 1 ? matches[0] : undefined
  }

  updateJob(id: string, change: Partial<JobRecord>): Promise<boolean> {
    const job = this.job(id)
    if (!job) return Promise.resolve(false)
    this.jobWrites.take(id)
    return this.jobs.put(id, { ...job, ...change })
  }

  /** Shared bytes that a stored job's units name, by hex SHA-256. */
  sharedBytes(hash: string): Uint8Array | undefined {
    return this.shared.get(hash)
  }

  /** Whether shared bytes with this hash are stored, without reading them. */
  hasSharedBytes(hash: string): boolean {
    return this.shared.doesExist(hash)
  }

  /** The job's whole params as canonical CBOR; undefined for a job stored before they were kept apart (its record has them). */
  jobParams(jobId: string): Uint8Array | undefined {
    return this.params.get(jobId)
  }

  /** Inside a transaction: the job no longer uses these shared bytes, which go when no other job does. */
  private forgetShared(jobId: string, hashes: string[]): void {
    for (const hash of hashes) {
      this.sharedUsers.remove([hash, jobId])
      const others = this.sharedUsers.getKeys({ start: [hash, ''], end: [hash, '\uffff'] }) as Iterable<[string, string]>
      if (![...others].some(([, job]) => job !== jobId)) this.shared.remove(hash)
    }
  }

  input(jobId: string, unit: number): Uint8Array | undefined {
    return this.inputs.get([jobId, unit])
  }

  /**
   * Resolves once the output is on disk: only then may the verdict go out. `job` is the job's
   * record with its counters as they now stand; it is written behind (node/store/write-behind.ts).
   */
  async accept(job: JobRecord, unit: number, output: AcceptedOutput): Promise<void> {
    this.jobWrites.put(job.id, job)
    await this.accepted.put([job.id, unit], output)
    // Committed, it would survive this process being killed; lmdb syncs after the commit
    // (overlappingSync), and only once synced does it survive the machine losing power.
    await this.accepted.flushed
  }

  acceptedOutput(jobId: string, unit: number): AcceptedOutput | undefined {
    return this.accepted.get([jobId, unit])
  }

  acceptedUnits(jobId: string): number[] {
    return [...this.accepted.getKeys({ start: [jobId, 0], end: [jobId, Number.MAX_SAFE_INTEGER] }).map((key) => key[1])]
  }

  async finishJob(jobId: string, change: Partial<JobRecord>, result?: Uint8Array): Promise<void> {
    const job = this.job(jobId)
    this.jobWrites.take(jobId)
    // What the job's results changed (reputations, credit) goes down with its end, not up to a
    // second later: `swarmgrid status` reads them from disk as soon as the job is done.
    const behind = this.flushWritesBehind()
    await this.root.transaction(() => {
      if (result) this.results.put(jobId, result)
      if (job) this.jobs.put(jobId, { ...job, ...change })
    })
    await behind
    // A job is seen as finished only once its end is synced to disk, as accepted outputs are.
    await this.root.flushed
  }

  result(jobId: string): Uint8Array | undefined {
    return this.results.get(jobId)
  }

  /**
   * Removes a job and everything kept for it (unit inputs, accepted outputs, result, units left
   * out) in one transaction; false if there was no such job. The caller makes sure it is not running.
   */
  async deleteJob(jobId: string): Promise<boolean> {
    const record = this.job(jobId)
    if (!record) return false
    this.jobWrites.take(jobId)
    const range = { start: [jobId, 0] as UnitKey, end: [jobId, Number.MAX_SAFE_INTEGER] as UnitKey }
    const perJob = JOB_KEYED_SUBS.map((name) => this.sub<unknown, UnitKey>(name))
    await this.root.transaction(() => {
      for (const db of [this.inputs, this.accepted, ...perJob]) {
        for (const key of [...db.getKeys(range)]) db.remove(key as UnitKey)
      }
      this.results.remove(jobId)
      this.forgetShared(jobId, record.shared ?? [])
      this.params.remove(jobId)
      this.jobs.remove(jobId)
    })
    return true
  }

  reputation(key: string): Reputation | undefined {
    return this.reputationWrites.get(key)
  }

  allReputations(): Reputation[] {
    return this.reputationWrites.all()
  }

  /** Writes a reputation record whole: the trust ledger keeps the current one in memory. */
  saveReputation(record: Reputation): void {
    this.reputationWrites.put(record.key, record)
  }

  /** Backtracking: an accepted output that lost its credibility is removed until the unit is accepted again. */
  async unaccept(job: JobRecord, unit: number): Promise<void> {
    this.jobWrites.put(job.id, job)
    await this.accepted.remove([job.id, unit])
  }

  /**
   * Writes to `db` coalesced (write-behind.ts), flushed before the store closes.
   * @internal lmdb's types are not the library's: its index.d.ts fails a strict ESM importer's tsc (TS1203).
   */
  writeBehind<V, K extends Key = string>(db: Database<V, K>): WriteBehind<V, K> {
    const writes = new WriteBehind<V, K>(db)
    this.writeBehinds.push(writes)
    return writes
  }

  private async flushWritesBehind(): Promise<void> {
    await Promise.all(this.writeBehinds.map((writes) => writes.flush()))
  }

  /**
   * A named database of its own, for a module that keeps its records beside these (lease log, bans).
   * @internal as writeBehind
   */
  sub<V, K extends Key = Key>(name: string, options: { encoding?: 'binary' | 'msgpack' } = {}): Database<V, K> {
    return this.guard(this.root.openDB<V, K>({ name, ...options }))
  }

  /**
   * The database with each asynchronous write's promise handed to `failures` as it is made, so
   * that a write nobody awaits cannot end the process when the disk is full; whoever awaits it
   * still gets the rejection.
   */
  private guard<D extends Database<any, any>>(db: D, methods: string[] = ['put', 'remove']): D {
    const target = db as unknown as Record<string, (...args: unknown[]) => unknown>
    for (const name of methods) {
      // A read-only store (the CLI's) has no writes to guard.
      if (typeof target[name] !== 'function') continue
      const write = target[name].bind(db)
      target[name] = (...args: unknown[]) => {
        const pending = write(...args)
        if (pending instanceof Promise) this.failures.background(pending)
        return pending
      }
    }
    return db
  }

  async close(): Promise<void> {
    await this.flushWritesBehind()
    await this.root.close()
    this.failures.close()
  }
}

export function noStore(dataDir: string): Error {
  return new Error(`no swarmgrid data in ${dataDir}: start a peer there first (swarmgrid start --data ${dataDir}) or pass the right --data`)
}
