/**
 * The donor's governor as a pure state machine (no clock, no CPU): busy detection with
 * hysteresis, the owner's commands, the schedule; and the arithmetic of the CPU meter and of
 * the CPU limiter's duty cycle.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { DonorGovernor, defaultResumeBelow, type GovernorDecision } from '../../node/donor/governor.js'
import { inSchedule, parseSchedule, ScheduleError } from '../../node/donor/schedule.js'
import { sharesBetween } from '../../worker/cpu-meter.js'
import { nextCorrection, nominalDuty } from '../../worker/cpu-limiter.js'

const gates = (ds: GovernorDecision[]) => ds.filter((d) => d.type === 'gate').map((d) => (d as { gate: string }).gate)
const logs = (ds: GovernorDecision[]) => ds.filter((d) => d.type === 'log').map((d) => (d as { text: string }).text)

/** Feeds one sample a second from `start`, returning every decision. */
function feed(g: DonorGovernor, samples: number[], start = 0): GovernorDecision[] {
  return samples.flatMap((otherPct, i) => g.handle({ type: 'sample', now: start + i * 1000, otherPct }))
}

test('busy: pauses only after other processes stayed above the threshold for busyFor', () => {
  const g = new DonorGovernor({ pauseAbovePct: 50, busyForMs: 3000, idleForMs: 10_000 })
  assert.equal(gates(feed(g, [90, 90, 20, 90, 90, 90])), [], 'a dip restarts the count; 3 s above is not yet 3 s past the first')
  const decisions = g.handle({ type: 'sample', now: 6000, otherPct: 95 })
  assert.equal(gates(decisions), ['closed'])
  assert.match(logs(decisions)[0], /other processes use 95% of the CPU, above 50% for 3 s: pausing/)
  assert.equal([...g.reasons], ['busy'])
})

test('busy: hysteresis keeps it paused between the thresholds and resumes only after idleFor below the lower one', () => {
  const g = new DonorGovernor({ pauseAbovePct: 50, busyForMs: 1000, idleForMs: 5000 })
  feed(g, [80, 80])
  assert.is(g.gate, 'closed')
  assert.is(g.resumeBelow, 30, 'default: 20 points below')
  const band = feed(g, [45, 40, 35, 45], 2000)
  assert.equal(gates(band), [], 'between 30% and 50% it stays paused')
  assert.equal(logs(band), ['other processes use 45% of the CPU: under 50% but not under 30%, so still paused'], 'said once')
  assert.equal(gates(feed(g, [10, 10, 10, 10, 40, 10, 10, 10, 10], 6000)), [], 'a rise above 30% restarts the idle count')
  const resumed = feed(g, [10, 10], 15_000)
  assert.equal(gates(resumed), ['open'])
  assert.match(logs(resumed)[0], /other processes use 10% of the CPU, below 30% for 5 s: resuming/)
})

test('the default resume threshold is 20 points lower, never below half', () => {
  assert.is(defaultResumeBelow(50), 30)
  assert.is(defaultResumeBelow(80), 60)
  assert.is(defaultResumeBelow(30), 15)
  assert.is(defaultResumeBelow(10), 5)
})

test('owner: pause closes, finish drains, resume opens; resume does not override busy', () => {
  const g = new DonorGovernor({ pauseAbovePct: 50, busyForMs: 0, idleForMs: 0 })
  assert.equal(gates(g.handle({ type: 'pause', finish: true })), ['drain'])
  assert.equal(gates(g.handle({ type: 'pause', finish: false })), ['closed'])
  assert.equal(gates(g.handle({ type: 'pause', finish: true })), [], 'finish after pause does not reopen')
  assert.equal(gates(g.handle({ type: 'resume' })), ['open'])
  feed(g, [90])
  assert.is(g.gate, 'closed')
  const resume = g.handle({ type: 'resume' })
  assert.equal(gates(resume), [])
  assert.equal(logs(resume), [], "nothing of the owner's to undo")
  g.handle({ type: 'pause', finish: false })
  assert.equal(logs(g.handle({ type: 'resume' })), ['resumed by its owner, but still paused: busy'])
})

test('hot: pauses above the temperature, stays paused until 5 °C cooler for idleFor', () => {
  const g = new DonorGovernor({ pauseAboveCelsius: 80, busyForMs: 2000, idleForMs: 4000 })
  const heat = (celsius: number[], start: number) =>
    celsius.flatMap((c, i) => g.handle({ type: 'temperature', now: start + i * 1000, celsius: c }))
  assert.equal(gates(heat([85, 85], 0)), [])
  const hot = heat([86], 2000)
  assert.equal(gates(hot), ['closed'])
  assert.match(logs(hot)[0], /the CPU is at 86 °C, above 80 °C for 2 s: pausing/)
  assert.equal(logs(heat([78, 77], 3000)), ['the CPU is at 78 °C: under 80 °C but not under 75 °C, so still paused'])
  assert.equal(gates(heat([70, 70, 70, 70], 5000)), [], 'not yet 4 s below 75 °C')
  const cool = heat([70], 9000)
  assert.equal(gates(cool), ['open'])
  assert.match(logs(cool)[0], /the CPU is at 70 °C, below 75 °C for 4 s: resuming/)
})

test('busy and hot stack: the donor resumes only when neither holds', () => {
  const g = new DonorGovernor({ pauseAbovePct: 50, pauseAboveCelsius: 80, busyForMs: 0, idleForMs: 0 })
  g.handle({ type: 'sample', now: 0, otherPct: 90 })
  g.handle({ type: 'temperature', now: 0, celsius: 90 })
  assert.equal([...g.reasons].sort(), ['busy', 'hot'])
  assert.equal(gates(g.handle({ type: 'sample', now: 1, otherPct: 0 })), [], 'still hot')
  assert.equal(gates(g.handle({ type: 'temperature', now: 1, celsius: 40 })), ['open'])
})

test('no --pause-when-busy: samples change nothing', () => {
  const g = new DonorGovernor({})
  assert.equal(feed(g, [100, 100, 100, 100, 100, 100]), [])
  assert.is(g.gate, 'open')
})

test('schedule: windows by time and day, across midnight', () => {
  const night = parseSchedule(['22:00-07:00'])
  assert.ok(inSchedule(night, new Date(2025, 0, 6, 23, 30)))
  assert.ok(inSchedule(night, new Date(2025, 0, 7, 6, 59)))
  assert.not.ok(inSchedule(night, new Date(2025, 0, 7, 7, 0)))
  assert.not.ok(inSchedule(night, new Date(2025, 0, 7, 12, 0)))

  // 2025-01-10 is a Friday, 2025-01-11 a Saturday.
  const weekdays = parseSchedule(['mon-fri 18:00-08:00, sat,sun 00:00-24:00'])
  assert.is(weekdays.length, 2)
  assert.ok(inSchedule(weekdays, new Date(2025, 0, 10, 19, 0)), 'Friday evening')
  assert.ok(inSchedule(weekdays, new Date(2025, 0, 11, 7, 0)), "Saturday morning: Friday's window, and Saturday's")
  assert.ok(inSchedule(weekdays, new Date(2025, 0, 11, 13, 0)), 'Saturday afternoon')
  assert.not.ok(inSchedule(weekdays, new Date(2025, 0, 10, 12, 0)), 'Friday noon')
  assert.ok(inSchedule(parseSchedule(['fri-mon 09:00-10:00']), new Date(2025, 0, 12, 9, 30)), 'a day range wraps the week')
  for (const bad of ['25:00-07:00', 'noon-night', 'xyz 10:00-11:00', '10:00-10:00']) {
    assert.throws(
      () => parseSchedule([bad]),
      (err: unknown) => err instanceof ScheduleError,
      bad
    )
  }
})

test('schedule: the governor pauses outside its windows and donates again inside', () => {
  const g = new DonorGovernor({ schedule: parseSchedule(['09:00-17:00']) })
  const outside = g.handle({ type: 'tick', now: 0, date: new Date(2025, 0, 6, 20, 0) })
  assert.equal(gates(outside), ['closed'])
  assert.match(logs(outside)[0], /outside the donation schedule \(09:00-17:00\): pausing/)
  assert.equal(gates(g.handle({ type: 'tick', now: 1, date: new Date(2025, 0, 7, 9, 0) })), ['open'])
})

test("meter: what other processes use is the machine's busy time less ours", () => {
  const a = { busyMs: 1000, totalMs: 10_000, ownMs: 200 }
  assert.equal(sharesBetween(a, { busyMs: 2500, totalMs: 12_000, ownMs: 700 }), { otherPct: 50, ownPct: 25 })
  assert.equal(sharesBetween(a, { busyMs: 1000, totalMs: 12_000, ownMs: 900 }), { otherPct: 0, ownPct: 35 }, 'clamped at 0')
  assert.is(sharesBetween(a, a), null, 'no time passed')
})

test('limiter: each busy thread runs target/threads of the time; late timers are corrected, within bounds', () => {
  assert.is(nominalDuty(1, 2), 0.5)
  assert.is(nominalDuty(1, 1), 1)
  assert.is(nominalDuty(1, 0), 1)
  assert.is(nominalDuty(0.5, 4), 0.125)
  assert.is(nominalDuty(0.001, 8), 0.02, 'never below 2%')
  const late = nextCorrection(1, 0.5, 0.6)
  assert.ok(late < 1 && late >= 0.8, `ran too long: plan shorter (${late})`)
  assert.ok(nextCorrection(1, 0.5, 0.4) > 1, 'ran too short: plan longer')
  assert.is(nextCorrection(1, 1, 0.3), 1, 'nothing to correct when not limiting')
  let c = 1
  for (let i = 0; i < 50; i++) c = nextCorrection(c, 0.5, 1)
  assert.is(c, 0.5, 'bounded')
})

test.run()
