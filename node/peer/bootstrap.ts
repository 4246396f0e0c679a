/** Bootstrap node addresses: parsing HOST:PORT lists and running a node for a private grid. */
import { createSocket } from 'node:dgram'
import HyperDHT from 'hyperdht'

export interface HostPort {
  host: string
  port: number
}

export const DEFAULT_BOOTSTRAP_PORT = 49737

export function parseHostPort(text: string): HostPort {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text.trim())
  const port = match ? Number(match[2]) : NaN
  if (!match || port < 1 || port > 65535) throw new Error(`"${text}" is not HOST:PORT (for example 127.0.0.1:49737)`)
  return { host: match[1], port }
}

/** A comma-separated list or an array of HOST:PORT; undefined means Hyperswarm's public DHT. */
export function parseBootstrap(value: string | Array<string | HostPort> | undefined): HostPort[] | undefined {
  if (value === undefined || value === '') return undefined
  const items = typeof value === 'string' ? value.split(',').filter((s) => s.trim()) : value
  return items.map((item) => (typeof item === 'string' ? parseHostPort(item) : item))
}

/** A UDP port that is free now: the bootstrapper must be told its port, it cannot take 0. */
function freeUdpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4')
    socket.once('error', reject)
    socket.bind(0, host, () => {
      const { port } = socket.address()
      socket.close(() => resolve(port))
    })
  })
}

/** Runs a DHT bootstrap node (port 0: any free port); resolves with the node once it listens. */
export async function runBootstrapNode(host: string, port: number): Promise<HyperDHT> {
  const node = HyperDHT.bootstrapper(port === 0 ? await freeUdpPort(host) : port, host)
  await node.ready()
  return node
}
