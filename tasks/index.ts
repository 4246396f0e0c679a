/** The built-in task kinds, by name, and the contract a task module follows. */
import type { TaskModule } from './contract.js'
import mandelbrot from './mandelbrot.js'
import pi from './pi.js'
import primes from './primes.js'
import wasm from './wasm.js'
import js from './js.js'
import wasi from './wasi.js'

export const builtinTasks = { primes, pi, mandelbrot, wasm, wasi, js } satisfies Record<string, TaskModule<any, any, any>>

export type BuiltinTasks = typeof builtinTasks

/** What a task's merge gives: `ResultOf<typeof tasks.primes>` is `{ count: number }`. */
export type ResultOf<T> = T extends TaskModule<any, any, infer R> ? R : unknown

/** The result of a job of the task with this name: a built-in's own type, else unknown. */
export type ResultFor<Name extends string> = Name extends keyof BuiltinTasks ? ResultOf<BuiltinTasks[Name]> : unknown

/** The built-ins by any name, for code that looks one up by a string it was given. */
export const builtinTaskByName: Readonly<Record<string, TaskModule>> = builtinTasks as Record<string, TaskModule>

export { primes, pi, mandelbrot, wasm, wasi, js }
export { ParamError, isTaskModule } from './contract.js'
export type { JobContext, Params, RunContext, TaskModule } from './contract.js'
