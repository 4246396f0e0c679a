/**
 * The task kinds that run their submitter's own code in a sandbox: a donor applies its
 * --wasm-memory and --wasm-time caps to their units.
 */
export const SANDBOXED_TASKS: ReadonlySet<string> = new Set(['wasm', 'wasi', 'js'])
