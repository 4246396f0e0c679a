/**
 * A wasi job from the dashboard, in a real browser (Debian's chromium driven by playwright-core)
 * with the example program (examples/wasi/wordstat.c, built by `npm run build`): the form
 * uploads the program, a sweep of stdin files and a shared input file, and makes the params
 * `submit wasi` makes of the same choices; the card's runs table shows each run's exit and
 * sizes, and its links download a run's stdout and out files, byte for byte the job's result.
 * SHOTS=DIR keeps a screenshot of the runs table there (docs/dashboard-wasi.png comes from it).
 */
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as assert from 'uvu/assert'
import { chromium, type Browser, type Page } from 'playwright-core'
import { test } from '../support/test.js'
import { gridWith, tempDir } from '../support/helpers.js'
import { CHROMIUM, CHROMIUM_ARGS } from '../support/browser.js'
import { wasiParamsFromFlags } from '../../tasks/wasi-cli.js'
import type { WasiResult } from '../../tasks/wasi.js'
import { WRITER, WRITER_FILE, WRITER_STDOUT } from '../support/wasm-modules.js'

const EXAMPLES = fileURLToPath(new URL('../../../examples/wasi/', import.meta.url))
const WORDSTAT = fileURLToPath(new URL('../../examples/wasi/wordstat.wasm', import.meta.url))
const TEXTS = ['hamlet.txt', 'fox.txt', 'dickens.txt'].map((name) => join(EXAMPLES, 'texts', name))
const DICT = join(EXAMPLES, 'dict.txt')
const ARGS = ['-n', '3', '-d', 'dict.txt', '{name}']
/** More runs than a page of the table holds, with the comments and blank lines an args file may have. */
const ARG_LINES = `# label per run\n\n${Array.from({ length: 24 }, (_, i) => `-n ${1 + (i % 4)} run${i}`).join('\n')}\n-n 2 "two words"\n`
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const read = (path: string) => new Uint8Array(readFileSync(path))
const file = (path: string) => ({ name: basename(path), mimeType: 'application/octet-stream', buffer: readFileSync(path) })

/** Submits the form; resolves with the job's short id and the params the page sent (what the CLI would send). */
async function submitFromForm(page: Page): Promise<{ short: string; sent: unknown }> {
  const [request] = await Promise.all([
    page.waitForRequest((req) => req.method() === 'POST' && req.url().endsWith('/api/jobs'), { timeout: 10_000 }),
    page.click('#submit-form button[type=submit]')
  ])
  await page.waitForSelector('.form-message.ok', { timeout: 10_000 })
  const message = (await page.$eval('.form-message', (el) => el.textContent)) ?? ''
  return { short: /job ([0-9a-f]{8})/.exec(message)![1], sent: request.postDataJSON().params }
}

/** Clicks a download link and resolves with the bytes the browser saved. */
async function download(page: Page, selector: string): Promise<Buffer> {
  const [saved] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.click(selector)])
  const path = await saved.path()
  return readFile(path)
}

if (!existsSync(WORDSTAT)) {
  test.unavailable(
    'the dashboard submits a wasi job and downloads its runs',
    `no ${WORDSTAT}: npm run build builds it where clang targets WASI`,
    {
      expected: true
    }
  )
} else {
  test('the dashboard submits a wasi job as the CLI would and downloads its runs byte for byte', async () => {
    assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM=/path)`)
    const { grid, coordinator } = await gridWith([{}, {}], { donate: false, http: 0 })
    let browser: Browser | undefined
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true })
      const problems: string[] = []
      page.on('pageerror', (err) => problems.push(err.message))
      await page.goto(coordinator.dashboardUrl!)
      await page.waitForSelector('#conn[data-state=live]', { timeout: 10_000 })

      await page.selectOption('select[name=task]', 'wasi')
      assert.is(await page.inputValue('input[name=units]'), '', 'the runs make the units')
      await page.setInputFiles('input[name="wasi.program"]', file(WORDSTAT))
      await page.fill('input[name="wasi.args"]', ARGS.join(' '))
      await page.setInputFiles('input[name="wasi.stdins"]', TEXTS.map(file))
      await page.setInputFiles('input[name="wasi.files"]', file(DICT))
      await page.fill('input[name=quorum]', '2')
      if (process.env.SHOTS) {
        await mkdir(process.env.SHOTS, { recursive: true })
        await page.locator('#submit-card').screenshot({ path: join(process.env.SHOTS, 'dashboard-wasi-form.png') })
      }
      const { short, sent } = await submitFromForm(page)
      const id = coordinator.jobs().find((job) => job.id.startsWith(short))!.id
      const cli = wasiParamsFromFlags({ program: WORDSTAT, arg: ARGS, 'stdin-glob': join(EXAMPLES, 'texts', '*.txt'), file: [DICT] }, read)
      assert.equal(sent, cli, 'the form sends the params `submit wasi --stdin-glob --file` sends')

      const card = `.job[data-id="${id}"]`
      await page.waitForSelector(`${card}[data-state=done]`, { timeout: 60_000 })
      await page.waitForFunction((sel) => document.querySelectorAll(`${sel} .runs tbody tr td a`).length > 0, card, { timeout: 10_000 })
      const params = (await page.$eval(`${card} .params`, (el) => el.textContent)) ?? ''
      assert.match(params, /program [\d,]+ bytes/)
      assert.not.match(params, /base64/, 'the program goes by its size, not its bytes')
      const { runs } = coordinator.status(id)!.result as WasiResult
      assert.is(runs.length, TEXTS.length)
      const rows = await page.$$eval(`${card} .runs tbody tr`, (trs) =>
        trs.map((tr) => [...(tr as HTMLTableRowElement).cells].map((td) => td.textContent ?? ''))
      )
      assert.is(rows.length, TEXTS.length)
      rows.forEach((cells, n) => {
        assert.is(cells[0], String(n))
        assert.is(cells[1], 'done')
        assert.is(cells[2], String(runs[n].exit))
        assert.is(cells[3], `${runs[n].stdout.byteLength} B`)
        const names = Object.keys(runs[n].files)
        assert.match(cells[6], names[0], `run ${n} links its out file`)
      })
      assert.match((await page.$eval(`${card} .runs-summary`, (el) => el.textContent)) ?? '', /3 runs: 3 exited 0/)

      const stdout = await download(page, `${card} tr[data-run="1"] a[href$="/stdout"]`)
      assert.is(stdout.toString('hex'), hex(runs[1].stdout), "run 1's stdout, downloaded")
      const [name, bytes] = Object.entries(runs[2].files)[0]
      const outFile = await download(page, `${card} tr[data-run="2"] a[href$="/out/${encodeURIComponent(name)}"]`)
      assert.is(outFile.toString('hex'), hex(bytes), `run 2's out/${name}, downloaded`)
      assert.is((await download(page, `${card} tr[data-run="0"] a[href$="/exit"]`)).toString('utf8'), `${runs[0].exit}\n`)

      if (process.env.SHOTS) {
        await page.locator(card).screenshot({ path: join(process.env.SHOTS, 'dashboard-wasi.png') })
      }

      // The other sweep: one run per line of arguments, as --args-file makes them.
      const lines = join(await tempDir(), 'lines.txt')
      await writeFile(lines, ARG_LINES)
      await page.setInputFiles('input[name="wasi.stdins"]', [])
      await page.fill('input[name="wasi.args"]', '-d dict.txt')
      await page.fill('textarea[name="wasi.argLines"]', ARG_LINES)
      await page.setInputFiles('input[name="wasi.stdin"]', file(TEXTS[1]))
      await page.fill('textarea[name="wasi.env"]', 'LANG=C')
      const second = await submitFromForm(page)
      const secondId = coordinator.jobs().find((job) => job.id.startsWith(second.short))!.id
      assert.equal(
        second.sent,
        wasiParamsFromFlags(
          { program: WORDSTAT, arg: ['-d', 'dict.txt'], 'args-file': lines, stdin: TEXTS[1], file: [DICT], env: ['LANG=C'] },
          read
        ),
        'the form sends the params `submit wasi --args-file --stdin --env` sends'
      )
      // 25 runs: the table shows 20, and the next page the rest.
      const secondCard = `.job[data-id="${secondId}"]`
      await page.waitForSelector(`${secondCard}[data-state=done]`, { timeout: 60_000 })
      await page.waitForFunction((sel) => /of 25/.test(document.querySelector(`${sel} .runs-note`)?.textContent ?? ''), secondCard, {
        timeout: 10_000
      })
      assert.is(await page.$$eval(`${secondCard} .runs tbody tr`, (trs) => trs.length), 20)
      await page.click(`${secondCard} .runs-pager button:last-child`)
      await page.waitForSelector(`${secondCard} .runs tbody tr[data-run="20"]`, { timeout: 10_000 })
      assert.equal(await page.$$eval(`${secondCard} .runs tbody tr`, (trs) => trs.map((tr) => (tr as HTMLElement).dataset.run)), [
        '20',
        '21',
        '22',
        '23',
        '24'
      ])
      assert.match((await page.$eval(`${secondCard} .runs-note`, (el) => el.textContent)) ?? '', /runs 20–24 of 25/)

      // What a program writes is text on the page, never markup, and its names show no control or direction characters.
      const hostile = await coordinator.submit({
        task: 'wasi',
        params: { program: { base64: Buffer.from(WRITER).toString('base64') } },
        quorum: 2
      })
      const hostileCard = `.job[data-id="${hostile.id}"]`
      await page.waitForSelector(`${hostileCard}[data-state=done] .runs tbody tr a`, { timeout: 30_000 })
      const links = await page.$$eval(`${hostileCard} .runs tbody tr a`, (as) => as.map((a) => a.textContent))
      assert.equal(links, ['stdout', 'stderr', 'exit', '<b>"x"??\'.txt', 'sub/a b.txt'])
      assert.is(
        await page.$$eval(`${hostileCard} .runs b, ${hostileCard} .runs script`, (els) => els.length),
        0,
        'no element came from the names'
      )
      assert.is(await page.$eval(`${hostileCard} .runs tbody td.bad`, (el) => el.textContent), '3', 'exit 3 stands out')
      const hostileOut = await download(page, `${hostileCard} a[href$="/out/${encodeURIComponent(WRITER_FILE)}"]`)
      assert.is(hostileOut.toString('utf8'), WRITER_STDOUT)

      // Both sweeps at once is refused before anything is sent, as the CLI refuses it.
      await page.setInputFiles('input[name="wasi.stdins"]', TEXTS.slice(0, 1).map(file))
      await page.click('#submit-form button[type=submit]')
      await page.waitForSelector('.form-message.bad', { timeout: 10_000 })
      assert.match((await page.$eval('.form-message', (el) => el.textContent)) ?? '', /not both/)
      assert.equal(problems, [])
    } finally {
      await browser?.close()
      await grid.destroy()
    }
  })
}

test.run()
