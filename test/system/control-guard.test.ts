/**
 * The control API against the traffic a web page can send it (issue 13, findings 7 and 14):
 * DNS rebinding (a foreign Host), cross-origin requests (a foreign Origin), a flood of live
 * feeds, a path that is not valid percent-encoding, and the job list's cost. Real HTTP to a
 * real peer's control server on 127.0.0.1.
 */
import { request, type IncomingHttpHeaders } from 'node:http'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestGrid, type TestGrid } from '../support/helpers.js'
import { readControlToken } from '../../node/store/data-dir.js'
import { MAX_FEED_CLIENTS } from '../../node/control/live-feed.js'
import type { Peer } from '../../node/peer/peer.js'

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** One request with exactly these headers (Host included: node:http sends ours, not its own). */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, setHost: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      // An event stream never ends: its first bytes are enough.
      if (res.headers['content-type']?.startsWith('text/event-stream')) {
        res.once('data', (chunk: string) => {
          resolve({ status: res.statusCode!, headers: res.headers, body: chunk })
          req.destroy()
        })
        return
      }
      res.on('data', (chunk: string) => {
        text += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function onePeer(): Promise<{ grid: TestGrid; peer: Peer; port: number; token: string }> {
  const grid = await startTestGrid()
  const peer = await grid.add({ donate: false, http: 0 })
  const port = Number(new URL(peer.url!).port)
  return { grid, peer, port, token: readControlToken(peer.dataDir)! }
}

const READS = ['/api/info', '/api/jobs', '/api/events', '/api/peers', '/api/log', '/api/donor', '/', '/app.js']

test('a foreign Host (DNS rebinding) is refused on every route; the three loopback names pass', async () => {
  const { grid, port, token } = await onePeer()
  try {
    for (const host of [
      'attacker.example:' + port,
      'attacker.example',
      `127.0.0.1:${port + 1}`,
      `localhost:${port + 1}`,
      '127.0.0.2:' + port,
      `127.0.0.1.attacker.example:${port}`,
      ''
    ]) {
      for (const path of READS) {
        const answer = await send(port, 'GET', path, host ? { host } : {})
        // With no Host at all, Node's server answers 400 before the handler runs.
        assert.is(answer.status, host ? 403 : 400, `GET ${path} with Host "${host}"`)
        assert.not.match(answer.body, /"key"|"jobs"/, 'nothing of the peer leaks')
      }
      const post = await send(
        port,
        'POST',
        '/api/jobs',
        { ...(host ? { host } : {}), authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        '{"task":"pi"}'
      )
      assert.is(post.status, host ? 403 : 400, `POST with Host "${host}"`)
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      const info = await send(port, 'GET', '/api/info', { host })
      assert.is(info.status, 200, host)
      assert.ok(JSON.parse(info.body).key)
      const events = await send(port, 'GET', '/api/events', { host })
      assert.is(events.status, 200, host)
    }
  } finally {
    await grid.destroy()
  }
})

test("a foreign Origin is refused on every route, reads and writes; the dashboard's own origin passes", async () => {
  const { grid, peer, port, token } = await onePeer()
  const host = `127.0.0.1:${port}`
  try {
    const foreign = [
      'http://attacker.example',
      `http://attacker.example:${port}`,
      'null',
      `https://127.0.0.1:${port}`,
      `http://127.0.0.1:${port + 1}`,
      `http://localhost:${port + 1}`,
      'not a url'
    ]
    for (const origin of foreign) {
      for (const path of READS) {
        assert.is((await send(port, 'GET', path, { host, origin })).status, 403, `GET ${path} from ${origin}`)
      }
      for (const path of ['/api/jobs', '/api/donor/pause']) {
        const answer = await send(
          port,
          'POST',
          path,
          { host, origin, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          '{"task":"pi","units":1}'
        )
        assert.is(answer.status, 403, `POST ${path} from ${origin}`)
      }
    }
    assert.is(peer.jobs().length, 0, 'no job was submitted from a foreign page')
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`]) {
      assert.is((await send(port, 'GET', '/api/info', { host, origin })).status, 200, origin)
    }
    const submitted = await send(
      port,
      'POST',
      '/api/jobs',
      { host, origin: `http://127.0.0.1:${port}`, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      '{"task":"pi","params":{"samples":1000},"units":1,"quorum":1}'
    )
    assert.is(submitted.status, 201, submitted.body)
    // Without a page there is no Origin: the CLI and scripts are unaffected, but still need the token to write.
    assert.is((await send(port, 'POST', '/api/jobs', { host, 'content-type': 'application/json' }, '{"task":"pi"}')).status, 401)
  } finally {
    await grid.destroy()
  }
})

test(`live feeds are capped at ${MAX_FEED_CLIENTS}: the next one gets 503, and a freed place is taken again`, async () => {
  const { grid, port } = await onePeer()
  const held: Array<() => void> = []
  const statuses: number[] = []
  const open = () =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/events' }, (res) => {
        res.on('data', () => {})
        res.on('error', () => {})
        resolve(res.statusCode!)
      })
      req.on('error', reject)
      req.end()
      held.push(() => req.destroy())
    })
  try {
    for (let i = 0; i < MAX_FEED_CLIENTS; i++) statuses.push(await open())
    assert.equal(statuses, new Array(MAX_FEED_CLIENTS).fill(200))
    const refused = await send(port, 'GET', '/api/events', { host: `127.0.0.1:${port}` })
    assert.is(refused.status, 503)
    assert.match(refused.body, /live feeds are open already/)
    assert.is(refused.headers['retry-after'], '5')
    // The API itself still answers.
    assert.is((await send(port, 'GET', '/api/info', { host: `127.0.0.1:${port}` })).status, 200)
    held.shift()!()
    let again = 0
    for (let tries = 0; tries < 50 && again !== 200; tries++) {
      const answer = await send(port, 'GET', '/api/events', { host: `127.0.0.1:${port}` })
      again = answer.status
      if (again !== 200) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    assert.is(again, 200, 'a closed feed frees its place')
  } finally {
    for (const close of held) close()
    await grid.destroy()
  }
})

test('a path that is not valid percent-encoding (GET /%) is a 404, not a 500', async () => {
  const { grid, port } = await onePeer()
  try {
    for (const path of ['/%', '/%zz', '/app.js%', '/%E0%A4%A']) {
      const answer = await send(port, 'GET', path, { host: `127.0.0.1:${port}` })
      assert.is(answer.status, 404, path)
      assert.match(JSON.parse(answer.body).error, /^no GET/)
    }
  } finally {
    await grid.destroy()
  }
})

test("GET /api/jobs reads a finished job's result once, and lists it slim; the job's own route has it whole", async () => {
  const grid = await startTestGrid()
  try {
    const peer = await grid.add({ http: 0 })
    const port = Number(new URL(peer.url!).port)
    const host = `127.0.0.1:${port}`
    const job = await peer.submit({ task: 'mandelbrot', params: { width: 64, height: 48, maxIter: 50 }, units: 2, quorum: 1 })
    await peer.wait(job.id)
    let reads = 0
    const read = peer.parts.store.result.bind(peer.parts.store)
    peer.parts.store.result = (id: string) => {
      reads++
      return read(id)
    }
    for (let i = 0; i < 5; i++) {
      const list = JSON.parse((await send(port, 'GET', '/api/jobs', { host })).body)
      assert.is(list.length, 1)
      assert.is(list[0].state, 'done')
      assert.equal(list[0].result.png, { $bytes: list[0].result.png.$bytes })
      assert.ok(list[0].result.png.$bytes > 0)
    }
    assert.is(reads, 1, 'five lists, one read of the stored result')
    const whole = JSON.parse((await send(port, 'GET', `/api/jobs/${job.id}`, { host })).body)
    assert.is(whole.result.png.$bytes, undefined, 'the job route is not slimmed')
  } finally {
    await grid.destroy()
  }
})

test.run()
