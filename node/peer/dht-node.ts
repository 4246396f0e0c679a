/** The DHT node a peer makes for itself, and whether its grid lies wholly on this machine. */
import HyperDHT, { type UdxSocket } from 'hyperdht'
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

/** How long a bound socket may take to hear itself before its address counts as unusable (hyperdht's own figure). */
const SELF_ECHO_MS = 500

/**
 * hyperdht checks each local address it would share with a connecting peer by sending a byte
 * from a socket bound there to itself, and gives up after 500 ms; its give-up timer stays armed
 * after the byte has come back, and held every `submit` of a short job open for up to half a
 * second after the job was done. The same check, with the timer cleared once answered.
 */
class PeerDht extends HyperDHT {
  private readonly selfEcho = new Map<string, Promise<boolean>>()

  override async validateLocalAddresses(addresses: HostPort[]): Promise<HostPort[]> {
    const usable = await Promise.all(addresses.map((addr) => this.echoes(addr.host)))
    return addresses.filter((_, i) => usable[i])
  }

  private echoes(host: string): Promise<boolean> {
    let known = this.selfEcho.get(host)
    if (known === undefined) {
      known = hearsItself(this.udx.createSocket(), host)
      this.selfEcho.set(host, known)
    }
    return known
  }
}

async function hearsItself(socket: UdxSocket, host: string): Promise<boolean> {
  let giveUp: NodeJS.Timeout | undefined
  try {
    socket.bind(0, host)
    return await new Promise<boolean>((resolve) => {
      socket.on('message', () => resolve(true))
      giveUp = setTimeout(() => resolve(false), SELF_ECHO_MS)
      socket.trySend(Buffer.alloc(1), socket.address().port, host)
    })
  } catch {
    return false // no socket binds there: not an address to share
  } finally {
    clearTimeout(giveUp)
    await socket.close()
  }
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
  return new PeerDht({ bootstrap, connectionKeepAlive: heartbeatMs(), ...(host ? { host } : {}), ...reachable })
}
