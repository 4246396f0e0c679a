/** Starts private grids on 127.0.0.1 for tests: a testnet DHT and real peers, each with its own store. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import createTestnet, { type Testnet } from 'hyperdht/testnet.js'
import { Peer, type PeerOptions } from '../../node/peer/peer.js'

export interface TestGrid {
  testnet: Testnet
  peers: Peer[]
  /** Starts one more peer on this grid. */
  add(options?: PeerOptions): Promise<Peer>
  destroy(): Promise<void>
}

export async function tempDir(prefix = 'swarmgrid-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

export async function startTestGrid(): Promise<TestGrid> {
  const testnet = await createTestnet(3)
  const dirs: string[] = []
  const peers: Peer[] = []
  const grid: TestGrid = {
    testnet,
    peers,
    async add(options = {}) {
      const dataDir = options.dataDir ?? (await tempDir())
      dirs.push(dataDir)
      // Every test peer is on 127.0.0.1: two keys on one host must count as two replicas here, or nothing is ever cross-checked.
      const peer = await Peer.start({
        grid: 'test',
        http: false,
        threads: 1,
        sameHostReplicas: true,
        ...options,
        dataDir,
        dht: testnet.createNode()
      })
      peers.push(peer)
      return peer
    },
    async destroy() {
      await within(Promise.all(peers.map((peer) => peer.stop())), STOP_MS, `the test grid's ${peers.length} peers to stop`)
      await within(testnet.destroy(), STOP_MS, 'the testnet DHT to close')
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
    }
  }
  return grid
}

type PeerOptionsOnGrid = Parameters<TestGrid['add']>[0]

/** A grid with a coordinator that does not donate and one donor (that does not coordinate) per entry of `donors`, all connected. */
export async function gridWith(
  donors: PeerOptionsOnGrid[],
  coordinatorOptions: PeerOptionsOnGrid = {}
): Promise<{ grid: TestGrid; coordinator: Peer; donors: Peer[] }> {
  const grid = await startTestGrid()
  const coordinator = await grid.add({ donate: false, ...coordinatorOptions })
  const started = []
  for (const options of donors) started.push(await grid.add({ coordinate: false, ...options }))
  await until(() => coordinator.parts.coordinator.donorCount() === donors.length, 20_000, 'donors to connect')
  return { grid, coordinator, donors: started }
}

/** Resolves when `check` holds, polling; rejects after `ms`. */
export async function until(check: () => boolean, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Like `until`, for a check that has to wait for its answer (a store read, a request). */
export async function untilAsync(check: () => Promise<boolean>, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Resolves as `promise` does, or rejects when `ms` pass first. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer!: NodeJS.Timeout
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export const CLI = fileURLToPath(new URL('../../node/cli/main.js', import.meta.url))

/** How long one `swarmgrid` command run by `runCli` may take, and a stopped one may take to exit. */
export const CLI_MS = 60_000
export const STOP_MS = 20_000

/** How a process a test ran to its end ended, what it printed, and how long it took. */
export interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
  /** It ran past its bound and was killed. */
  timedOut: boolean
}

/** Runs `node ARGS` to its end, or kills it once it has run `ms`. */
export function runNode(args: string[], options: { ms: number; env?: NodeJS.ProcessEnv }): Promise<Finished> {
  return new Promise((resolve) => {
    const from = performance.now()
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, options.ms)
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: performance.now() - from, timedOut })
    })
  })
}

/** Runs one `swarmgrid` command to its end: its exit code and what it printed; one that hangs fails, saying what hung. */
export async function runCli(
  args: string[],
  ms = CLI_MS,
  env?: NodeJS.ProcessEnv
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = await runNode([CLI, ...args], { ms, env: env && { ...process.env, ...env } })
  if (run.timedOut)
    throw new Error(`swarmgrid ${args.join(' ')} still running after ${ms} ms; killed it. Its last log: ${run.stderr.slice(-300)}`)
  return { code: run.code, stdout: run.stdout, stderr: run.stderr }
}

/** Every process a test started and has not seen exit: killed if the test run itself ends. */
const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})

export interface BackgroundOptions {
  /** Runs the command through this, e.g. ['ip', 'netns', 'exec', NAME]. */
  prefix?: string[]
  env?: NodeJS.ProcessEnv
}

/** A long-running `swarmgrid` command, the lines it has printed so far (stdout), and its log (stderr). */
export class Background {
  readonly lines: string[] = []
  readonly logs: string[] = []
  /** When each log line arrived (Date.now()). */
  readonly logTimes: number[] = []
  readonly exited: Promise<number | null>
  readonly child: ChildProcess
  exitCode: number | null | undefined = undefined

  constructor(
    readonly args: string[],
    options: BackgroundOptions = {}
  ) {
    const command = [...(options.prefix ?? []), process.execPath, CLI, ...args]
    this.child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
    children.add(this.child)
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.lines.push(line))
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.logs.push(line)
      this.logTimes.push(Date.now())
    })
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code) => {
        children.delete(this.child)
        this.exitCode = code
        resolve(code)
      })
    )
  }

  get pid(): number {
    return this.child.pid!
  }

  get running(): boolean {
    return this.exitCode === undefined
  }

  async line(prefix: string, ms = 20_000): Promise<string> {
    const found = () => this.lines.find((l) => l.startsWith(prefix))
    await until(() => found() !== undefined || !this.running, ms, `a line starting "${prefix}"`)
    if (found() === undefined)
      throw new Error(`exited with ${this.exitCode} before printing "${prefix}": ${this.logs.slice(-5).join(' | ')}`)
    return found()!
  }

  /** Resolves with the first log line (stderr) that matches, waiting for it. */
  async log(pattern: RegExp, ms = 20_000): Promise<string> {
    return this.logs[await this.logIndex(pattern, ms)]
  }

  /** When the first log line that matches arrived, waiting for it. */
  async logTime(pattern: RegExp, ms = 20_000): Promise<number> {
    return this.logTimes[await this.logIndex(pattern, ms)]
  }

  count(pattern: RegExp): number {
    return this.logs.filter((l) => pattern.test(l)).length
  }

  private async logIndex(pattern: RegExp, ms: number): Promise<number> {
    await until(() => this.logs.some((l) => pattern.test(l)), ms, `a log line matching ${pattern}`)
    return this.logs.findIndex((l) => pattern.test(l))
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal)
  }

  /** Sends `signal` and resolves with the exit code; a process still up after `ms` is killed, and fails the test. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = STOP_MS): Promise<number | null> {
    const wasRunning = this.running
    this.signal(signal)
    let code: number | null
    try {
      code = await within(this.exited, ms, `swarmgrid ${this.args.join(' ')} to exit on ${signal}`)
    } catch (err) {
      this.signal('SIGKILL')
      await this.exited
      throw new Error(`${(err as Error).message}; killed it. Its last log: ${this.logs.slice(-5).join(' | ')}`)
    }
    // A peer hears SIGINT and SIGTERM and exits with a status: dying of a signal here is a crash to name.
    if (code === null && wasRunning && signal !== 'SIGKILL') {
      throw new Error(
        `swarmgrid ${this.args.join(' ')} died of ${this.child.signalCode} after ${signal}. Its last log: ${this.logs.slice(-8).join(' | ')}`
      )
    }
    return code
  }
}
