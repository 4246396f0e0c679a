/**
 * A js job from the dashboard, in a real browser (Debian's chromium driven by playwright-core):
 * the form reads the code and the inputs from files the person picks, the card shows the job's
 * params by size and, once done, its outputs by input.
 */
import { existsSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chromium, type Browser } from 'playwright-core'
import { gridWith } from '../support/helpers.js'
import { CHROMIUM, CHROMIUM_ARGS } from '../support/browser.js'

const CODE =
  `// counts the vowels of a word, and their share of it
export default (word) => ({ word, vowels: [...word].filter((c) => 'aeiou'.includes(c)).length })
export function merge(outputs) { return outputs.reduce((sum, o) => sum + o.vowels, 0) }
` + '// padding, so the card shows the code by its size\n'.repeat(8)
const WORDS = Array.from({ length: 120 }, (_, i) => `word${'ae'.repeat(i % 5)}${i}`)

test('the form uploads code and JSON-lines inputs; the card shows the outputs by input', async () => {
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM=/path)`)
  const { grid, coordinator } = await gridWith([{}, {}], { donate: false, http: 0 })
  let browser: Browser | undefined
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
    const problems: string[] = []
    page.on('pageerror', (err) => problems.push(err.message))
    await page.goto(coordinator.dashboardUrl!)
    await page.waitForSelector('#conn[data-state=live]', { timeout: 10_000 })

    await page.selectOption('select[name=task]', 'js')
    assert.is(await page.inputValue('input[name=units]'), '', 'units follow the inputs unless asked')
    await page.setInputFiles('input[name="file.code"]', { name: 'vowels.mjs', mimeType: 'text/javascript', buffer: Buffer.from(CODE) })
    await page.setInputFiles('input[name="file.inputs"]', {
      name: 'words.jsonl',
      mimeType: 'application/x-ndjson',
      buffer: Buffer.from(WORDS.map((w) => JSON.stringify(w)).join('\n') + '\n')
    })
    await page.fill('input[name=quorum]', '2')
    await page.click('#submit-form button[type=submit]')
    await page.waitForSelector('.form-message.ok', { timeout: 10_000 })
    const id = await (await page.waitForSelector('.job', { timeout: 10_000 })).evaluate((el) => (el as HTMLElement).dataset.id!)
    assert.is(coordinator.status(id)!.units, WORDS.length, 'one unit per input')

    const card = `.job[data-id="${id}"]`
    await page.waitForSelector(`${card}[data-state=done] .outputs-box`, { timeout: 30_000 })
    const params = await page.$eval(`${card} .params`, (el) => el.textContent)
    assert.match(params ?? '', new RegExp(`code ${CODE.length} chars`))
    assert.match(params ?? '', /inputs 120 items/)
    const expected = WORDS.map((word) => ({ vowels: [...word].filter((c) => 'aeiou'.includes(c)).length, word }))
    const value = await page.$eval(`${card} .result-values`, (el) => el.textContent)
    assert.match(value ?? '', String(expected.reduce((sum, o) => sum + o.vowels, 0)))

    await page.click(`${card} .outputs-box summary`)
    await page.waitForFunction((sel) => document.querySelectorAll(`${sel} .outputs li`).length === 50, card, { timeout: 10_000 })
    const shown = await page.$$eval(`${card} .outputs li`, (items) => items.map((li) => li.textContent))
    assert.equal(
      shown.slice(0, 3),
      expected.slice(0, 3).map((o) => JSON.stringify(o))
    )
    assert.match(await page.$eval(`${card} .outputs-box`, (el) => el.textContent ?? ''), /the first 50 of 120/)

    // A module that imports is refused at submit, and the form says why.
    await page.fill('textarea[name="param.code"]', 'import x from "left-pad"\nexport default x')
    await page.setInputFiles('input[name="file.code"]', [])
    await page.fill('input[name="param.inputs"]', '[1, 2]')
    await page.setInputFiles('input[name="file.inputs"]', [])
    await page.click('#submit-form button[type=submit]')
    await page.waitForSelector('.form-message.bad', { timeout: 10_000 })
    assert.match(await page.$eval('.form-message', (el) => el.textContent ?? ''), /imports "left-pad"/)
    assert.equal(problems, [])
  } finally {
    await browser?.close()
    await grid.destroy()
  }
})

test.run()
