/** Talks to the running peer that owns a data dir, over its control socket. */
import { request } from 'node:http'
import { readControlToken, readRunningPeer, type RunningPeerInfo } from '../store/data-dir.js'

/** The peer answered with an error status, kept so callers can tell "no such job" from "not now". */
export class ControlError extends Error {
  override name = 'ControlError'
  readonly code = 'CONTROL_API'
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message)
  }
}

export class ControlClient {
  private constructor(
    readonly info: RunningPeerInfo,
    private readonly token: string | null
  ) {}

  /** The client of the peer running for this data dir, or null when none runs. */
  static forDataDir(dir: string): ControlClient | null {
    const info = readRunningPeer(dir)
    return info ? new ControlClient(info, readControlToken(dir)) : null
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path)
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body)
  }

  delete<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path)
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.info.socket,
          path,
          method,
          headers: {
            ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {})
          }
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => {
            let value: any
            try {
              value = JSON.parse(Buffer.concat(chunks).toString('utf8'))
            } catch {
              value = null
            }
            if ((res.statusCode ?? 500) >= 400)
              reject(new ControlError(res.statusCode ?? 500, value?.error ?? `peer answered ${res.statusCode}`))
            else resolve(value as T)
          })
        }
      )
      req.on('error', (err) => reject(new Error(`cannot reach the peer running for this data dir (${this.info.socket}): ${err.message}`)))
      req.end(payload)
    })
  }
}
