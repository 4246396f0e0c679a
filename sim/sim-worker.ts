/** A worker thread of the simulator: runs the scenarios it is sent, one at a time. */
import { parentPort } from 'node:worker_threads'
import { runScenario, type Scenario } from './scenario.js'

parentPort!.on('message', (message: { id: number; scenario: Scenario }) => {
  parentPort!.postMessage({ id: message.id, outcome: runScenario(message.scenario) })
})
