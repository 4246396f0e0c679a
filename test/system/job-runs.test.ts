/**
 * A wasi job's runs over the control API (node/control/job-runs.ts) on a real peer: summaries
 * that match the spec, downloads with their bytes and safe headers, 404 for what does not
 * exist, 409 while the job runs, and paths that try to climb out of out/, raw on the wire (a
 * client's URL parser would have tidied them).
 */
import { request } from 'node:http'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as assert from 'uvu/assert'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { test } from '../support/test.js'
import { startTestGrid, until, type TestGrid } from '../support/helpers.js'
import { WRITER_FILE, WRITER_STDERR, WRITER_STDOUT, WRITER, wat } from '../support/wasm-modules.js'
import type { Peer } from '../../node/peer/peer.js'
import type { JobView } from '../../node/coordinator/job-view.js'
import type { RunsPage } from '../../node/control/job-runs.js'

const SPEC = JSON.parse(readFileSync(fileURLToPath(new URL('../../../node/control/openapi.json', import.meta.url)), 'utf8'))

const LOOPS = wat(`(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))`)
const base64 = (bytes: Uint8Array) => ({ base64: Buffer.from(bytes).toString('base64') })

let grid: TestGrid
let peer: Peer
let done: JobView
let port: number

/** A GET with the path exactly as given, not tidied by a URL parser. */
function rawGet(
  path: string,
  headers: Record<string, string> = {}
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)))
    req.end()
  })
}

test.before(async () => {
  grid = await startTestGrid()
  peer = await grid.add({ http: 0, threads: 2 })
  port = Number(new URL(peer.url!).port)
  const job = await peer.submit({
    task: 'wasi',
    params: { program: base64(WRITER), runs: [{}, { args: ['b'] }, { args: ['c'] }] },
    quorum: 1
  })
  done = await peer.wait(job.id)
  assert.is(done.state, 'done', done.error ?? '')
})

test.after(async () => {
  await grid.destroy()
})

test('the runs page lists each run by its exit and sizes, as the spec says, a page at a time', async () => {
  const { status, body } = await rawGet(`/api/jobs/${done.id}/runs`)
  assert.is(status, 200)
  const page = JSON.parse(body.toString('utf8')) as RunsPage
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  ajv.addSchema(SPEC, 'spec')
  const validate = ajv.compile({ $ref: 'spec#/components/schemas/RunsPage' })
  assert.ok(validate(page), ajv.errorsText(validate.errors))
  assert.is(page.total, 3)
  assert.equal(page.runs[0], {
    run: 0,
    state: 'done',
    exit: 3,
    stdout: WRITER_STDOUT.length,
    stderr: WRITER_STDERR.length,
    files: [
      { name: WRITER_FILE, bytes: WRITER_STDOUT.length },
      { name: 'sub/a b.txt', bytes: WRITER_STDERR.length }
    ],
    fileCount: 2,
    outBytes: WRITER_STDOUT.length + WRITER_STDERR.length
  })
  const second = JSON.parse((await rawGet(`/api/jobs/${done.id}/runs?offset=2&limit=1`)).body.toString('utf8')) as RunsPage
  assert.equal(
    second.runs.map((r) => r.run),
    [2]
  )
  for (const query of ['limit=201', 'offset=4', 'offset=-1', 'limit=1e3', 'offset=abc'])
    assert.is((await rawGet(`/api/jobs/${done.id}/runs?${query}`)).status, 400, query)
})

test("a run's outputs download as attachments with their bytes and a safe name", async () => {
  const check = async (part: string, expected: string) => {
    const res = await rawGet(`/api/jobs/${done.id}/runs/1/${part}`)
    assert.is(res.status, 200, part)
    assert.is(res.body.toString('utf8'), expected, part)
    assert.is(res.headers['content-type'], 'application/octet-stream', part)
    assert.is(res.headers['x-content-type-options'], 'nosniff', part)
    assert.match(String(res.headers['content-security-policy']), /sandbox/)
    assert.match(String(res.headers['content-disposition']), /^attachment; filename="[A-Za-z0-9][A-Za-z0-9._-]*"$/, part)
    return String(res.headers['content-disposition'])
  }
  assert.match(await check('stdout', WRITER_STDOUT), `${done.id.slice(0, 8)}-run1-stdout`)
  await check('stderr', WRITER_STDERR)
  await check('exit', '3\n')
  assert.match(await check(`out/${encodeURIComponent(WRITER_FILE)}`, WRITER_STDOUT), /run1-_b_x_\.txt"$/)
  assert.match(await check('out/sub/a%20b.txt', WRITER_STDERR), /run1-a_b\.txt"$/)
})

test('what does not exist is 404, a path that climbs or hides is refused, and neither reaches a file', async () => {
  const id = done.id
  const notFound = [
    `/api/jobs/${id}/runs/3/stdout`,
    `/api/jobs/${id}/runs/9999999999/stdout`,
    `/api/jobs/${id}/runs/0/out/nope.txt`,
    `/api/jobs/${id}/runs/0/out/__proto__`,
    `/api/jobs/${id}/runs/0/out/sub`,
    `/api/jobs/${id}/runs/0/out/`,
    `/api/jobs/${id}/runs/0/core`,
    `/api/jobs/ffff0000/runs`,
    // The server's URL parser resolves these dot segments (%2e too) before any route sees them.
    `/api/jobs/${id}/runs/0/out/../../../../../../etc/passwd`,
    `/api/jobs/${id}/runs/0/out/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd`
  ]
  for (const path of notFound) {
    const res = await rawGet(path)
    assert.is(res.status, 404, path)
    assert.is.not(res.headers['content-type'], 'application/octet-stream', path)
    assert.not.match(res.body.toString('utf8'), /root:/, path)
  }
  const refused = [
    `/api/jobs/${id}/runs/0/out/..%2f..%2fstdout`,
    `/api/jobs/${id}/runs/0/out/%2e%2e%2fstdout`,
    `/api/jobs/${id}/runs/0/out/sub%2f..%2f${encodeURIComponent(WRITER_FILE)}`,
    `/api/jobs/${id}/runs/0/out/sub//a%20b.txt`,
    `/api/jobs/${id}/runs/0/out/.%2fsub/a%20b.txt`,
    `/api/jobs/${id}/runs/0/out/a%00b`,
    `/api/jobs/${id}/runs/0/out/sub%5ca%20b.txt`,
    `/api/jobs/${id}/runs/0/out/%E0%A4%A`
  ]
  for (const path of refused) {
    const res = await rawGet(path)
    assert.is(res.status, 400, path)
    assert.match(String(res.headers['content-type']), /^application\/json/, path)
  }
  // A job of another kind has no runs.
  const primes = await peer.wait((await peer.submit({ task: 'primes', params: { to: 1000 }, units: 1, quorum: 1 })).id)
  assert.is((await rawGet(`/api/jobs/${primes.id}/runs`)).status, 404)
  assert.is((await rawGet(`/api/jobs/${primes.id}/runs/0/stdout`)).status, 404)
})

test("the origin guard covers the runs: another site's page or Host gets 403", async () => {
  const path = `/api/jobs/${done.id}/runs/0/stdout`
  assert.is((await rawGet(path, { host: `attacker.example:${port}` })).status, 403)
  const res = await rawGet(path, { origin: 'http://attacker.example' })
  assert.is(res.status, 403)
  assert.not.match(res.body.toString('utf8'), /script/)
  assert.is((await rawGet(path, { origin: `http://127.0.0.1:${port}` })).status, 200)
})

test('while a job runs its runs show where they stand and their outputs are 409, not a guess', async () => {
  const job = await peer.submit({ task: 'wasi', params: { program: base64(LOOPS), runs: [{}, {}, {}, {}] }, quorum: 1 })
  try {
    await until(() => peer.status(job.id)!.unitStates.running > 0, 20_000, 'a run of the looping job to start')
    const page = JSON.parse((await rawGet(`/api/jobs/${job.id}/runs`)).body.toString('utf8')) as RunsPage
    assert.is(page.state, 'running')
    assert.ok(
      page.runs.some((r) => r.state === 'running'),
      JSON.stringify(page.runs)
    )
    assert.ok(page.runs.every((r) => r.exit === null && r.stdout === null))
    for (const part of ['stdout', 'stderr', 'exit', 'out/x.txt']) {
      const res = await rawGet(`/api/jobs/${job.id}/runs/0/${part}`)
      assert.is(res.status, 409, part)
      assert.match(res.body.toString('utf8'), /is running/)
    }
  } finally {
    await peer.cancel(job.id)
  }
  assert.is((await rawGet(`/api/jobs/${job.id}/runs/0/stdout`)).status, 409, 'a cancelled job has no outputs either')
})

test.run()
