/** Routes for operators beside the built-in ones: deleting a finished job, and the API's own spec. */
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpError, sendJson, type ControlServer } from './server.js'
import { JobDeleteError } from '../store/job-delete.js'

export interface JobDeleter { deleteJob(idOrPrefix: string): Promise<string> }

/** The spec ships beside the compiled file's source folder: node/control/openapi.json. */
const SPEC_URL = new URL('../../../node/control/openapi.json', import.meta.url)
let spec: unknown = null

export function openApiSpec(): unknown {
  spec ??= JSON.parse(readFileSync(SPEC_URL, 'utf8'))
  return spec
}

export function addOpsRoutes(control: ControlServer, deleter: JobDeleter): void {
  control.route('DELETE', /^\/api\/jobs\/([0-9a-f]+)$/, async (_peer: unknown, _req: IncomingMessage, res: ServerResponse, [id]: string[]) => {
    try {
      sendJson(res, 200, { id: await deleter.deleteJob(id), deleted: true })
    } catch (err) {
      if (err instanceof JobDeleteError) throw new HttpError(err.code === 'NO_SUCH_JOB' ? 404 : 409, err.message)
      throw err
    }
  }, true)
  control.route('GET', /^\/api\/openapi\.json$/, (_peer: unknown, _req: IncomingMessage, res: ServerResponse) => sendJson(res, 200, openApiSpec()))
}
