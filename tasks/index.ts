/** The built-in task kinds, by name, and the contract a task module follows. */
import type { TaskModule } from './contract.js'
import mandelbrot from './mandelbrot.js'
import pi from './pi.js'
import primes from './primes.js'
import wasm from './wasm.js'
import wasi from './wasi.js'

export const builtinTasks: Record<string, TaskModule> = {
  primes: primes as TaskModule,
  pi: pi as TaskModule,
  mandelbrot: mandelbrot as TaskModule,
  wasm: wasm as TaskModule,
  wasi: wasi as TaskModule,
}

export { primes, pi, mandelbrot, wasm, wasi }
export { ParamError, isTaskModule } from './contract.js'
export type { JobContext, Params, RunContext, TaskModule } from './contract.js'
