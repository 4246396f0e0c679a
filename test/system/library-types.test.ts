/**
 * The library as its users get it: `npm pack`, installed from the tarball into a fresh project,
 * a sample compiled by a strict tsc with no skipLibCheck (the package's own types must compile:
 * no TS7016 for hyperswarm or hyperdht, nothing of lmdb's), then run: it starts a peer on a
 * private bootstrap node, submits a job and reads a result typed by its task.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { runBootstrapNode } from '../../node/peer/bootstrap.js'
import { tempDir } from '../support/helpers.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
const NPM_LIMIT_MS = 180_000

const SAMPLE = `import { runJob, startPeer, tasks, type TypedJobView } from 'swarmgrid'

const peer = await startPeer({ grid: 'types', bootstrap: [process.env.BOOTSTRAP!], dataDir: process.env.DATA!, http: false, threads: 1 })
try {
  const job: TypedJobView<{ count: number }> = await runJob(peer, tasks.primes, { params: { to: 1000 }, units: 2, quorum: 1 })
  const count: number | undefined = job.result?.count
  // @ts-expect-error: a primes result has no pi
  job.result?.pi
  const pi = await runJob(peer, tasks.pi, { params: { samples: 1000, seed: 1 }, units: 2, quorum: 1 })
  const estimate: number | undefined = pi.result?.pi
  console.log(JSON.stringify({ state: job.state, count, pi: typeof estimate }))
} finally {
  await peer.stop()
}
`

const TSCONFIG = {
  compilerOptions: {
    strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022',
    outDir: 'out', types: ['node'], skipLibCheck: false, noUncheckedIndexedAccess: true
  },
  files: ['sample.ts']
}

test('npm pack, install into a fresh project, a strict tsc without skipLibCheck, and a typed result', async () => {
  const dir = await tempDir('swarmgrid-consumer-')
  const bootstrap = await runBootstrapNode('127.0.0.1', 0)
  try {
    await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, timeout: NPM_LIMIT_MS })
    const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'))!
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
    const typesNode = JSON.parse(readFileSync(join(ROOT, 'node_modules', '@types', 'node', 'package.json'), 'utf8')).version
    // From npm's cache where it can (npm ci filled it); the registry only for what is missing.
    await run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', `./${tarball}`, `@types/node@${typesNode}`],
      { cwd: dir, timeout: NPM_LIMIT_MS })
    writeFileSync(join(dir, 'sample.ts'), SAMPLE)
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG))
    const compiled = await run(process.execPath, [TSC, '-p', '.'], { cwd: dir }).catch((err) => err)
    assert.is(compiled.code ?? 0, 0, `tsc failed:\n${compiled.stdout}${compiled.stderr}`)

    const { port } = bootstrap.address()
    const { stdout } = await run(process.execPath, [join(dir, 'out', 'sample.js')], {
      cwd: dir, timeout: 60_000, env: { ...process.env, BOOTSTRAP: `127.0.0.1:${port}`, DATA: join(dir, 'data'), SWARMGRID_REACHABLE: '1' }
    })
    assert.equal(JSON.parse(stdout.trim().split('\n').pop()!), { state: 'done', count: 168, pi: 'number' })
  } finally {
    await bootstrap.destroy()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
