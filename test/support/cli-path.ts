import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { ControlClient } from '../../node/control/client.js'
import type { JobView } from '../../node/coordinator/job-view.js'
import { Background, CLI, runNode, tempDir, until } from './helpers.js'

/** Settings of a test run that must not leak into the user's path. */
const TEST_ONLY = ['SWARMGRID_REACHABLE', 'SWARMGRID_HEARTBEAT_MS', 'SWARMGRID_BOOTSTRAP', 'SWARMGRID_DATA']
const userEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !TEST_ONLY.includes(k)))

export interface Submitted {
  /** From spawning `swarmgrid submit` to its exit: the submitter's own peer start included. */
  ms: number
  code: number | null
  stdout: string
  stderr: string
  view: JobView | null
}

export class CliGrid {
  private readonly started: Background[] = []

  private constructor(
    readonly dir: string,
    readonly bootstrap: Background,
    readonly address: string
  ) {}

  static async start(): Promise<CliGrid> {
    const dir = await tempDir('swarmgrid-cli-')
    const bootstrap = spawnCli(['bootstrap', '--host', '127.0.0.1', '--port', '0'])
    try {
      return new CliGrid(dir, bootstrap, (await bootstrap.line('bootstrap ')).split(' ')[1])
    } catch (err) {
      await bootstrap.stop('SIGKILL')
      await rm(dir, { recursive: true, force: true })
      throw err
    }
  }

  dataDir(name: string): string {
    return join(this.dir, name)
  }

  /** `swarmgrid start` for the peer `name`, as a user would type it, HTTP off. */
  start(name: string, flags: string[] = []): Background {
    const peer = spawnCli(['start', '--bootstrap', this.address, '--data', this.dataDir(name), '--no-http', ...flags])
    this.started.push(peer)
    return peer
  }

  /** Milliseconds from now until `peer` prints `ready`. */
  async ready(peer: Background, ms = 20_000): Promise<number> {
    const from = performance.now()
    await peer.line('ready', ms)
    return performance.now() - from
  }

  /** `swarmgrid submit TASK …` with a peer of its own in `name`'s data dir, timed from spawn to exit. */
  async submit(name: string, args: string[], timeoutMs = 60_000): Promise<Submitted> {
    const argv = [CLI, 'submit', ...args, '--bootstrap', this.address, '--data', this.dataDir(name), '--json']
    const run = await runNode(argv, { ms: timeoutMs, env: userEnv() })
    let view: JobView | null = null
    try {
      view = JSON.parse(run.stdout)
    } catch {
      /* the test says what it printed */
    }
    return { ms: run.ms, code: run.code, stdout: run.stdout, stderr: run.stderr, view }
  }

  /** The control API of the running peer `name` (its data dir's socket). */
  async client(name: string, ms = 10_000): Promise<ControlClient> {
    let client: ControlClient | null = null
    await until(() => (client = ControlClient.forDataDir(this.dataDir(name))) !== null, ms, `peer ${name}'s control socket`)
    return client!
  }

  async destroy(): Promise<void> {
    await Promise.all(this.started.map((peer) => peer.stop('SIGKILL')))
    await this.bootstrap.stop('SIGKILL')
    await rm(this.dir, { recursive: true, force: true })
  }
}

function spawnCli(args: string[]): Background {
  const env = userEnv()
  // Background adds to process.env; blank out what the user's shell would not have.
  for (const key of TEST_ONLY) if (process.env[key] !== undefined) env[key] = ''
  return new Background(args, { env })
}
