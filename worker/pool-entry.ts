/** Where Piscina finds the thread entry: compiled JavaScript, or the TypeScript source through tsx. */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The unit thread: compiled, through its CommonJS door (worker/run-unit-entry.cts), never require(esm). */
export function unitWorkerEntry(): { filename: string; execArgv?: string[] } {
  const door = fileURLToPath(new URL('./run-unit-entry.cjs', import.meta.url))
  if (existsSync(door)) return { filename: door }
  return entry('run-unit')
}

/** The process that runs units under --cpu-limit (worker/unit-process.ts). */
export function unitProcessEntry(): { filename: string; execArgv: string[] } {
  const found = entry('unit-process')
  return { filename: found.filename, execArgv: found.execArgv ?? [] }
}

function entry(name: string): { filename: string; execArgv?: string[] } {
  const compiled = fileURLToPath(new URL(`./${name}.js`, import.meta.url))
  if (existsSync(compiled)) return { filename: compiled }
  return { filename: fileURLToPath(new URL(`./${name}.ts`, import.meta.url)), execArgv: ['--import', 'tsx'] }
}
