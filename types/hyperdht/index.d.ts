declare module 'hyperdht' {
  import { EventEmitter } from 'node:events'
  export interface DHTOptions {
    bootstrap?: Array<string | { host: string; port: number }>
    host?: string
    port?: number
    ephemeral?: boolean
    firewalled?: boolean
    /** Keep-alive interval of the connections this node makes and accepts, in ms (default 5000). */
    connectionKeepAlive?: number | false
  }
  export default class HyperDHT extends EventEmitter {
    constructor(opts?: DHTOptions)
    static keyPair(seed?: Buffer): { publicKey: Buffer; secretKey: Buffer }
    static bootstrapper(port: number, host: string, opts?: DHTOptions): HyperDHT
    ready(): Promise<void>
    fullyBootstrapped(): Promise<void>
    address(): { host: string; port: number }
    destroy(opts?: { force?: boolean }): Promise<void>
    /** The local addresses of these that a socket bound there can reach itself on: those shared with a connecting peer. */
    validateLocalAddresses(addresses: Array<{ host: string; port: number }>): Promise<Array<{ host: string; port: number }>>
    /** The UDX instance the node's sockets come from. */
    readonly udx: { createSocket(): UdxSocket }
  }
  /** A UDX datagram socket (udx-native), as far as swarmgrid uses one directly. */
  export interface UdxSocket {
    bind(port: number, host: string): void
    address(): { host: string; port: number }
    on(event: 'message', listener: () => void): void
    trySend(buffer: Buffer, port: number, host: string): void
    close(): Promise<void>
  }
}
declare module 'hyperdht/testnet.js' {
  import HyperDHT from 'hyperdht'
  export interface Testnet {
    nodes: HyperDHT[]
    bootstrap: Array<{ host: string; port: number }>
    createNode(opts?: object): HyperDHT
    destroy(): Promise<void>
  }
  export default function createTestnet(size?: number, opts?: { host?: string; port?: number }): Promise<Testnet>
}
