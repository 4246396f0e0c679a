/** Deleting one finished job by id or prefix: the same rule for the running peer and for the CLI on a stopped one. */
import { conflict, notFound } from '../../base/errors.js'
import type { Store } from './store.js'

export const noSuchJob = (id: string) => notFound(`no job "${id}" in this data dir (swarmgrid status lists them)`)

/** Deletes the job unless `running(id)` says it still runs; resolves with its full id. NOT_FOUND or CONFLICT otherwise. */
export async function deleteFinishedJob(store: Store, idOrPrefix: string, running: (id: string) => boolean, hint: string): Promise<string> {
  const record = store.findJob(idOrPrefix)
  if (!record) throw noSuchJob(idOrPrefix)
  if (running(record.id)) throw conflict(`job ${record.id.slice(0, 8)} is still running: ${hint}`)
  if (!(await store.deleteJob(record.id))) throw noSuchJob(idOrPrefix)
  return record.id
}
