/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core), and the live
 * feed and result routes it stands on, against a loopback grid.
 */
import { existsSync } from 'node:fs'
import { request } from 'node:http'
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { chromium, type Browser } from 'playwright-core'
import { startTestGrid, until, within, type TestGrid } from '../support/helpers.js'
import type { Peer } from '../../node/peer/peer.js'
import { CHROMIUM, CHROMIUM_ARGS } from '../support/browser.js'

/** Big enough (about 2 s of work on two cores) that the bar is seen between empty and full. */
const MANDELBROT = { width: 1600, height: 1200, maxIter: 5000, x0: -0.7454, x1: -0.7426, y0: 0.1122 }

async function gridWithDonors(donors: number): Promise<{ grid: TestGrid; coordinator: Peer; donors: Peer[] }> {
  const grid = await startTestGrid()
  const coordinator = await grid.add({ donate: false, http: 0 })
  const started: Peer[] = []
  for (let i = 0; i < donors; i++) started.push(await grid.add({ coordinate: false }))
  await until(() => coordinator.parts.coordinator.donorCount() === donors, 20_000, 'donors to connect')
  return { grid, coordinator, donors: started }
}

interface SseMessage {
  event: string
  data: any
  at: number
}

/** Reads /api/events until stopped; the raw text too, to check the `retry:` line. */
function followEvents(url: string): { messages: SseMessage[]; raw: () => string; stop: () => void } {
  const messages: SseMessage[] = []
  let raw = ''
  let buffer = ''
  const req = request(new URL('api/events', url), (res) => {
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      raw += chunk
      buffer += chunk
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event && data) messages.push({ event, data: JSON.parse(data), at: Date.now() })
      }
    })
    res.on('error', () => {})
  })
  req.on('error', () => {})
  req.end()
  return { messages, raw: () => raw, stop: () => req.destroy() }
}

test('the live feed sends a snapshot, then batched updates, and lets the peer stop', async () => {
  const { grid, coordinator } = await gridWithDonors(2)
  const feed = followEvents(coordinator.url!)
  try {
    await until(() => feed.messages.length > 0, 5000, 'the snapshot')
    assert.match(feed.raw(), /^retry: \d+\n\n/)
    const [snapshot] = feed.messages
    assert.is(snapshot.event, 'snapshot')
    assert.is(snapshot.data.info.key, coordinator.key)
    assert.equal(
      snapshot.data.info.tasks.map((t: { name: string }) => t.name),
      ['js', 'mandelbrot', 'pi', 'primes', 'wasi', 'wasm']
    )
    assert.is(snapshot.data.peers.length, 2)

    let unitEvents = 0
    coordinator.on('progress', () => unitEvents++)
    const started = Date.now()
    const job = await coordinator.submit({ task: 'primes', params: { to: 2_000_000 }, units: 200, quorum: 2 })
    const done = await within(coordinator.wait(job.id), 60_000, 'the job shown on the dashboard to end')
    assert.is(done.state, 'done')
    await until(
      () => feed.messages.some((m) => m.data.jobs?.some((j: any) => j.id === job.id && j.state === 'done')),
      5000,
      'the done update'
    )
    const updates = feed.messages.filter((m) => m.event === 'update')
    const elapsed = Date.now() - started
    // One message per unit event would be at least 400 here; batches come at most every 250 ms.
    assert.ok(unitEvents >= 400, `${unitEvents} progress events`)
    assert.ok(updates.length <= elapsed / 250 + 4, `${updates.length} updates in ${elapsed} ms`)
    const last = updates
      .flatMap((m) => m.data.jobs ?? [])
      .filter((j: any) => j.id === job.id)
      .at(-1)
    assert.equal(last.result, { count: 148933 })
    assert.is(last.unitStates.accepted, 200)

    // The result routes the page links to.
    const json = await fetch(new URL(`api/jobs/${job.id}/result`, coordinator.url!))
    assert.equal(await json.json(), { count: 148933 })
    assert.is((await fetch(new URL(`api/jobs/${job.id}/result.png`, coordinator.url!))).status, 404)
    assert.is((await fetch(new URL('api/jobs', coordinator.url!), { method: 'POST', body: '{"task":"pi"}' })).status, 401)
    assert.match(coordinator.dashboardUrl!, /^http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]{48}$/)
  } finally {
    // The feed's response is still open: stopping must not wait for it.
    let timer: NodeJS.Timeout | undefined
    const stopped = await Promise.race([
      grid.destroy().then(() => true),
      new Promise((r) => {
        timer = setTimeout(r, 15_000, false)
      })
    ])
    clearTimeout(timer)
    feed.stop()
    assert.ok(stopped, 'the grid stopped with a live feed open')
  }
})

test('the dashboard follows a job submitted from its form to the finished image', async () => {
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM=/path)`)
  const { grid, coordinator, donors } = await gridWithDonors(3)
  let browser: Browser | undefined
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    const problems: string[] = []
    page.on('pageerror', (err) => problems.push(err.message))
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(msg.text())
    })
    await page.goto(coordinator.dashboardUrl!)
    await page.waitForSelector('#conn[data-state=live]', { timeout: 10_000 })
    assert.not.match(page.url(), /token/, 'the token leaves the address bar')

    await page.waitForFunction((n) => document.querySelectorAll('#peers tbody tr[data-key]').length >= n, donors.length, {
      timeout: 10_000
    })
    const listed = await page.$$eval('#peers tbody tr[data-key]', (rows) => rows.map((r) => (r as HTMLElement).dataset.key))
    for (const donor of donors) assert.ok(listed.includes(donor.key), `donor ${donor.key.slice(0, 8)} in the peers table`)

    // A reload or navigation would lose this mark and these counters.
    let navigations = 0
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++
    })
    await page.evaluate(() => {
      const w = window as any
      w.sameDocument = true
      w.progressSeen = []
      new MutationObserver((records) => {
        for (const r of records) w.progressSeen.push(Number((r.target as Element).getAttribute('aria-valuenow')))
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['aria-valuenow'] })
    })

    await page.selectOption('select[name=task]', 'mandelbrot')
    // The fields come from the task's parameter schema: whole numbers, decimals, their ranges.
    assert.equal(
      await page.$eval('input[name="param.width"]', (el) => [
        (el as HTMLInputElement).type,
        (el as HTMLInputElement).step,
        (el as HTMLInputElement).min
      ]),
      ['number', '1', '1']
    )
    assert.is(await page.getAttribute('input[name="param.x0"]', 'step'), 'any')
    for (const [name, value] of Object.entries(MANDELBROT)) await page.fill(`input[name="param.${name}"]`, String(value))
    await page.fill('input[name=units]', '64')
    await page.fill('input[name=quorum]', '2')
    await page.click('#submit-form button[type=submit]')
    await page.waitForSelector('.form-message.ok', { timeout: 10_000 })
    const id = await (await page.waitForSelector('.job', { timeout: 10_000 })).evaluate((el) => (el as HTMLElement).dataset.id!)
    assert.ok(coordinator.status(id), 'the job reached the peer')

    await page.waitForSelector(`.job[data-id="${id}"][data-state=done] .progress[aria-valuenow="100"]`, { timeout: 25_000 })
    const seen: number[] = await page.evaluate(() => (window as any).progressSeen)
    const between = seen.filter((v) => v > 0 && v < 100)
    assert.ok(between.length >= 2, `the bar moved through intermediate values, saw ${seen.join(' ')}`)

    await page
      .waitForFunction(
        (jobId) => {
          const img = document.querySelector<HTMLImageElement>(`.job[data-id="${jobId}"] .result-image img`)
          return !!img && img.complete && img.naturalWidth > 0
        },
        id,
        { timeout: 10_000 }
      )
      .catch(async (err) => {
        const shown = await page.$eval(`.job[data-id="${id}"] .result`, (el) => el.outerHTML.slice(0, 400))
        throw new Error(`${err.message}; the result shows: ${shown}`)
      })
    const size = await page.$eval(`.job[data-id="${id}"] .result-image img`, (img) => [
      (img as HTMLImageElement).naturalWidth,
      (img as HTMLImageElement).naturalHeight
    ])
    assert.equal(size, [MANDELBROT.width, MANDELBROT.height])
    assert.is(coordinator.status(id)!.state, 'done')
    assert.is(await page.getAttribute(`.job[data-id="${id}"] .progress`, 'aria-valuetext'), '64 of 64 units accepted')

    // Cancelling from the page sends the token it took from the URL.
    await page.click('#submit-form button[type=submit]')
    const second = await page.waitForFunction(
      (first) =>
        [...document.querySelectorAll<HTMLElement>('.job[data-state=running]')].map((el) => el.dataset.id).find((other) => other !== first),
      id,
      { timeout: 10_000 }
    )
    const secondId = (await second.jsonValue()) as string
    await page.click(`.job[data-id="${secondId}"] button.danger`)
    await page.waitForSelector(`.job[data-id="${secondId}"][data-state=cancelled]`, { timeout: 10_000 })
    assert.is(coordinator.status(secondId)!.state, 'cancelled')

    // The peer restarts on the same port and data dir: the page reconnects on its own.
    await coordinator.stop()
    await page.waitForSelector('#conn[data-state=down]', { timeout: 10_000 })
    const again = await grid.add({ donate: false, dataDir: coordinator.dataDir, http: Number(new URL(coordinator.url!).port) })
    await page.waitForSelector('#conn[data-state=live]', { timeout: 15_000 })
    await page.waitForSelector(`.job[data-id="${id}"][data-state=done] .result-image img`, { timeout: 5000 })
    assert.is(again.key, coordinator.key)

    assert.is(navigations, 0, 'no navigation while the job ran or the peer restarted')
    assert.ok(await page.evaluate(() => (window as any).sameDocument === true), 'the page was never reloaded')
    // Chromium logs the refused reconnections as errors; the page itself must raise none.
    assert.equal(
      problems.filter((p) => !/ERR_CONNECTION_REFUSED|api\/events/.test(p)),
      []
    )
  } finally {
    await browser?.close()
    await grid.destroy()
  }
})

test("a person asks why a unit was accepted, and pauses and resumes this peer's donating, from the page", async () => {
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM=/path)`)
  const grid = await startTestGrid()
  let browser: Browser | undefined
  try {
    const peer = await grid.add({ http: 0, threads: 1 })
    const job = await peer.submit({ task: 'primes', params: { to: 100_000 }, units: 4, quorum: 1 })
    await within(peer.wait(job.id), 60_000, 'the job to end')
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    await page.goto(peer.dashboardUrl!)
    await page.waitForSelector(`.job[data-id="${job.id}"][data-state=done]`, { timeout: 10_000 })

    await page.click(`.job[data-id="${job.id}"] .explain summary`)
    await page.fill(`.job[data-id="${job.id}"] .explain input`, '2')
    await page.click(`.job[data-id="${job.id}"] .explain button`)
    await page.waitForFunction(
      (id) => /accepted/.test(document.querySelector(`.job[data-id="${id}"] .explain-text`)?.textContent ?? ''),
      job.id,
      { timeout: 10_000 }
    )
    const explained = await page.textContent(`.job[data-id="${job.id}"] .explain-text`)
    assert.match(explained!, peer.key.slice(0, 8), 'the explanation names the peer whose result was accepted')

    await page.waitForSelector('.donor-gate.g-open', { timeout: 10_000 })
    await page.click('.donor-actions button:text("Pause")')
    await page.waitForSelector('.donor-gate.g-closed', { timeout: 10_000 })
    assert.is(peer.donorStats()!.gate, 'closed')
    await page.click('.donor-actions button:text("Resume")')
    await page.waitForSelector('.donor-gate.g-open', { timeout: 10_000 })
    assert.is(peer.donorStats()!.gate, 'open')

    // Units of about so many seconds instead of a count: the card says what the peer chose.
    await page.selectOption('select[name=task]', 'primes')
    await page.fill('input[name="param.to"]', '20000000')
    await page.selectOption('select[name=split]', 'seconds')
    assert.ok(await page.isHidden('input[name=units]'), 'the unit count gives way to the seconds')
    await page.fill('input[name=unitSeconds]', '0.05')
    await page.fill('input[name=quorum]', '1')
    await page.click('#submit-form button[type=submit]')
    await page.waitForSelector('.form-message.ok', { timeout: 15_000 })
    const sized = peer.jobs().find((j) => j.sizing)
    assert.ok(sized, 'the job reached the peer with --unit-seconds')
    assert.is(sized!.sizing!.unitSeconds, 0.05)
    const line = await page.textContent(`.job[data-id="${sized!.id}"] .sizing`, { timeout: 10_000 })
    assert.match(line!, new RegExp(`^sized to ${sized!.units} units of ~0\\.05 s from \\d+ samples$`))
  } finally {
    await browser?.close()
    await grid.destroy()
  }
})

test.run()
