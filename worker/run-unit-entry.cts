/** What Piscina loads for a unit thread: a CommonJS door to worker/run-unit.ts (see esm-door.cts). */
import { esmDoor } from './esm-door.cjs'

export = esmDoor(() => import('./run-unit.js'), ['default'])
