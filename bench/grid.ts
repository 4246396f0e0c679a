/**
 * A loopback grid for the bench: a private testnet DHT on 127.0.0.1, a coordinator that does
 * not donate, and donor peers on demand. All of it runs in the bench's own process, like the
 * baselines, so the coordinator, the donor and the DHT share one main thread here, where a
 * real grid spreads them over machines: the dispatch figure pays for both ends at once.
 */
import { rmSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import createTestnet, { type Testnet } from 'hyperdht/testnet.js'
import { Peer, type PeerOptions } from '../node/peer/peer.js'
import { Donor } from '../node/donor/donor.js'
import type { JobSpec } from '../node/coordinator/job-spec.js'
import type { JobView } from '../node/coordinator/job-view.js'

/** The trivial task of the dispatch figure; a file so both peers (and the donor's threads) load it via tasksDir. */
const NOOP_TASK = `export default {
  name: 'noop',
  version: 1,
  split (params, units) { return Array.from({ length: units }, (_, i) => i) },
  run (input) { return input },
  merge (outputs) { return { units: outputs.length } }
}
`

/** Temp dirs not yet removed: should the process die of an error in a peer, 'exit' still clears them. */
const leftovers = new Set<string>()
process.on('exit', () => {
  for (const dir of leftovers) rmSync(dir, { recursive: true, force: true })
})

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  leftovers.add(dir)
  return dir
}

/** Bytes a connection carried, read from secret-stream (after encryption) and UDX (what went out as packets). */
export interface Traffic {
  streamBytes: number
  udxBytes: number
  udxPackets: number
}

export class BenchGrid {
  private readonly peers = new Set<Peer>()

  /** The peer jobs are submitted to; it does not donate, so every unit crosses the wire. */
  coordinator!: Peer

  private constructor(
    readonly testnet: Testnet,
    readonly tasksDir: string
  ) {}

  static async start(): Promise<BenchGrid> {
    const testnet = await createTestnet(3)
    const tasksDir = await tempDir('swarmgrid-bench-tasks-')
    await writeFile(join(tasksDir, 'noop.mjs'), NOOP_TASK)
    const grid = new BenchGrid(testnet, tasksDir)
    try {
      grid.coordinator = await grid.addPeer({ donate: false })
    } catch (err) {
      await grid.destroy()
      throw err
    }
    return grid
  }

  async addPeer(options: PeerOptions = {}): Promise<Peer> {
    const dataDir = await tempDir('swarmgrid-bench-')
    const peer = await Peer.start({
      grid: 'bench',
      http: false,
      threads: availableParallelism(),
      tasksDir: this.tasksDir,
      ...options,
      dataDir,
      dht: this.testnet.createNode()
    })
    this.peers.add(peer)
    return peer
  }

  async stopPeer(peer: Peer): Promise<void> {
    this.peers.delete(peer)
    await peer.stop()
  }

  /** Submits a job to the coordinator and times it from submit to its final state. */
  async runJob(spec: JobSpec): Promise<{ ms: number; view: JobView }> {
    const started = performance.now()
    const submitted = await this.coordinator.submit(spec)
    const view = await this.coordinator.wait(submitted.id)
    const ms = performance.now() - started
    if (view.state !== 'done') throw new Error(`bench job ${spec.task} ended ${view.state}: ${view.error}`)
    return { ms, view }
  }

  /** What the coordinator's connections have carried so far, both ways. */
  traffic(): Traffic {
    const total: Traffic = { streamBytes: 0, udxBytes: 0, udxPackets: 0 }
    for (const conn of this.coordinator.parts.swarm.connections as Set<any>) {
      total.streamBytes += (conn.rawBytesWritten ?? 0) + (conn.rawBytesRead ?? 0)
      const udx = conn.rawStream
      if (!udx) continue
      total.udxBytes += (udx.bytesTransmitted ?? 0) + (udx.bytesReceived ?? 0)
      total.udxPackets += (udx.packetsTransmitted ?? 0) + (udx.packetsReceived ?? 0)
    }
    return total
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.peers].map((peer) => peer.stop()))
    await this.testnet.destroy()
    await Promise.all([...leftovers].map((dir) => rm(dir, { recursive: true, force: true })))
    leftovers.clear()
  }
}

export function trafficDelta(after: Traffic, before: Traffic, units: number): Traffic {
  return {
    streamBytes: (after.streamBytes - before.streamBytes) / units,
    udxBytes: (after.udxBytes - before.udxBytes) / units,
    udxPackets: (after.udxPackets - before.udxPackets) / units
  }
}

/**
 * Calls `seen` with the first 'unit-start' of every Donor made while it is installed. A
 * donor can get its first unit before Peer.start resolves (the coordinator leases as soon as
 * the hello arrives, while start still waits for the DHT announce), so listening on
 * `peer.donor` after start would miss it; Peer offers no earlier hook.
 */
export function watchFirstUnits(seen: (donor: Donor, at: number) => void): () => void {
  const original = Donor.prototype.emit
  const started = new WeakSet<Donor>()
  Donor.prototype.emit = function (this: Donor, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'unit-start' && !started.has(this)) {
      started.add(this)
      seen(this, performance.now())
    }
    return original.call(this, event, ...args)
  }
  return () => {
    Donor.prototype.emit = original
  }
}

export interface JoinSample {
  firstUnitMs: number
  startResolvedMs: number
  /** When the coordinator's swarm got the new donor's connection (Noise handshake done). */
  connectedMs: number
}

/**
 * Starts a donor on a grid whose coordinator has a job waiting, and times Peer.start to the
 * donor's first 'unit-start'; the DHT node is made inside the timed span, as `start` would.
 */
export async function joinOnce(grid: BenchGrid, timeoutMs = 15_000): Promise<JoinSample> {
  let firstAt = 0
  let onFirst: () => void = () => {}
  const first = new Promise<void>((resolve) => {
    onFirst = resolve
  })
  const unwatch = watchFirstUnits((_donor, at) => {
    if (!firstAt) {
      firstAt = at
      onFirst()
    }
  })
  let connectedAt = 0
  const onConnection = () => {
    connectedAt ||= performance.now()
  }
  grid.coordinator.parts.swarm.on('connection', onConnection)
  const started = performance.now()
  let peer: Peer | null = null
  try {
    peer = await grid.addPeer()
    const startResolvedMs = performance.now() - started
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no unit reached the new donor within ${timeoutMs} ms`)), timeoutMs)
    })
    await Promise.race([first, timeout]).finally(() => clearTimeout(timer))
    return { firstUnitMs: firstAt - started, startResolvedMs, connectedMs: connectedAt ? connectedAt - started : NaN }
  } finally {
    unwatch()
    grid.coordinator.parts.swarm.off('connection', onConnection)
    if (peer) await grid.stopPeer(peer)
  }
}
