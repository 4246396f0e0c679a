/**
 * How a long-running peer's store grows with and without --retention: the same stream of
 * finished jobs (unit inputs, accepted outputs and a result each) written to two real lmdb
 * stores, one of which sweeps jobs older than the retention time as the peer does. Prints the
 * store file's size after every batch and the ratio of the two at the end.
 *
 *   node dist/bench/store-retention.js [--jobs 1000] [--units 32] [--keep 100] [--json]
 */
import { randomBytes } from 'node:crypto'
import { readdirSync, statSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Store, storePath } from '../node/store/store.js'
import type { JobRecord } from '../node/store/records.js'
import { sweepFinishedJobs } from '../node/peer/retention.js'
import { tempDir } from '../test/support/helpers.js'

const { values } = parseArgs({
  options: { jobs: { type: 'string' }, units: { type: 'string' }, keep: { type: 'string' }, json: { type: 'boolean' } }
})
const JOBS = Number(values.jobs ?? 1000)
const UNITS = Number(values.units ?? 32)
/** Jobs finish one a second (simulated), so a retention of `keep` seconds keeps about `keep` jobs. */
const KEEP = Number(values.keep ?? 100)
const BATCH = Math.max(1, Math.floor(JOBS / 10))
const INPUT_BYTES = 512
const OUTPUT_BYTES = 2048

function record(i: number): JobRecord {
  return {
    id: randomBytes(16).toString('hex'),
    task: 'bench',
    taskVersion: 1,
    params: { i },
    units: UNITS,
    policy: { quorum: 2, maxResults: 5, maxErrors: 3, leaseMs: 300_000 },
    state: 'running',
    createdAt: i * 1000,
    finishedAt: null,
    error: null,
    results: 0,
    accepted: 0,
    outvoted: []
  }
}

function storeBytes(dir: string): number {
  const path = storePath(dir)
  const stat = statSync(path)
  if (stat.isFile()) return stat.size
  return readdirSync(path).reduce((sum, name) => sum + statSync(join(path, name)).size, 0)
}

async function writeJob(store: Store, i: number): Promise<void> {
  const job = record(i)
  await store.createJob(
    job,
    Array.from({ length: UNITS }, () => randomBytes(INPUT_BYTES))
  )
  // As a busy coordinator's are: many accepts in one commit.
  await Promise.all(
    Array.from({ length: UNITS }, (_, unit) =>
      store.accept({ ...job, accepted: unit + 1 }, unit, {
        output: randomBytes(OUTPUT_BYTES),
        digest: 'x',
        peers: ['a', 'b'],
        at: i * 1000
      })
    )
  )
  await store.finishJob(job.id, { state: 'done', finishedAt: i * 1000, accepted: UNITS }, randomBytes(OUTPUT_BYTES))
}

async function main(): Promise<void> {
  const dirs = { forever: await tempDir('swarmgrid-bench-'), retention: await tempDir('swarmgrid-bench-') }
  const stores = { forever: Store.open(dirs.forever), retention: Store.open(dirs.retention) }
  const rows: Array<{ jobs: number; foreverBytes: number; retentionBytes: number; retainedJobs: number }> = []
  try {
    for (let i = 1; i <= JOBS; i++) {
      await writeJob(stores.forever, i)
      await writeJob(stores.retention, i)
      await sweepFinishedJobs(stores.retention, KEEP * 1000, i * 1000)
      if (i % BATCH === 0) {
        rows.push({
          jobs: i,
          foreverBytes: storeBytes(dirs.forever),
          retentionBytes: storeBytes(dirs.retention),
          retainedJobs: stores.retention.listJobs().length
        })
      }
    }
  } finally {
    await Promise.all(Object.values(stores).map((s) => s.close()))
  }
  const last = rows[rows.length - 1]
  const mid = rows[Math.floor(rows.length / 2) - 1]
  const result = {
    jobs: JOBS,
    units: UNITS,
    keep: KEEP,
    bytesPerJob: UNITS * (INPUT_BYTES + OUTPUT_BYTES) + OUTPUT_BYTES,
    rows,
    ratio: last.foreverBytes / last.retentionBytes,
    /** Growth of the retained store over the second half of the run, relative to its size at the half: near 0 means flat. */
    retentionGrowthSecondHalf: (last.retentionBytes - mid.retentionBytes) / mid.retentionBytes
  }
  await Promise.all(Object.values(dirs).map((d) => rm(d, { recursive: true, force: true })))
  if (values.json) {
    console.log(JSON.stringify(result))
    return
  }
  console.log(
    `store size, ${JOBS} finished jobs of ${UNITS} units (~${(result.bytesPerJob / 1024).toFixed(0)} KiB each), retention keeping ~${KEEP} jobs`
  )
  console.log('jobs     no retention   with retention   jobs kept')
  for (const r of rows) {
    console.log(
      `${String(r.jobs).padStart(5)}  ${(r.foreverBytes / 2 ** 20).toFixed(1).padStart(10)} MiB  ${(r.retentionBytes / 2 ** 20).toFixed(1).padStart(11)} MiB  ${String(r.retainedJobs).padStart(10)}`
    )
  }
  console.log(
    `ratio (no retention / retention) at the end: ${result.ratio.toFixed(1)}; retained store grew ${(result.retentionGrowthSecondHalf * 100).toFixed(1)}% over the second half`
  )
}

await main()
