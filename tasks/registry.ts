/**
 * The task kinds one peer knows: the built-ins, plus the modules of `start --tasks DIR`.
 * A module named like a built-in replaces it on this peer only (a donor's own build, as
 * BOINC's anonymous platform allows); other peers cross-check its results.
 */
import { SwarmgridError } from '../base/errors.js'
import { readdir } from 'node:fs/promises'
import { extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { isTaskModule, isTaskName, MAX_TASK_NAME, type TaskModule } from './contract.js'
import { builtinTaskByName } from './index.js'

export class UnknownTaskError extends SwarmgridError {
  override name = 'UnknownTaskError'
  constructor(
    message: string,
    readonly task: string,
    readonly known: string[]
  ) {
    super('UNKNOWN_TASK', message)
  }
}

export function unknownTask(name: string, known: string[]): UnknownTaskError {
  const list = known.length > 0 ? [...known].sort().join(', ') : 'none'
  return new UnknownTaskError(
    `unknown task "${name}"; known tasks: ${list} (add one with --tasks DIR on the peer that runs it)`,
    name,
    known
  )
}

/** Says what keeps a default export from being a task module, for the load error. */
function problems(value: unknown): string {
  if (value === undefined) return 'it has no default export'
  if (value === null || typeof value !== 'object') return `its default export is a ${value === null ? 'null' : typeof value}, not an object`
  const t = value as Record<string, unknown>
  const wrong: string[] = []
  if (!isTaskName(t.name)) wrong.push(`name must be a string of 1 to ${MAX_TASK_NAME} characters, none of them a control character`)
  if (!Number.isSafeInteger(t.version) || (t.version as number) < 0) wrong.push('version must be a whole number from 0')
  for (const fn of ['split', 'run', 'merge']) if (typeof t[fn] !== 'function') wrong.push(`${fn} must be a function`)
  if (t.equal !== undefined && typeof t.equal !== 'function') wrong.push('equal, when present, must be a function')
  if (t.prepare !== undefined && typeof t.prepare !== 'function') wrong.push('prepare, when present, must be a function')
  return wrong.join('; ')
}

/**
 * The task kinds a peer knows: the built-ins, and those loaded from a --tasks dir. Loading does
 * not prepare them: the coordinator awaits a kind's prepare() when it splits or merges a job of it.
 */
export class TaskRegistry {
  private constructor(
    private readonly tasks: Map<string, TaskModule>,
    /** file URL of each kind loaded from `dir`, so a worker thread can import the same code */
    private readonly sources: Map<string, string>,
    readonly dir: string | undefined
  ) {}

  static async load(dir?: string): Promise<TaskRegistry> {
    const tasks = new Map(Object.entries(builtinTaskByName))
    const sources = new Map<string, string>()
    if (dir === undefined) return new TaskRegistry(tasks, sources, undefined)
    const abs = resolve(dir)
    let files: string[]
    try {
      files = (await readdir(abs, { withFileTypes: true }))
        .filter((e) => e.isFile() && ['.js', '.mjs'].includes(extname(e.name)))
        .map((e) => e.name)
        .sort() // a stable order, so load errors are the same on every run
    } catch (err) {
      throw new Error(`cannot read task directory ${abs}: ${(err as Error).message}`, { cause: err })
    }
    const fromFile = new Map<string, string>()
    for (const file of files) {
      const path = resolve(abs, file)
      const url = pathToFileURL(path).href
      let mod: { default?: unknown }
      try {
        mod = await import(url)
      } catch (err) {
        throw new Error(`task module ${path} failed to load: ${(err as Error).message}`, { cause: err })
      }
      if (!isTaskModule(mod.default)) {
        throw new Error(`${path} is not a task module: ${problems(mod.default)} (see "Task modules" in the README)`)
      }
      const task = mod.default
      // Two files claiming one name would make the choice depend on file names; refuse.
      const clash = fromFile.get(task.name)
      if (clash) throw new Error(`task "${task.name}" is defined twice in ${abs}: ${clash} and ${file}`)
      fromFile.set(task.name, file)
      tasks.set(task.name, task)
      sources.set(task.name, url)
    }
    return new TaskRegistry(tasks, sources, abs)
  }

  get(name: string): TaskModule | undefined {
    return this.tasks.get(name)
  }

  require(name: string): TaskModule {
    const task = this.tasks.get(name)
    if (!task) throw unknownTask(name, [...this.tasks.keys()])
    return task
  }

  list(): { name: string; version: number }[] {
    return [...this.tasks.values()].map((t) => ({ name: t.name, version: t.version })).sort((a, b) => a.name.localeCompare(b.name))
  }

  /** The file URL a kind was loaded from, or undefined for a built-in. */
  source(name: string): string | undefined {
    return this.sources.get(name)
  }
}
