/**
 * How busy the machine is, and how much of that is this donor: what --pause-when-busy and
 * --cpu-limit act on. Counters are cumulative CPU milliseconds; a meter turns two readings
 * into shares of the whole machine (all cores) over the time between them.
 */
import { readFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'

/** Cumulative CPU time, in ms of one core: the machine's busy and total time, and the donor's own. */
export interface CpuReading {
  busyMs: number
  totalMs: number
  ownMs: number
}
export type CpuSource = () => CpuReading

export interface CpuShares {
  /** Percent of the whole machine used by other processes. */
  otherPct: number
  /** Percent of the whole machine used by this peer and its units. */
  ownPct: number
}

/** Linux reports /proc times in USER_HZ, which is 100 on every architecture it runs on. */
const CLOCK_TICKS_PER_SECOND = 100

/** Shares of the machine between two readings; what other processes used is busy minus ours. */
export function sharesBetween(a: CpuReading, b: CpuReading): CpuShares | null {
  const total = b.totalMs - a.totalMs
  if (!(total > 0)) return null
  const own = Math.max(0, b.ownMs - a.ownMs)
  const busy = Math.max(0, b.busyMs - a.busyMs)
  const clamp = (pct: number) => Math.round(Math.min(100, Math.max(0, pct)) * 10) / 10
  return { otherPct: clamp(((busy - own) / total) * 100), ownPct: clamp((own / total) * 100) }
}

/** The whole machine, from the kernel's per-core counters, less what `ownMs` says is ours. */
export function machineSource(ownMs: () => number): CpuSource {
  return () => {
    let busyMs = 0
    let totalMs = 0
    for (const { times } of cpus()) {
      const busy = times.user + times.nice + times.sys + times.irq
      busyMs += busy
      totalMs += busy + times.idle
    }
    return { busyMs, totalMs, ownMs: ownMs() }
  }
}

/**
 * Only the given processes count as "other": for tests on a shared machine, where what other
 * people run would otherwise decide the outcome. Linux only (/proc).
 */
export function processesSource(pids: () => number[], ownMs: () => number, cores = availableParallelism()): CpuSource {
  const started = performance.now()
  return () => {
    const other = pids().reduce((sum, pid) => sum + (processCpuMs(pid) ?? 0), 0)
    const own = ownMs()
    return { busyMs: other + own, totalMs: (performance.now() - started) * cores, ownMs: own }
  }
}

/** CPU time of a process (all its threads) from /proc, or null where there is none. */
export function processCpuMs(pid: number): number | null {
  return procStatCpuMs(`/proc/${pid}/stat`)
}

/** CPU time of the calling thread (Linux), for the credit a unit claims; null elsewhere. */
export function threadCpuMs(): number | null {
  return procStatCpuMs('/proc/thread-self/stat')
}

function procStatCpuMs(path: string): number | null {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return null
  }
  // The command name may hold spaces and parentheses: fields are counted after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : null
}

/** This process's own CPU time, every thread included. */
export function ownProcessCpuMs(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

/** Successive readings of a source, as shares of the machine since the reading before. */
export class CpuMeter {
  private last: CpuReading

  constructor(private readonly source: CpuSource) {
    this.last = source()
  }

  sample(): CpuShares | null {
    const next = this.source()
    const shares = sharesBetween(this.last, next)
    if (shares) this.last = next
    return shares
  }
}
