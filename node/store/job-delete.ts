/** Deleting one finished job by id or prefix: the same rule for the running peer and for the CLI on a stopped one. */
import type { Store } from './store.js'

export class JobDeleteError extends Error {
  override name = 'JobDeleteError'
  constructor(readonly code: 'NO_SUCH_JOB' | 'JOB_RUNNING', message: string) { super(message) }
}

export const noSuchJob = (id: string) => new JobDeleteError('NO_SUCH_JOB', `no job "${id}" in this data dir (swarmgrid status lists them)`)

/** Deletes the job unless `running(id)` says it still runs; resolves with its full id. */
export async function deleteFinishedJob(store: Store, idOrPrefix: string, running: (id: string) => boolean, hint: string): Promise<string> {
  const record = store.findJob(idOrPrefix)
  if (!record) throw noSuchJob(idOrPrefix)
  if (running(record.id)) throw new JobDeleteError('JOB_RUNNING', `job ${record.id.slice(0, 8)} is still running: ${hint}`)
  if (!await store.deleteJob(record.id)) throw noSuchJob(idOrPrefix)
  return record.id
}
