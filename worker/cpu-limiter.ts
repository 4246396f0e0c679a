/**
 * --cpu-limit: holds the CPU use of the process that runs the units at a share of the machine
 * by stopping and continuing it (SIGSTOP / SIGCONT) within every short period, as `cpulimit`
 * does. Whatever code a unit runs (a task in JavaScript, a tight WebAssembly loop) it cannot
 * escape this, and at a 100 ms period the use measured over any second is flat: no sawtooth
 * of whole seconds on and off, which is what users of BOINC's throttle complain of.
 *
 * The limit is a ceiling, never a quota: k busy threads get a duty cycle of target/k, so the
 * units use the target when the cores are free and less when the owner's programs compete
 * (the donor yields; it does not run longer to make up). The running time actually granted is
 * measured and the planned duty corrected by it, so timers that fire late do not let the
 * units run over.
 */

export interface LimiterHooks {
  /** Units running in it now. */
  busyThreads(): number
  stop(): void
  resume(): void
}

export const PERIOD_MS = 100
const ADJUST_EVERY_MS = 250
const WINDOW_MS = 1000
const MIN_DUTY = 0.02
const CORRECTION_RANGE: [number, number] = [0.5, 1.5]

/** The share of each period the units' process may run: its share of the target per busy thread. */
export function nominalDuty(targetCores: number, busyThreads: number): number {
  if (busyThreads <= 0) return 1
  return Math.min(1, Math.max(MIN_DUTY, targetCores / busyThreads))
}

/** The next correction of planned duty from the running fraction granted against the one wanted. */
export function nextCorrection(correction: number, wanted: number, granted: number): number {
  if (!(granted > 0) || wanted >= 1) return correction
  const step = Math.min(1.25, Math.max(0.8, Math.sqrt(wanted / granted)))
  return Math.min(CORRECTION_RANGE[1], Math.max(CORRECTION_RANGE[0], correction * step))
}

export class CpuLimiter {
  private correction = 1
  private running = true
  private runningSince: number
  private runningTotal = 0
  private closed = false
  private timer: NodeJS.Timeout | null = null
  private stopTimer: NodeJS.Timeout | null = null
  private readonly history: Array<{ at: number; run: number; wanted: number }> = []
  private lastAdjust = 0
  private wanted = 1

  constructor(
    readonly targetCores: number,
    private readonly hooks: LimiterHooks,
    private readonly now = () => performance.now()
  ) {
    this.runningSince = now()
  }

  start(): void {
    this.period()
  }

  /** The share of each period the process may run now (1: it is not held back), for `status`. */
  get duty(): number {
    return this.wanted
  }

  /** The share of the last second the process was let run. */
  grantedFraction(): number {
    const now = this.now()
    const first = this.history[0]
    return first && now > first.at ? (this.runningMs(now) - first.run) / (now - first.at) : 1
  }

  close(): void {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    if (this.stopTimer) clearTimeout(this.stopTimer)
    this.setRunning(true)
  }

  private period(): void {
    if (this.closed) return
    const started = this.now()
    this.wanted = nominalDuty(this.targetCores, this.hooks.busyThreads())
    this.adjust(started)
    const planned = Math.min(1, this.wanted * this.correction)
    this.setRunning(true)
    if (this.wanted < 1) {
      this.stopTimer = setTimeout(() => this.setRunning(false), Math.max(1, Math.round(planned * PERIOD_MS)))
    }
    this.timer = setTimeout(() => this.period(), PERIOD_MS)
  }

  private runningMs(now: number): number {
    return this.runningTotal + (this.running ? now - this.runningSince : 0)
  }

  private adjust(now: number): void {
    this.history.push({ at: now, run: this.runningMs(now), wanted: this.wanted })
    while (this.history.length > 2 && now - this.history[1].at >= WINDOW_MS) this.history.shift()
    if (now - this.lastAdjust < ADJUST_EVERY_MS || this.history.length < 3) return
    this.lastAdjust = now
    const first = this.history[0]
    const granted = (this.runningMs(now) - first.run) / (now - first.at)
    const wanted = this.history.reduce((sum, h) => sum + h.wanted, 0) / this.history.length
    this.correction = nextCorrection(this.correction, wanted, granted)
  }

  private setRunning(running: boolean): void {
    if (running === this.running) return
    const now = this.now()
    if (running) this.runningSince = now
    else this.runningTotal += now - this.runningSince
    this.running = running
    try {
      if (running) this.hooks.resume()
      else this.hooks.stop()
    } catch {
      // The process is gone; its pool reports that on its own.
    }
  }
}
