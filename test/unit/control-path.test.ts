/** Where the CLI finds a peer's control API: a Unix socket, or on Windows a named pipe. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { controlSocketPath, isNamedPipe } from '../../node/store/data-dir.js'

test('on Linux and macOS: a socket in the data dir, or in the temp dir when the path is too long for one', () => {
  for (const os of ['linux', 'darwin'] as const) {
    assert.is(controlSocketPath('/home/ann/.local/share/swarmgrid', os), '/home/ann/.local/share/swarmgrid/control.sock')
    const long = '/data/' + 'x'.repeat(120)
    const path = controlSocketPath(long, os)
    assert.ok(path.startsWith(join(tmpdir(), 'swarmgrid-')) && path.endsWith('.sock'), path)
    assert.ok(path.length <= 100, path)
    assert.is(controlSocketPath(long, os), path, 'the same dir gives the same socket')
    assert.is.not(controlSocketPath(long + 'y', os), path)
    assert.not.ok(isNamedPipe(path))
  }
})

test('on Windows: a named pipe named after the data dir, whatever its case', () => {
  const dir = 'C:\\Users\\Ann\\AppData\\Local\\swarmgrid'
  const pipe = controlSocketPath(dir, 'win32')
  assert.match(pipe, /^\\\\\.\\pipe\\swarmgrid-[0-9a-f]{16}$/)
  assert.ok(isNamedPipe(pipe))
  assert.is(controlSocketPath(dir.toUpperCase(), 'win32'), pipe)
  assert.is.not(controlSocketPath(dir + '2', 'win32'), pipe)
})

test.run()
