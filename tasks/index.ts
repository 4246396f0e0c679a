/** The built-in task kinds, by name, and the contract a task module follows. */
import type { TaskModule } from './contract.js'
import mandelbrot from './mandelbrot.js'
import pi from './pi.js'
import primes from './primes.js'
import wasm from './wasm.js'

export const builtinTasks: Record<string, TaskModule> = {
  primes: primes as TaskModule,
  pi: pi as TaskModule,
  mandelbrot: mandelbrot as TaskModule,
  wasm: wasm as TaskModule,
}

export { primes, pi, mandelbrot, wasm }

/** The same modules with their own types, for the library: `typedTasks.primes` merges to `{ count: number }`. */
export const typedTasks = { primes, pi, mandelbrot, wasm }
export { ParamError, isTaskModule } from './contract.js'
export type { Params, RunContext, TaskModule } from './contract.js'
