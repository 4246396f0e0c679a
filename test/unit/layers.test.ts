/**
 * The house rule on imports: every file's imports (`import type` included) point down the
 * layer order below or stay in the file's own folder, and no files import one another in a
 * circle. A failure names the edge that breaks the rule.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/**
 * Lowest first. A file may import from its own layer and from layers above it in this list.
 * Folders on one line share a rank but may not import each other: the coordinator and the donor
 * meet only in the peer.
 */
export const LAYERS: string[][] = [
  ['base'],
  ['worker/sandbox'],
  ['tasks'],
  ['node/protocol'],
  ['node/job'],
  ['node/store'],
  ['node/trust'],
  ['worker'],
  ['node/coordinator', 'node/donor'],
  ['node/control'],
  ['node/peer'],
  ['node/cli'],
  ['index.ts', 'machine.ts'],
  ['sim'],
  ['test/support'],
  ['bench'],
  ['test']
]

const SOURCES = ['index.ts', 'machine.ts', 'base', 'node', 'tasks', 'worker', 'sim', 'bench', 'test']

function sourceFiles(path: string): string[] {
  const full = join(ROOT, path)
  if (statSync(full).isFile()) return /\.c?ts$/.test(path) && !path.endsWith('.d.ts') ? [path] : []
  return readdirSync(full).flatMap((name) => (name === 'fixtures' ? [] : sourceFiles(join(path, name))))
}

/** Relative specifiers of static imports, re-exports and dynamic imports, comments stripped. */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
  const found: string[] = []
  const patterns = [
    /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g
  ]
  for (const pattern of patterns) for (const m of code.matchAll(pattern)) if (m[1].startsWith('.')) found.push(m[1])
  return found
}

function layerOf(file: string): { rank: number; folder: string } {
  let best = { rank: -1, folder: '', length: -1 }
  LAYERS.forEach((folders, rank) => {
    for (const folder of folders) {
      const inside = file === folder || file.startsWith(folder + '/')
      if (inside && folder.length > best.length) best = { rank, folder, length: folder.length }
    }
  })
  return best
}

/** Every import edge between source files, as repo-relative .ts paths. */
export function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of SOURCES.flatMap(sourceFiles)) {
    const targets = importsOf(readFileSync(join(ROOT, file), 'utf8'))
      .map((spec) =>
        normalize(join(dirname(file), spec))
          .replace(/\.js$/, '.ts')
          .replace(/\.cjs$/, '.cts')
      )
      .filter((target) => !target.startsWith('..'))
    graph.set(file, targets)
  }
  return graph
}

/** The edges that point up the layer order or across to a sibling folder of the same rank. */
export function layerViolations(graph: Map<string, string[]>): string[] {
  const wrong: string[] = []
  for (const [file, targets] of graph) {
    const from = layerOf(file)
    for (const target of targets) {
      const to = layerOf(target)
      if (from.folder === to.folder) continue
      if (to.rank > from.rank) wrong.push(`${file} imports ${target}: ${to.folder} is above ${from.folder}`)
      else if (to.rank === from.rank) wrong.push(`${file} imports ${target}: ${to.folder} and ${from.folder} may not import each other`)
    }
  }
  return wrong
}

/** Circles of imports (Tarjan's strongly connected components of two or more files, or a self-import). */
export function importCircles(graph: Map<string, string[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const circles: string[][] = []
  const visit = (file: string): void => {
    index.set(file, next)
    low.set(file, next)
    next++
    stack.push(file)
    onStack.add(file)
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue
      if (!index.has(target)) {
        visit(target)
        low.set(file, Math.min(low.get(file)!, low.get(target)!))
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!))
    }
    if (low.get(file) !== index.get(file)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== file)
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) circles.push(component.sort())
  }
  for (const file of graph.keys()) if (!index.has(file)) visit(file)
  return circles
}

test('the import reader sees static, type-only, re-exported and dynamic imports, not comments', () => {
  const text = [
    "import { a } from './a.js'",
    "import type {\n  B\n} from '../b.js'",
    "export { c } from './c.js'",
    "import './side-effect.js'",
    "const d = await import('./d.js')",
    "// import { e } from './e.js'",
    "import { readFileSync } from 'node:fs'"
  ].join('\n')
  assert.equal(
    importsOf(text),
    ['./a.js', '../b.js', './c.js', './d.js', './side-effect.js']
      .filter((s) => s !== './d.js' && s !== './side-effect.js')
      .concat(['./side-effect.js', './d.js'])
  )
})

test('every source file belongs to a layer', () => {
  const homeless = [...importGraph().keys()].filter((file) => layerOf(file).rank < 0)
  assert.equal(homeless, [], `files outside every layer: ${homeless.join(', ')}`)
})

test('an upward import is named as one', () => {
  const graph = new Map([
    ['node/job/machine.ts', ['node/peer/peer.ts']],
    ['node/peer/peer.ts', []]
  ])
  assert.equal(layerViolations(graph), ['node/job/machine.ts imports node/peer/peer.ts: node/peer is above node/job'])
})

test('a circle is found', () => {
  const graph = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', ['a.ts']]
  ])
  assert.equal(importCircles(graph), [['a.ts', 'b.ts', 'c.ts']])
})

test('imports follow the layer order', () => {
  const wrong = layerViolations(importGraph())
  assert.ok(wrong.length === 0, `imports against the layer order:\n  ${wrong.join('\n  ')}`)
})

test('no files import one another in a circle', () => {
  const circles = importCircles(importGraph())
  assert.ok(circles.length === 0, `import circles:\n  ${circles.map((c) => c.join(' → ')).join('\n  ')}`)
})

test('the layers name folders that exist', () => {
  const missing = LAYERS.flat().filter((folder) => {
    try {
      statSync(join(ROOT, folder))
      return false
    } catch {
      return true
    }
  })
  assert.equal(missing, [])
})

test.run()
