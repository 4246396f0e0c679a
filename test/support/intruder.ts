/**
 * A swarm on a test grid that is no swarmgrid peer: on every connection it opens the swarmgrid
 * channel with raw-byte messages, so it can send anything, in any order, to the one peer a test
 * aims at. It decodes the assigns it is sent, so it can also hold real leases, like a donor.
 * Since it never closes a connection itself, a connection of its that closes was closed by the
 * peer at the other end, and that peer's log says why (`violationsOf`).
 */
import Hyperswarm, { type SecretStream } from 'hyperswarm'
import Protomux from 'protomux'
import c from 'compact-encoding'
import * as wire from '../../node/protocol/wire.js'
import { gridTopic, type Peer } from '../../node/peer/peer.js'
import { until, within, type TestGrid } from './helpers.js'

/** The channel's message types, in the order the real channel adds them (node/protocol/channel.ts). */
const TYPES = ['hello', 'want', 'assign', 'progress', 'result', 'failure', 'cancel', 'verdict'] as const
type MessageType = (typeof TYPES)[number]

export const DONOR_HELLO: wire.HelloMessage = {
  version: wire.PROTOCOL_VERSION,
  roles: wire.ROLE_DONOR,
  threads: 1,
  tasks: [{ name: 'primes', version: 1 }]
}

/** One connection of the intruder, to the peer whose key is `key`. */
export class IntruderLink {
  readonly key: string
  readonly closed: Promise<void>
  isClosed = false
  readonly assigns: wire.AssignMessage[] = []
  private readonly messages: Array<{ send(bytes: Uint8Array): void }>

  constructor(readonly connection: SecretStream) {
    this.key = connection.remotePublicKey.toString('hex')
    this.closed = new Promise((resolve) =>
      connection.on('close', () => {
        this.isClosed = true
        resolve()
      })
    )
    connection.on('error', () => {})
    const channel = new Protomux(connection).createChannel({ protocol: wire.PROTOCOL })!
    this.messages = TYPES.map((type) =>
      channel.addMessage({
        encoding: c.raw as any,
        onmessage:
          type === 'assign'
            ? (bytes: Uint8Array) => {
                this.assigns.push(wire.decodeMessage(wire.assign, bytes))
              }
            : undefined
      })
    )
    channel.open()
  }

  /** Sends bytes as a message of this type, whatever they are. */
  raw(type: MessageType, bytes: Uint8Array): void {
    this.messages[TYPES.indexOf(type)].send(bytes)
  }

  hello(msg: wire.HelloMessage = DONOR_HELLO): void {
    this.raw('hello', wire.encodeMessage(wire.hello, msg))
  }
  want(slots: number): void {
    this.raw('want', wire.encodeMessage(wire.want, { slots }))
  }
  result(msg: wire.ResultMessage): void {
    this.raw('result', wire.encodeMessage(wire.result, msg))
  }
  failure(msg: wire.FailureMessage): void {
    this.raw('failure', wire.encodeMessage(wire.failure, msg))
  }
  progress(msg: wire.ProgressMessage): void {
    this.raw('progress', wire.encodeMessage(wire.progress, msg))
  }

  /** The `count`th assign this link has received (1-based), waiting for it. */
  async assign(count: number, ms = 20_000): Promise<wire.AssignMessage> {
    await until(() => this.assigns.length >= count || this.isClosed, ms, `assign number ${count} from ${this.key.slice(0, 8)}`)
    if (this.assigns.length < count) throw new Error(`the connection to ${this.key.slice(0, 8)} closed before assign number ${count}`)
    return this.assigns[count - 1]
  }
}

export class Intruder {
  readonly key: string
  /** Every connection so far, by the remote peer's key, oldest first. */
  readonly links = new Map<string, IntruderLink[]>()

  private constructor(readonly swarm: Hyperswarm) {
    this.key = swarm.keyPair.publicKey.toString('hex')
  }

  /** Joins the grid; `speak` says what to say on each new connection (by default a donor's hello and nothing more). */
  static async join(grid: TestGrid, speak: (link: IntruderLink) => void = (link) => link.hello()): Promise<Intruder> {
    const intruder = new Intruder(new Hyperswarm({ dht: grid.testnet.createNode() }))
    intruder.swarm.on('connection', (conn: SecretStream) => {
      const link = new IntruderLink(conn)
      intruder.links.set(link.key, [...(intruder.links.get(link.key) ?? []), link])
      speak(link)
    })
    await intruder.swarm.join(gridTopic('test'), { server: true, client: true }).flushed()
    return intruder
  }

  /** The first connection to `peer`, waiting for it. */
  async linkTo(peer: Peer, ms = 20_000): Promise<IntruderLink> {
    await until(() => this.links.has(peer.key), ms, `the intruder to connect to ${peer.key.slice(0, 8)}`)
    return this.links.get(peer.key)![0]
  }

  destroy(): Promise<void> {
    return this.swarm.destroy()
  }
}

/** What `peer` recorded as protocol violations by `key`: its coordinator's objections and the connections it ended for one. */
export function violationsOf(peer: Peer, key: string): string[] {
  return peer.log.filter((e) => e.kind === 'violation' && e.peer === key).map((e) => e.text)
}

/**
 * Resolves once `peer` closed `link` and recorded a violation matching `reason`: the peer that
 * objected is the one the test aimed at, and for the reason the test expects.
 */
export async function closedFor(peer: Peer, link: IntruderLink, key: string, reason: RegExp, ms = 10_000): Promise<string[]> {
  const who = peer.key.slice(0, 8)
  await within(link.closed, ms, `${who} to close the intruder's connection (${reason})`)
  try {
    await until(() => violationsOf(peer, key).some((text) => reason.test(text)), ms, `${who} to record a violation matching ${reason}`)
  } catch (err) {
    throw new Error(`${(err as Error).message}; it recorded: ${JSON.stringify(violationsOf(peer, key))}`)
  }
  return violationsOf(peer, key)
}
