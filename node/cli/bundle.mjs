/**
 * Build step (npm run build): the swarmgrid command as one file, over tsc's dist/node/cli/main.js.
 * Node 20 has no module compile cache, and resolving, reading and compiling about 250 modules
 * one by one took ~150 ms of every command's start, `submit` included (bench figure 1p).
 *
 * Left as files of their own:
 * - native packages, and those that load files beside them (lmdb, piscina, sodium, udx, quickjs);
 * - cbor-x, whose extensions tasks/values.ts registers on its one instance;
 * - tasks/, base/ and worker/sandbox/: a task module from --tasks imports them through the
 *   package, and must meet the very classes the command uses (ParamError, SharedBytes), not copies;
 * - the unit threads' entries, which Piscina loads by path.
 *
 * Paths built from import.meta.url stay those of each module's own file in dist/.
 */
import { readFile } from 'node:fs/promises'
import { dirname, relative, resolve, sep } from 'node:path'
import { build } from 'esbuild'

const DIST = resolve('dist')
const ENTRY = resolve(DIST, 'node/cli/main.js')
const SHARED_DIRS = ['tasks', 'base', 'worker/sandbox'].map((dir) => resolve(DIST, dir) + sep)
const NATIVE = [
  'lmdb',
  'piscina',
  'quickjs-emscripten',
  'cbor-x',
  'sodium-native',
  'sodium-universal',
  'udx-native',
  'require-addon',
  'msgpackr-extract',
  'cbor-extract'
]

/** An import path from the bundle to `file`. */
function fromBundle(file) {
  const path = relative(dirname(ENTRY), file).split(sep).join('/')
  return path.startsWith('.') ? path : `./${path}`
}

const ownFiles = {
  name: 'swarmgrid-own-files',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind === 'entry-point') return undefined
      const file = resolve(args.resolveDir, args.path)
      return SHARED_DIRS.some((dir) => file.startsWith(dir)) ? { path: fromBundle(file), external: true } : undefined
    })
    build.onLoad({ filter: /\.m?js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8')
      if (!text.includes('import.meta.url')) return undefined
      const own = `new URL(${JSON.stringify(fromBundle(args.path))}, import.meta.url).href`
      return { contents: text.replaceAll('import.meta.url', own), loader: 'js' }
    })
  }
}

await build({
  entryPoints: [ENTRY],
  outfile: ENTRY,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: NATIVE,
  plugins: [ownFiles],
  // The CommonJS packages inside call require() for Node's own modules.
  banner: { js: "import { createRequire as createRequireOfBundle } from 'node:module'; const require = createRequireOfBundle(import.meta.url);" },
  sourcemap: true,
  logLevel: 'warning'
})
