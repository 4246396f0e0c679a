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
