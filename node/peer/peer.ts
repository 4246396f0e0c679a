/**
 * node/peer/ — the thin public class that puts the parts together: this peer, its connections and the
 * routing of their messages (connections.ts), its DHT node (dht-node.ts) and bootstrap node
 * (bootstrap.ts), reachability (reachability.ts), rediscovery of lost peers (rediscovery.ts), bans
 * (ban-list.ts), retention of finished jobs (retention.ts) and the list of peers it knows (peer-views.ts).
 *
 * A swarmgrid peer: joins the grid's topic, speaks the wire protocol on every connection,
 * coordinates the jobs submitted to it, donates its threads, and serves its control API.
 * Its public face is a few verbs: start, submit, status, stop.
 */
import { EventEmitter } from 'node:events'
import { createHash } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import Hyperswarm, { type SecretStream } from 'hyperswarm'
import HyperDHT from 'hyperdht'
import { TaskRegistry } from '../../tasks/registry.js'
import type { ResultFor } from '../../tasks/index.js'
import { notFound } from '../../base/errors.js'
import { Coordinator } from '../coordinator/coordinator.js'
import { short } from '../../base/log.js'
import type { LogEntry } from '../../base/log.js'
import type { JobSpec } from '../coordinator/job-spec.js'
import type { Donor, DonorStats } from '../donor/donor.js'
import { jobView, type JobView } from '../coordinator/job-view.js'
import { localLinks, type CoordinatorLink, type DonorLink } from '../protocol/links.js'
import { Store } from '../store/store.js'
import * as dataDir from '../store/data-dir.js'
import { lockDataDir, type DataDirLock } from '../store/data-dir-lock.js'
import { ControlServer } from '../control/server.js'
import { LiveFeed } from '../control/live-feed.js'
import type { ControlledPeer, PeerView, TaskListing } from '../control/types.js'
import type { UnitReport } from '../job/types.js'
import { unitReport } from '../coordinator/unit-explain.js'
import type { Reputation } from '../store/records.js'
import { FinishedJobViews } from '../control/job-list.js'
import { Connections } from './connections.js'
import { peerViews } from './peer-views.js'
import { loopbackGrid, makeDht } from './dht-node.js'
import { Rediscovery } from './rediscovery.js'
import { PROTOCOL_VERSION, ROLE_COORDINATOR, ROLE_DONOR, type HelloMessage } from '../protocol/wire.js'
import { parseBootstrap, type HostPort } from './bootstrap.js'
import { probeReachable } from './reachability.js'
import { startDonation, type DonationOptions, type DonorControls } from '../donor/controls.js'
import { assignSigner } from '../protocol/signing.js'
import { BanList } from './ban-list.js'
import { RetentionSweeper } from './retention.js'
import { deleteFinishedJob } from '../store/job-delete.js'
import { addOpsRoutes } from '../control/ops-routes.js'

export const DEFAULT_GRID = 'public'
const DEFAULT_MAX_PEERS = 64
/** The log the dashboard and `status` can show; older entries fall off. */
const LOG_LENGTH = 500

export interface PeerOptions {
  grid?: string
  /** Bootstrap nodes, as HOST:PORT strings or objects; default $SWARMGRID_BOOTSTRAP or the public DHT. */
  bootstrap?: Array<string | HostPort> | string
  /** Address the DHT node binds; loopback when every bootstrap node is on loopback. */
  host?: string
  dataDir?: string
  threads?: number
  donate?: boolean
  coordinate?: boolean
  tasksDir?: string
  /** Port of the dashboard and control API on 127.0.0.1 (0: any free port), or false for none. */
  http?: number | false
  maxPeers?: number
  /** Public keys (hex) whose connections are refused. */
  block?: string[]
  /** Heap limit of each unit's thread, in MiB. */
  memoryMb?: number
  /** A DHT node to use instead of making one (tests pass `testnet.createNode()`). */
  dht?: HyperDHT
  /**
   * Let two keys on one host count as two replicas of a unit. Off on a real grid, where one
   * machine running many keys must not outvote the rest; on by default only when every
   * bootstrap node is on loopback, since every peer of such a grid shares 127.0.0.1.
   */
  sameHostReplicas?: boolean
  /** How the donor lends the machine and whose jobs it runs (node/donor/controls.ts). */
  donation?: DonationOptions
  /** How long finished jobs are kept, in ms (node/peer/retention.ts); forever when unset. */
  retentionMs?: number
}

export type { PeerView } from '../control/types.js'

export function gridTopic(grid: string): Buffer {
  return createHash('sha256').update(`swarmgrid grid ${grid}`).digest()
}

/** @internal The parts behind a peer's face, for tests, the bench and the simulator; not part of the library's API. */
export interface PeerParts {
  store: Store
  swarm: Hyperswarm
  coordinator: Coordinator
  donor: Donor | null
  controls: DonorControls | null
  bans: BanList
  registry: TaskRegistry
}

export class Peer extends EventEmitter implements ControlledPeer {
  readonly key: string
  readonly grid: string
  readonly dataDir: string
  readonly log: LogEntry[] = []
  url: string | null = null
  private controls: DonorControls | null = null

  /** Every connection, its messages routed to the coordinator and donor (connections.ts). */
  private readonly connections: Connections
  private selfLinks: { toDonor: DonorLink; toCoordinator: CoordinatorLink } | null = null
  private closing: Promise<void> | null = null
  private rediscovery: Rediscovery | null = null
  private readonly feed: LiveFeed
  private retention: RetentionSweeper | null = null
  /** This process's hold on the data dir (data-dir-lock.ts), released last when it stops. */
  private lock: DataDirLock | null = null
  private readonly finishedViews = new FinishedJobViews()

  private constructor(
    private readonly options: PeerOptions,
    private readonly store: Store,
    private readonly registry: TaskRegistry,
    private readonly swarm: Hyperswarm,
    private readonly coordinator: Coordinator,
    private readonly donor: Donor | null,
    private readonly control: ControlServer,
    private readonly bans: BanList
  ) {
    super()
    this.key = swarm.keyPair.publicKey.toString('hex')
    this.grid = options.grid ?? DEFAULT_GRID
    this.dataDir = options.dataDir!
    coordinator.on('log', (entry: LogEntry) => this.record(entry))
    coordinator.on('progress', (id: string) => this.emit('progress', id))
    coordinator.on('finished', (view: JobView) => this.emit('finished', view))
    this.connections = new Connections({
      swarm,
      bans,
      coordinator,
      coordinates: this.roles.coordinate,
      donor,
      hello: () => this.hello(),
      record: (entry) => this.record(entry)
    })
    coordinator.on('violation', (link: DonorLink, reason: string) => this.connections.drop(link, reason))
    const onDonor = () => this.emit('donor')
    donor?.on('unit-start', onDonor).on('unit-end', onDonor).on('verdict', onDonor)
    this.feed = new LiveFeed(this)
    control.route('GET', /^\/api\/events$/, (_peer, req, res) => this.feed.connect(req, res))
    addOpsRoutes(control, this)
  }

  /** Starts a peer and resolves once it has joined its grid and its control API listens. */
  static async start(options: PeerOptions = {}): Promise<Peer> {
    const opts: PeerOptions = { ...options, dataDir: resolve(options.dataDir ?? dataDir.defaultDataDir()) }
    dataDir.ensureDataDir(opts.dataDir!)
    const lock = await lockDataDir(opts.dataDir!)
    let seed: Buffer, control: ControlServer, registry: TaskRegistry, store: Store
    try {
      // Checked before anything opens: a malformed secret stops the start, saying which file.
      seed = dataDir.identitySeed(opts.dataDir!)
      control = new ControlServer(dataDir.controlToken(opts.dataDir!))
      registry = await TaskRegistry.load(opts.tasksDir)
      store = Store.open(opts.dataDir!)
    } catch (err) {
      await lock.release()
      throw err
    }
    const blocked = new Set((opts.block ?? []).map((k) => k.toLowerCase()))
    const bans = new BanList(store)
    const swarm = new Hyperswarm({
      keyPair: HyperDHT.keyPair(seed),
      dht: opts.dht ?? makeDht(opts),
      maxPeers: opts.maxPeers ?? DEFAULT_MAX_PEERS,
      firewall: (remoteKey) => blocked.has(remoteKey.toString('hex')) || bans.isBanned(remoteKey.toString('hex'))
    })
    const coordinator = new Coordinator(store, registry, {
      distinctHosts: !(opts.sameHostReplicas ?? loopbackGrid(opts)),
      signAssign: assignSigner(swarm.keyPair)
    })
    let donation: ReturnType<typeof startDonation> | null
    try {
      donation =
        opts.donate === false
          ? null
          : startDonation({
              threads: opts.threads,
              registry,
              memoryMb: opts.memoryMb,
              self: swarm.keyPair.publicKey.toString('hex'),
              options: opts.donation ?? {},
              dataDir: opts.dataDir
            })
    } catch (err) {
      await swarm.destroy()
      await store.close()
      await lock.release()
      throw err
    }
    const peer = new Peer(opts, store, registry, swarm, coordinator, donation?.donor ?? null, control, bans)
    peer.lock = lock
    try {
      if (donation) {
        peer.controls = donation.controls
        donation.controls.on('log', (entry: LogEntry) => peer.record(entry))
        donation.controls.start()
      }
      await peer.open()
    } catch (err) {
      await peer.stop()
      throw err
    }
    return peer
  }

  /** The dashboard URL with the control token in its fragment, which browsers never send to a server. */
  get dashboardUrl(): string | null {
    const token = dataDir.readControlToken(this.dataDir)
    return this.url && token ? `${this.url}#token=${token}` : this.url
  }

  get roles(): { donate: boolean; coordinate: boolean } {
    return { donate: this.donor !== null, coordinate: this.options.coordinate !== false }
  }

  hello(): HelloMessage {
    return {
      version: PROTOCOL_VERSION,
      roles: (this.donor ? ROLE_DONOR : 0) | (this.roles.coordinate ? ROLE_COORDINATOR : 0),
      threads: this.donor?.threads ?? 0,
      tasks: this.donor ? this.registry.list().filter((t) => this.controls?.allowsTask(t.name) ?? true) : []
    }
  }

  /** Hands a job to this peer's coordinator; the view it resolves with is typed by the task's result. */
  async submit<Name extends string>(spec: JobSpec & { task: Name }): Promise<JobView<ResultFor<Name>>> {
    if (!this.roles.coordinate) throw new Error('this peer does not coordinate jobs (started with --no-coordinate)')
    return this.coordinator.submit(spec) as Promise<JobView<ResultFor<Name>>>
  }

  /** The job as it stands now, live if it is running here, else as stored. */
  status(id: string): JobView | undefined {
    const record = this.store.findJob(id)
    if (!record) return undefined
    return this.coordinator.status(record.id) ?? jobView(record, undefined, this.store.result(record.id))
  }

  /** Every job, a finished one's result slimmed as the live feed sends it (control/job-list.ts). */
  jobs(): JobView[] {
    return this.store
      .listJobs()
      .map(
        (record) =>
          this.coordinator.status(record.id) ??
          this.finishedViews.get(record, () => jobView(record, undefined, this.store.result(record.id)))
      )
  }

  /** Resolves with the job's final view; given the view `submit` gave, it keeps its result's type. */
  async wait<R = unknown>(job: string | JobView<R>): Promise<JobView<R>> {
    const id = typeof job === 'string' ? job : job.id
    const running = this.coordinator.waitFor(id)
    if (running) return running as Promise<JobView<R>>
    const view = this.status(id)
    if (!view) throw notFound(`no job ${id}`)
    return view as JobView<R>
  }

  cancel(id: string): Promise<JobView | undefined> {
    return this.coordinator.cancel(id)
  }

  /** Deletes a finished job and all that is stored for it; a running one must be cancelled first. */
  deleteJob(idOrPrefix: string): Promise<string> {
    return deleteFinishedJob(
      this.store,
      idOrPrefix,
      (id) => this.coordinator.status(id) !== undefined,
      'cancel it first (swarmgrid cancel)'
    )
  }

  donorStats(): DonorStats | null {
    return this.donor?.snapshot() ?? null
  }

  donorControls(): DonorControls | null {
    return this.controls
  }

  tasks(): TaskListing[] {
    return this.registry.list().map((t) => {
      const task = this.registry.get(t.name)
      return { ...t, params: task?.params ?? {}, schema: task?.schema ?? null }
    })
  }

  result(id: string): Uint8Array | undefined {
    return this.store.result(id)
  }

  unitReport(id: string, unit: number): UnitReport | null {
    return unitReport(this.store, this.coordinator, id, unit) ?? null
  }

  reputation(key: string): Reputation | undefined {
    return this.store.reputation(key)
  }

  /** Donors connected to this peer's coordinator now. */
  donorCount(): number {
    return this.coordinator.donorCount()
  }

  /** @internal The parts behind the face, for tests and the bench; stripped from the published types. */
  get parts(): PeerParts {
    return {
      store: this.store,
      swarm: this.swarm,
      coordinator: this.coordinator,
      donor: this.donor,
      controls: this.controls,
      bans: this.bans,
      registry: this.registry
    }
  }

  peers(): PeerView[] {
    return peerViews(this.key, this.connections.greeted(), this.store, this.coordinator)
  }

  connectionCount(): number {
    return this.connections.size
  }

  /** Stops cleanly: units in flight are handed back, connections and the store closed. */
  stop(): Promise<void> {
    this.closing ??= this.close()
    return this.closing
  }

  private async open(): Promise<void> {
    this.swarm.on('connection', (conn: SecretStream) => this.connections.accept(conn))
    if (this.donor && this.roles.coordinate) {
      this.selfLinks = localLinks(this.key, this.hello(), this.coordinator, this.donor)
    }
    this.coordinator.resume()
    if (this.options.retentionMs) {
      this.retention = new RetentionSweeper(this.store, this.options.retentionMs, (ids) =>
        this.record({
          at: Date.now(),
          kind: 'job',
          text: `deleted ${ids.length} finished job${ids.length > 1 ? 's' : ''} past the retention time: ${ids.map(short).join(', ')}`
        })
      )
      this.retention.start()
    }
    if (this.selfLinks) this.donor!.attach(this.selfLinks.toCoordinator)
    const socket = dataDir.controlSocketPath(this.dataDir)
    this.url = await this.control.listen(this, { socket, port: this.options.http ?? false })
    dataDir.writeRunningPeer(this.dataDir, { pid: process.pid, key: this.key, socket, url: this.url })
    // A private grid's peer learns at once whether others reach it directly: if they do, it
    // announces no hole punch to peers on other hosts (node/reachability.ts).
    if (!this.options.dht && parseBootstrap(this.options.bootstrap ?? process.env.SWARMGRID_BOOTSTRAP)) {
      const reachable = await probeReachable(this.swarm.dht)
      this.record({
        at: Date.now(),
        kind: 'peer',
        text: reachable ? 'other nodes reach this one directly' : 'firewalled: other peers reach this one only by hole punching'
      })
    }
    const discovery = this.swarm.join(gridTopic(this.grid), { server: true, client: true })
    await discovery.flushed()
    this.rediscovery = new Rediscovery(discovery)
    this.record({ at: Date.now(), kind: 'peer', text: `joined grid "${this.grid}" as ${short(this.key)}` })
  }

  private record(entry: LogEntry): void {
    this.log.push(entry)
    if (this.log.length > LOG_LENGTH) this.log.splice(0, this.log.length - LOG_LENGTH)
    this.emit('log', entry)
  }

  private async close(): Promise<void> {
    this.rediscovery?.destroy()
    this.controls?.close()
    await this.donor?.close()
    await this.retention?.stop()
    this.coordinator.close()
    this.feed.close()
    await this.control.close()
    dataDir.clearRunningPeer(this.dataDir)
    await this.swarm.destroy()
    await this.store.close()
    await this.lock?.release()
  }
}

export function defaultThreads(): number {
  return availableParallelism()
}
