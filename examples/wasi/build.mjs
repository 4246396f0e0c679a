// Builds the wasi example with Debian's clang (packages clang lld wasi-libc libclang-rt-dev-wasm32)
// into dist/examples/wasi/; where clang or the WASI sysroot is missing it says so and skips.
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const outDir = here('../../dist/examples/wasi/')
mkdirSync(outDir, { recursive: true })
const built = spawnSync('clang', ['--target=wasm32-wasi', '-O2', '-o', `${outDir}wordstat.wasm`, here('wordstat.c')], { stdio: 'inherit' })
if (built.error || built.status !== 0) {
  console.error('examples/wasi: skipped, clang --target=wasm32-wasi is not available (apt-get install clang lld wasi-libc libclang-rt-dev-wasm32)')
} else console.error(`examples/wasi: built ${outDir}wordstat.wasm`)
