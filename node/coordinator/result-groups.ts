/**
 * One job's answers still being voted on, grouped by what they say. Outputs the task calls
 * equal share a group, named by the digest of the first; the job machine only ever sees group
 * names, and the coordinator keeps the bytes here until a group is accepted and stored.
 */
import type { TaskModule } from '../../tasks/contract.js'
import { decodeValue, digestBytes, encodeValue } from '../../tasks/values.js'
import type { Store } from '../store/store.js'
import { checkValue, type ValueLimits } from '../../tasks/value-limits.js'

export interface Candidate {
  bytes: Uint8Array
  value: unknown
}

/**
 * A donor's output, decoded and encoded again so that equal values have equal bytes. Its shape
 * is checked first without decoding it (tasks/value-limits.ts), so that one output costs the
 * main thread a few ms at most: ValueLimitError when it is past the task's limits,
 * MalformedValueError (or cbor-x's own error) when it is no value at all.
 */
export function candidateOf(output: Uint8Array, limits: ValueLimits): Candidate {
  checkValue(output, limits)
  const value = decodeValue(output)
  return { bytes: encodeValue(value), value }
}

export class ResultGroups {
  /** Candidates of units still being voted on, by group, until the unit is settled. */
  private readonly byUnit = new Map<number, Map<string, Candidate>>()
  /**
   * Accepted answers on their way to the store, by unit: until the write lands the store does
   * not have them, and a unit opened again meanwhile (backtracking) must not lose its answer.
   */
  private readonly writing = new Map<number, { group: string; candidate: Candidate }>()

  constructor(
    private readonly store: Store,
    private readonly jobId: string,
    private readonly task: TaskModule
  ) {}

  /** The group this candidate falls in, opened if it is the first of its kind. `accepted`: the unit's answer is stored. */
  groupOf(unit: number, candidate: Candidate, accepted: boolean): string {
    // A spot-check or late replica of an accepted unit is judged against the stored answer, `equal` included.
    const groups = this.byUnit.get(unit) ?? (accepted ? this.knownAnswer(unit) : new Map<string, Candidate>())
    if (!accepted) this.byUnit.set(unit, groups)
    const digest = digestBytes(candidate.bytes)
    if (groups.has(digest)) return digest
    if (this.task.equal) {
      for (const [group, other] of groups) if (this.task.equal(other.value, candidate.value)) return group
    }
    groups.set(digest, candidate)
    return digest
  }

  /**
   * The accepted group's candidate, to be stored. The unit's groups are dropped unless
   * `keepRivals` and there are rivals: backtracking under credibility may yet accept one.
   */
  take(unit: number, group: string, keepRivals: boolean): Candidate | undefined {
    const groups = this.byUnit.get(unit)
    const candidate = groups?.get(group)
    if (!keepRivals || (groups?.size ?? 0) <= 1) this.byUnit.delete(unit)
    if (candidate) this.writing.set(unit, { group, candidate })
    return candidate
  }

  /** The accepted answer taken for `unit` is in the store now. */
  written(unit: number, group: string): void {
    if (this.writing.get(unit)?.group === group) this.writing.delete(unit)
  }

  /** An accepted unit open again: its stored answer stays a candidate, so more votes for it need not bring it again. */
  reopen(unit: number): void {
    if (!this.byUnit.has(unit)) this.byUnit.set(unit, this.knownAnswer(unit))
  }

  private knownAnswer(unit: number): Map<string, Candidate> {
    const inFlight = this.writing.get(unit)
    if (inFlight) return new Map([[inFlight.group, inFlight.candidate]])
    const known = this.store.acceptedOutput(this.jobId, unit)
    return new Map(known ? [[known.digest, { bytes: known.output, value: decodeValue(known.output) }]] : [])
  }
}
