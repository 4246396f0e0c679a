/**
 * Why a unit was accepted, or where it stands while it is not: the peers that agreed, their
 * credibility, the rule and the threshold, and one sentence that says it. Served at
 * GET /api/jobs/:id/units/:n and shown by `swarmgrid status JOB --unit N`.
 */
import { short } from '../../base/log.js'
import { SwarmgridError } from '../../base/errors.js'
import type { Explanation, PeerStanding } from '../job/types.js'
import { CredibilityAcceptance } from '../trust/credibility-acceptance.js'
import { groupCounts } from '../job/acceptance.js'
import type { JobMachine } from '../job/machine.js'
import type { UnitReport, UnitState } from '../job/types.js'
import type { Store } from '../store/store.js'
import type { AcceptedOutput, JobRecord } from '../store/records.js'

export class UnitRangeError extends SwarmgridError {
  override name = 'UnitRangeError'
  constructor(message: string) {
    super('UNIT_RANGE', message)
  }
}

export function unitOutOfRange(record: JobRecord, unit: number): UnitRangeError {
  return new UnitRangeError(`job ${record.id.slice(0, 8)} has units 0 to ${record.units - 1}, not ${unit}`)
}

/** From the store alone: an accepted unit's stored explanation, or what the record says of the rest. */
export function storedReport(record: JobRecord, unit: number, stored: AcceptedOutput | undefined): UnitReport {
  if (!Number.isSafeInteger(unit) || unit < 0 || unit >= record.units) throw unitOutOfRange(record, unit)
  if (stored) {
    const why = stored.why ?? null
    return {
      job: record.id,
      unit,
      state: 'accepted',
      why,
      reason: why ? describe(why, true) : `accepted: ${stored.peers.length} peers agreed (${stored.peers.map(short).join(', ')})`
    }
  }
  const state: UnitState = record.state === 'failed' ? 'failed' : 'waiting'
  return {
    job: record.id,
    unit,
    state,
    why: null,
    reason:
      record.state === 'running' ? 'not accepted yet (ask the running peer for where it stands)' : `not accepted: the job ${record.state}`
  }
}

/** From a running job's machine: where an open unit stands under the job's rule now. */
export function liveReport(record: JobRecord, machine: JobMachine, unit: number): UnitReport {
  if (!Number.isSafeInteger(unit) || unit < 0 || unit >= record.units) throw unitOutOfRange(record, unit)
  const state = machine.unitState(unit)
  const tally = machine.tallyOf(unit)
  const running = tally.running.length
  let why: Explanation
  if (machine.acceptance instanceof CredibilityAcceptance) {
    const assessed = machine.acceptance.assess(tally)
    if (!assessed) return { job: record.id, unit, state, why: null, reason: `no results yet, ${running} running` }
    why = assessed.why
  } else {
    const counts = [...groupCounts(tally.ballots)].sort((a, b) => b[1] - a[1])
    const lead = counts[0]?.[0]
    const standing = (b: { peer: string; host: string }): PeerStanding => ({ peer: b.peer, host: b.host, credibility: null, checks: null })
    why = {
      rule: 'quorum',
      credibility: null,
      threshold: null,
      required: record.policy.quorum,
      agreeing: tally.ballots.filter((b) => b.group === lead).map(standing),
      against: tally.ballots.filter((b) => b.group !== lead).map(standing)
    }
  }
  return { job: record.id, unit, state, why, reason: `${describe(why, false)}; ${running} running` }
}

/** One sentence: who agreed, how credible that is, and against what rule. */
export function describe(why: Explanation, accepted: boolean): string {
  const peers = (list: PeerStanding[]) =>
    list
      .map(
        (p) =>
          `${short(p.peer)}${p.credibility === null ? '' : ` ${p.credibility.toFixed(4)}`}${p.checks === null ? '' : ` (${p.checks} ${why.rule === 'adaptive' ? 'valid in a row' : 'checks'})`}`
      )
      .join(', ')
  const against = why.against.length ? `; ${why.against.length} disagreed: ${peers(why.against)}` : ''
  const verb = accepted ? 'accepted' : 'open'
  if (why.rule === 'credibility') {
    const comparison = `${why.credibility!.toFixed(6)} ${accepted ? '≥' : '<'} ${why.threshold} (1 − ε)`
    const who =
      why.agreeing.length === 1
        ? `one result, of ${peers(why.agreeing)}`
        : `${why.agreeing.length} agreeing results: ${peers(why.agreeing)}`
    return `${verb} on ${who}; the answer's credibility is ${comparison}${against}`
  }
  const count = `${why.agreeing.length} of ${why.required} ${why.rule === 'adaptive' ? 'results this unit needed (BOINC adaptive replication)' : 'agreeing results from distinct peers'}`
  return `${verb}: ${count}${why.agreeing.length ? `: ${peers(why.agreeing)}` : ''}${against}`
}

/** What a peer knows of a unit: live from its coordinator while the unit is open, else from the store. */
export function unitReport(
  store: Store,
  live: { liveMachine(id: string): JobMachine | undefined } | null,
  idOrPrefix: string,
  unit: number
): UnitReport | undefined {
  const record = store.findJob(idOrPrefix)
  if (!record) return undefined
  const stored = Number.isSafeInteger(unit) && unit >= 0 ? store.acceptedOutput(record.id, unit) : undefined
  const machine = live?.liveMachine(record.id)
  if (!stored && machine) return liveReport(record, machine, unit)
  return storedReport(record, unit, stored)
}
