/** WebAssembly modules for the tests, built from text here with wabt, as a submitter would build theirs. */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import wabtInit from 'wabt'

const wabt = await wabtInit()

export function wat(source: string, features: Record<string, boolean> = {}): Uint8Array {
  const module = wabt.parseWat('test.wat', source, features)
  try {
    module.resolveNames()
    // wabt's validator ignores the features given to the parser; V8 validates these anyway.
    if (Object.keys(features).length === 0) module.validate()
    return new Uint8Array(module.toBinary({}).buffer)
  } finally {
    module.destroy()
  }
}

/** The README's worked example, from its source. */
export function examplePrimes(): Uint8Array {
  return wat(readFileSync(fileURLToPath(new URL('../../../examples/wasm/primes.wat', import.meta.url)), 'utf8'))
}

export const loopsForever = wat(`(module
  (func (export "run") (param i32) (result i32)
    (loop $forever (br $forever))
    (i32.const 0)))`)

/** Grows its memory a page at a time and, when growing fails, traps: as a leaking allocator would. */
export const growsWithoutBound = wat(`(module
  (memory 1)
  (func (export "run") (param i32) (result i32)
    (loop $more
      (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (unreachable)))`)

/** Grows its memory until growth fails and answers how many pages it got: what the unit's memory is. */
export const probesMemory = wat(`(module
  (memory 1)
  (func (export "run") (param i32) (result i32)
    (loop $more
      (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (memory.size)))`)

export const importsEval = wat(`(module
  (import "env" "eval" (func $eval (param i32) (result i32)))
  (func (export "run") (param i32) (result i32) (call $eval (local.get 0))))`)

export const importsWasi = wat(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory 1)
  (func (export "run") (param i32) (result i32) (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))`)

export const importsMemory = wat(`(module
  (import "env" "memory" (memory 1))
  (func (export "run") (param i32) (result i32) (i32.load (local.get 0))))`)

export const sharedMemory = wat(
  `(module
  (memory 1 1 shared)
  (func (export "run") (param i32) (result i32) (i32.const 0)))`,
  { threads: true }
)

export const hugeMemory = wat(`(module
  (memory 20000)
  (func (export "run") (param i32) (result i32) (i32.const 0)))`)

/** Uses memory and an i64: (n) -> sum of 0..n-1 kept in memory, as a 64-bit number. */
export const sumsInMemory = wat(`(module
  (memory (export "memory") 1 4)
  (func (export "run") (param $n i64) (result i64)
    (local $i i64)
    (block $done (loop $next
      (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
      (i64.store (i32.const 8) (i64.add (i64.load (i32.const 8)) (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $next)))
    (i64.load (i32.const 8))))`)

export const WRITER_STDOUT = '<script>alert(1)</script>\n'
export const WRITER_STDERR = 'a warning\n'
/** A file name a program may choose: markup, quotes, a newline and a right-to-left override. */
export const WRITER_FILE = '<b>"x"\n\u202e\'.txt'
/** A WASI program that writes WRITER_STDOUT, WRITER_STDERR, out/WRITER_FILE (its stdout again) and out/sub/a b.txt, then exits 3. */
export const WRITER = wat(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory" (func $mkdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "<script>alert(1)</script>\\n")
  (data (i32.const 1100) "a warning\\n")
  (data (i32.const 1200) "<b>\\"x\\"\\0a\\e2\\80\\ae'.txt")
  (data (i32.const 1300) "sub")
  (data (i32.const 1400) "sub/a b.txt")
  (func $put (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $file (param $name i32) (param $nlen i32) (param $data i32) (param $dlen i32)
    (drop (call $open (i32.const 4) (i32.const 0) (local.get $name) (local.get $nlen) (i32.const 1)
      (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 16)))
    (call $put (i32.load (i32.const 16)) (local.get $data) (local.get $dlen))
    (drop (call $close (i32.load (i32.const 16)))))
  (func (export "_start")
    (call $put (i32.const 1) (i32.const 1024) (i32.const 26))
    (call $put (i32.const 2) (i32.const 1100) (i32.const 10))
    (call $file (i32.const 1200) (i32.const 15) (i32.const 1024) (i32.const 26))
    (drop (call $mkdir (i32.const 4) (i32.const 1300) (i32.const 3)))
    (call $file (i32.const 1400) (i32.const 11) (i32.const 1100) (i32.const 10))
    (call $exit (i32.const 3))))`)
