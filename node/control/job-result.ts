/**
 * GET /api/jobs/:id/result[.json|.png|.cbor]: a finished job's full result, for the dashboard's
 * image and download links. The live feed leaves the bytes out, so this is where they come from.
 */
import type { ServerResponse } from 'node:http'
import { toJsonSafe } from '../../tasks/values.js'
import type { JobView } from '../coordinator/job-view.js'
import type { ControlledPeer } from './types.js'

/** Sends the result in `format`; when there is none to send, says why and sends nothing. */
export function sendResult(peer: ControlledPeer, view: JobView, format: string, res: ServerResponse): string | null {
  const bytes = peer.result(view.id)
  if (!bytes || view.result === null) return `job ${view.id} has no result: it is ${view.state}`
  const name = `${view.task}-${view.id.slice(0, 8)}`
  // The result of a finished job never changes, so the browser may keep it.
  const headers = (type: string, ext: string) => ({
    'content-type': type,
    'cache-control': 'private, max-age=86400, immutable',
    'content-disposition': `inline; filename="${name}.${ext}"`
  })
  if (format === '.png') {
    const png = (view.result as { png?: unknown }).png
    if (!(png instanceof Uint8Array)) return `the ${view.task} result has no image`
    res.writeHead(200, headers('image/png', 'png'))
    res.end(png)
  } else if (format === '.cbor') {
    res.writeHead(200, headers('application/cbor', 'cbor'))
    res.end(bytes)
  } else {
    res.writeHead(200, headers('application/json; charset=utf-8', 'json'))
    res.end(JSON.stringify(toJsonSafe(view.result), null, 2) + '\n')
  }
  return null
}
