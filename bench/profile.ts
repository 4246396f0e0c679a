/**
 * Summarises V8 CPU profiles (node --cpu-prof) by self time, so a profile of the bench can be
 * read in a terminal:
 *
 *   node --cpu-prof --cpu-prof-dir=prof dist/bench/run.js --only dispatch
 *   node dist/bench/profile.js prof/*.cpuprofile [--top 25]
 *
 * Each profile is one thread (the main thread and every Piscina worker write their own).
 * Functions are keyed by name and file:line, with node_modules paths shortened to the package.
 * `run.js --profile DIR` instead profiles the main thread during the grid's timed jobs only,
 * leaving out start-up and the Piscina baselines, and prints this summary for each.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { basename, join } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
export interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

function where(url: string, line: number): string {
  if (!url) return ''
  const modules = url.lastIndexOf('node_modules/')
  const path = modules >= 0 ? url.slice(modules + 'node_modules/'.length) : url.replace(/^file:\/\/.*?\/dist\//, '')
  return `${path}:${line + 1}`
}

/** Where self time goes by owner: an npm package, a file of this project, node itself, or V8. */
function owner(url: string): string {
  if (!url) return '(v8: gc, idle, native)'
  const modules = url.lastIndexOf('node_modules/')
  if (modules >= 0) {
    const parts = url.slice(modules + 'node_modules/'.length).split('/')
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
  }
  if (url.startsWith('node:')) return 'node internals'
  return url.replace(/^file:\/\/.*?\/dist\//, '')
}

export interface Summary {
  totalMs: number
  rows: Array<{ ms: number; share: number; fn: string; at: string }>
  owners: Array<{ ms: number; share: number; owner: string }>
  /** This project's functions by total time (self plus callees): where the grid's own paths cost. */
  inclusive: Array<{ ms: number; share: number; fn: string; at: string }>
}

function ownCode(url: string): boolean {
  return url.startsWith('file://') && !url.includes('/node_modules/') && !url.includes('/dist/bench/')
}

export function summarise(profile: Profile, top: number): Summary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id)
  const inclusive = new Map<string, { ms: number; fn: string; at: string }>()
  const self = new Map<string, { ms: number; fn: string; at: string }>()
  const owners = new Map<string, number>()
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i])
    // A sample's delta is the time since the previous one: charge it to this sample's frame.
    const ms = (profile.timeDeltas[i] ?? 0) / 1000
    if (!node || ms <= 0) continue
    total += ms
    const fn = node.callFrame.functionName || '(anonymous)'
    const at = where(node.callFrame.url, node.callFrame.lineNumber)
    const key = `${fn} ${at}`
    const entry = self.get(key) ?? { ms: 0, fn, at }
    entry.ms += ms
    self.set(key, entry)
    const who = node.callFrame.functionName === '(idle)' ? '(idle)' : owner(node.callFrame.url)
    owners.set(who, (owners.get(who) ?? 0) + ms)
    // Once per sample per function, however deep it recurses.
    const seen = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame
      if (!ownCode(frame.url)) continue
      const k = `${frame.functionName || '(anonymous)'} ${where(frame.url, frame.lineNumber)}`
      if (seen.has(k)) continue
      seen.add(k)
      const e = inclusive.get(k) ?? { ms: 0, fn: frame.functionName || '(anonymous)', at: where(frame.url, frame.lineNumber) }
      e.ms += ms
      inclusive.set(k, e)
    }
  }
  const rows = [...self.values()]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top)
    .map((r) => ({ ...r, share: total > 0 ? r.ms / total : 0 }))
  const share = (ms: number) => (total > 0 ? ms / total : 0)
  return {
    totalMs: total,
    rows,
    owners: [...owners]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([who, ms]) => ({ ms, share: share(ms), owner: who })),
    inclusive: [...inclusive.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map((r) => ({ ...r, share: share(r.ms) }))
  }
}

export function formatSummary(name: string, { totalMs, rows, owners, inclusive }: Summary): string {
  const pct = (share: number) => (100 * share).toFixed(1).padStart(5)
  return [
    `${name}: ${(totalMs / 1000).toFixed(2)} s sampled; self time by owner:`,
    ...owners.map((o) => `${o.ms.toFixed(0).padStart(8)} ms ${pct(o.share)}%  ${o.owner}`),
    'self time by function:',
    ...rows.map((r) => `${r.ms.toFixed(0).padStart(8)} ms ${pct(r.share)}%  ${r.fn}  ${r.at}`),
    "swarmgrid's own functions by total time:",
    ...inclusive.map((r) => `${r.ms.toFixed(0).padStart(8)} ms ${pct(r.share)}%  ${r.fn}  ${r.at}`)
  ].join('\n')
}

/** Runs `fn` under the main thread's CPU profiler, writes DIR/NAME.cpuprofile and returns its summary. */
export async function profiled<T>(dir: string, name: string, fn: () => Promise<T>): Promise<{ value: T; summary: string }> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 200 })
  await session.post('Profiler.start')
  const stop = async (): Promise<string> => {
    const { profile } = await session.post('Profiler.stop')
    session.disconnect()
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile))
    return formatSummary(name, summarise(profile as unknown as Profile, 15))
  }
  let value: T
  try {
    value = await fn()
  } catch (err) {
    await stop()
    throw err
  }
  return { value, summary: await stop() }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2)
  const topAt = args.indexOf('--top')
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 20
  if (args.length === 0) {
    console.error('usage: node dist/bench/profile.js FILE.cpuprofile… [--top N]')
    process.exit(2)
  }
  for (const file of args) {
    console.log('\n' + formatSummary(basename(file), summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, top)))
  }
}
