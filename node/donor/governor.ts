/**
 * When a donor lends its machine, as a pure state machine: events in (CPU and temperature
 * samples, clock ticks, its owner's commands), decisions out (open or close the gate, log
 * lines), no timers and no I/O, so every rule is tested without waiting (test/governor.test.ts).
 *
 * Reasons to stop stack: the owner paused, the owner asked to finish and then pause, other
 * processes keep the machine busy, the CPU runs hot, or the clock is outside the schedule.
 * The gate is
 *   open    take units and run them
 *   drain   take no more, hand back those not started, finish those running (finish-then-pause)
 *   closed  take no more, hand back everything now
 *
 * Busy and hot have hysteresis, so they do not flap: donating pauses once the reading has
 * stayed above its threshold for `busyForMs`, and resumes only once it has stayed below a
 * lower one for `idleForMs` (longer).
 */
import { describeSchedule, inSchedule, type ScheduleWindow } from './schedule.js'

export type Gate = 'open' | 'drain' | 'closed'
export type PauseReason = 'owner' | 'finish' | 'busy' | 'hot' | 'schedule'

export interface GovernorConfig {
  pauseAbovePct?: number
  resumeBelowPct?: number
  pauseAboveCelsius?: number
  resumeBelowCelsius?: number
  busyForMs?: number
  idleForMs?: number
  schedule?: ScheduleWindow[]
}

export type GovernorEvent =
  | { type: 'sample'; now: number; otherPct: number }
  | { type: 'temperature'; now: number; celsius: number }
  | { type: 'tick'; now: number; date: Date }
  | { type: 'pause'; finish: boolean }
  | { type: 'resume' }

export type GovernorDecision = { type: 'gate'; gate: Gate } | { type: 'log'; text: string }

export const DEFAULT_BUSY_FOR_MS = 3000
export const DEFAULT_IDLE_FOR_MS = 10_000
/** How far the CPU must cool below --pause-when-hot before donating again. */
export const DEFAULT_COOLING_CELSIUS = 5

/** The resume threshold when none is given: well below the pause one, never below half of it. */
export function defaultResumeBelow(pauseAbovePct: number): number {
  return Math.max(pauseAbovePct / 2, pauseAbovePct - 20)
}

/** One reading with two thresholds and two durations: the hysteresis of busy and of hot. */
class Trigger {
  active = false
  private aboveSince: number | null = null
  private belowSince: number | null = null
  /** Whether this pause has logged a reading in the band between the thresholds yet. */
  private inBand = false

  constructor(
    readonly above: number,
    readonly below: number,
    private readonly forMs: number,
    private readonly clearMs: number,
    private readonly says: (value: number) => string,
    private readonly unit: string
  ) {}

  /** Feeds a reading; true when the trigger changed. */
  sample(now: number, value: number, log: string[]): boolean {
    const what = this.says(value)
    if (!this.active) {
      this.aboveSince = value > this.above ? (this.aboveSince ?? now) : null
      if (this.aboveSince === null || now - this.aboveSince < this.forMs) return false
      this.active = true
      this.aboveSince = null
      this.belowSince = null
      this.inBand = false
      log.push(`${what}, above ${this.above}${this.unit} for ${seconds(this.forMs)}: pausing`)
      return true
    }
    if (value < this.below) {
      this.belowSince ??= now
      if (now - this.belowSince < this.clearMs) return false
      this.active = false
      this.belowSince = null
      log.push(`${what}, below ${this.below}${this.unit} for ${seconds(this.clearMs)}: resuming`)
      return true
    }
    this.belowSince = null
    // The band between the thresholds is where a governor without hysteresis would flap;
    // said once a pause, however often the reading wanders in and out of it.
    if (value <= this.above && !this.inBand) {
      this.inBand = true
      log.push(`${what}: under ${this.above}${this.unit} but not under ${this.below}${this.unit}, so still paused`)
    }
    return false
  }
}

export class DonorGovernor {
  readonly reasons = new Set<PauseReason>()
  gate: Gate = 'open'
  /** The latest share of the machine other processes used, and the CPU's temperature, when measured. */
  otherPct: number | null = null
  celsius: number | null = null
  private readonly busy: Trigger | null
  private readonly hot: Trigger | null
  private readonly schedule: ScheduleWindow[]

  constructor(config: GovernorConfig = {}) {
    const forMs = config.busyForMs ?? DEFAULT_BUSY_FOR_MS
    const clearMs = config.idleForMs ?? DEFAULT_IDLE_FOR_MS
    const pct = config.pauseAbovePct
    this.busy =
      pct === undefined
        ? null
        : new Trigger(
            pct,
            config.resumeBelowPct ?? defaultResumeBelow(pct),
            forMs,
            clearMs,
            (v) => `other processes use ${Math.round(v)}% of the CPU`,
            '%'
          )
    const celsius = config.pauseAboveCelsius
    this.hot =
      celsius === undefined
        ? null
        : new Trigger(
            celsius,
            config.resumeBelowCelsius ?? celsius - DEFAULT_COOLING_CELSIUS,
            forMs,
            clearMs,
            (v) => `the CPU is at ${Math.round(v)} °C`,
            ' °C'
          )
    this.schedule = config.schedule ?? []
  }

  get pauseAbove(): number | null {
    return this.busy?.above ?? null
  }
  get resumeBelow(): number | null {
    return this.busy?.below ?? null
  }

  handle(event: GovernorEvent): GovernorDecision[] {
    const log: string[] = []
    switch (event.type) {
      case 'sample':
        this.otherPct = event.otherPct
        if (this.busy?.sample(event.now, event.otherPct, log)) this.mark('busy', this.busy.active)
        break
      case 'temperature':
        this.celsius = event.celsius
        if (this.hot?.sample(event.now, event.celsius, log)) this.mark('hot', this.hot.active)
        break
      case 'tick':
        this.onTick(event.date, log)
        break
      case 'pause':
        if (event.finish && !this.reasons.has('owner')) {
          this.reasons.add('finish')
          log.push('its owner asked to finish the units running and then pause')
        } else if (!event.finish) {
          this.reasons.delete('finish')
          this.reasons.add('owner')
          log.push('paused by its owner')
        }
        break
      case 'resume': {
        const had = this.reasons.has('owner') || this.reasons.has('finish')
        this.reasons.delete('owner')
        this.reasons.delete('finish')
        const still = [...this.reasons]
        if (had) log.push(still.length ? `resumed by its owner, but still paused: ${still.join(', ')}` : 'resumed by its owner')
        break
      }
    }
    return [...log.map((text): GovernorDecision => ({ type: 'log', text })), ...this.updateGate()]
  }

  private mark(reason: PauseReason, on: boolean): void {
    if (on) this.reasons.add(reason)
    else this.reasons.delete(reason)
  }

  private onTick(date: Date, log: string[]): void {
    if (this.schedule.length === 0) return
    const inside = inSchedule(this.schedule, date)
    if (!inside && !this.reasons.has('schedule')) {
      this.reasons.add('schedule')
      log.push(`outside the donation schedule (${describeSchedule(this.schedule)}): pausing`)
    } else if (inside && this.reasons.has('schedule')) {
      this.reasons.delete('schedule')
      log.push(`inside the donation schedule (${describeSchedule(this.schedule)}): donating again`)
    }
  }

  private updateGate(): GovernorDecision[] {
    const hard = ['owner', 'busy', 'hot', 'schedule'].some((r) => this.reasons.has(r as PauseReason))
    const gate: Gate = hard ? 'closed' : this.reasons.has('finish') ? 'drain' : 'open'
    if (gate === this.gate) return []
    this.gate = gate
    return [{ type: 'gate', gate }]
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`
}
