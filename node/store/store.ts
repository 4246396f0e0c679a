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

type UnitKey = [string, number]

/**
 * Writes are gathered this long into one transaction. Each commit syncs to disk and holds up
 * the main thread a little; with a result every few milliseconds that was a commit per result.
 * Verdicts wait for the commit, so this is also what an accepted result waits for its verdict.
 */
const COMMIT_DELAY_MS = 10

export function storePath(dataDir: string): string {
  return join(dataDir, 'store')
}

export class Store {
  private readonly jobs: Database<JobRecord, string>
  private readonly inputs: Database<Uint8Array, UnitKey>
  private readonly accepted: Database<AcceptedOutput, UnitKey>
  private readonly results: Database<Uint8Array, string>
  private readonly peers: Database<Reputation, string>
  /** Job records and reputations change with every result: they are written behind (node/store/write-behind.ts). */
  private readonly jobWrites: WriteBehind<JobRecord>
  private readonly reputationWrites: WriteBehind<Reputation>
  private readonly writeBehinds: Array<WriteBehind<any, any>> = []

  private constructor(private readonly root: RootDatabase) {
    this.jobs = root.openDB({ name: 'jobs' })
    this.inputs = root.openDB({ name: 'inputs', encoding: 'binary' })
    this.accepted = root.openDB({ name: 'accepted' })
    this.results = root.openDB({ name: 'results', encoding: 'binary' })
    this.peers = root.openDB({ name: 'peers' })
    this.jobWrites = this.writeBehind(this.jobs)
    this.reputationWrites = this.writeBehind(this.peers)
  }

  static open(dataDir: string, { readOnly = false } = {}): Store {
    const path = storePath(dataDir)
    if (readOnly && !existsSync(path)) throw noStore(dataDir)
    if (!readOnly) mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    return new Store(open({ path, maxDbs: 16, readOnly, commitDelay: COMMIT_DELAY_MS }))
  }

  /** Writes the job and all its unit inputs in one transaction: a job is stored whole or not at all. */
  async createJob(job: JobRecord, inputs: Iterable<Uint8Array>): Promise<void> {
    await this.root.transaction(() => {
      let index = 0
      for (const input of inputs) this.inputs.put([job.id, index++], input)
      this.jobs.put(job.id, job)
    })
  }

  job(id: string): JobRecord | undefined { return this.jobWrites.get(id) }

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

  input(jobId: string, unit: number): Uint8Array | undefined { return this.inputs.get([jobId, unit]) }

  /**
   * Resolves once the output is on disk: only then may the verdict go out. `job` is the job's
   * record with its counters as they now stand; it is written behind (node/store/write-behind.ts).
   */
  async accept(job: JobRecord, unit: number, output: AcceptedOutput): Promise<void> {
    this.jobWrites.put(job.id, job)
    await this.accepted.put([job.id, unit], output)
  }

  acceptedOutput(jobId: string, unit: number): AcceptedOutput | undefined { return this.accepted.get([jobId, unit]) }

  acceptedUnits(jobId: string): number[] {
    return [...this.accepted.getKeys({ start: [jobId, 0], end: [jobId, Number.MAX_SAFE_INTEGER] }).map((key) => key[1])]
  }

  async finishJob(jobId: string, change: Partial<JobRecord>, result?: Uint8Array): Promise<void> {
    const job = this.job(jobId)
    this.jobWrites.take(jobId)
    await this.root.transaction(() => {
      if (result) this.results.put(jobId, result)
      if (job) this.jobs.put(jobId, { ...job, ...change })
    })
  }

  result(jobId: string): Uint8Array | undefined { return this.results.get(jobId) }

  reputation(key: string): Reputation | undefined { return this.reputationWrites.get(key) }

  allReputations(): Reputation[] { return this.reputationWrites.all() }

  /** Writes a reputation record whole: the trust ledger keeps the current one in memory. */
  saveReputation(record: Reputation): void { this.reputationWrites.put(record.key, record) }

  /** Backtracking: an accepted output that lost its credibility is removed until the unit is accepted again. */
  async unaccept(job: JobRecord, unit: number): Promise<void> {
    this.jobWrites.put(job.id, job)
    await this.accepted.remove([job.id, unit])
  }

  /** Writes to `db` coalesced (node/store/write-behind.ts), flushed before the store closes. */
  writeBehind<V, K extends Key = string>(db: Database<V, K>): WriteBehind<V, K> {
    const writes = new WriteBehind<V, K>(db)
    this.writeBehinds.push(writes)
    return writes
  }

  /** A named database of its own, for a module that keeps its records beside these (lease log, bans). */
  sub<V, K extends Key = Key>(name: string, options: { encoding?: 'binary' | 'msgpack' } = {}): Database<V, K> {
    return this.root.openDB<V, K>({ name, ...options })
  }

  async close(): Promise<void> {
    await Promise.all(this.writeBehinds.map((writes) => writes.flush()))
    await this.root.close()
  }
}

export function noStore(dataDir: string): Error {
  return new Error(`no swarmgrid data in ${dataDir}: start a peer there first (swarmgrid start --data ${dataDir}) or pass the right --data`)
}
