declare module 'comlink/dist/esm/comlink.mjs' {
  export * from 'comlink'
}
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink'
  export default function nodeEndpoint(port: {
    postMessage(message: any, transfer?: any[]): void
    on(type: string, listener: (...args: any[]) => void): void
    off(type: string, listener: (...args: any[]) => void): void
    start?: () => void
  }): Endpoint
}
