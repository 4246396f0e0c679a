/** What Piscina loads for the plain-Piscina baseline: a CommonJS door to bench/primes-worker.ts. */
import { esmDoor } from '../worker/esm-door.cjs'

export = esmDoor(() => import('./primes-worker.js'), ['default', 'noop', 'runWasiUnit'])
