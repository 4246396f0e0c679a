/**
 * node/control/ — the peer's control API and dashboard on this machine: this server, the client the CLI uses
 * (client.ts), the live feed of server-sent events (live-feed.ts), results and dashboard files
 * (job-result.ts, dashboard-files.ts). It serves any ControlledPeer (types.ts), never the Peer
 * class itself.
 *
 * The control API, one handler on two listeners: a Unix socket in the data dir for the CLI,
 * and, when asked, HTTP on 127.0.0.1 for the dashboard. Reads are open to whoever can reach
 * them; anything that changes state needs the token from the data dir.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { timingSafeEqual } from 'node:crypto'
import { rmSync } from 'node:fs'
import { badRequest, conflict, forbidden, httpStatusOf, notFound, tooLarge, unauthorized } from '../../base/errors.js'
import { toJsonSafe } from '../../tasks/values.js'
import type { JobSpec } from '../coordinator/job-spec.js'
import { serveDashboard } from './dashboard-files.js'
import { refusedOrigin } from './origin-check.js'
import { DataDirError, isNamedPipe, isWellFormedToken } from '../store/data-dir.js'
import { sendResult } from './job-result.js'
import { runsPage, sendRunOutput, type RunPart } from './job-runs.js'
import type { ControlledPeer } from './types.js'

/** Request bodies larger than this are refused: a job spec carries at most its program (wasm, js code) and inputs. */
const MAX_BODY_BYTES = 64 * 1024 * 1024

type Handler = (peer: ControlledPeer, req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void> | void

interface Route {
  method: string
  pattern: RegExp
  auth: boolean
  handler: Handler
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(toJsonSafe(value))
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(body)
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw tooLarge(`request body over ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')
  } catch {
    throw badRequest('request body is not JSON')
  }
}

function jobOr404(peer: ControlledPeer, id: string) {
  const view = peer.status(id)
  if (!view) throw notFound(`no job ${id} on this peer`)
  return view
}

const routes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/api\/info$/,
    auth: false,
    handler: (peer, _req, res) =>
      sendJson(res, 200, {
        key: peer.key,
        grid: peer.grid,
        roles: peer.roles,
        url: peer.url,
        tasks: peer.tasks().map(({ name, version }) => ({ name, version })),
        donor: peer.donorStats()
      })
  },
  { method: 'GET', pattern: /^\/api\/jobs$/, auth: false, handler: (peer, _req, res) => sendJson(res, 200, peer.jobs()) },
  {
    method: 'POST',
    pattern: /^\/api\/jobs$/,
    auth: true,
    handler: async (peer, req, res) => {
      const spec = (await readJson(req)) as JobSpec
      if (!spec || typeof spec.task !== 'string') throw badRequest('a job needs "task"')
      sendJson(res, 201, await peer.submit(spec))
    }
  },
  {
    method: 'GET',
    pattern: /^\/api\/jobs\/([0-9a-f]+)$/,
    auth: false,
    handler: (peer, _req, res, [id]) => sendJson(res, 200, jobOr404(peer, id))
  },
  {
    method: 'POST',
    pattern: /^\/api\/jobs\/([0-9a-f]+)\/cancel$/,
    auth: true,
    handler: async (peer, _req, res, [id]) => {
      const view = await peer.cancel(jobOr404(peer, id).id)
      if (!view) throw conflict(`job ${id} is not running`)
      sendJson(res, 200, view)
    }
  },
  {
    method: 'GET',
    pattern: /^\/api\/jobs\/([0-9a-f]+)\/result(\.json|\.png|\.cbor)?$/,
    auth: false,
    handler: (peer, _req, res, [id, format]) => {
      const missing = sendResult(peer, jobOr404(peer, id), format ?? '.json', res)
      if (missing) throw notFound(missing)
    }
  },
  {
    method: 'GET',
    pattern: /^\/api\/jobs\/([0-9a-f]+)\/runs$/,
    auth: false,
    handler: (peer, req, res, [id]) => sendJson(res, 200, runsPage(peer, id, new URL(req.url ?? '/', 'http://localhost').searchParams))
  },
  {
    method: 'GET',
    // The out file's path stays percent-encoded here; job-runs.ts decodes and checks it.
    pattern: /^\/api\/jobs\/([0-9a-f]+)\/runs\/(\d{1,9})\/(stdout|stderr|exit|out)(?:\/(.+))?$/,
    auth: false,
    handler: (peer, _req, res, [id, run, part, path]) => {
      if ((part === 'out') !== (path !== undefined)) throw notFound(part === 'out' ? 'name the file: out/PATH' : `no ${part}/${path}`)
      sendRunOutput(peer, id, Number(run), part as RunPart, path ?? '', res)
    }
  },
  {
    method: 'GET',
    pattern: /^\/api\/jobs\/([0-9a-f]+)\/units\/(\d+)$/,
    auth: false,
    handler: (peer, _req, res, [id, unit]) => {
      const report = peer.unitReport(id, Number(unit))
      if (!report) throw notFound(`no job ${id} on this peer`)
      sendJson(res, 200, report)
    }
  },
  { method: 'GET', pattern: /^\/api\/peers$/, auth: false, handler: (peer, _req, res) => sendJson(res, 200, peer.peers()) },
  { method: 'GET', pattern: /^\/api\/log$/, auth: false, handler: (peer, _req, res) => sendJson(res, 200, peer.log) },
  // The owner's commands to the donor need the token; reading its state does not.
  { method: 'GET', pattern: /^\/api\/donor$/, auth: false, handler: (peer, _req, res) => sendJson(res, 200, donorOf(peer).view()) },
  {
    method: 'POST',
    pattern: /^\/api\/donor\/pause$/,
    auth: true,
    handler: (peer, _req, res) => sendJson(res, 200, donorOf(peer).pause(false))
  },
  {
    method: 'POST',
    pattern: /^\/api\/donor\/finish$/,
    auth: true,
    handler: (peer, _req, res) => sendJson(res, 200, donorOf(peer).pause(true))
  },
  {
    method: 'POST',
    pattern: /^\/api\/donor\/resume$/,
    auth: true,
    handler: (peer, _req, res) => sendJson(res, 200, donorOf(peer).resume())
  }
]

function donorOf(peer: ControlledPeer) {
  const controls = peer.donorControls()
  if (!controls) throw conflict('this peer does not donate (started with --no-donate)')
  return controls
}

export class ControlServer {
  private readonly servers: Server[] = []
  private readonly extraRoutes: Route[] = []
  private socketPath: string | null = null
  private peer: ControlledPeer | null = null

  constructor(private readonly token: string) {
    // An empty or malformed token would make every request look authorized: no token, no server.
    if (!isWellFormedToken(token))
      throw new DataDirError(
        'NO_TOKEN',
        'the control API needs a well-formed control token (48 hex digits); refusing to serve it without one'
      )
  }

  /** Adds a route beside the built-in ones; the dashboard's live feed comes in this way. */
  route(method: string, pattern: RegExp, handler: Handler, auth = false): void {
    this.extraRoutes.push({ method, pattern, handler, auth })
  }

  /** Every route served, built-in and added, for checking them against the spec (openapi.json). */
  routeList(): Array<{ method: string; pattern: RegExp }> {
    return [...routes, ...this.extraRoutes].map(({ method, pattern }) => ({ method, pattern }))
  }

  /** Listens on the socket, and on 127.0.0.1:port unless port is false; resolves with the HTTP URL or null. */
  async listen(peer: ControlledPeer, { socket, port }: { socket: string; port: number | false }): Promise<string | null> {
    this.peer = peer
    if (!isNamedPipe(socket)) rmSync(socket, { force: true })
    await this.open(socket)
    this.socketPath = socket
    if (port === false) return null
    const server = await this.open(port, '127.0.0.1')
    const address = server.address() as { port: number }
    return `http://127.0.0.1:${address.port}/`
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve())
            server.closeAllConnections()
          })
      )
    )
    this.servers.length = 0
    if (this.socketPath && !isNamedPipe(this.socketPath)) rmSync(this.socketPath, { force: true })
  }

  private open(where: string | number, host?: string): Promise<Server> {
    const server = createServer((req, res) => void this.handle(req, res))
    this.servers.push(server)
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      const done = () => {
        server.off('error', reject)
        resolve(server)
      }
      if (typeof where === 'string') server.listen(where, done)
      else server.listen(where, host, done)
    })
  }

  private authorized(req: IncomingMessage): boolean {
    const given = Buffer.from((req.headers.authorization ?? '').replace(/^Bearer\s+/i, ''))
    const expected = Buffer.from(this.token)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const peer = this.peer!
    try {
      const url = new URL(req.url ?? '/', 'http://localhost')
      // The Unix socket has no port: there only a page's Origin is checked (origin-check.ts).
      const refused = refusedOrigin(req, req.socket.localPort ?? null)
      if (refused) throw forbidden(refused)
      for (const route of [...routes, ...this.extraRoutes]) {
        const match = route.pattern.exec(url.pathname)
        if (!match || route.method !== req.method) continue
        if (route.auth && !this.authorized(req))
          throw unauthorized("this needs the token in the peer's data dir (Authorization: Bearer TOKEN)")
        await route.handler(peer, req, res, match.slice(1))
        return
      }
      if (req.method === 'GET' && (await serveDashboard(url.pathname, res))) return
      throw notFound(`no ${req.method} ${url.pathname}`)
    } catch (err) {
      if (!res.headersSent) sendJson(res, httpStatusOf(err), { error: (err as Error).message })
      else res.destroy()
    }
  }
}
