/** The DHT node a peer makes for itself, and whether its grid lies wholly on this machine. */
import HyperDHT from 'hyperdht'
import { heartbeatMs } from '../protocol/connection-guard.js'
import { parseBootstrap, type HostPort } from './bootstrap.js'

/** What of a peer's options says where its DHT node binds and whom it asks first. */
export interface DhtOptions {
  bootstrap?: Array<string | HostPort> | string
  host?: string
  dht?: HyperDHT
}

const isLoopback = (host: string) => host.startsWith('127.') || host === 'localhost' || host === '::1'

/** Whether every bootstrap node is on loopback, so that every peer of the grid runs on this machine. */
export function loopbackGrid(opts: DhtOptions): boolean {
  const nodes = opts.dht
    ? (opts.dht as unknown as { bootstrapNodes?: HostPort[] }).bootstrapNodes
    : parseBootstrap(opts.bootstrap ?? process.env.SWARMGRID_BOOTSTRAP)
  return !!nodes && nodes.length > 0 && nodes.every((b) => isLoopback(b.host))
}

export function makeDht(opts: DhtOptions): HyperDHT {
  const bootstrap = parseBootstrap(opts.bootstrap ?? process.env.SWARMGRID_BOOTSTRAP)
  const allLoopback = bootstrap?.every((b) => isLoopback(b.host))
  const host = opts.host ?? (allLoopback ? '127.0.0.1' : undefined)
  // SWARMGRID_REACHABLE=1: this peer's address is reachable directly (a LAN, no NAT), so others
  // need not hole-punch to it; Hyperswarm only learns that by itself after minutes of uptime.
  // A node bound to loopback is reachable by definition: no NAT lies between two processes of one
  // machine. Left firewalled, hyperdht races its same-host shortcut against a hole punch that a
  // one-node DHT cannot analyse; the server aborts the punch and destroys the stream the client has
  // just connected, which then stays half-open until a keep-alive timeout (docs/first-contact.md).
  const reachable = process.env.SWARMGRID_REACHABLE === '1' || (host !== undefined && isLoopback(host)) ? { firewalled: false } : {}
  return new HyperDHT({ bootstrap, connectionKeepAlive: heartbeatMs(), ...(host ? { host } : {}), ...reachable })
}
