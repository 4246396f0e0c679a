/**
 * The donor's owner in charge: everything `start` is told about how to lend the machine
 * (threads aside) and the pause / resume / finish-then-pause commands, wired to the donor.
 * The decisions are DonorGovernor's; this only samples the CPU, ticks the clock, carries the
 * gate to the donor and serves the control API routes the CLI and dashboard call.
 */
import { EventEmitter } from 'node:events'
import type { TaskRegistry } from '../../tasks/registry.js'
import { DEFAULT_WASM_MEMORY_MB, DEFAULT_WASM_TIME_SECONDS } from '../../tasks/sandboxed.js'
import { measureSpeed } from '../../worker/speed.js'
import { CpuMeter, machineSource, ownProcessCpuMs, type CpuShares, type CpuSource } from '../../worker/cpu-meter.js'
import { DonorGovernor, type Gate, type PauseReason } from './governor.js'
import { DonorPolicy } from './policy.js'
import { Donor } from './donor.js'
import { SharedCache } from './shared-cache.js'
import { SharedSource } from './shared-source.js'
import { join } from 'node:path'
import { donorThreads } from './threads.js'
import { describeSchedule, parseSchedule, type ScheduleWindow } from './schedule.js'
import { hottestCelsius, THERMAL_DIR } from './thermal.js'
import type { LogEntry } from '../../base/log.js'
import { createUnitPool, type UnitPool } from '../../worker/unit-pool.js'

const DEFAULT_SAMPLE_MS = 1000
/** Jobs whose refusal was logged, so each is logged once; forgotten in bulk past this. */
const REFUSALS_REMEMBERED = 1000

export interface DonationOptions {
  /** Percent of the whole machine (all cores) the units may use. */
  cpuLimitPct?: number
  /** Pause while other processes use more than this percent of the machine. */
  pauseWhenBusyPct?: number
  /** Resume once they use less than this (default: see defaultResumeBelow). */
  resumeBelowPct?: number
  /** Pause while the CPU is hotter than this, in °C; resume once it is 5 °C cooler. */
  pauseWhenHotCelsius?: number
  /** Where the thermal zones are (tests point it at files of their own). */
  thermalDir?: string
  /** Windows of local time to donate in (node/donor/schedule.ts). */
  schedule?: string[]
  /** Start paused, as if `swarmgrid pause` had been run. */
  paused?: boolean
  trust?: string[]
  allowTasks?: string[]
  nice?: number
  wasmMemoryMb?: number
  wasmTimeSeconds?: number
  /** Bytes of programs kept on disk for later jobs (default DEFAULT_SHARED_CACHE_BYTES). */
  sharedCacheBytes?: number
  /** Tests and simulators: what counts as the machine, and how fast the governor looks at it. */
  cpuSource?: (ownMs: () => number) => CpuSource
  sampleMs?: number
  busyForMs?: number
  idleForMs?: number
}

export type DonorState = 'donating' | 'finishing' | 'paused'

export interface DonorControlView {
  state: DonorState
  gate: Gate
  reasons: PauseReason[]
  cpu: CpuShares | null
  celsius: number | null
  cpuLimitPct: number | null
  /** Share of each limiter period the units' process may run, and the share it got over the last second (1: unlimited). */
  duty: number
  granted: number
  pauseWhenBusyPct: number | null
  schedule: string | null
  policy: string
  threads: number
  busy: number
}

/** Checks what the donor is told before anything starts, so a typo is a usage error. */
export function donationPolicy(options: DonationOptions, self: string): { policy: DonorPolicy; schedule: ScheduleWindow[] } {
  return {
    policy: new DonorPolicy({ trust: options.trust, allowTasks: options.allowTasks, self }),
    schedule: parseSchedule(options.schedule ?? [])
  }
}

export class DonorControls extends EventEmitter {
  readonly governor: DonorGovernor
  private readonly meter: CpuMeter
  private readonly timer: NodeJS.Timeout
  private shares: CpuShares | null = null

  constructor(
    private readonly donor: Donor,
    readonly pool: UnitPool,
    private readonly options: DonationOptions,
    schedule: ScheduleWindow[],
    private readonly policy: DonorPolicy
  ) {
    super()
    this.governor = new DonorGovernor({
      pauseAbovePct: options.pauseWhenBusyPct,
      resumeBelowPct: options.resumeBelowPct,
      pauseAboveCelsius: options.pauseWhenHotCelsius,
      busyForMs: options.busyForMs,
      idleForMs: options.idleForMs,
      schedule
    })
    const ownMs = () => ownProcessCpuMs() + pool.externalCpuMs()
    this.meter = new CpuMeter((options.cpuSource ?? machineSource)(ownMs))
    this.timer = setInterval(() => this.sample(), options.sampleMs ?? DEFAULT_SAMPLE_MS)
    this.timer.unref()
    const told = new Set<string>()
    donor.on('refused', (msg: { job: string }, reason: string) => {
      if (told.has(msg.job)) return
      if (told.size >= REFUSALS_REMEMBERED) told.clear()
      told.add(msg.job)
      this.log(`refused job ${msg.job.slice(0, 8)}: ${reason}`)
    })
  }

  /** Logs how this donor lends the machine, and applies the schedule and a --paused start at once. */
  start(): void {
    const limit = this.options.cpuLimitPct !== undefined ? `, at most ${this.options.cpuLimitPct}% of the CPU` : ''
    const busy =
      this.options.pauseWhenBusyPct !== undefined
        ? `, pausing while other processes use more than ${this.options.pauseWhenBusyPct}% (resuming below ${this.governor.resumeBelow}%)`
        : ''
    const when = this.options.schedule?.length ? `, only ${describeSchedule(parseSchedule(this.options.schedule))}` : ''
    const hot =
      this.options.pauseWhenHotCelsius !== undefined ? `, pausing while the CPU is above ${this.options.pauseWhenHotCelsius} °C` : ''
    this.log(
      `donating ${this.donor.threads} thread${this.donor.threads === 1 ? '' : 's'}${limit}${busy}${hot}${when}; ${this.policy.describe()}`
    )
    if (this.options.pauseWhenHotCelsius !== undefined && hottestCelsius(this.options.thermalDir) === null) {
      this.log(`no temperature sensor can be read here (${this.options.thermalDir ?? THERMAL_DIR}): --pause-when-hot has nothing to go on`)
    }
    this.apply(this.governor.handle({ type: 'tick', now: Date.now(), date: new Date() }))
    if (this.options.paused) this.pause(false)
  }

  allowsTask(name: string): boolean {
    return this.policy.allowsTask(name)
  }

  pause(finish: boolean): DonorControlView {
    this.apply(this.governor.handle({ type: 'pause', finish }))
    return this.view()
  }

  resume(): DonorControlView {
    this.apply(this.governor.handle({ type: 'resume' }))
    return this.view()
  }

  view(): DonorControlView {
    const stats = this.donor.snapshot()
    const gate = this.governor.gate
    const state: DonorState = gate === 'open' ? 'donating' : gate === 'drain' && stats.busy > 0 ? 'finishing' : 'paused'
    return {
      state,
      gate,
      reasons: [...this.governor.reasons],
      cpu: this.shares,
      celsius: this.governor.celsius,
      cpuLimitPct: this.options.cpuLimitPct ?? null,
      duty: round3(this.pool.limiter?.duty ?? 1),
      granted: round3(this.pool.limiter?.grantedFraction() ?? 1),
      pauseWhenBusyPct: this.options.pauseWhenBusyPct ?? null,
      schedule: this.options.schedule?.length ? describeSchedule(parseSchedule(this.options.schedule)) : null,
      policy: this.policy.describe(),
      threads: stats.threads,
      busy: stats.busy
    }
  }

  close(): void {
    clearInterval(this.timer)
  }

  private sample(): void {
    const now = Date.now()
    const shares = this.meter.sample()
    if (shares) this.shares = shares
    const celsius = this.options.pauseWhenHotCelsius !== undefined ? hottestCelsius(this.options.thermalDir) : null
    this.apply([
      ...(shares ? this.governor.handle({ type: 'sample', now, otherPct: shares.otherPct }) : []),
      ...(celsius !== null ? this.governor.handle({ type: 'temperature', now, celsius }) : []),
      ...this.governor.handle({ type: 'tick', now, date: new Date(now) })
    ])
  }

  private apply(decisions: ReturnType<DonorGovernor['handle']>): void {
    for (const d of decisions) {
      if (d.type === 'log') this.log(d.text)
      else this.donor.setGate(d.gate)
    }
  }

  log(text: string): void {
    const entry: LogEntry = { at: Date.now(), kind: 'donor', text }
    this.emit('log', entry)
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000
}

export interface DonationSetup {
  threads?: number
  registry: TaskRegistry
  memoryMb?: number
  /** This peer's key: its own jobs are always trusted. */
  self: string
  options: DonationOptions
  /** The peer's data dir: programs units name by hash are cached under its blobs/ (shared-cache.ts). */
  dataDir?: string
}

/** The donor a peer runs, with its pool, its owner's policy and controls. */
export function startDonation(setup: DonationSetup): { donor: Donor; controls: DonorControls } {
  const { options } = setup
  const { policy, schedule } = donationPolicy(options, setup.self)
  const threads = donorThreads(setup.threads)
  const pool = createUnitPool({ threads, memoryMb: setup.memoryMb, cpuLimitPct: options.cpuLimitPct, nice: options.nice })
  let controls: DonorControls | null = null
  const cache = new SharedCache(setup.dataDir ? join(setup.dataDir, 'blobs') : null, options.sharedCacheBytes, (text) =>
    controls?.log(text)
  )
  const donor = new Donor({
    shared: new SharedSource(cache),
    threads,
    registry: setup.registry,
    memoryMb: setup.memoryMb,
    pool,
    policy,
    speed: measureSpeed(),
    nice: options.nice,
    wasm: {
      memoryMb: options.wasmMemoryMb ?? DEFAULT_WASM_MEMORY_MB,
      timeMs: (options.wasmTimeSeconds ?? DEFAULT_WASM_TIME_SECONDS) * 1000
    }
  })
  controls = new DonorControls(donor, pool, options, schedule, policy)
  return { donor, controls }
}
