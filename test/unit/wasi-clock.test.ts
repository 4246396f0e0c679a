/**
 * The WASI shim's clocks and poll_oneoff, called as a module would call them, over a real
 * WebAssembly memory: the time of day never moves, the monotonic clock moves only by what the
 * program sleeps (so Go's scheduler, which polls until its next timer is due, finishes), and a
 * descriptor that is ready ends a poll without sleeping. Also: a read-only open as Go's wasip1
 * port asks for it (fd_filestat_set_size among its rights) opens an input file.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ERRNO, EVENTTYPE } from '../../worker/sandbox/wasi/abi.js'
import { WasiRun } from '../../worker/sandbox/wasi/syscalls.js'

const START = 1_764_000_000_123_000_000n
const MS = 1_000_000n
const REALTIME = 0
const MONOTONIC = 1
const ABSTIME = 1
const SUBS = 1024
const EVENTS = 4096
const NEVENTS = 8192
const TIME = 8200

type Sub = { userdata: bigint } & ({ clock: number; timeout: bigint; flags?: number } | { fd: number; read: boolean })

function runWith(stdin = '') {
  const run = new WasiRun({
    args: [],
    env: [],
    stdin: new TextEncoder().encode(stdin),
    files: [['input.txt', new TextEncoder().encode('abc')]],
    timeNs: START,
    seed: new Uint8Array(32),
    caps: { stdoutBytes: 1024, stderrBytes: 1024, outBytes: 1024, outEntries: 10 }
  })
  run.memory = new WebAssembly.Memory({ initial: 1 })
  const calls = run.imports() as Record<string, (...args: any[]) => number>
  const view = () => new DataView(run.memory!.buffer)
  const now = (clock: number) => {
    assert.is(calls.clock_time_get(clock, 0n, TIME), ERRNO.SUCCESS)
    return view().getBigUint64(TIME, true)
  }
  /** Writes the subscriptions, polls, and reads back the events as [userdata, errno, type, nbytes]. */
  const poll = (subs: Sub[]) => {
    const v = view()
    new Uint8Array(run.memory!.buffer, SUBS, subs.length * 48).fill(0)
    subs.forEach((sub, i) => {
      const at = SUBS + i * 48
      v.setBigUint64(at, sub.userdata, true)
      if ('clock' in sub) {
        v.setUint8(at + 8, EVENTTYPE.CLOCK)
        v.setUint32(at + 16, sub.clock, true)
        v.setBigUint64(at + 24, sub.timeout, true)
        v.setUint16(at + 40, sub.flags ?? 0, true)
      } else {
        v.setUint8(at + 8, sub.read ? EVENTTYPE.FD_READ : EVENTTYPE.FD_WRITE)
        v.setUint32(at + 16, sub.fd, true)
      }
    })
    assert.is(calls.poll_oneoff(SUBS, EVENTS, subs.length, NEVENTS), ERRNO.SUCCESS)
    return Array.from({ length: v.getUint32(NEVENTS, true) }, (_, i) => {
      const at = EVENTS + i * 32
      return [v.getBigUint64(at, true), v.getUint16(at + 8, true), v.getUint8(at + 10), v.getBigUint64(at + 16, true)]
    })
  }
  return { calls, view, now, poll }
}

test('a sleep ends at once and moves the monotonic clock by what it asked; the time of day stays', () => {
  const { now, poll } = runWith()
  assert.is(now(REALTIME), START)
  assert.is(now(MONOTONIC), START)
  assert.equal(poll([{ userdata: 7n, clock: MONOTONIC, timeout: 50n * MS }]), [[7n, ERRNO.SUCCESS, EVENTTYPE.CLOCK, 0n]])
  assert.is(now(MONOTONIC), START + 50n * MS)
  assert.is(now(REALTIME), START, 'the time of day is the job’s and never moves')
  // A relative timeout on the realtime clock is slept, too: on the monotonic one.
  poll([{ userdata: 1n, clock: REALTIME, timeout: 5n * MS }])
  assert.is(now(MONOTONIC), START + 55n * MS)
})

test('of several timers only the first due fires, and the clock moves to it; an absolute deadline is waited for exactly', () => {
  const { now, poll } = runWith()
  assert.equal(
    poll([
      { userdata: 1n, clock: MONOTONIC, timeout: 30n * MS },
      { userdata: 2n, clock: MONOTONIC, timeout: 10n * MS },
      { userdata: 3n, clock: MONOTONIC, timeout: 10n * MS }
    ]).map((e) => e[0]),
    [2n, 3n]
  )
  assert.is(now(MONOTONIC), START + 10n * MS)
  poll([{ userdata: 4n, clock: MONOTONIC, timeout: START + 25n * MS, flags: ABSTIME }])
  assert.is(now(MONOTONIC), START + 25n * MS)
  assert.equal(poll([{ userdata: 5n, clock: MONOTONIC, timeout: START, flags: ABSTIME }]).length, 1, 'a deadline passed fires')
  assert.is(now(MONOTONIC), START + 25n * MS, 'and does not move the clock back')
  // A deadline on the frozen time of day would never come: it fires at once.
  assert.equal(poll([{ userdata: 6n, clock: REALTIME, timeout: START + 1000n * MS, flags: ABSTIME }]).length, 1)
  assert.is(now(MONOTONIC), START + 25n * MS)
})

test('a ready descriptor ends the poll with no sleep; a bad clock or descriptor is an event with its errno', () => {
  const { now, poll } = runWith('hello')
  assert.equal(
    poll([
      { userdata: 1n, clock: MONOTONIC, timeout: 100n * MS },
      { userdata: 2n, fd: 0, read: true },
      { userdata: 3n, fd: 1, read: false },
      { userdata: 4n, fd: 99, read: true }
    ]),
    [
      [2n, ERRNO.SUCCESS, EVENTTYPE.FD_READ, 5n],
      [3n, ERRNO.SUCCESS, EVENTTYPE.FD_WRITE, 0n],
      [4n, ERRNO.BADF, EVENTTYPE.FD_READ, 0n]
    ]
  )
  assert.is(now(MONOTONIC), START)
  assert.equal(poll([{ userdata: 9n, clock: 77, timeout: 100n * MS }]), [[9n, ERRNO.INVAL, EVENTTYPE.CLOCK, 0n]])
  assert.is(now(MONOTONIC), START)
})

test('the monotonic clock stops at the end of u64 rather than wrapping; a subscription list past memory is EFAULT', () => {
  const { calls, now, poll } = runWith()
  poll([{ userdata: 1n, clock: MONOTONIC, timeout: (1n << 64n) - 1n }])
  poll([{ userdata: 1n, clock: MONOTONIC, timeout: (1n << 64n) - 1n }])
  assert.is(now(MONOTONIC), (1n << 64n) - 1n)
  assert.is(calls.poll_oneoff(SUBS, EVENTS, 0xffff_ffff, NEVENTS), ERRNO.FAULT)
})

test('an input file opens with the rights Go asks for O_RDONLY; asking for fd_write on it is refused', () => {
  const { calls, view } = runWith()
  const name = new TextEncoder().encode('input.txt')
  new Uint8Array(view().buffer).set(name, 100)
  const FD_READ = 1n << 1n
  const FD_WRITE = 1n << 6n
  const FD_FILESTAT_SET_SIZE = 1n << 22n
  assert.is(calls.path_open(3, 1, 100, name.byteLength, 0, FD_READ | FD_FILESTAT_SET_SIZE, 0n, 0, 200), ERRNO.SUCCESS)
  const fd = view().getUint32(200, true)
  assert.is(calls.fd_filestat_set_size(fd, 0n), ERRNO.BADF, 'a read-only descriptor cannot change the file')
  assert.is(calls.path_open(3, 1, 100, name.byteLength, 0, FD_READ | FD_WRITE, 0n, 0, 200), ERRNO.ROFS)
})

test.run()
