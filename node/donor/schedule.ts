/**
 * --schedule: the hours a donor lends its machine, in local time, as BOINC's "compute only
 * between" but by day of the week too. A window is "[DAYS ]HH:MM-HH:MM": "22:00-07:00",
 * "mon-fri 18:00-08:00", "sat,sun 00:00-24:00". A window that ends before it starts runs past
 * midnight and belongs to the day it starts on. Several windows: any of them.
 */
import { SwarmgridError } from '../../base/errors.js'

export interface ScheduleWindow {
  days: Set<number>
  start: number
  end: number
  text: string
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']
const MINUTES_PER_DAY = 24 * 60

export class ScheduleError extends SwarmgridError {
  override name = 'ScheduleError'
  constructor(message: string) {
    super('BAD_SCHEDULE', message)
  }
}

export function badWindow(text: string, why: string): ScheduleError {
  return new ScheduleError(`--schedule "${text}": ${why}; write windows like "22:00-07:00" or "mon-fri 18:00-08:00", comma-separated`)
}

function minutes(text: string, window: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text)
  const value = m ? Number(m[1]) * 60 + Number(m[2]) : NaN
  if (!m || Number(m[2]) > 59 || value > MINUTES_PER_DAY) throw badWindow(window, `"${text}" is no time of day (HH:MM, 00:00 to 24:00)`)
  return value
}

function dayIndex(name: string, window: string): number {
  const index = DAY_NAMES.indexOf(name.slice(0, 3).toLowerCase())
  if (index < 0 || name.length < 3) throw badWindow(window, `"${name}" is no day (mon, tue, … sun)`)
  return index
}

function days(text: string, window: string): Set<number> {
  const out = new Set<number>()
  for (const part of text.split(',')) {
    const [from, to] = part.split('-')
    const a = dayIndex(from, window)
    const b = to === undefined ? a : dayIndex(to, window)
    for (let d = a; ; d = (d + 1) % 7) {
      out.add(d)
      if (d === b) break
    }
  }
  return out
}

/** Parses every window of every --schedule flag; windows are separated by commas after a time. */
export function parseSchedule(flags: string[]): ScheduleWindow[] {
  const windows: ScheduleWindow[] = []
  for (const flag of flags) {
    for (const raw of flag.split(/(?<=\d)\s*,\s*/)) {
      const text = raw.trim()
      const m = /^(?:([a-z,-]+)\s+)?(\S+?)\s*-\s*(\S+)$/i.exec(text)
      if (!m) throw badWindow(text, 'it is no window')
      const start = minutes(m[2], text)
      const end = minutes(m[3], text)
      if (start === end) throw badWindow(text, 'it starts when it ends')
      windows.push({ days: m[1] ? days(m[1], text) : new Set([0, 1, 2, 3, 4, 5, 6]), start, end, text })
    }
  }
  return windows
}

/** Whether `date` (local time) falls in any window; no windows means always. */
export function inSchedule(windows: ScheduleWindow[], date: Date): boolean {
  if (windows.length === 0) return true
  const day = date.getDay()
  const now = date.getHours() * 60 + date.getMinutes()
  const yesterday = (day + 6) % 7
  return windows.some((w) => {
    if (w.start < w.end) return w.days.has(day) && now >= w.start && now < w.end
    // Past midnight: the evening part is today's, the morning part yesterday's.
    return (w.days.has(day) && now >= w.start) || (w.days.has(yesterday) && now < w.end)
  })
}

export function describeSchedule(windows: ScheduleWindow[]): string {
  return windows.map((w) => w.text).join(', ')
}
