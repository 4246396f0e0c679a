/**
 * Who may talk to the control API over HTTP. It listens on 127.0.0.1 only, but a web page can
 * still reach it: through DNS rebinding (attacker.example resolves to 127.0.0.1, and the page
 * reads the answers as its own origin) or by sending requests cross-origin. So the Host a
 * request names must be this peer's own loopback address, and a request that comes from a page
 * (it carries an Origin) must come from the dashboard's own origin.
 */
import type { IncomingMessage } from 'node:http'

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]']

/** The Host values a request to 127.0.0.1:port may carry. */
export function allowedHosts(port: number): Set<string> {
  return new Set(LOOPBACK_NAMES.map((name) => `${name}:${port}`))
}

/**
 * Why this request must be refused, or null when it may go on. `port` is the HTTP listener's
 * port; null for the Unix socket, which no browser can reach and which the data dir's
 * permissions guard, so there only a page's Origin is checked.
 */
export function refusedOrigin(req: IncomingMessage, port: number | null): string | null {
  const hosts = port === null ? null : allowedHosts(port)
  if (hosts) {
    const host = (req.headers.host ?? '').toLowerCase()
    if (!hosts.has(host)) return `Host "${printable(host)}" is not this peer: use http://127.0.0.1:${port}/`
  }
  const origin = req.headers.origin
  if (origin === undefined) return null
  let site: string
  try {
    const url = new URL(origin)
    site = url.protocol === 'http:' ? url.host : ''
  } catch {
    site = ''
  }
  if (hosts ? hosts.has(site) : false) return null
  return `requests from the page at ${printable(origin)} are refused: only the dashboard itself may call this API`
}

/** A header echoed into a message: control characters and length cut. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, 100)
}
