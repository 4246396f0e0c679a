/**
 * Go programs for the wasi suites: built with GOOS=wasip1 GOARCH=wasm (Go 1.21 or later) and
 * natively by the same toolchain. Builds never touch the network or the user's Go setup: the
 * build cache and GOPATH are the caller's temporary directory, modules come from nowhere
 * (GOPROXY=off, GOFLAGS cleared) and GOTOOLCHAIN=local stops the go command from fetching a
 * newer toolchain. Where no Go 1.21+ is found, `goMissing` says why, and the suites skip with it.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const WORDFREQ_DIR = fileURLToPath(new URL('../../../examples/wasi/go/', import.meta.url))

/** Debian's backports install Go under /usr/lib/go-1.2x; a go on PATH comes first. */
const CANDIDATES = ['go', '/usr/lib/go-1.23/bin/go', '/usr/lib/go-1.22/bin/go', '/usr/lib/go-1.21/bin/go', '/usr/local/go/bin/go']

export interface GoToolchain {
  go: string
  version: string
  /** GOCACHE and GOPATH live here. */
  dir: string
}

function goEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: dir,
    GOCACHE: join(dir, 'gocache'),
    GOPATH: join(dir, 'gopath'),
    GOTOOLCHAIN: 'local',
    GOPROXY: 'off',
    GOFLAGS: '',
    CGO_ENABLED: '0',
    ...extra
  }
}

/** A Go that can build for wasip1, with its caches under `dir`; or why there is none. */
export function findGo(dir: string): GoToolchain | string {
  const seen: string[] = []
  for (const go of CANDIDATES) {
    const result = spawnSync(go, ['version'], { encoding: 'utf8', env: goEnv(dir) })
    if (result.error || result.status !== 0) continue
    const version = /go(\d+)\.(\d+)/.exec(result.stdout)
    if (version && (Number(version[1]) > 1 || Number(version[2]) >= 21)) return { go, version: result.stdout.trim(), dir }
    seen.push(`${go}: ${result.stdout.trim()}`)
  }
  const found = seen.length > 0 ? `only ${seen.join(', ')}` : 'no go command'
  return `Go 1.21 or later is needed for GOOS=wasip1 (${found}); apt-get install -t bookworm-backports golang-1.23-go, as .ci/run does`
}

function build(toolchain: GoToolchain, source: string, out: string, env: Record<string, string> = {}): void {
  mkdirSync(toolchain.dir, { recursive: true })
  const result = spawnSync(toolchain.go, ['build', '-trimpath', '-o', out, '.'], {
    cwd: source,
    encoding: 'utf8',
    env: goEnv(toolchain.dir, env)
  })
  if (result.error) throw result.error
  if (result.status !== 0) throw new Error(`go build in ${source} (${JSON.stringify(env)}): ${result.stderr.trim()}`)
}

/** Builds the Go package in `source` for WASI; returns the module's bytes. */
export function buildGoWasi(toolchain: GoToolchain, source: string, name: string): Uint8Array {
  const out = join(toolchain.dir, `${name}.wasm`)
  build(toolchain, source, out, { GOOS: 'wasip1', GOARCH: 'wasm' })
  return new Uint8Array(readFileSync(out))
}

/** Builds the Go package in `source` for this machine; returns the executable's path. */
export function buildGoNative(toolchain: GoToolchain, source: string, name: string): string {
  const out = join(toolchain.dir, `${name}-native`)
  build(toolchain, source, out)
  return out
}
