/** What a peer knows of the others, for the dashboard and the control API: its connections and its records of them. */
import type { Coordinator } from '../coordinator/coordinator.js'
import type { PeerView } from '../control/types.js'
import type { WireChannel } from '../protocol/channel.js'
import { ROLE_COORDINATOR, ROLE_DONOR } from '../protocol/wire.js'
import type { Store } from '../store/store.js'
import { checksPassed } from '../trust/ledger.js'

/** Every peer connected now or on record, but `self`; `connected` holds the channels that said hello, by key. */
export function peerViews(self: string, connected: Map<string, WireChannel>, store: Store, coordinator: Coordinator): PeerView[] {
  // From the records, not the job views: a view decodes the job's whole result.
  const outvoted = new Set([...store.listJobs().flatMap((j) => j.outvoted), ...coordinator.activeJobs().flatMap((j) => j.outvoted)])
  const reputations = new Map(store.allReputations().map((r) => [r.key, r]))
  const keys = new Set([...connected.keys(), ...reputations.keys()])
  keys.delete(self)
  return [...keys].map((key) => {
    const channel = connected.get(key)
    const reputation = reputations.get(key)
    const judged = (reputation?.validated ?? 0) + (reputation?.invalidated ?? 0)
    const hello = channel?.hello
    return {
      key,
      host: channel?.host ?? reputation?.host ?? 'unknown',
      connected: !!channel,
      roles: hello ? rolesOf(hello.roles) : [],
      tasks: hello?.tasks.map((t) => t.name) ?? [],
      threads: hello?.threads ?? 0,
      validated: reputation?.validated ?? 0,
      invalidated: reputation?.invalidated ?? 0,
      errors: reputation?.errors ?? 0,
      agreement: judged > 0 ? reputation!.validated / judged : null,
      outvoted: outvoted.has(key) || (reputation?.invalidated ?? 0) > 0,
      credit: coordinator.credit.get(key)?.credit ?? 0,
      checks: checksPassed(reputation),
      blacklisted: reputation?.blacklisted ?? null
    }
  })
}

function rolesOf(bits: number): string[] {
  return [bits & ROLE_DONOR ? 'donor' : '', bits & ROLE_COORDINATOR ? 'coordinator' : ''].filter(Boolean)
}
