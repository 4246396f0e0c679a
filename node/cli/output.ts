/** How the CLI prints values: JSON for scripts, short descriptions for people. */
import { toJsonSafe } from '../../tasks/values.js'

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(toJsonSafe(value)) + '\n')
}

const LONG_LIST = 20
const LONG_LIST_SHOWN = 10

/** A value as a person reads it: bytes are summarised, not dumped, and long lists cut short. */
export function describeValue(value: unknown): string {
  // The replacer reads the raw value from its holder: JSON.stringify has already run Buffer's toJSON.
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key]
    if (raw instanceof Uint8Array) return isPng(raw) ? `<PNG image, ${raw.byteLength} bytes>` : `<${raw.byteLength} bytes>`
    // A js job's outputs can be many: a terminal gets the first few (results --out has them all).
    if (Array.isArray(v) && v.length > LONG_LIST) return [...v.slice(0, LONG_LIST_SHOWN), `… ${v.length - LONG_LIST_SHOWN} more`]
    return v
  })
}

function isPng(bytes: Uint8Array): boolean {
  return bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47
}
