/**
 * A grid of real `swarmgrid` processes: a bootstrap node and peers started with the CLI, each
 * with its own data dir, so that tests (and bench/soak.ts) can kill them for real: SIGKILL,
 * SIGSTOP, SIGTERM. Jobs go in and come out through the peers' control sockets.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ControlClient } from '../../node/control/client.js'
import type { JobSpec } from '../../node/coordinator/job-spec.js'
import type { JobView } from '../../node/coordinator/job-view.js'
import { Store } from '../../node/store/store.js'
import type { Params, TaskModule } from '../../tasks/contract.js'
import { toJsonSafe } from '../../tasks/values.js'
import { Background, tempDir, until, type BackgroundOptions } from './helpers.js'

export const fixtureDir = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url))

/**
 * Keep-alives every second, so a silent peer is taken as gone after three (tests need not wait
 * 15 s); and peers that say they are reachable, as they are on loopback or the test's bridge:
 * in a DHT this small no node can learn that by itself, and hole punching between nodes that
 * all think they are firewalled leaves half-open connections that time out (seen with HEAD too).
 */
export const TEST_ENV = { SWARMGRID_HEARTBEAT_MS: '1000', SWARMGRID_REACHABLE: '1' }

export interface WaitOptions {
  each?: (view: JobView) => void | Promise<void>
  until?: (view: JobView) => boolean
}

export interface ProcessGridOptions {
  grid?: string
  /** Address the bootstrap node binds, and where its command runs. */
  host?: string
  bootstrapOptions?: BackgroundOptions
  env?: NodeJS.ProcessEnv
}

export class ProcessGrid {
  readonly peers = new Map<string, Background>()
  private readonly all: Background[] = []

  private constructor(
    readonly dir: string,
    readonly bootstrap: Background,
    readonly address: string,
    readonly options: ProcessGridOptions
  ) {}

  static async start(options: ProcessGridOptions = {}): Promise<ProcessGrid> {
    const dir = await tempDir('swarmgrid-proc-')
    const host = options.host ?? '127.0.0.1'
    const bootstrap = new Background(['bootstrap', '--host', host, '--port', '0'], options.bootstrapOptions)
    try {
      const address = (await bootstrap.line('bootstrap ')).split(' ')[1]
      return new ProcessGrid(dir, bootstrap, address, options)
    } catch (err) {
      await bootstrap.stop('SIGKILL')
      await rm(dir, { recursive: true, force: true })
      throw err
    }
  }

  dataDir(name: string): string {
    return join(this.dir, name)
  }

  /** Starts (or starts again, with the same data dir and so the same key) the peer `name`. */
  start(name: string, flags: string[] = [], options: BackgroundOptions = {}): Background {
    const args = [
      'start',
      '--bootstrap',
      this.address,
      '--grid',
      this.options.grid ?? 'proc',
      '--data',
      this.dataDir(name),
      '--no-http',
      ...flags
    ]
    const peer = new Background(args, { ...options, env: { ...TEST_ENV, ...this.options.env, ...options.env } })
    this.peers.set(name, peer)
    this.all.push(peer)
    return peer
  }

  async ready(...names: string[]): Promise<string[]> {
    const keys = []
    for (const name of names) {
      keys.push((await this.peers.get(name)!.line('key ')).split(' ')[1])
      await this.peers.get(name)!.line('ready')
    }
    return keys
  }

  /**
   * A coordinator 'c' and donors 'd1'…'dN', each started with its flags, every one ready and every
   * donor's threads offered to 'c'; resolves with their keys, c's first.
   */
  async coordinatorWithDonors(donors: number, donorFlags: string[], coordinatorFlags = ['--no-donate']): Promise<string[]> {
    const names = Array.from({ length: donors }, (_, i) => `d${i + 1}`)
    this.start('c', coordinatorFlags)
    for (const name of names) this.start(name, donorFlags)
    const keys = await this.ready('c', ...names)
    await this.donorsOffered('c', donors)
    return keys
  }

  /** Waits until `count` donors have offered their threads to the coordinator `name`; says what it saw if not. */
  async donorsOffered(name: string, count: number, ms = 60_000): Promise<void> {
    const peer = this.peers.get(name)!
    try {
      await until(() => peer.count(/offers \d+ thread/) >= count, ms, `${count} donors to offer threads`)
    } catch (err) {
      const others = [...this.peers].filter(([n]) => n !== name).map(([n, p]) => `${n}: ${p.logs.slice(-4).join(' / ')}`)
      throw new Error(`${(err as Error).message}; ${name} saw: ${peer.logs.slice(-8).join(' / ')}; ${others.join('; ')}`)
    }
  }

  client(name: string): ControlClient {
    const client = ControlClient.forDataDir(this.dataDir(name))
    if (!client) throw new Error(`no peer runs for ${name}`)
    return client
  }

  submit(name: string, spec: JobSpec): Promise<JobView> {
    return this.client(name).post<JobView>('/api/jobs', spec)
  }

  /** The job as its coordinator shows it, or as its store holds it while the coordinator is down. */
  async view(name: string, id: string): Promise<JobView | null> {
    try {
      return await this.client(name).get<JobView>(`/api/jobs/${id}`)
    } catch {
      return null
    }
  }

  /**
   * Polls until the job has ended (or `until` holds), riding out its coordinator's restarts;
   * `each` sees every view on the way.
   */
  async wait(name: string, id: string, ms: number, options: WaitOptions = {}): Promise<JobView> {
    const end = Date.now() + ms
    while (Date.now() < end) {
      const view = await this.view(name, id)
      if (view) {
        await options.each?.(view)
        if (view.state !== 'running' || options.until?.(view)) return view
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`job ${id} still running after ${ms} ms`)
  }

  /** Reads a peer's store while it is down (or up: lmdb readers do not block its writer). */
  async readStore<T>(name: string, read: (store: Store) => T): Promise<T> {
    const store = Store.open(this.dataDir(name), { readOnly: true })
    try {
      return read(store)
    } finally {
      await store.close()
    }
  }

  /** Kills every process this grid started (SIGKILL: a test that failed may have left them stuck) and removes the data. */
  async destroy(): Promise<void> {
    await Promise.all(
      this.all.map((peer) => {
        peer.signal('SIGCONT')
        return peer.stop('SIGKILL')
      })
    )
    await this.bootstrap.stop('SIGKILL')
    await rm(this.dir, { recursive: true, force: true })
  }
}

/** The answer of a calm run: the task's own split, run and merge in this process, with no grid at all. */
export async function calmRun(task: TaskModule | string, params: Params, units: number): Promise<unknown> {
  const module: TaskModule = typeof task === 'string' ? (await import(task)).default : task
  const outputs = []
  let unitIndex = 0
  for (const input of module.split(params, units)) outputs.push(await module.run(input, { unitIndex: unitIndex++, progress() {} }))
  return toJsonSafe(module.merge(outputs, params))
}
