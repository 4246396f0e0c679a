/**
 * Writing a unit's verdict: its accepted output goes to disk with who agreed and why, and a unit
 * opened again keeps its answer as a candidate. The coordinator is seen through AcceptanceContext.
 */
import { short } from '../../base/log.js'
import type { Decision } from '../job/types.js'
import type { Store } from '../store/store.js'
import type { TrustKeeper } from '../trust/keeper.js'
import { countResults, type ActiveJob } from './active-job.js'
import type { CreditLedger } from './credit.js'

export interface AcceptanceContext {
  store: Store
  trust: TrustKeeper
  credit: CreditLedger
  clock(): number
  hostOf(key: string): string
  log(kind: string, text: string, job?: string, peer?: string): void
}

export async function acceptUnit(ctx: AcceptanceContext, job: ActiveJob, d: Extract<Decision, { type: 'accept' }>): Promise<void> {
  // A disputed unit under credibility keeps its rival answers: backtracking may yet accept one.
  const candidate = job.candidates.take(d.unit, d.group, !!job.record.policy.trust)
  job.progress.delete(d.unit)
  if (!candidate) return
  for (const peer of d.outvoted) {
    job.outvoted.add(peer)
    ctx.log('disagreement', `unit ${d.unit}: ${short(peer)} was outvoted by ${d.agreeing.map(short).join(', ')}`, job.record.id, peer)
  }
  countResults(job)
  const why = ctx.trust.explanation(job.record.policy, d, (key) => ctx.hostOf(key))
  await ctx.store.accept(job.record, d.unit, { output: candidate.bytes, digest: d.group, peers: d.agreeing, at: ctx.clock(), why })
  job.candidates.written(d.unit, d.group)
  // Reputation was updated as the decision came in (TrustKeeper.observe).
  ctx.credit.grant(job.record.id, d.unit, d.agreeing)
}

/** Opens an accepted unit again; its answer stays a candidate, so that more votes for it need not bring it again. */
export function unacceptUnit(ctx: AcceptanceContext, job: ActiveJob, d: Extract<Decision, { type: 'unaccept' }>): Promise<void> {
  ctx.log('backtrack', `unit ${d.unit} is open again: ${d.reason}`, job.record.id)
  job.candidates.reopen(d.unit)
  countResults(job)
  return ctx.store.unaccept(job.record, d.unit)
}
