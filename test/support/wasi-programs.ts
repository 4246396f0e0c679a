/**
 * C programs for the wasi suites and bench: built for WASI by Debian's clang and natively by the
 * system's cc, into a temporary directory. Where clang cannot build for wasm32-wasi, `clangMissing`
 * says why, and the suites that need it skip with that message.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const WASI_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/wasi/', import.meta.url))
export const WORDSTAT_SOURCE = fileURLToPath(new URL('../../../examples/wasi/wordstat.c', import.meta.url))

function run(command: string, args: string[]): string | null {
  const result = spawnSync(command, args, { encoding: 'utf8' })
  if (result.error) return `${command}: ${result.error.message}`
  if (result.status !== 0) return `${command} ${args.join(' ')}: ${result.stderr.trim().split('\n').slice(-3).join(' / ')}`
  return null
}

let missing: string | null | undefined
/** Why clang cannot build WASI programs here, or null when it can. */
export function clangMissing(dir: string): string | null {
  if (missing === undefined) {
    const probe = join(dir, 'probe.c')
    writeFileSync(probe, 'int main(void) { return 0; }\n')
    const why = run('clang', ['--target=wasm32-wasi', '-O2', '-o', join(dir, 'probe.wasm'), probe])
    missing = why && `clang cannot build for wasm32-wasi (${why}); install clang lld wasi-libc libclang-rt-dev-wasm32 as .ci/run does`
  }
  return missing
}

/** Builds `source` for WASI; returns the module's bytes. */
export function buildWasi(source: string, dir: string, name: string, flags: string[] = []): Uint8Array {
  mkdirSync(dir, { recursive: true })
  const out = join(dir, `${name}.wasm`)
  const why = run('clang', ['--target=wasm32-wasi', '-O2', ...flags, '-o', out, source])
  if (why) throw new Error(why)
  return new Uint8Array(readFileSync(out))
}

/** Builds `source` natively; returns the executable's path. */
export function buildNative(source: string, dir: string, name: string, flags: string[] = []): string {
  mkdirSync(dir, { recursive: true })
  const out = join(dir, `${name}-native`)
  const why = run('cc', ['-O2', ...flags, '-o', out, source, '-lm'])
  if (why) throw new Error(why)
  return out
}

export const fixture = (name: string) => join(WASI_FIXTURES, `${name}.c`)

/** A rustc that can target WASI preview 1 (rustup's wasm32-wasip1, or Debian's libstd-rust-dev-wasm32), or null. */
export function rustForWasi(dir: string): { rustc: string; target: string } | null {
  const probe = join(dir, 'probe.rs')
  writeFileSync(probe, 'fn main() {}\n')
  for (const [rustc, target] of [
    ['rustc', 'wasm32-wasip1'],
    ['rustc', 'wasm32-wasi'],
    ['/usr/bin/rustc', 'wasm32-wasi']
  ]) {
    if (!run(rustc, ['--target', target, '-o', join(dir, 'probe-rs.wasm'), probe])) return { rustc, target }
  }
  return null
}

/** Builds a Rust source for WASI and natively with the same rustc; returns the module and the executable. */
export function buildRust(
  source: string,
  dir: string,
  name: string,
  rust: { rustc: string; target: string }
): { wasm: Uint8Array; native: string } {
  const wasm = join(dir, `${name}.wasm`)
  const native = join(dir, `${name}-native`)
  const why = run(rust.rustc, ['--target', rust.target, '-O', '-o', wasm, source]) ?? run(rust.rustc, ['-O', '-o', native, source])
  if (why) throw new Error(why)
  return { wasm: new Uint8Array(readFileSync(wasm)), native }
}

/**
 * A real C program of about `padBytes` more than its code: a constant array of random bytes in
 * its data segment, which it reads (it prints pad[argv[1] mod size]), so no build step drops it.
 */
export function buildPadded(dir: string, name: string, padBytes: number): Uint8Array {
  mkdirSync(dir, { recursive: true })
  const pad = randomBytes(padBytes)
  // Each byte as \xHH in a string literal: clang reads tens of MiB of it in well under a second.
  const hex = Buffer.from('0123456789abcdef')
  const literal = Buffer.alloc(pad.length * 4)
  for (let i = 0; i < pad.length; i++) {
    literal[4 * i] = 0x5c
    literal[4 * i + 1] = 0x78
    literal[4 * i + 2] = hex[pad[i] >> 4]
    literal[4 * i + 3] = hex[pad[i] & 15]
  }
  const source = join(dir, `${name}.c`)
  writeFileSync(
    source,
    Buffer.concat([
      Buffer.from(`#include <stdio.h>\n#include <stdlib.h>\nstatic const unsigned char pad[${padBytes}] = "`),
      literal,
      Buffer.from(
        '";\nint main(int argc, char **argv) {\n' +
          '  unsigned long i = argc > 1 ? strtoul(argv[1], 0, 10) : 0;\n' +
          '  printf("%u\\n", pad[i % sizeof pad]);\n' +
          '  return 0;\n}\n'
      )
    ])
  )
  return buildWasi(source, dir, name)
}
