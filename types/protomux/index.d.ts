declare module 'protomux' {
  import type { Duplex } from 'node:stream'
  export interface Encoding<T = any> {
    preencode(state: any, value: T): void
    encode(state: any, value: T): void
    decode(state: any): T
  }
  export interface Message<T = any> { type: number; send(value: T): boolean; encoding: Encoding<T> }
  export interface Channel {
    opened: boolean
    closed: boolean
    open(handshake?: unknown): void
    close(): void
    cork(): void
    uncork(): void
    addMessage<T>(opts: { encoding: Encoding<T>; onmessage?: (value: T) => void | Promise<void> }): Message<T>
  }
  export interface ChannelOptions {
    protocol: string
    id?: Buffer | null
    handshake?: Encoding
    onopen?: (handshake: any) => void | Promise<void>
    onclose?: () => void | Promise<void>
    ondestroy?: () => void | Promise<void>
  }
  export default class Protomux {
    constructor(stream: Duplex, opts?: object)
    static from(stream: Duplex, opts?: object): Protomux
    stream: Duplex
    createChannel(opts: ChannelOptions): Channel | null
    cork(): void
    uncork(): void
  }
}
