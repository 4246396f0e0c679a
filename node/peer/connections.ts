/**
 * A peer's connections: each one guarded and spoken to over a WireChannel, its messages routed to
 * this peer's coordinator and donor (or refused, for a role it does not take), and its end told
 * to both; a peer that broke the protocol loses its connection, and a repeat offender its access.
 * It sees the peer only through ConnectionContext.
 */
import type Hyperswarm from 'hyperswarm'
import type { SecretStream } from 'hyperswarm'
import { short, type LogEntry } from '../../base/log.js'
import type { Coordinator } from '../coordinator/coordinator.js'
import type { Donor } from '../donor/donor.js'
import { WireChannel } from '../protocol/channel.js'
import { guardConnection, MAX_FRAME, MAX_FRAME_BEFORE_HELLO } from '../protocol/connection-guard.js'
import type { DonorLink } from '../protocol/links.js'
import { ROLE_COORDINATOR, type HelloMessage } from '../protocol/wire.js'
import type { BanList } from './ban-list.js'

/** The peer as its connections see it. */
export interface ConnectionContext {
  swarm: Hyperswarm
  bans: BanList
  coordinator: Coordinator
  /** Whether the coordinator takes donors' messages (not started with --no-coordinate). */
  coordinates: boolean
  donor: Donor | null
  hello(): HelloMessage
  record(entry: LogEntry): void
}

export class Connections {
  private readonly channels = new Set<WireChannel>()

  constructor(private readonly ctx: ConnectionContext) {}

  get size(): number {
    return this.channels.size
  }

  /** The channels that said hello, by the remote peer's key. */
  greeted(): Map<string, WireChannel> {
    return new Map([...this.channels].filter((c) => c.hello).map((c) => [c.key, c]))
  }

  /** Ends a network peer's connection; a peer's own donor is never a channel, and keeps its link. */
  drop(link: DonorLink, reason: string): void {
    if (this.channels.has(link as WireChannel)) (link as WireChannel).destroy(new Error(reason))
  }

  accept(conn: SecretStream): void {
    const { ctx } = this
    if (ctx.bans.isBanned(conn.remotePublicKey.toString('hex'))) {
      conn.destroy()
      return
    }
    // Declared before the guard that reads it: a frame may arrive before the channel is made.
    let channel: WireChannel
    guardConnection(conn, { maxFrame: () => (channel?.hello ? MAX_FRAME : MAX_FRAME_BEFORE_HELLO) })
    const donor = ctx.donor
    const coordinator = ctx.coordinates ? ctx.coordinator : null
    const refuse = (what: string, role: string) => () => {
      throw new Error(`unexpected ${what}: this peer does not ${role}`)
    }
    try {
      channel = new WireChannel(
        conn,
        {
          hello: (msg) => {
            ctx.record({
              at: Date.now(),
              kind: 'peer',
              text: `peer ${short(channel.key)} joined (${channel.host}, ${msg.threads} threads)`,
              peer: channel.key
            })
            if (donor && msg.roles & ROLE_COORDINATOR) donor.attach(channel)
          },
          want: coordinator ? (msg) => coordinator.want(channel, msg) : refuse('want', 'coordinate'),
          progress: coordinator ? (msg) => coordinator.progress(channel, msg) : refuse('progress', 'coordinate'),
          result: coordinator ? (msg) => coordinator.result(channel, msg) : refuse('result', 'coordinate'),
          failure: coordinator ? (msg) => coordinator.failure(channel, msg) : refuse('failure', 'coordinate'),
          fetch: coordinator ? (msg) => coordinator.fetch(channel, msg) : refuse('fetch', 'coordinate'),
          assign: donor ? (msg) => donor.assign(channel, msg) : refuse('assign', 'donate'),
          cancel: donor ? (msg) => donor.cancel(channel, msg) : refuse('cancel', 'donate'),
          verdict: donor ? (msg) => donor.verdict(channel, msg) : refuse('verdict', 'donate'),
          piece: donor ? (msg) => donor.piece(channel, msg) : refuse('piece', 'donate'),
          close: (error) => {
            this.channels.delete(channel)
            ctx.coordinator.removeDonor(channel)
            donor?.detach(channel)
            if (channel.violation) this.offended(channel.key, channel.violation)
            const why = error ? `: ${error.message}` : ''
            ctx.record({
              at: Date.now(),
              kind: channel.violation ? 'violation' : 'peer',
              text: `peer ${short(channel.key)} left${why}`,
              peer: channel.key
            })
          }
        },
        ctx.hello()
      )
    } catch (err) {
      conn.destroy(err as Error)
      return
    }
    this.channels.add(channel)
  }

  /** A peer broke the protocol: it has lost its connection, and a repeat offender its access. */
  private offended(key: string, violation: Error): void {
    const ban = this.ctx.bans.strike(key, violation.message)
    if (!ban) return
    this.ctx.swarm.peers.get(key)?.ban(true)
    this.ctx.record({ at: Date.now(), kind: 'ban', text: `banned ${short(key)}: ${ban.reason}`, peer: key })
  }
}
