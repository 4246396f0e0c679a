/**
 * The package as people install it: `npm pack`, then `npm install` of the tarball into a fresh
 * project, whose strict `tsc` (no skipLibCheck) must compile a sample against the published
 * types, and whose compiled sample must start a peer, submit a job and read its typed result.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { tempDir, within } from '../support/helpers.js'

const run = promisify(execFile)
const require = createRequire(import.meta.url)
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'

const SAMPLE = `import { runBootstrapNode, startPeer, tasks, type ResultOf } from 'swarmgrid'
import { JobMachine, LeaseCounter } from 'swarmgrid/machine'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const bootstrap = await runBootstrapNode('127.0.0.1', 0)
const { port } = bootstrap.address()
const peer = await startPeer({ grid: 'sample', bootstrap: ['127.0.0.1:' + port], dataDir: mkdtempSync(join(tmpdir(), 'sample-')), http: false, threads: 1 })
try {
  const job = await peer.submit({ task: 'primes', params: { to: 1000 }, units: 2, quorum: 1 })
  const done = await peer.wait(job)
  const count: number | undefined = done.result?.count
  const same: ResultOf<typeof tasks.primes> | null = done.result
  const machine = new JobMachine(1, { quorum: 1, maxResults: 3, maxErrors: 3, leaseMs: 1000 }, new LeaseCounter())
  console.log(JSON.stringify({ state: done.state, count, same, units: machine.unitCount }))
} finally {
  await peer.stop()
  await bootstrap.destroy()
}
`

/** The same sample, but one line treats the typed result as something it is not. */
const WRONG = `import { startPeer } from 'swarmgrid'
const peer = await startPeer({ http: false })
const job = await peer.submit({ task: 'primes', params: { to: 1000 } })
const done = await peer.wait(job)
const count: string | undefined = done.result?.count
console.log(count)
`

const TSCONFIG = {
  compilerOptions: {
    target: 'es2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    skipLibCheck: false,
    outDir: 'out',
    types: ['node']
  },
  files: ['sample.ts']
}

test('a fresh project installs the packed package, compiles a strict sample against its types, and runs it', async () => {
  const dir = await tempDir('swarmgrid-pack-')
  await run(NPM, ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT })
  const tarball = (await readdir(dir)).find((name) => name.endsWith('.tgz'))
  assert.ok(tarball, 'npm pack made a tarball')
  const project = join(dir, 'project')
  await mkdir(project)
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'sample', private: true, type: 'module' }))
  const versions = (name: string) => `${name}@${require(join(ROOT, 'node_modules', name, 'package.json')).version}`
  await within(
    run(
      NPM,
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        join(dir, tarball!),
        versions('typescript'),
        versions('@types/node')
      ],
      { cwd: project }
    ),
    240_000,
    'npm install of the tarball'
  )
  const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc')

  await writeFile(join(project, 'sample.ts'), SAMPLE)
  await writeFile(join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG))
  const compiled = await run(process.execPath, [tsc, '-p', '.', '--pretty', 'false'], { cwd: project }).then(
    () => '',
    (err) => `${err.stdout}${err.stderr}`
  )
  assert.is(compiled, '', 'the strict sample compiles against the published types')

  const { stdout } = await within(run(process.execPath, [join(project, 'out', 'sample.js')], { cwd: project }), 60_000, 'the sample to run')
  assert.equal(JSON.parse(stdout.trim().split('\n').pop()!), { state: 'done', count: 168, same: { count: 168 }, units: 1 })

  await writeFile(join(project, 'sample.ts'), WRONG)
  const refused = await run(process.execPath, [tsc, '-p', '.', '--pretty', 'false'], { cwd: project }).then(
    () => '',
    (err) => `${err.stdout}`
  )
  assert.ok(
    /sample\.ts\(\d+,\d+\): error TS2322: Type 'number \| undefined' is not assignable to type 'string \| undefined'/.test(refused),
    `the misuse of the typed result is refused: ${refused}`
  )
})

test.run()
