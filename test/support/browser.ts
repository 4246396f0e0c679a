/**
 * The real browser the dashboard tests drive: Debian's chromium through playwright-core, with
 * the flags it needs on a machine whose network is closed (no background fetches to time out).
 */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]
