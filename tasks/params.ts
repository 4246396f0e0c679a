/**
 * Parameter parsing shared by the built-in task kinds. Params arrive from the CLI as strings
 * (`--param to=3000000`), from job files and the control API as JSON numbers, and from the
 * store as CBOR (where a large integer may come back as a bigint), so every reader coerces.
 */
import { ParamError, type Params } from './contract.js'

export interface NumberRule {
  /** What to pass, shown in the error: "an integer > from". */
  hint: string
  default?: number
  integer?: boolean
  min?: number
  max?: number
}

function coerce(value: unknown): number {
  if (typeof value === 'number') return value
  if (typeof value === 'bigint') return Number(value)
  // Number('') and Number('  ') are 0: an empty `--param to=` must not mean zero.
  if (typeof value === 'string' && value.trim() !== '') return Number(value)
  return NaN
}

/** Reads one numeric param, or throws a ParamError telling the user what to pass. */
export function numberParam(task: string, params: Params, name: string, rule: NumberRule): number {
  const raw = params[name]
  const ask = `${task} needs --param ${name}=N (${rule.hint})`
  if (raw === undefined || raw === null) {
    if (rule.default !== undefined) return rule.default
    throw new ParamError(ask)
  }
  const n = coerce(raw)
  const integer = rule.integer !== false
  const min = rule.min ?? (integer ? 0 : -Number.MAX_VALUE)
  const max = rule.max ?? (integer ? Number.MAX_SAFE_INTEGER : Number.MAX_VALUE)
  const ok = Number.isFinite(n) && (!integer || Number.isInteger(n)) && n >= min && n <= max
  if (!ok) throw new ParamError(`${ask}; got ${JSON.stringify(typeof raw === 'bigint' ? String(raw) : raw)}`)
  return n
}

/** A misspelt param would otherwise silently fall back to its default. */
export function rejectUnknown(task: string, params: Params, described: Record<string, string>): void {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new ParamError(`${task} params must be an object of KEY=VALUE pairs`)
  }
  const known = Object.keys(described)
  for (const key of Object.keys(params)) {
    if (!known.includes(key)) {
      throw new ParamError(`${task} has no param "${key}"; it takes ${known.join(', ')}`)
    }
  }
}

/** The unit count the coordinator asks for; the caller caps it by how finely the job divides. */
export function unitCount(task: string, units: unknown): number {
  const n = coerce(units ?? 1)
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) {
    throw new ParamError(`${task} needs --units N (an integer from 1 to 1000000); got ${JSON.stringify(units)}`)
  }
  return n
}

/**
 * Cuts `total` items into `parts` contiguous runs whose sizes differ by at most one.
 * Works on counts, never on `i * total / parts`, so it stays exact up to 2^53.
 */
export function* evenRuns(total: number, parts: number): Generator<{ start: number; size: number }> {
  const q = Math.floor(total / parts)
  const r = total - q * parts
  let start = 0
  for (let i = 0; i < parts; i++) {
    const size = q + (i < r ? 1 : 0)
    yield { start, size }
    start += size
  }
}

/** Donors check the unit inputs they are handed: a unit may come from any peer on the grid. */
export function checkInput(task: string, ok: boolean): void {
  if (!ok) throw new Error(`${task}: malformed unit input`)
}

export function isSafeInt(v: unknown, min = 0): v is number {
  return Number.isSafeInteger(v) && (v as number) >= min
}
