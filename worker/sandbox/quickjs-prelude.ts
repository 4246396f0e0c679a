/**
 * The script a `js` unit's context runs before the submitter's module: it takes away what
 * would let two donors give different answers, and returns the bridge the host calls.
 *
 *   Date       Date.now() and new Date() are the job's creation time; local time is UTC
 *              (QuickJS would otherwise ask the donor's time zone through emscripten)
 *   Math.random  sfc32, reseeded by the host before each input
 *   console    present, so bundled libraries that log do not fail, and silent
 *   Math       hypot, exp and log as V8 computes them (worker/sandbox/quickjs-math.ts), so outputs match Node's
 *
 * Values cross as JSON text only: the host never holds a handle to a submitter's object.
 */
import { MATH_PRELUDE } from './quickjs-math.js'

export const PRELUDE = String.raw`(function (now) {
  'use strict'
${MATH_PRELUDE}
  const RealDate = Date
  const P = RealDate.prototype
  const realParse = RealDate.parse
  const realOffset = P.getTimezoneOffset
  // A date string without a zone is read in local time, which QuickJS takes from the host: read it as UTC instead.
  const hasZone = /(?:Z|GMT|UTC|[+-]\d\d:?\d\d)(?:\s*\([^)]*\))?$/i
  const dateOnly = /^[+-]?\d{4,6}(?:-\d\d(?:-\d\d)?)?$/
  const parse = (value) => {
    const s = String(value).trim()
    const v = realParse(s)
    if (Number.isNaN(v) || dateOnly.test(s) || hasZone.test(s)) return v
    return v - realOffset.call(new RealDate(v)) * 60000
  }
  function SandboxDate(...args) {
    if (!new.target) return new RealDate(now).toString()
    if (args.length === 0) return Reflect.construct(RealDate, [now], new.target)
    if (args.length === 1) return Reflect.construct(RealDate, [typeof args[0] === 'string' ? parse(args[0]) : args[0]], new.target)
    return Reflect.construct(RealDate, [RealDate.UTC(...args)], new.target)
  }
  Object.defineProperty(SandboxDate, 'prototype', { value: P })
  SandboxDate.now = function now_() { return now }
  SandboxDate.parse = parse
  SandboxDate.UTC = RealDate.UTC
  Object.defineProperty(P, 'constructor', { value: SandboxDate, writable: true, configurable: true })
  for (const name of ['FullYear', 'Month', 'Date', 'Day', 'Hours', 'Minutes', 'Seconds', 'Milliseconds']) {
    P['get' + name] = P['getUTC' + name]
    if (name !== 'Day') P['set' + name] = P['setUTC' + name]
  }
  P.getTimezoneOffset = function getTimezoneOffset() { P.getTime.call(this); return 0 }
  P.getYear = function getYear() { return this.getUTCFullYear() - 1900 }
  const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
  const two = (n) => String(n).padStart(2, '0')
  P.toDateString = function toDateString() {
    if (Number.isNaN(P.getTime.call(this))) return 'Invalid Date'
    return DAYS[this.getUTCDay()] + ' ' + MONTHS[this.getUTCMonth()] + ' ' + two(this.getUTCDate()) + ' ' + String(this.getUTCFullYear()).padStart(4, '0')
  }
  P.toTimeString = function toTimeString() {
    if (Number.isNaN(P.getTime.call(this))) return 'Invalid Date'
    return two(this.getUTCHours()) + ':' + two(this.getUTCMinutes()) + ':' + two(this.getUTCSeconds()) + ' GMT+0000 (Coordinated Universal Time)'
  }
  P.toString = function toString() {
    if (Number.isNaN(P.getTime.call(this))) return 'Invalid Date'
    return this.toDateString() + ' ' + this.toTimeString()
  }
  P.toLocaleString = P.toString
  P.toLocaleDateString = P.toDateString
  P.toLocaleTimeString = P.toTimeString
  Object.defineProperty(globalThis, 'Date', { value: SandboxDate, writable: true, configurable: true })

  let a = 0, b = 0, c = 0, d = 0
  function random() {
    a |= 0; b |= 0; c |= 0; d |= 0
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  Object.defineProperty(Math, 'random', { value: random, writable: true, configurable: true })
  function seed(s0, s1, s2, s3) {
    a = s0; b = s1; c = s2; d = s3
    for (let i = 0; i < 12; i++) random()
  }

  // V8's Math.hypot (Kahan summation of squares scaled by the largest), so the same call gives the same bits as in Node.
  Object.defineProperty(Math, 'hypot', { writable: true, configurable: true, value: function hypot(...args) {
    let max = 0
    let nan = false
    const abs = args.map((arg) => {
      const value = Math.abs(Number(arg))
      if (Number.isNaN(value)) nan = true
      else if (value > max) max = value
      return value
    })
    if (max === Infinity) return Infinity
    if (nan) return NaN
    if (max === 0) return 0
    let sum = 0
    let compensation = 0
    for (const value of abs) {
      const n = value / max
      const summand = n * n - compensation
      const preliminary = sum + summand
      compensation = (preliminary - sum) - summand
      sum = preliminary
    }
    return Math.sqrt(sum) * max
  } })
  Object.defineProperty(Math.hypot, 'length', { value: 2 })

  const quiet = function () {}
  globalThis.console = { log: quiet, info: quiet, warn: quiet, error: quiet, debug: quiet, trace: quiet }

  const toJson = JSON.stringify
  const fromJson = JSON.parse
  const asJson = (value) => {
    const text = toJson(value)
    return text === undefined ? 'null' : text
  }
  const describe = (err) => err instanceof Error ? err.name + ': ' + err.message : 'threw ' + asJson(String(err))
  let fn = null
  let settled = null
  return {
    seed,
    bind(ns, name) {
      fn = ns[name]
      return typeof fn
    },
    has(ns, name) { return typeof ns[name] },
    /** {"v": output} at once, or {"p": 1} when the function returned a promise: the host runs its jobs, then collect(). */
    call(inputJson) {
      settled = null
      const out = fn(fromJson(inputJson))
      if (out !== null && typeof out === 'object' && typeof out.then === 'function') {
        Promise.resolve(out).then(
          (v) => { try { settled = '{"v":' + asJson(v) + '}' } catch (e) { settled = asJson({ e: describe(e) }) } },
          (e) => { settled = asJson({ e: describe(e) }) })
        return '{"p":1}'
      }
      return '{"v":' + asJson(out) + '}'
    },
    collect() { return settled ?? '{"p":1}' }
  }
})`
