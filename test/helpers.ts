/** Starts private grids on 127.0.0.1 for tests: a testnet DHT and real peers, each with its own store. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import createTestnet, { type Testnet } from 'hyperdht/testnet.js'
import { Peer, type PeerOptions } from '../node/peer.js'

export interface TestGrid {
  testnet: Testnet
  peers: Peer[]
  /** Starts one more peer on this grid. */
  add(options?: PeerOptions): Promise<Peer>
  destroy(): Promise<void>
}

export async function tempDir(prefix = 'swarmgrid-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

export async function startTestGrid(): Promise<TestGrid> {
  const testnet = await createTestnet(3)
  const dirs: string[] = []
  const peers: Peer[] = []
  const grid: TestGrid = {
    testnet,
    peers,
    async add(options = {}) {
      const dataDir = options.dataDir ?? await tempDir()
      dirs.push(dataDir)
      const peer = await Peer.start({ grid: 'test', http: false, threads: 1, ...options, dataDir, dht: testnet.createNode() })
      peers.push(peer)
      return peer
    },
    async destroy() {
      await Promise.all(peers.map((peer) => peer.stop()))
      await testnet.destroy()
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
    }
  }
  return grid
}

/** Resolves when `check` holds, polling; rejects after `ms`. */
export async function until(check: () => boolean, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Resolves as `promise` does, or rejects when `ms` pass first. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer!: NodeJS.Timeout
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms) })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
