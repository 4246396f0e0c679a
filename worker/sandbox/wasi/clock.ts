/**
 * A run's clocks and poll_oneoff. The time of day (the realtime clock, and the CPU-time clocks)
 * is the job's creation time and never moves. The monotonic clock starts there too and moves only
 * when the program sleeps, by exactly what it asked to sleep, at once: a sleep or timer still ends
 * at once, but it sees its time pass. Without that, Go's scheduler, which polls until the
 * monotonic clock reaches its next timer, spins on `time.Sleep` until the donor's time cap stops
 * it. Both clocks depend only on the program's own calls, so every donor sees the same times.
 */
import { ERRNO, EVENTTYPE } from './abi.js'
import { fail } from './memfs.js'

const CLOCK = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME: 2, THREAD_CPUTIME: 3 } as const
const SUBSCRIPTION_CLOCK_ABSTIME = 1
const SUBSCRIPTION_BYTES = 48
const EVENT_BYTES = 32
const MAX_TIMESTAMP = (1n << 64n) - 1n

export class VirtualClock {
  private monotonic: bigint

  constructor(private readonly startNs: bigint) {
    this.monotonic = startNs
  }

  /** The clock's reading in nanoseconds, or null for a clock WASI does not have. */
  read(id: number): bigint | null {
    if (id === CLOCK.MONOTONIC) return this.monotonic
    return id === CLOCK.REALTIME || id === CLOCK.PROCESS_CPUTIME || id === CLOCK.THREAD_CPUTIME ? this.startNs : null
  }

  /**
   * How long a clock subscription waits from now, in virtual nanoseconds: a relative timeout on
   * any clock is slept on the monotonic one; an absolute deadline on the monotonic clock is
   * waited for; one on a clock that never moves has either passed or never comes, so it is due now.
   */
  wait(id: number, timeout: bigint, flags: number): bigint | null {
    const now = this.read(id)
    if (now === null) return null
    if (!(flags & SUBSCRIPTION_CLOCK_ABSTIME)) return timeout
    return id === CLOCK.MONOTONIC && timeout > now ? timeout - now : 0n
  }

  advance(ns: bigint): void {
    const next = this.monotonic + ns
    this.monotonic = next > MAX_TIMESTAMP ? MAX_TIMESTAMP : next
  }
}

/** What a file descriptor subscription learns: an errno, and how many bytes are ready. */
export type FdReadiness = (fd: number, read: boolean) => { errno: number; bytes: number }

/**
 * poll_oneoff over a run's memory. Every descriptor is ready at once (stdin and files are
 * in memory, stdout and stderr take anything), so with any descriptor subscribed the call reports
 * those, and only the clocks already due; with clocks alone it sleeps (in virtual time) to the
 * first deadline and reports each clock due by then, as a blocking poll would. Returns the
 * number of events written.
 */
export function pollOneoff(view: DataView, clock: VirtualClock, inPtr: number, outPtr: number, count: number, fds: FdReadiness): number {
  if (inPtr + count * SUBSCRIPTION_BYTES > view.byteLength || outPtr + count * EVENT_BYTES > view.byteLength) fail(ERRNO.FAULT)
  const subs = Array.from({ length: count }, (_, i) => {
    const at = inPtr + i * SUBSCRIPTION_BYTES
    const tag = view.getUint8(at + 8)
    const wait =
      tag === EVENTTYPE.CLOCK
        ? clock.wait(view.getUint32(at + 16, true), view.getBigUint64(at + 24, true), view.getUint16(at + 40, true))
        : 0n
    return { userdata: view.getBigUint64(at, true), tag, at, wait }
  })
  // A descriptor, a bad clock or an unknown kind is an event now: then nothing sleeps.
  const readyNow = subs.some((s) => s.tag !== EVENTTYPE.CLOCK || s.wait === null)
  let slept = readyNow || count === 0 ? 0n : MAX_TIMESTAMP
  for (const sub of subs) if (sub.wait !== null && sub.wait < slept) slept = sub.wait
  clock.advance(slept)

  let events = 0
  for (const sub of subs) {
    let errno: number = ERRNO.SUCCESS
    let bytes = 0
    if (sub.tag === EVENTTYPE.CLOCK) {
      if (sub.wait === null) errno = ERRNO.INVAL
      else if (sub.wait > slept) continue // still sleeping: not an event of this call
    } else if (sub.tag === EVENTTYPE.FD_READ || sub.tag === EVENTTYPE.FD_WRITE) {
      ;({ errno, bytes } = fds(view.getUint32(sub.at + 16, true), sub.tag === EVENTTYPE.FD_READ))
    } else errno = ERRNO.INVAL
    const ev = outPtr + events++ * EVENT_BYTES
    for (let b = 0; b < EVENT_BYTES; b++) view.setUint8(ev + b, 0)
    view.setBigUint64(ev, sub.userdata, true)
    view.setUint16(ev + 8, errno, true)
    view.setUint8(ev + 10, sub.tag)
    view.setBigUint64(ev + 16, BigInt(bytes), true)
  }
  return events
}
