/**
 * The wasi task in one process: real C programs built by clang for WASI run in the shim
 * (worker/sandbox/wasi/) and give the native build's bytes; hostile ones get nothing of the host;
 * a run's clock, random bytes and environment are its job's, not the machine's.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import wasi, { MAX_PROGRAM_BYTES, type WasiUnit } from '../../tasks/wasi.js'
import { describeWasiResult, inlineWasiFiles, wasiParamsFromFlags } from '../../tasks/wasi-cli.js'
import { ParamError } from '../../tasks/contract.js'
import { asRunSees, decodeValue, encodeValue } from '../../tasks/values.js'
import type { RunOutput } from '../../worker/sandbox/wasi/run.js'
import { transformModule } from '../../worker/sandbox/wasi/code-transform.js'
import { isOutputCapError } from '../../worker/sandbox/wasi/memfs.js'
import { isMemoryCapError } from '../../worker/sandbox/wasm-sandbox.js'
import { tempDir } from '../support/helpers.js'
import {
  WASI_FIXTURES,
  WORDSTAT_SOURCE,
  buildNative,
  buildRust,
  buildWasi,
  clangMissing,
  fixture,
  rustForWasi
} from '../support/wasi-programs.js'
import { b64, runNative, wordstatRuns, type WordstatRun } from '../support/wasi-runs.js'

const dir = await tempDir('swarmgrid-wasi-')
const missing = clangMissing(dir)
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8')
const JOB = { id: '0123456789abcdef', createdAt: 1_764_000_000_123 }

/** Split, then run each unit as a donor would: input and output through canonical CBOR. */
function runAll(program: Uint8Array, runs: unknown[], memoryMb = 64) {
  return [...wasi.split({ program: b64(program), runs, memory: memoryMb }, 1, JOB)].map((unit, i) => {
    const input = asRunSees<WasiUnit>(unit)
    return decodeValue<RunOutput>(encodeValue(wasi.run(input, { unitIndex: i, progress() {}, limits: { wasmMemoryMb: memoryMb } })))
  })
}

function throws(fn: () => unknown, what: RegExp, check?: (err: Error) => boolean): void {
  try {
    fn()
  } catch (err) {
    assert.match((err as Error).message, what)
    if (check) assert.ok(check(err as Error), `${(err as Error).message} is not of the expected kind`)
    return
  }
  assert.unreachable(`should have failed with ${what}`)
}

if (missing) {
  test(`wasi programs: SKIPPED, ${missing}`, () => {})
} else {
  const programs = Object.fromEntries(
    ['files', 'escape', 'socket', 'exit3', 'bigout', 'membomb', 'unknown-import', 'determinism'].map((name) => [
      name,
      buildWasi(fixture(name), dir, name)
    ])
  )
  const wordstat = buildWasi(WORDSTAT_SOURCE, dir, 'wordstat')

  test("wordstat gives the native build's stdout and out files, byte for byte, over 12 runs", () => {
    const native = buildNative(WORDSTAT_SOURCE, dir, 'wordstat')
    const runs = wordstatRuns(12)
    const outputs = runAll(wordstat, runs)
    const [unit] = [...wasi.split({ program: b64(wordstat), runs: [{}] }, 1, JOB)].map((u) => asRunSees<WasiUnit>(u))
    assert.ok(
      (unit.program as Uint8Array).byteLength * 2 < wordstat.byteLength,
      `units carry the program without its DWARF: ${(unit.program as Uint8Array).byteLength} of ${wordstat.byteLength} bytes`
    )
    runs.forEach((run, i) => {
      const expected = runNative(native, run, join(dir, `native-${i}`))
      assert.is(outputs[i].exit, expected.exit, `run ${i} exit`)
      assert.is(
        Buffer.compare(Buffer.from(outputs[i].stdout), expected.stdout),
        0,
        `run ${i} stdout: ${text(outputs[i].stdout)} vs ${expected.stdout}`
      )
      assert.equal(Object.keys(outputs[i].files), Object.keys(expected.files), `run ${i} out files`)
      for (const [name, bytes] of Object.entries(expected.files))
        assert.is(Buffer.compare(Buffer.from(outputs[i].files[name]), bytes), 0, `run ${i} out/${name}`)
    })
  })

  test('stat, seeks, directories, appends, truncation, renames and removals behave as natively', () => {
    const run = { args: [], stdin: '', files: { 'input.bin': 'abcdefghijklmnop', 'sub/nested.txt': 'n\n' } }
    const [out] = runAll(programs.files, [run])
    const expected = runNative(buildNative(fixture('files'), dir, 'files'), run, join(dir, 'native-files'))
    assert.is(text(out.stdout), expected.stdout.toString())
    assert.equal(Object.keys(out.files), ['a/log.txt', 'new.txt', 'trunc.txt'])
    assert.equal(Object.keys(out.files), Object.keys(expected.files))
    for (const [name, bytes] of Object.entries(expected.files))
      assert.is(Buffer.compare(Buffer.from(out.files[name]), bytes), 0, `out/${name}`)
  })

  test("the host's files do not exist for a program: /etc/passwd, ../ and out/../.. are refused, inputs are read-only", () => {
    const [out] = runAll(programs.escape, [{ files: { 'data.txt': 'mine' } }])
    const stdout = text(out.stdout)
    assert.is(out.exit, 0)
    assert.match(stdout, '/etc/passwd: No such file or directory')
    assert.match(stdout, '../etc/passwd: Capabilities insufficient')
    assert.match(stdout, '../../../../etc/passwd: Capabilities insufficient')
    assert.match(stdout, 'out/../../etc/passwd: Capabilities insufficient')
    assert.match(stdout, 'write data.txt: Read-only file system')
    assert.not.match(stdout, 'root:')
    assert.equal(
      stdout.split('\n').filter((l) => l.startsWith('/ holds')),
      ['/ holds .', '/ holds ..', '/ holds data.txt', '/ holds out']
    )
  })

  test('socket calls fail with ENOSYS, and proc_exit(3) is a normal result with exit 3', () => {
    const [sockets] = runAll(programs.socket, [{}])
    assert.is(
      text(sockets.stdout),
      'accept: -1 Function not implemented\nrecv: -1 Function not implemented\nshutdown: -1 Function not implemented\n'
    )
    const [exit3] = runAll(programs.exit3, [{}])
    assert.equal([exit3.exit, text(exit3.stdout), text(exit3.stderr)], [3, 'leaving with 3\n', 'on stderr\n'])
  })

  test('1 GiB of stdout fails as "output" at the cap; a memory bomb fails as memory at its job\'s cap', () => {
    throws(() => runAll(programs.bigout, [{}]), /^output cap: stdout passed 4194304 bytes/, isOutputCapError)
    throws(() => runAll(programs.membomb, [{}], 32), /^wasm memory cap: .* of the 32 MiB its job allows each unit/, isMemoryCapError)
  })

  test('a module importing what the shim does not offer is refused at split, naming the import', () => {
    throws(
      () => wasi.split({ program: b64(programs['unknown-import']) }, 1),
      /imports env\.host_secret, which this WASI sandbox does not offer/,
      (e) => e instanceof ParamError
    )
    throws(() => wasi.split({ program: b64(new TextEncoder().encode('console.log(1)')) }, 1), /WebAssembly header/)
  })

  test("time, sleeps, random bytes, environment and NaN bits are the job's, not the machine's", () => {
    const runs = [{ env: { A: '1', B: 'two' } }, { env: { A: '1', B: 'two' } }]
    const first = runAll(programs.determinism, runs).map((o) => text(o.stdout))
    const again = runAll(programs.determinism, runs).map((o) => text(o.stdout))
    assert.equal(first, again, 'the same job gives the same bytes')
    const lines = first[0].split('\n')
    assert.is(lines[0], 'time 1764000000.123000000 monotonic 1764000000.123000000', "the clock is the job's creation time")
    assert.is(
      lines[1],
      'after a 1 s sleep 1764000000.123000000 monotonic 1764000001.123000000',
      'a sleep returns at once: the time of day stays, the monotonic clock moves by the time slept'
    )
    assert.equal(
      lines.filter((l) => l.startsWith('env ')),
      ['env A=1', 'env B=two'],
      'the environment holds only what the run gives'
    )
    assert.ok(lines.includes('nan bits 7ff8000000000000'), `0/0 is the canonical NaN: ${first[0]}`)
    assert.is.not(first[0].split('\n')[2], first[1].split('\n')[2], 'each run has a random stream of its own')
  })

  test('every float store and reinterpretation goes through the NaN helper; SIMD and atomics are refused', () => {
    assert.ok(transformModule(programs.determinism).storesCanonicalised > 0)
    // (module (func (export "_start") (drop (i32.atomic.load (i32.const 0)))) (memory 1)) and a v128.const
    const head = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 5, 3, 1, 0, 1]
    const withBody = (body: number[]) => Uint8Array.from([...head, 10, body.length + 2, 1, body.length, ...body])
    throws(() => transformModule(withBody([0, 0x41, 0, 0xfe, 0x10, 2, 0, 0x1a, 0x0b])), /threads/)
    throws(() => transformModule(withBody([0, 0xfd, 0x0c, ...new Array(16).fill(0), 0x1a, 0x0b])), /SIMD/)
  })
}

const rust = rustForWasi(dir)
test(
  rust
    ? "a Rust program built for WASI gives its native build's stdout, out files and exit status"
    : 'Rust programs: SKIPPED, no rustc here targets wasm32-wasip1 or wasm32-wasi (rustup target add wasm32-wasip1, or apt-get install rustc libstd-rust-dev-wasm32)',
  () => {
    if (!rust) return
    const { wasm, native } = buildRust(join(WASI_FIXTURES, 'wordcount.rs'), dir, 'wordcount', rust)
    const runs: WordstatRun[] = [
      { args: ['a', 'b c'], stdin: 'the dog The cat\nand the dog\n', files: { 'dict.txt': 'the\ndog\n' } },
      { args: [], stdin: 'nothing known here\n', files: {} }
    ]
    const outputs = runAll(wasm, runs)
    runs.forEach((run, i) => {
      const expected = runNative(native, run, join(dir, `native-rust-${i}`))
      assert.equal([outputs[i].exit, text(outputs[i].stdout)], [expected.exit, expected.stdout.toString()], `run ${i}`)
      assert.equal(Object.keys(outputs[i].files), Object.keys(expected.files))
      for (const [name, bytes] of Object.entries(expected.files))
        assert.is(Buffer.compare(Buffer.from(outputs[i].files[name]), bytes), 0, `out/${name}`)
    })
    assert.equal(
      outputs.map((o) => o.exit),
      [0, 4]
    )
  }
)

test('params: {"file"} values only through the CLI, file names stay under /, runs say only what a run takes', () => {
  // (module (memory 1) (func (export "_start")))
  const program = b64(
    Uint8Array.from([
      0x00,
      0x61,
      0x73,
      0x6d,
      1,
      0,
      0,
      0,
      1,
      4,
      1,
      0x60,
      0,
      0,
      3,
      2,
      1,
      0,
      5,
      3,
      1,
      0,
      1,
      7,
      10,
      1,
      6,
      ...Buffer.from('_start'),
      0,
      0,
      10,
      4,
      1,
      2,
      0,
      0x0b
    ])
  )
  assert.equal(
    runAll(Buffer.from(program.base64, 'base64'), [{}]).map((o) => o.exit),
    [0]
  )
  throws(() => wasi.split({ program: { file: 'prog.wasm' } }, 1), /only the CLI reads/)
  // 7.9 MiB in a "name" section, which units keep: 140 runs of it once came to more than a job's units
  // could hold; now each unit names the program by its hash, and the program is past no cap.
  const name = new Uint8Array(7.9 * 1024 * 1024)
  name.set([4, ...Buffer.from('name')])
  const big = Buffer.concat([
    Buffer.from(program.base64, 'base64'),
    Buffer.from([
      0,
      0x80 | (name.length & 0x7f),
      0x80 | ((name.length >> 7) & 0x7f),
      0x80 | ((name.length >> 14) & 0x7f),
      (name.length >> 21) & 0x7f
    ]),
    name
  ])
  const units = [...wasi.split({ program: b64(big), runs: Array.from({ length: 140 }, () => ({})) }, 1)]
  assert.is(units.length, 140)
  assert.ok(encodeValue(units[0]).byteLength < 1024, 'a unit carries the hash of the program, not the program')
  const tooBig = new Uint8Array(MAX_PROGRAM_BYTES + 1)
  tooBig.set(Buffer.from(program.base64, 'base64'))
  throws(() => wasi.split({ program: b64(tooBig) }, 1), new RegExp(`at most ${MAX_PROGRAM_BYTES}`))
  throws(() => wasi.split({ program, runs: [{ files: { '../x': 'a' } }] }, 1), /relative path without/)
  throws(() => wasi.split({ program, runs: [{ files: { 'out/x': 'a' } }] }, 1), /under out\//)
  throws(() => wasi.split({ program, runs: [{ argv: [] }] }, 1), /has "argv"/)
  throws(() => wasi.split({ program, runs: [] }, 1), /runs must be a list of 1/)
  throws(() => wasi.split({ program, flags: 1 }, 1), /has no param "flags"/)
})

test('a donor checks a unit from any coordinator: malformed inputs are refused before anything runs', () => {
  const good = { program: new Uint8Array(8), args: [], env: [], stdin: new Uint8Array(0), files: [], time: 0, seed: new Uint8Array(32) }
  const ctx = { unitIndex: 0, progress() {} }
  for (const bad of [
    null,
    { ...good, program: 'AGFzbQ==' },
    { ...good, args: ['x'] },
    { ...good, seed: new Uint8Array(8) },
    { ...good, time: -1 },
    { ...good, time: 2 ** 60 },
    { ...good, files: [['a', 'b']] },
    { ...good, stdin: undefined }
  ]) {
    throws(() => wasi.run(bad as unknown as WasiUnit, ctx), /wasi: malformed unit input/)
  }
  throws(() => wasi.run({ ...good, files: [['../etc/passwd', new Uint8Array(1)]] }, ctx), /relative path without/)
  throws(() => wasi.run(good, ctx), /WebAssembly/)
})

test('the CLI: job files\' {"file"} values become bytes; --stdin-glob and --args-file make one run each', async () => {
  const at = join(dir, 'cli')
  mkdirSync(join(at, 'texts'), { recursive: true })
  for (const name of ['b.txt', 'a.txt', 'c.md']) writeFileSync(join(at, 'texts', name), `text ${name}`)
  writeFileSync(join(at, 'prog.wasm'), 'WASM')
  writeFileSync(join(at, 'lines.txt'), '-x 1\n\n# a comment\n-y "two words"\n')
  const read = (p: string) => new Uint8Array(Buffer.from(`bytes of ${p}`))
  const inlined = inlineWasiFiles(
    { program: { file: 'p.wasm' }, runs: [{ stdin: { file: 's' }, files: { d: { file: 'f' }, e: 'text' } }] },
    read
  )
  assert.equal(inlined, { program: b64(read('p.wasm')), runs: [{ stdin: b64(read('s')), files: { d: b64(read('f')), e: 'text' } }] })

  const readReal = (p: string) => new Uint8Array(readFileSync(p))
  const swept = wasiParamsFromFlags(
    { program: join(at, 'prog.wasm'), arg: ['-n', '{name}'], 'stdin-glob': join(at, 'texts', '*.txt'), env: ['K=V'] },
    readReal
  )!
  assert.equal(
    (swept.runs as any[]).map((r) => [r.args, Buffer.from(r.stdin.base64, 'base64').toString(), r.env]),
    [
      [['-n', 'a'], 'text a.txt', { K: 'V' }],
      [['-n', 'b'], 'text b.txt', { K: 'V' }]
    ]
  )
  const lines = wasiParamsFromFlags({ program: join(at, 'prog.wasm'), arg: ['first'], 'args-file': join(at, 'lines.txt') }, readReal)!
  assert.equal(
    (lines.runs as any[]).map((r) => r.args),
    [
      ['first', '-x', '1'],
      ['first', '-y', 'two words']
    ]
  )
  throws(() => wasiParamsFromFlags({ arg: ['x'] }, readReal), /needs --program/)
  assert.is(
    describeWasiResult({ runs: [{ exit: 3, stdout: 'aGVsbG8=', stderr: '', files: { 'a.txt': new Uint8Array(2) } }] }, 'abcdef0123'),
    "1 runs\n  run 0: exit 3, stdout 5 B, stderr 0 B, out/ a.txt (2 B)\n(swarmgrid results abcdef01 --out DIR writes each run's stdout, stderr, exit and out/ files)"
  )
  assert.is(wasiParamsFromFlags({}, readReal), null)
})

test.after(async () => {
  await rm(dir, { recursive: true, force: true })
})

test.run()
