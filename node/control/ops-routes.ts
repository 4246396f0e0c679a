/** Routes for operators beside the built-in ones: deleting a finished job, and the API's own spec. */
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendJson, type ControlServer } from './server.js'

export interface JobDeleter {
  deleteJob(idOrPrefix: string): Promise<string>
}

/** The spec ships beside the compiled file's source folder: node/control/openapi.json. */
const SPEC_URL = new URL('../../../node/control/openapi.json', import.meta.url)
let spec: unknown = null

export function openApiSpec(): unknown {
  spec ??= JSON.parse(readFileSync(SPEC_URL, 'utf8'))
  return spec
}

export function addOpsRoutes(control: ControlServer, deleter: JobDeleter): void {
  // NOT_FOUND and CONFLICT from deleteFinishedJob answer 404 and 409 (base/errors.ts).
  control.route(
    'DELETE',
    /^\/api\/jobs\/([0-9a-f]+)$/,
    async (_peer: unknown, _req: IncomingMessage, res: ServerResponse, [id]: string[]) => {
      sendJson(res, 200, { id: await deleter.deleteJob(id), deleted: true })
    },
    true
  )
  control.route('GET', /^\/api\/openapi\.json$/, (_peer: unknown, _req: IncomingMessage, res: ServerResponse) =>
    sendJson(res, 200, openApiSpec())
  )
}
