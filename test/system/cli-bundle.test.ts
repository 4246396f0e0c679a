/**
 * The swarmgrid command is one bundled file (node/cli/bundle.mjs). What it must not bundle, a
 * task module from --tasks shares with it: the task kinds, the errors and the sandboxes, so that
 * a module built on a built-in kind, or throwing the package's ParamError, meets the command's
 * own classes rather than copies of them.
 */
import { readFileSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CLI } from '../support/helpers.js'
import { CliGrid } from '../support/cli-path.js'

const DIST = fileURLToPath(new URL('../../', import.meta.url))
const SHARED = ['tasks/', 'base/', 'worker/sandbox/'].map((dir) => join(DIST, dir))

/** Every module the bundle imports or requires: relative ones resolved, packages as named. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const found = new Set<string>()
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\b(?:__)?require\s*\(\s*)["']([^"']+)["']/g)) {
    const spec = match[1]
    found.add(spec.startsWith('.') ? resolve(dirname(file), spec) : spec)
  }
  return [...found]
}

test('the command is one file: of the project, it loads only what task modules share with it', () => {
  const own = importsOf(CLI).filter((spec) => spec.startsWith('/'))
  assert.ok(own.length > 0, 'the bundle imports tasks/ and base/ by path')
  const bundled = own.filter((file) => !SHARED.some((dir) => file.startsWith(dir)))
  assert.equal(bundled, [], 'node/ and worker/ are inside the bundle')
  assert.not.ok(
    importsOf(CLI).some((spec) => spec === 'hyperswarm' || spec === 'hyperdht'),
    'pure-JS packages are inside the bundle'
  )
  // A command that runs no units (submit --no-donate, status, --version) never loads the pool.
  assert.not.ok(importsOf(CLI).includes('piscina'), 'piscina is required with the first unit pool, not imported')
})

const MODULE = (tasksUrl: string) => `import { js, ParamError } from ${JSON.stringify(tasksUrl)}
// A kind of one's own on top of the built-in js kind, as a task module written against 'swarmgrid/tasks' would be.
export default {
  ...js,
  name: 'doubled',
  split(params, ...rest) {
    if ('bad' in params) throw new ParamError('doubled: "bad" is no parameter of mine')
    return js.split(params, ...rest)
  }
}
`

test('a task module built on a built-in kind runs through the bundled command, and its ParamError exits 2', async () => {
  const grid = await CliGrid.start()
  const tasks = join(grid.dir, 'tasks')
  try {
    await mkdir(tasks)
    await writeFile(join(tasks, 'doubled.mjs'), MODULE(pathToFileURL(join(DIST, 'tasks/index.js')).href))
    const code = 'export default (x) => x * 2'
    const args = ['doubled', '--param', `code=${code}`, '--param', 'inputs=[1, 2, 3]', '--quorum', '1', '--threads', '1', '--tasks', tasks]
    const run = await grid.submit('submitter', args, 60_000)
    assert.is(run.code, 0, `submit exited ${run.code}: ${run.stderr.slice(-600)}`)
    // The program went by its hash, which needs the split's SharedBytes to be the command's own class.
    assert.equal(run.view?.result, { outputs: [2, 4, 6] })
    const refused = await grid.submit('refused', [...args, '--param', 'bad=1'], 60_000)
    assert.is(refused.code, 2, `a ParamError is a usage error: ${refused.stderr.slice(-400)}`)
    assert.match(refused.stderr, '"bad" is no parameter of mine')
  } finally {
    await grid.destroy()
    await rm(tasks, { recursive: true, force: true })
  }
})

test.run()
