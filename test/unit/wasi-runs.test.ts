/**
 * tasks/wasi-runs.ts, which the CLI and the browser share: it must give what Node's own helpers
 * give (Buffer's base64, basename and extname), since the CLI used those before it.
 */
import { basename, extname } from 'node:path'
import * as assert from 'uvu/assert'
import { test } from '../support/test.js'
import { argLines, base64Value, stemOf, wasiRuns } from '../../tasks/wasi-runs.js'

test("base64Value is Buffer's base64, across the chunks it encodes by", () => {
  for (const size of [0, 1, 2, 3, 0x2000 - 1, 0x2000, 0x2000 + 1, 3 * 0x2000 + 7]) {
    const bytes = new Uint8Array(size).map((_, i) => (i * 131 + 7) & 0xff)
    assert.is(base64Value(bytes).base64, Buffer.from(bytes).toString('base64'), `${size} bytes`)
  }
})

test('stemOf is basename(name, extname(name))', () => {
  for (const name of ['fox.txt', 'a.b.c', 'noext', '.hidden', '.hidden.txt', 'a.', '..x', 'dir/x.tar.gz', 'ünï.côdé'])
    assert.is(stemOf(name), basename(name, extname(name)), name)
})

test('sweeps: stdin files in name order with {name}, args lines after the shared args, clashes refused', () => {
  const bytes = (text: string) => new TextEncoder().encode(text)
  const stdins = [
    { name: 'b.txt', bytes: bytes('B') },
    { name: 'a.txt', bytes: bytes('A') }
  ]
  assert.equal(
    wasiRuns({ args: ['-l', '{name}'], env: { K: 'V' } }, { kind: 'stdin', stdins }).map((r) => [r.args, r.stdin, r.env]),
    [
      [['-l', 'a'], { base64: 'QQ==' }, { K: 'V' }],
      [['-l', 'b'], { base64: 'Qg==' }, { K: 'V' }]
    ]
  )
  assert.equal(argLines('# c\n\n a "b c" \'d\'\r\n  # also\nx\n'), [['a', 'b c', 'd'], ['x']])
  assert.equal(wasiRuns({ args: ['-v'], stdin: bytes('S') }, { kind: 'args', lines: [['1'], ['2']] }), [
    { args: ['-v', '1'], stdin: { base64: 'Uw==' } },
    { args: ['-v', '2'], stdin: { base64: 'Uw==' } }
  ])
  assert.equal(wasiRuns({ args: [], env: {}, files: {} }, { kind: 'one' }), [{ args: [] }])
  assert.throws(() => wasiRuns({ args: [], stdin: bytes('S') }, { kind: 'stdin', stdins }), /drop the single stdin/)
  assert.throws(() => wasiRuns({ args: [] }, { kind: 'args', lines: [] }), /no line/)
})

test.run()
