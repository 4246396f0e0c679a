/**
 * A real Coordinator over a real store on disk, and donors that are only what the coordinator
 * sees of them (DonorLink): a test says exactly what each one sends, well-formed and lying.
 */
import { rm } from 'node:fs/promises'
import { Coordinator } from '../../node/coordinator/coordinator.js'
import type { LogEntry } from '../../base/log.js'
import { Store } from '../../node/store/store.js'
import { TaskRegistry } from '../../tasks/registry.js'
import type { DonorLink } from '../../node/protocol/links.js'
import * as wire from '../../node/protocol/wire.js'
import { tempDir } from './helpers.js'

export class FakeDonor implements DonorLink {
  readonly key: string
  readonly hello: wire.HelloMessage
  readonly assigned: wire.AssignedUnit[] = []
  /** Assign messages received: each is a signature for both ends to make and check. */
  assigns = 0
  readonly cancels: number[] = []
  readonly verdicts: wire.VerdictMessage[] = []
  readonly pieces: wire.PieceMessage[] = []

  constructor(
    name: string,
    readonly host: string,
    threads: number,
    tasks: wire.TaskKind[]
  ) {
    this.key = Buffer.from(name.padEnd(32, '.')).toString('hex')
    this.hello = { version: wire.PROTOCOL_VERSION, roles: wire.ROLE_DONOR, threads, tasks }
  }

  sendAssign(msg: wire.AssignMessage): void {
    this.assigns++
    this.assigned.push(...msg.units)
  }
  sendCancel(msg: wire.CancelMessage): void {
    this.cancels.push(msg.lease)
  }
  sendVerdict(msg: wire.VerdictMessage): void {
    this.verdicts.push(msg)
  }
  sendPiece(msg: wire.PieceMessage): void {
    this.pieces.push(msg)
  }

  /** The lease it holds for a unit (the latest, if several). */
  leaseOf(unit: number): number {
    const found = this.assigned.filter((u) => u.unit === unit).at(-1)
    if (!found) throw new Error(`${this.host} holds no lease on unit ${unit}`)
    return found.lease
  }
}

export interface Harness {
  coordinator: Coordinator
  store: Store
  violations: Array<{ link: DonorLink; reason: string }>
  log: LogEntry[]
  /** A donor of this harness's task kinds. */
  donor(name: string, threads?: number): FakeDonor
  /** The clock the coordinator reads; tests move it. */
  now: { ms: number }
}

export async function withCoordinator(tasksDir: string | undefined, body: (h: Harness) => Promise<void>): Promise<void> {
  const dir = await tempDir()
  const store = Store.open(dir)
  const registry = await TaskRegistry.load(tasksDir)
  const now = { ms: Date.now() }
  const coordinator = new Coordinator(store, registry, { clock: () => now.ms })
  const violations: Harness['violations'] = []
  const log: LogEntry[] = []
  coordinator.on('violation', (link: DonorLink, reason: string) => violations.push({ link, reason }))
  coordinator.on('log', (entry: LogEntry) => log.push(entry))
  const tasks = registry.list()
  let hosts = 0
  try {
    await body({
      coordinator,
      store,
      violations,
      log,
      now,
      donor: (name, threads = 1) => new FakeDonor(name, `127.0.0.${++hosts}`, threads, tasks)
    })
  } finally {
    coordinator.close()
    // Writes the coordinator left in flight (leases, reputations) land before the store closes.
    await new Promise((resolve) => setTimeout(resolve, 100))
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

/** A result message as a donor sends it. */
export function resultOf(lease: number, output: Uint8Array): wire.ResultMessage {
  return { lease, runMs: 1, output, cpuMs: 1, speed: 1000 }
}
