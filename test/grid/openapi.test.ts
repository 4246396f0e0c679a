/**
 * The control API and its spec (node/control/openapi.json, served at /api/openapi.json) agree:
 * every route the server serves is in the spec and every path of the spec is served, and real
 * responses of a live peer, errors included, match the spec's statuses, media types and schemas
 * (checked with ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { startTestGrid, type TestGrid } from '../support/helpers.js'
import { fixtureDir } from '../support/process-grid.js'
import type { Peer } from '../../node/peer/peer.js'
import type { ControlServer } from '../../node/control/server.js'
import { readControlToken } from '../../node/store/data-dir.js'
import type { JobView } from '../../node/coordinator/job-view.js'

const SPEC_FILE = fileURLToPath(new URL('../../../node/control/openapi.json', import.meta.url))
const METHODS = ['get', 'post', 'put', 'delete', 'patch']

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: object }> }>
}
type Spec = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, object> } }

let grid: TestGrid
let peer: Peer
let spec: Spec
let ajv: Ajv2020
let token: string
let done: JobView

test.before(async () => {
  grid = await startTestGrid()
  peer = await grid.add({ http: 0, tasksDir: fixtureDir('slow'), threads: 2 })
  token = readControlToken(peer.dataDir)!
  spec = JSON.parse(readFileSync(SPEC_FILE, 'utf8'))
  ajv = new Ajv2020({ strict: false, allErrors: true })
  ajv.addSchema(spec, 'spec')
  const submitted = await peer.submit({ task: 'primes', params: { to: 10_000 }, units: 2, quorum: 1 })
  done = await peer.wait(submitted.id)
  assert.is(done.state, 'done', done.error ?? '')
})

test.after(async () => {
  await grid.destroy()
})

function operations(): Array<{ path: string; method: string; op: Operation }> {
  return Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ path, method: method.toUpperCase(), op }))
  )
}

const concrete = (template: string) =>
  template.replace('{id}', done.id).replace('{unit}', '0').replace('{run}', '0').replace('{path}', 'x.txt')

function routes(): Array<{ method: string; pattern: RegExp }> {
  // The peer's control server is private to it; the test reads its route table to compare.
  return (peer as unknown as { control: ControlServer }).control.routeList()
}

test('the served spec is the one in the repo, OpenAPI 3.1, and its schemas compile', async () => {
  const served = await (await fetch(`${peer.url}api/openapi.json`)).json()
  assert.equal(served, spec)
  assert.is(spec.openapi, '3.1.0')
  for (const name of Object.keys(spec.components.schemas)) assert.ok(ajv.getSchema(`spec#/components/schemas/${name}`), name)
})

test('every route the server serves is in the spec, and every path in the spec is served', () => {
  const ops = operations()
  const served = routes()
  for (const route of served) {
    const documented = ops.some(({ path, method }) => method === route.method && route.pattern.test(concrete(path)))
    assert.ok(documented, `${route.method} ${route.pattern} is served but not in openapi.json`)
  }
  for (const { path, method } of ops) {
    const isServed = served.some((route) => route.method === method && route.pattern.test(concrete(path)))
    assert.ok(isServed, `${method} ${path} is in openapi.json but not served`)
  }
})

/** Sends a real request and checks the answer against the spec's operation; resolves with the parsed body. */
async function call(
  method: string,
  template: string,
  { path, body, auth = true }: { path?: string; body?: unknown; auth?: boolean } = {}
): Promise<{ status: number; value: any }> {
  const op = spec.paths[template]?.[method.toLowerCase()]
  assert.ok(op, `${method} ${template} is not in the spec`)
  const res = await fetch(`${peer.url}${(path ?? concrete(template)).slice(1)}`, {
    method,
    headers: { ...(auth ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined
  })
  const documented = op.responses[String(res.status)]
  assert.ok(documented, `${method} ${template} answered ${res.status}, which the spec does not list`)
  const type = (res.headers.get('content-type') ?? '').split(';')[0]
  const media = documented.content?.[type]
  assert.ok(media, `${method} ${template} ${res.status} sent ${type}; the spec says ${Object.keys(documented.content ?? {}).join(', ')}`)
  if (type !== 'application/json') {
    await res.arrayBuffer()
    return { status: res.status, value: null }
  }
  const value = await res.json()
  const validate = ajv.compile({
    $ref: `spec#/paths/${template.replace(/~/g, '~0').replace(/\//g, '~1')}/${method.toLowerCase()}/responses/${res.status}/content/application~1json/schema`
  })
  assert.ok(
    validate(value),
    `${method} ${template} ${res.status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 500)}`
  )
  return { status: res.status, value }
}

test('real responses match the spec: reads', async () => {
  assert.is((await call('GET', '/api/info')).value.key, peer.key)
  assert.ok((await call('GET', '/api/jobs')).value.length >= 1)
  assert.is((await call('GET', '/api/jobs/{id}')).value.id, done.id)
  assert.is((await call('GET', '/api/jobs/{id}/units/{unit}')).value.state, 'accepted')
  await call('GET', '/api/peers')
  assert.ok((await call('GET', '/api/log')).value.length >= 1)
  await call('GET', '/api/donor')
  await call('GET', '/api/openapi.json')
  for (const format of ['', '.json', '.cbor']) assert.is((await call('GET', `/api/jobs/{id}/result${format}`)).status, 200)
  assert.is((await call('GET', '/api/jobs/{id}/result.png')).status, 404)
  // A primes job has no runs (test/system/job-runs.test.ts reads a wasi job's).
  assert.is((await call('GET', '/api/jobs/{id}/runs')).status, 404)
  assert.is((await call('GET', '/api/jobs/{id}/runs/{run}/stdout')).status, 404)
  assert.is((await call('GET', '/api/jobs/{id}/runs/{run}/out/{path}')).status, 404)
  assert.is((await call('GET', '/api/jobs/{id}', { path: '/api/jobs/ffff0000' })).status, 404)
  assert.is((await call('GET', '/api/jobs/{id}/units/{unit}', { path: `/api/jobs/${done.id}/units/99` })).status, 400)
  // The live feed is an event stream; its first event is a snapshot.
  const abort = new AbortController()
  const res = await fetch(`${peer.url}api/events`, { signal: abort.signal })
  assert.is(res.status, 200)
  assert.ok(spec.paths['/api/events'].get.responses['200'].content![res.headers.get('content-type')!.split(';')[0]])
  const first = await res.body!.getReader().read()
  assert.match(Buffer.from(first.value!).toString('utf8'), /event: snapshot/)
  abort.abort()
})

test('real responses match the spec: changes, refusals and errors', async () => {
  assert.is((await call('POST', '/api/jobs', { body: { task: 'primes', params: { to: 1000 } }, auth: false })).status, 401)
  assert.is((await call('POST', '/api/jobs', { body: { task: 'no-such-task' } })).status, 400)
  const slow = await call('POST', '/api/jobs', { body: { task: 'slow', params: { ms: 5000 }, units: 8, quorum: 1 } })
  assert.is(slow.status, 201)
  const id = slow.value.id
  assert.is((await call('DELETE', '/api/jobs/{id}', { path: `/api/jobs/${id}` })).status, 409)
  assert.is((await call('POST', '/api/jobs/{id}/cancel', { path: `/api/jobs/${id}/cancel` })).value.state, 'cancelled')
  assert.is((await call('POST', '/api/jobs/{id}/cancel', { path: `/api/jobs/${id}/cancel` })).status, 409)
  assert.equal((await call('DELETE', '/api/jobs/{id}', { path: `/api/jobs/${id}` })).value, { id, deleted: true })
  assert.is((await call('DELETE', '/api/jobs/{id}', { path: `/api/jobs/${id}` })).status, 404)
  assert.is((await call('DELETE', '/api/jobs/{id}', { path: `/api/jobs/${id}`, auth: false })).status, 401)
  assert.is((await call('POST', '/api/donor/pause')).value.state, 'paused')
  await call('POST', '/api/donor/resume')
  await call('POST', '/api/donor/finish')
  await call('POST', '/api/donor/resume')
})

test.run()
