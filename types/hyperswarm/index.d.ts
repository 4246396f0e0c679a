declare module 'hyperswarm' {
  import { EventEmitter } from 'node:events'
  import type { Duplex } from 'node:stream'
  import type HyperDHT from 'hyperdht'

  export interface KeyPair { publicKey: Buffer; secretKey: Buffer }

  export interface PeerInfo {
    publicKey: Buffer
    topics: Buffer[]
    client: boolean
    ban(banned?: boolean): void
  }

  export interface SecretStream extends Duplex {
    remotePublicKey: Buffer
    publicKey: Buffer
    rawStream: { remoteHost: string; remotePort: number } | null
    isInitiator: boolean
    /** Ends the stream when nothing has been received for `ms` (0: never). */
    setTimeout(ms: number): void
    /** Set as soon as destroy() is called, before 'close'. */
    readonly destroying: boolean
  }

  export interface Discovery { flushed(): Promise<void>; refresh(): Promise<void>; destroy(): Promise<void> }

  export interface SwarmOptions {
    keyPair?: KeyPair
    seed?: Buffer
    dht?: HyperDHT
    bootstrap?: Array<string | { host: string; port: number }>
    maxPeers?: number
    firewall?: (remotePublicKey: Buffer) => boolean
  }

  export default class Hyperswarm extends EventEmitter {
    constructor(opts?: SwarmOptions)
    keyPair: KeyPair
    dht: HyperDHT
    connections: Set<SecretStream>
    peers: Map<string, PeerInfo>
    destroyed: boolean
    join(topic: Buffer, opts?: { server?: boolean; client?: boolean }): Discovery
    leave(topic: Buffer): Promise<void>
    flush(): Promise<void>
    destroy(opts?: { force?: boolean }): Promise<void>
    on(event: 'connection', listener: (conn: SecretStream, info: PeerInfo) => void): this
    on(event: string, listener: (...args: any[]) => void): this
  }
}
