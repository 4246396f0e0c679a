/**
 * NaN bits (issue 13, finding 8): a module that reads back the bits of a NaN its arithmetic
 * made would give each CPU's own pattern (x64: 0xfff8000000000000 for 0/0). Through the
 * sandbox every such NaN is the canonical positive quiet one, on any machine; every other
 * value keeps its exact bits. Real modules built with wabt, run by the real sandbox.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { wat } from '../support/wasm-modules.js'
import { checkModule, runWasmUnit } from '../../worker/sandbox/wasm-sandbox.js'
import { canonicaliseNaNs } from '../../worker/sandbox/wasm-nan.js'

const run = (source: string, args: number[] = []) => runWasmUnit({ module: wat(source), entry: 'run', args }, 16, () => {})

const CANONICAL_F64 = '9221120237041090560' // 0x7ff8000000000000
const CANONICAL_F32 = 0x7fc00000

test('the bits of a NaN from 0/0, sqrt(-1), inf-inf and a promoted signalling NaN are the canonical ones', () => {
  const f64 = (expr: string) => `(module (func (export "run") (result i64) (i64.reinterpret_f64 ${expr})))`
  for (const expr of [
    '(f64.div (f64.const 0) (f64.const 0))',
    '(f64.sqrt (f64.const -1))',
    '(f64.sub (f64.const inf) (f64.const inf))',
    '(f64.mul (f64.const 0) (f64.const -inf))',
    '(f64.add (f64.const nan:0x4) (f64.const 1))',
    '(f64.promote_f32 (f32.reinterpret_i32 (i32.const 0x7fa00000)))',
    '(f64.min (f64.const -nan) (f64.const 1))'
  ]) {
    assert.is(run(f64(expr)), CANONICAL_F64, expr)
  }
  const f32 = (expr: string) => `(module (func (export "run") (result i32) (i32.reinterpret_f32 ${expr})))`
  for (const expr of [
    '(f32.div (f32.const 0) (f32.const 0))',
    '(f32.demote_f64 (f64.const -nan:0x8000000000))',
    '(f32.max (f32.const nan) (f32.const 0))'
  ]) {
    assert.is(run(f32(expr)), CANONICAL_F32, expr)
  }
})

test('without the rewrite this CPU gives another pattern, so the test would see the difference', () => {
  const module = new WebAssembly.Module(
    wat('(module (func (export "run") (result i64) (i64.reinterpret_f64 (f64.div (f64.const 0) (f64.const 0)))))') as BufferSource
  )
  const raw = (new WebAssembly.Instance(module).exports.run as () => bigint)()
  // x64 gives the negative quiet NaN; on a CPU that already gives the canonical one this is moot.
  if (process.arch === 'x64') assert.is(BigInt.asUintN(64, raw), 0xfff8000000000000n)
})

test('every other value keeps its exact bits: -0, infinities, subnormals, a NaN a constant or memory holds', () => {
  assert.is(
    run('(module (func (export "run") (result i64) (i64.reinterpret_f64 (f64.mul (f64.const -1) (f64.const 0)))))'),
    '-9223372036854775808'
  )
  assert.is(run('(module (func (export "run") (param f64 f64) (result f64) (f64.add (local.get 0) (local.get 1))))', [1.5, 2.25]), 3.75)
  assert.is(run('(module (func (export "run") (result f64) (f64.div (f64.const 1) (f64.const 0))))'), Infinity)
  assert.is(run('(module (func (export "run") (result f64) (f64.mul (f64.const 0x1p-1022) (f64.const 0.5))))'), 2 ** -1023)
  // Bit operations are deterministic: a NaN with a payload from a constant passes through abs and neg as it is.
  assert.is(run('(module (func (export "run") (result i64) (i64.reinterpret_f64 (f64.neg (f64.const nan:0x4)))))'), -4503599627370492)
  // A function with its own params and locals, and a loop: the added locals come after them.
  const sum = `(module (func (export "run") (param i32) (result f64) (local $i i32) (local $s f64)
    (loop $l (local.set $s (f64.add (local.get $s) (f64.convert_i32_s (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_s (local.get $i) (local.get 0))))
    (local.get $s)))`
  assert.is(run(sum, [100]), 4950)
})

test('SIMD, whose float lanes it does not rewrite, is refused at the check split and run make', () => {
  const simd = wat('(module (func (export "run") (result i32) (i32x4.extract_lane 0 (v128.const i32x4 1 2 3 4))))', { simd: true })
  assert.throws(() => checkModule(simd, 'run'), /uses SIMD/)
  assert.throws(() => canonicaliseNaNs(simd), /uses SIMD/)
})

test.run()
