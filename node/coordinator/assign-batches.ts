/** How a coordinator packs new leases into assigns and sends them: one per donor and job, as few as fit in a frame. */
import { LIMITS, type AssignedUnit, type AssignMessage } from '../protocol/wire.js'
import type { JobRecord } from '../store/records.js'
import type { Store } from '../store/store.js'
import type { DonorLink } from '../protocol/links.js'
import type { ActiveJob } from './active-job.js'
import type { AssignDecision } from './decision-handlers.js'
import type { LeaseRoutes } from './lease-routes.js'

/** Signed later, by the peer's signer: until then the key and signature are empty. */
const UNSIGNED = new Uint8Array(0)

/** The assigns that carry `units` of a job to one donor. */
export function assignsOf(
  record: Pick<JobRecord, 'id' | 'task' | 'taskVersion'>,
  units: AssignedUnit[],
  deadlineMs: number
): AssignMessage[] {
  return frameSized(units).map((batch) => ({
    job: record.id,
    task: record.task,
    taskVersion: record.taskVersion,
    deadlineMs,
    units: batch,
    expires: 0,
    signer: UNSIGNED,
    signature: UNSIGNED
  }))
}

/** What one unit adds to an assign besides its input: lease, index and length prefixes. */
const UNIT_OVERHEAD_BYTES = 32

/** Splits units into batches whose inputs fit one frame and whose count one assign allows. */
export function frameSized(units: AssignedUnit[]): AssignedUnit[][] {
  const batches: AssignedUnit[][] = []
  let batch: AssignedUnit[] = []
  let bytes = 0
  for (const unit of units) {
    const size = unit.input.byteLength + UNIT_OVERHEAD_BYTES
    if (batch.length > 0 && (bytes + size > LIMITS.payload || batch.length >= LIMITS.unitsPerAssign)) {
      batches.push(batch)
      batch = []
      bytes = 0
    }
    batch.push(unit)
    bytes += size
  }
  if (batch.length > 0) batches.push(batch)
  return batches
}

/** Groups items by the peer they are for, keeping their order. */
export function byPeer<T extends { peer: string }>(items: T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const group = groups.get(item.peer)
    if (group) group.push(item)
    else groups.set(item.peer, [item])
  }
  return groups
}

/** The coordinator as the sending of assigns sees it. */
export interface AssignContext {
  store: Pick<Store, 'input'>
  leases: Pick<LeaseRoutes, 'open'>
  clock(): number
  linkOf(key: string): DonorLink | undefined
  signAssign(msg: AssignMessage): AssignMessage
}

/** Each donor's new leases of a job go out as few assigns as fit in a frame, one signature each. */
export function sendAssigns(ctx: AssignContext, job: ActiveJob, decisions: AssignDecision[]): void {
  for (const [peer, leased] of byPeer(decisions)) {
    const link = ctx.linkOf(peer)
    if (!link) continue
    const units: AssignedUnit[] = []
    for (const d of leased) {
      const input = ctx.store.input(job.record.id, d.unit)
      if (!input) continue
      ctx.leases.open(d.lease, job, d.unit, d.peer)
      units.push({ lease: d.lease, unit: d.unit, input })
    }
    // A job stored by an earlier version may have a longer deadline than the wire carries.
    const deadlineMs = Math.min(LIMITS.deadlineMs, Math.max(1, Math.min(...leased.map((d) => d.deadline)) - ctx.clock()))
    for (const msg of assignsOf(job.record, units, deadlineMs)) link.sendAssign(ctx.signAssign(msg))
  }
}
