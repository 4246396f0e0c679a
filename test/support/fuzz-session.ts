/**
 * Hostile sessions against a live peer, for the fuzz tests: connections over the real DHT or
 * encrypted stream pairs handed straight to the peer's swarm, a valid hello in the role the
 * target expects, then fuzzed frames until one that is not plainly well-formed, and a check
 * of what the peer did about it.
 */
import HyperDHT from 'hyperdht'
import Protomux from 'protomux'
import c from 'compact-encoding'
import type { SecretStream } from 'hyperswarm'
import * as wire from '../../node/protocol/wire.js'
import type { Peer } from '../../node/peer/peer.js'
import { MUTATIONS, fuzzFrame, type Random, type Target, type Verdict } from './fuzz-frames.js'
import { MESSAGE_TYPES } from './wire-oracle.js'

export interface Stats {
  frames: number
  mutated: number
  sessions: number
  malformed: number
  refused: number
  unrefused: string[]
  falseAlarms: string[]
  /** Frames sent, by what they are made of (see FuzzFrame.tags) and by the oracle's verdict. */
  tags: Record<string, number>
  verdicts: Record<Verdict, number>
}

export function emptyStats(): Stats {
  return {
    frames: 0,
    mutated: 0,
    sessions: 0,
    malformed: 0,
    refused: 0,
    unrefused: [],
    falseAlarms: [],
    tags: {},
    verdicts: { 'well-formed': 0, malformed: 0, unknown: 0 }
  }
}

/** Who the fuzzer says it is, what its target must take from anyone, and what the oracle knows of the target. */
export interface Posture {
  roles: number
  harmless: readonly number[]
  benign: number
  target: Target
}

export type StreamClass = new (initiator: boolean) => SecretStream

export function connect(node: HyperDHT, target: Peer, keyPair = HyperDHT.keyPair()): Promise<SecretStream> {
  const conn = (node as any).connect(Buffer.from(target.key, 'hex'), { keyPair }) as SecretStream
  conn.on('error', () => {})
  return new Promise((resolve, reject) => {
    conn.once('open', () => resolve(conn))
    conn.once('close', () => reject(new Error('refused')))
  })
}

/** Opens the swarmgrid channel and says a valid hello, so later frames reach the protocol. */
export function openChannel(conn: SecretStream, roles: number): void {
  const channel = new Protomux(conn).createChannel({ protocol: wire.PROTOCOL })!
  const hello = channel.addMessage({ encoding: c.raw as any })
  channel.open()
  hello.send(wire.encodeMessage(wire.hello, { version: wire.PROTOCOL_VERSION, roles, threads: 1, tasks: [{ name: 'slow', version: 1 }] }))
}

export function closedWithin(conn: SecretStream, ms: number): Promise<boolean> {
  if (conn.destroyed) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    conn.once('close', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

/** One hostile session: frames until one that is not plainly well-formed, then see what the peer did. */
export async function session(conn: SecretStream, random: Random, stats: Stats, posture: Posture): Promise<void> {
  stats.sessions++
  openChannel(conn, posture.roles)
  const next = () => fuzzFrame(random, 1, posture.benign, posture.harmless, posture.target)
  let last = next()
  for (let sent = 0; sent < 60 && !conn.destroyed; sent++) {
    if (sent > 0) last = next()
    conn.write(last.bytes)
    stats.frames++
    if (last.mutated) stats.mutated++
    stats.verdicts[last.verdict]++
    for (const tag of last.tags) stats.tags[tag] = (stats.tags[tag] ?? 0) + 1
    if (last.verdict !== 'well-formed') break
  }
  if (last.verdict === 'malformed') {
    stats.malformed++
    if (await closedWithin(conn, 5000)) stats.refused++
    else stats.unrefused.push(last.kind)
  } else if (last.verdict === 'well-formed' && (await closedWithin(conn, 20))) {
    stats.falseAlarms.push(last.kind)
  }
  conn.destroy()
}

/** An encrypted stream pair in this process, its far end handed to the target as its swarm would. */
export async function injected(target: Peer, Stream: StreamClass): Promise<{ mine: SecretStream; theirs: SecretStream }> {
  const mine = new Stream(true)
  const theirs = new Stream(false)
  ;(mine as any).rawStream.pipe((theirs as any).rawStream).pipe((mine as any).rawStream)
  mine.on('error', () => {})
  theirs.on('error', () => {})
  await new Promise((resolve) => theirs.once('open', resolve))
  target.parts.swarm.emit('connection', theirs, { publicKey: theirs.remotePublicKey, topics: [], client: false, ban() {} })
  return { mine, theirs }
}

/** The log lines of the target that say `key` lost its connection, other than to a newer duplicate of it. */
export function lostConnections(target: Peer, key: string): string[] {
  // Hyperswarm may swap a connection for a newer one to the same peer (both dialled at once): that is no loss.
  return target.log
    .filter((e) => e.peer === key && /^peer \S+ left/.test(e.text) && !/Duplicate connection/.test(e.text))
    .map((e) => e.text)
}

export interface Campaign {
  target: Peer
  /** A DHT node of the test's own, to dial the target over real connections. */
  node: HyperDHT
  random: Random
  posture: Posture
  /** Sessions over real connections first, four at a time; then in-process pairs until the frame counts are reached. */
  networkSessions: number
  frames: number
  mutated: number
  budgetMs: number
  /** Called between the two phases, while the target should still be busy. */
  between?: () => void
}

export interface CampaignReport {
  stats: Stats
  overNetwork: number
  ms: number
}

/** Fuzzes the target in both phases and says how it went; the caller judges it. */
export async function campaign(c: Campaign): Promise<CampaignReport> {
  const stats = emptyStats()
  const started = Date.now()
  let Stream: StreamClass | null = null
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (stats.sessions < c.networkSessions) {
        const conn = await connect(c.node, c.target)
        Stream ??= conn.constructor as StreamClass
        await session(conn, c.random, stats, c.posture)
      }
    })
  )
  const overNetwork = stats.frames
  c.between?.()
  while ((stats.frames < c.frames || stats.mutated < c.mutated) && Date.now() - started < c.budgetMs) {
    await session((await injected(c.target, Stream!)).mine, c.random, stats, c.posture)
  }
  return { stats, overNetwork, ms: Date.now() - started }
}

export function describe(seed: number, { stats, overNetwork, ms }: CampaignReport): string {
  return (
    `seed ${seed}: ${stats.frames} frames (${stats.mutated} random or mutated, ${overNetwork} over real connections) ` +
    `in ${stats.sessions} sessions, ${stats.malformed} plainly malformed and ${stats.refused} of those refused, in ${ms} ms; ` +
    `verdicts ${JSON.stringify(stats.verdicts)}; by kind ${JSON.stringify(stats.tags)}`
  )
}

/** Frame kinds every campaign must have sent at least a few of: each mutation, each message type, noise and bad headers. */
export function tooFew(stats: Stats, atLeast: number): string[] {
  const wanted = [
    'random bytes',
    'unknown channel',
    'unknown type',
    'drawn',
    ...MUTATIONS.map((how) => `mutation: ${how}`),
    ...MESSAGE_TYPES.map((type) => `type: ${type}`)
  ]
  return wanted.filter((tag) => (stats.tags[tag] ?? 0) < atLeast).map((tag) => `${tag}: ${stats.tags[tag] ?? 0}`)
}
