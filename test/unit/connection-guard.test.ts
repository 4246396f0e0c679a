/**
 * The connection guard's first-bytes bound, on real Noise secret streams over real TCP sockets
 * on 127.0.0.1: a new connection whose other side never says a byte is half-open (as hyperdht
 * leaves one when its hole punch destroys the far end's stream, docs/first-contact.md) and ends
 * within the first-bytes bound; one whose other side has spoken keeps the longer silence bound.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { createRequire } from 'node:module'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { SecretStream } from 'hyperswarm'
import { guardConnection } from '../../node/protocol/connection-guard.js'

// Hyperswarm's own stream class (a dependency of hyperswarm, no types of its own).
const NoiseSecretStream = createRequire(import.meta.url)('@hyperswarm/secret-stream') as new (
  initiator: boolean,
  raw: Socket
) => SecretStream

const FIRST_BYTES_MS = 300
const SILENCE_MS = 10_000
const guard = (conn: SecretStream) =>
  guardConnection(conn, { maxFrame: () => 1 << 20, silenceMs: SILENCE_MS, firstBytesMs: FIRST_BYTES_MS })

async function listen(onSocket: (socket: Socket) => void): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = []
  const server = createServer((socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
    onSocket(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as { port: number }).port, sockets }
}

function closed(conn: SecretStream): Promise<{ at: number; error: Error | null }> {
  let error: Error | null = null
  conn.on('error', (err: Error) => {
    error = err
  })
  return new Promise((resolve) => conn.on('close', () => resolve({ at: Date.now(), error })))
}

test('a connection whose other side never speaks ends within the first-bytes bound, not the silence bound', async () => {
  // Accepts, reads and never writes: the far end of a half-open connection.
  const far = await listen((socket) => socket.resume())
  try {
    const started = Date.now()
    const conn = new NoiseSecretStream(true, connect(far.port, '127.0.0.1'))
    guard(conn)
    const end = await closed(conn)
    const took = end.at - started
    assert.ok(took >= FIRST_BYTES_MS * 0.9 && took < 3 * FIRST_BYTES_MS, `ended after ${took} ms, want about ${FIRST_BYTES_MS}`)
    assert.match(String(end.error?.message), /timed out/i)
  } finally {
    for (const socket of far.sockets) socket.destroy()
    far.server.close()
  }
})

test('once the other side has spoken, a quiet connection lives on past the first-bytes bound', async () => {
  const responders: SecretStream[] = []
  const far = await listen((socket) => {
    const responder = new NoiseSecretStream(false, socket)
    responder.on('error', () => {})
    responders.push(responder)
  })
  try {
    const conn = new NoiseSecretStream(true, connect(far.port, '127.0.0.1'))
    guard(conn)
    const end = closed(conn)
    await new Promise<void>((resolve, reject) => {
      conn.once('open', resolve)
      conn.once('close', () => reject(new Error('closed before the handshake')))
    })
    // The handshake was its only traffic; then both sides stay silent for 4 first-bytes bounds.
    const early = await Promise.race([
      end.then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('open'), 4 * FIRST_BYTES_MS))
    ])
    assert.is(early, 'open', 'a connection that has heard its peer keeps the silence bound')
    conn.destroy()
    await end
  } finally {
    for (const responder of responders) responder.destroy()
    far.server.close()
  }
})

test.run()
