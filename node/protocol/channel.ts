/**
 * One swarmgrid channel over one Hyperswarm connection. Every protocol violation throws
 * inside protomux's message callback, which destroys that connection and nothing else.
 */
import Protomux, { type Channel, type Message } from 'protomux'
import c from 'compact-encoding'
import type { SecretStream } from 'hyperswarm'
import * as wire from './wire.js'
import { OversizedFrameError } from './connection-guard.js'

/**
 * Protomux ignores frames for channels or message types it does not know, which would let a
 * peer send endless garbage for free; here such a frame is malformed and ends the connection.
 */
class StrictProtomux extends Protomux {
  /** Told of every frame that broke the protocol, before the connection is destroyed for it. */
  onviolation: (err: Error) => void = () => {}

  _decode(remoteId: number, state: { start: number }): unknown {
    try {
      return this.decodeStrictly(remoteId, state)
    } catch (err) {
      this.onviolation(err as Error)
      throw err
    }
  }

  private decodeStrictly(remoteId: number, state: { start: number }): unknown {
    const start = state.start
    const type = (c.uint as any).decode(state) as number
    state.start = start
    if (remoteId === 0) {
      if (type > 3) throw wire.malformed(`control frame type ${type}`)
    } else {
      const remote = (this as any)._remote[remoteId - 1]
      if (!remote) throw wire.malformed(`frame for unknown channel ${remoteId}`)
      if (remote.session && type >= remote.session.messages.length) throw wire.malformed(`message type ${type}`)
    }
    return (Protomux.prototype as any)._decode.call(this, remoteId, state)
  }
}

/** A message this large goes out in a frame of its own, never in a batch with others. */
const SEND_ALONE_BYTES = 1024 * 1024

function encodedSize<T>(encoding: wire.Encoding<T>, msg: T): number {
  const state = { start: 0, end: 0, buffer: null }
  encoding.preencode(state as any, msg)
  return state.end
}

export interface ChannelHandlers {
  hello(msg: wire.HelloMessage): void
  want(msg: wire.WantMessage): void
  assign(msg: wire.AssignMessage): void
  progress(msg: wire.ProgressMessage): void
  result(msg: wire.ResultMessage): void
  failure(msg: wire.FailureMessage): void
  cancel(msg: wire.CancelMessage): void
  verdict(msg: wire.VerdictMessage): void
  fetch(msg: wire.FetchMessage): void
  piece(msg: wire.PieceMessage): void
  close(error: Error | null): void
}

type Sender<T> = (msg: T) => void

export class WireChannel {
  /** The remote peer's public key, hex. */
  readonly key: string
  readonly host: string
  /** What the remote peer said of itself; null until it has. */
  hello: wire.HelloMessage | null = null
  closed = false
  error: Error | null = null
  /** What this peer did wrong, when the connection ends because it broke the protocol. */
  violation: Error | null = null

  readonly sendHello: Sender<wire.HelloMessage>
  readonly sendWant: Sender<wire.WantMessage>
  readonly sendAssign: Sender<wire.AssignMessage>
  readonly sendProgress: Sender<wire.ProgressMessage>
  readonly sendResult: Sender<wire.ResultMessage>
  readonly sendFailure: Sender<wire.FailureMessage>
  readonly sendCancel: Sender<wire.CancelMessage>
  readonly sendVerdict: Sender<wire.VerdictMessage>
  readonly sendFetch: Sender<wire.FetchMessage>
  readonly sendPiece: Sender<wire.PieceMessage>

  private readonly channel: Channel
  private readonly ended: Promise<boolean>
  /** Messages sent in one turn of the event loop go out as one frame: one encryption, one packet train. */
  private corked: Promise<void> | null = null

  constructor(
    readonly connection: SecretStream,
    handlers: ChannelHandlers,
    localHello: wire.HelloMessage
  ) {
    this.key = connection.remotePublicKey.toString('hex')
    this.host = connection.rawStream?.remoteHost ?? 'unknown'
    const mux = new StrictProtomux(connection)
    mux.onviolation = (err) => {
      this.violation ??= err
    }
    const channel = mux.createChannel({ protocol: wire.PROTOCOL, onclose: () => this.destroy(null) })
    if (!channel) throw new Error('swarmgrid channel already open on this connection')
    this.channel = channel

    const afterHello =
      <T>(name: string, handle: (msg: T) => void) =>
      (msg: T) => {
        if (!this.hello) throw wire.malformed(`${name} before hello`)
        handle(msg)
      }
    const add = <T>(encoding: wire.Encoding<T>, onmessage: (msg: T) => void): Sender<T> => {
      const message: Message<T> = channel.addMessage({ encoding: wire.whole(encoding), onmessage })
      return (msg) => {
        if (this.closed) return
        this.corkUntilNextTurn()
        if (encodedSize(encoding, msg) < SEND_ALONE_BYTES) return message.send(msg)
        // Protomux lets a batch grow to 8 MiB before it adds a message: with a large one the
        // frame would pass the 16 MiB that secret-stream writes at once, and never be sent.
        this.channel.uncork()
        message.send(msg)
        this.channel.cork()
      }
    }

    this.sendHello = add(wire.hello, (msg) => {
      if (this.hello) throw wire.malformed('second hello')
      if (msg.version !== wire.PROTOCOL_VERSION) throw wire.malformed(`protocol version ${msg.version}`)
      this.hello = msg
      handlers.hello(msg)
    })
    this.sendWant = add(wire.want, afterHello('want', handlers.want))
    this.sendAssign = add(wire.assign, afterHello('assign', handlers.assign))
    this.sendProgress = add(wire.progress, afterHello('progress', handlers.progress))
    this.sendResult = add(wire.result, afterHello('result', handlers.result))
    this.sendFailure = add(wire.failure, afterHello('failure', handlers.failure))
    this.sendCancel = add(wire.cancel, afterHello('cancel', handlers.cancel))
    this.sendVerdict = add(wire.verdict, afterHello('verdict', handlers.verdict))
    // New message types go last: a type's index is its number on the wire.
    this.sendFetch = add(wire.fetch, afterHello('fetch', handlers.fetch))
    this.sendPiece = add(wire.piece, afterHello('piece', handlers.piece))

    connection.on('error', (err: Error) => {
      this.error ??= err
      if (err instanceof OversizedFrameError) this.violation ??= err
    })
    this.ended = new Promise((resolve) => connection.once('close', () => resolve(false)))
    connection.on('close', () => {
      if (this.closed) return
      this.closed = true
      handlers.close(this.error)
    })
    channel.open()
    this.sendHello(localHello)
  }

  /**
   * True once everything sent so far is acknowledged by the other side's transport; false when
   * the connection ends first (a message written to a peer that died is otherwise lost unseen).
   */
  async delivered(): Promise<boolean> {
    // What is still corked has not reached the stream yet: flushing now would not wait for it.
    if (this.corked) await this.corked
    if (this.closed) return false
    const flushed = (this.connection as unknown as { flush(): Promise<boolean> }).flush().catch(() => false)
    return Promise.race([flushed, this.ended])
  }

  private corkUntilNextTurn(): void {
    if (this.corked) return
    this.channel.cork()
    this.corked = new Promise((resolve) =>
      setImmediate(() => {
        this.corked = null
        if (!this.closed) this.channel.uncork()
        resolve()
      })
    )
  }

  /** With an error: the remote peer broke the protocol, and loses this connection for it. */
  destroy(error: Error | null): void {
    if (error) {
      this.error ??= error
      this.violation ??= error
    }
    this.connection.destroy(error ?? undefined)
  }
}
