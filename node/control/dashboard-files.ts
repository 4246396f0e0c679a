/** Serves the dashboard's static files from dashboard/ beside the built package. */
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ServerResponse } from 'node:http'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon'
}

/** dashboard/ sits at the package root, two levels above dist/node/ and one above node/. */
function dashboardRoot(): string {
  for (const up of ['../../../dashboard', '../../dashboard']) {
    const dir = fileURLToPath(new URL(up, import.meta.url))
    if (existsSync(join(dir, 'index.html'))) return dir
  }
  return fileURLToPath(new URL('../../dashboard', import.meta.url))
}

const root = dashboardRoot()

/**
 * Modules of the package that the page imports as they are built, so that the browser and the
 * CLI share one piece of code: each imports nothing and uses nothing of Node. The page asks for
 * `../tasks/x.js`, which from `/` is `/tasks/x.js`; the same specifier type-checks against the
 * source (dashboard/tsconfig.json).
 */
const SHARED_MODULES: Record<string, URL> = {
  '/tasks/wasi-runs.js': new URL('../../tasks/wasi-runs.js', import.meta.url)
}

/** Answers a GET for a dashboard file; false when there is no such file. */
export async function serveDashboard(pathname: string, res: ServerResponse): Promise<boolean> {
  const shared = SHARED_MODULES[pathname]
  if (shared && Object.hasOwn(SHARED_MODULES, pathname)) return sendFile(fileURLToPath(shared), CONTENT_TYPES['.js'], res)
  let relative: string
  try {
    relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname.slice(1))
  } catch {
    return false // a path that is not valid percent-encoding (GET /%) names no file
  }
  const path = normalize(join(root, relative))
  if (!path.startsWith(root + sep)) return false
  const type = CONTENT_TYPES[extname(path)]
  if (!type) return false
  return sendFile(path, type, res)
}

async function sendFile(path: string, type: string, res: ServerResponse): Promise<boolean> {
  try {
    const body = await readFile(path)
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' })
    res.end(body)
    return true
  } catch {
    return false
  }
}
