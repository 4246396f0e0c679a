/** Prints the bench's results as aligned tables (for people and the README) or as JSON. */
import type { Results } from './results.js'
import { describeProgramWire } from './program-wire.js'

type Align = 'l' | 'r'

export function table(rows: string[][], align: Align[]): string {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => [...(r[col] ?? '')].length)))
  return rows
    .map((r) =>
      r
        .map((cell, col) => {
          const pad = ' '.repeat(widths[col] - [...cell].length)
          return align[col] === 'r' ? pad + cell : cell + pad
        })
        .join('  ')
        .trimEnd()
    )
    .join('\n')
}

const int = (n: number) => Math.round(n).toLocaleString('en-US')
const ms = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(0)} ms`)
const ratio = (n: number) => (n >= 10 ? n.toFixed(1) : n.toFixed(3))

/** "yes", or how far off: the factor by which the figure misses its target. */
function verdict(met: boolean, shortBy: number): string {
  return met ? 'yes' : `no, ${shortBy >= 10 ? shortBy.toFixed(0) : shortBy.toFixed(2)}x off`
}

/** Within a factor of 1.5 of the smallest job's figure counts as flat. */
function trend(value: number, base: number): string {
  const r = value / base
  if (r > 2 / 3 && r < 1.5) return 'flat'
  return r < 1 ? `falls ${(1 / r).toFixed(1)}x` : `rises ${r.toFixed(1)}x`
}

function headline(res: Results): string[][] {
  const rows = [['figure', 'swarmgrid', 'baseline (same run)', 'ratio', 'target', 'met']]
  if (res.cpu) {
    const c = res.cpu
    rows.push([
      `1 CPU-bound: ${c.units} primes units, ~${c.unitMs.toFixed(0)} ms each`,
      ms(c.gridMs),
      `${ms(c.piscinaMs)} plain Piscina`,
      ratio(c.ratio),
      '<= 1.05',
      verdict(c.ratio <= 1.05, c.ratio / 1.05)
    ])
  }
  if (res.dispatch) {
    const d = res.dispatch
    rows.push([
      `2 dispatch: ${int(d.units)} trivial units`,
      `${int(d.gridPerSec)} units/s`,
      `${int(d.piscinaPerSec)} tasks/s plain Piscina`,
      ratio(d.ratio),
      '>= 0.5',
      verdict(d.ratio >= 0.5, 0.5 / d.ratio)
    ])
  }
  if (res.join) {
    const j = res.join
    rows.push([
      `3 join to first unit, median of ${j.runs.length}`,
      ms(j.medianMs),
      `${ms(j.piscinaMedianMs)} new Piscina pool`,
      ratio(j.ratio),
      '< 100 ms',
      verdict(j.medianMs < 100, j.medianMs / 100)
    ])
  }
  if (res.cliJoin) {
    const j = res.cliJoin
    rows.push([
      `3p join to first unit, CLI processes, median of ${j.runs.length}`,
      ms(j.medianMs),
      `${ms(j.piscinaMedianMs)} new Piscina pool`,
      ratio(j.medianMs / j.piscinaMedianMs),
      'report',
      '-'
    ])
    rows.push([`   worst of ${j.runs.length}`, ms(j.worstMs), '', '', '< 5 s', verdict(j.worstMs < 5000, j.worstMs / 5000)])
  }
  if (res.cliCpu) {
    const c = res.cliCpu
    rows.push([
      `1p CPU-bound, CLI processes: ${c.units} units, submit to done`,
      ms(c.fromSubmitMs),
      `${ms(c.piscinaMs)} Piscina incl. its start`,
      ratio(c.ratioFromSubmit),
      '<= 1.10',
      verdict(c.ratioFromSubmit <= 1.1, c.ratioFromSubmit / 1.1)
    ])
    rows.push([
      `   median of the ${c.rounds.piscina.length} rounds' own ratios`,
      '',
      'Piscina run right after each',
      ratio(c.pairedRatioFromSubmit),
      'report',
      '-'
    ])
    rows.push([
      `   from the donor's spawn (its start too)`,
      ms(c.fromDonorMs),
      `${ms(c.piscinaMs)} Piscina incl. its start`,
      ratio(c.ratioFromDonor),
      'report',
      '-'
    ])
  }
  if (res.cliCpuSplit) {
    const c = res.cliCpuSplit
    rows.push([
      `   the same, ${c.donors} donor processes of ${c.threads / c.donors} thread${c.threads / c.donors > 1 ? 's' : ''}`,
      ms(c.fromSubmitMs),
      `${ms(c.piscinaMs)} Piscina incl. its start`,
      ratio(c.ratioFromSubmit),
      'report',
      '-'
    ])
  }
  if (res.scale) {
    const rows4 = res.scale.rows
    const base = rows4.find((r) => r.quorum === 1) ?? rows4[0]
    const big = [...rows4].filter((r) => r.quorum === base.quorum).pop()!
    const r = big.assignsPerSec / base.assignsPerSec
    rows.push([
      `4 coordinator: assigns/s, ${int(big.units)} vs ${int(base.units)} units`,
      int(big.assignsPerSec),
      int(base.assignsPerSec),
      ratio(r),
      'flat',
      verdict(r > 2 / 3, 1 / r)
    ])
  }
  if (res.wire) {
    const w = res.wire
    rows.push([
      `5 wire: framed bytes per unit, alone`,
      `${int(w.perUnit.frame)} B`,
      `${w.inputBytes + w.outputBytes} B input + output`,
      ratio(w.perUnit.frame / (w.inputBytes + w.outputBytes)),
      'report',
      '-'
    ])
    rows.push([
      `  in batches of ${w.batched.batch}`,
      `${int(w.batched.frame)} B`,
      `${w.inputBytes + w.outputBytes} B input + output`,
      ratio(w.batched.frame / (w.inputBytes + w.outputBytes)),
      'report',
      '-'
    ])
  }
  if (res.js) {
    for (const r of res.js.rows) {
      rows.push([`6 js: ${r.name}, ${r.calls} calls`, `${ms(r.quickjsMs)} QuickJS`, `${ms(r.v8Ms)} V8`, ratio(r.ratio), 'report', '-'])
    }
  }
  if (res.wasi && 'ratio' in res.wasi) {
    const w = res.wasi
    rows.push([
      `6 wasi: ${w.runs} nbody runs (${int(w.steps)} steps) on the grid`,
      ms(w.gridMs),
      `${ms(w.piscinaMs)} same shim, plain Piscina`,
      ratio(w.ratio),
      '<= 1.10',
      verdict(w.ratio <= 1.1, w.ratio / 1.1)
    ])
    rows.push([
      `  the same, CPU time of all threads`,
      ms(w.cpu.gridMs),
      `${ms(w.cpu.piscinaMs)} same shim, plain Piscina`,
      ratio(w.cpu.ratio),
      'report',
      '-'
    ])
    rows.push([
      `  the shim against the native build, CPU time`,
      ms(w.shimSerialMs),
      `${ms(w.nativeSerialMs)} cc -O2, as processes`,
      ratio(w.nativeRatio),
      'report',
      '-'
    ])
  }
  if (res.wasiGo && 'nativeRatio' in res.wasiGo) {
    const g = res.wasiGo
    rows.push([
      `6 wasi: a Go program (${(g.moduleBytes / 1e6).toFixed(1)} MB), ${g.runs} runs, CPU time`,
      ms(g.shimSerialMs),
      `${ms(g.nativeSerialMs)} native Go build`,
      ratio(g.nativeRatio),
      'report',
      '-'
    ])
  }
  if (res.programWire && 'ratio' in res.programWire) {
    const p = res.programWire
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`
    const worst = Math.max(...p.perDonor.map((d) => d.bytes))
    rows.push([
      `7 program: ${mib(p.programBytes)} over ${p.units} units, bytes to a donor`,
      mib(worst),
      `${mib(p.programBytes)} the program`,
      ratio(p.ratio),
      '< 2',
      verdict(p.ratio < 2, p.ratio / 2)
    ])
    rows.push([`  a second job of it, bytes to a donor`, mib(Math.max(...p.secondJobPerDonor)), '', '', 'report', '-'])
  }
  return rows
}

function scaleTable(res: NonNullable<Results['scale']>): string {
  const rows = [
    ['units', 'quorum', 'assigns/s', 'vs 10k', 'results/s', 'units/s', 'vs 10k', 'heap B/unit', 'heap B/lease', 'done in budget']
  ]
  for (const r of res.rows) {
    const base = res.rows.find((b) => b.quorum === r.quorum)!
    rows.push([
      int(r.units),
      String(r.quorum),
      int(r.assignsPerSec),
      ratio(r.assignsPerSec / base.assignsPerSec),
      int(r.resultsPerSec),
      int(r.unitsPerSec),
      ratio(r.unitsPerSec / base.unitsPerSec),
      int(r.heapPerUnitBuilt),
      int(r.heapPerLease),
      `${(100 * r.done).toFixed(0)}%`
    ])
  }
  const out = [table(rows, ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'])]
  for (const quorum of new Set(res.rows.map((r) => r.quorum))) {
    const mine = res.rows.filter((r) => r.quorum === quorum)
    const [first, last] = [mine[0], mine[mine.length - 1]]
    out.push(
      `quorum ${quorum}, ${int(first.units)} -> ${int(last.units)} units: assigns/s ${trend(last.assignsPerSec, first.assignsPerSec)}, ` +
        `results/s ${trend(last.resultsPerSec, first.resultsPerSec)}, heap per unit ${trend(last.heapPerUnitBuilt, first.heapPerUnitBuilt)}, ` +
        `heap per lease ${trend(last.heapPerLease, first.heapPerLease)}`
    )
  }
  if (!res.gc) out.push('(no global.gc: heap figures include garbage)')
  return out.join('\n')
}

function wireTable(res: NonNullable<Results['wire']>): string {
  const rows = [['message', 'direction', 'codec B', '+ protomux + secret-stream', '+ UDX/UDP/IPv4']]
  for (const r of res.rows) rows.push([r.message, r.direction, String(r.payload), String(r.frame), String(r.packet)])
  rows.push(['per unit', '', String(res.perUnit.payload), String(res.perUnit.frame), `${res.perUnit.packets} with acks`])
  const lines = [table(rows, ['l', 'l', 'r', 'r', 'r'])]
  lines.push(
    `short units, ${res.batched.batch} to an assign and corked frames (progress coalesced away): ~${res.batched.frame.toFixed(0)} B framed per unit`
  )
  if (res.signedAssignExtra > 0)
    lines.push(`the submitter's key and signature add ${res.signedAssignExtra} B to each assign, one per batch`)
  for (const [name, t] of Object.entries(res.measured)) {
    if (!t) continue
    lines.push(
      `measured on the grid (${name} run), per unit, both ways: ${int(t.streamBytes)} B through secret-stream, ` +
        `${int(t.udxBytes)} B in ${t.udxPackets.toFixed(1)} UDX packets (UDX counts its 20-byte header; UDP and IPv4 add 28 B a packet)`
    )
  }
  return lines.join('\n')
}

export function printReport(res: Results, only: Set<string>, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(res, null, 2) + '\n')
    return
  }
  const m = res.machine
  const out = [
    `swarmgrid bench: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GiB, node ${m.node}, ${m.platform}; donor threads ${res.threads}`
  ]
  if (res.contention) {
    out.push(
      `other processes took ${(100 * res.contention.othersShare).toFixed(0)}% of the machine's CPU while figures 1-3 ran ` +
        `(1-min load average ${res.contention.loadAverageBefore.toFixed(2)} at the start)` +
        (res.contention.othersShare > 0.1 ? ': figures 1-3 are noisy, run again on a quiet machine' : '')
    )
  }
  out.push('')
  const rows = headline(res)
  if (rows.length > 1) out.push(table(rows, ['l', 'r', 'r', 'r', 'l', 'l']), '')
  if (res.cpu) {
    const c = res.cpu
    out.push(
      `1: best of ${c.rounds.grid.length} interleaved rounds (grid ${c.rounds.grid.map(ms).join(', ')}; Piscina ${c.rounds.piscina.map(ms).join(', ')}); ` +
        `the grid job is timed from submit to its merged result, ${int(c.count)} primes`
    )
  }
  if (res.dispatch) {
    const d = res.dispatch
    out.push(
      `2: best of ${d.rounds.grid.length} interleaved rounds (grid ${d.rounds.grid.map(int).join(', ')} units/s; ` +
        `Piscina ${d.rounds.piscina.map(int).join(', ')} tasks/s)`
    )
  }
  if (res.sizing) {
    const z = res.sizing
    out.push(
      `unit sizing: --unit-seconds ${z.unitSeconds} → ${int(z.units)} units, mean unit run time ${z.meanUnitMs.toFixed(0)} ms ` +
        `(target ${(z.unitSeconds * 1000).toFixed(0)} ms); sized from ${z.samples} sample pieces in ${ms(z.sizingMs)} ` +
        `(${z.fixedMs.toFixed(2)} ms of each unit's time does not shrink with it), job ${ms(z.jobMs)} from submit, ${int(z.count)} primes`
    )
  }
  if (res.join) {
    const j = res.join
    out.push(
      `3: runs ${j.runs.map(ms).join(', ')}; the coordinator had the connection after ${j.connected.map(ms).join(', ')}; ` +
        `Peer.start resolved after ${j.startResolved.map(ms).join(', ')}`
    )
  }
  if (res.js) {
    out.push(
      `6: best of ${res.js.rows[0]?.rounds.quickjs.length ?? 0} interleaved rounds, one thread; QuickJS through the js task's run ` +
        '(module evaluated, JSON in and out, caps on), V8 the same module imported; ratio = QuickJS / V8'
    )
  }
  if (res.cliJoin) {
    const j = res.cliJoin
    out.push(
      `3p: separate processes (swarmgrid bootstrap, start --no-donate with a job waiting, then start --threads 1 each run): ` +
        `spawn to the coordinator's first result ${j.runs.map(ms).join(', ')}; the donor printed ready after ${j.ready.map(ms).join(', ')}`
    )
  }
  if (res.cliCpu) {
    const c = res.cliCpu
    out.push(
      `1p: ${c.threads} donor threads, best of ${c.rounds.piscina.length} rounds (submit to done ${c.rounds.fromSubmit.map(ms).join(', ')}; ` +
        `donor spawn to done ${c.rounds.fromDonor.map(ms).join(', ')}; Piscina ${c.rounds.piscina.map(ms).join(', ')})`
    )
    if (c.rounds.phases?.length) {
      out.push(
        `1p: submit's start to the job stored, the job, the result written to exit: ` +
          c.rounds.phases.map((p) => `${ms(p.startMs)} + ${ms(p.jobMs)} + ${ms(p.endMs)}`).join('; ')
      )
    }
  }
  if (res.cliCpuSplit) {
    const c = res.cliCpuSplit
    out.push(
      `1p with ${c.donors} donors: submit to done ${c.rounds.fromSubmit.map(ms).join(', ')}; Piscina ${c.rounds.piscina.map(ms).join(', ')}`
    )
  }
  if (res.wasiGo && 'skipped' in res.wasiGo) out.push(`6 wasi go: skipped, ${res.wasiGo.skipped}`)
  if (res.programWire) out.push(...describeProgramWire(res.programWire))
  if (res.wasi && 'skipped' in res.wasi && res.wasi.skipped) out.push(`6 wasi: skipped, ${res.wasi.skipped}`)
  if (res.wasi && 'ratio' in res.wasi) {
    out.push(
      `6: best of ${res.wasi.rounds.grid.length} interleaved rounds (grid ${res.wasi.rounds.grid.map(ms).join(', ')}; ` +
        `Piscina ${res.wasi.rounds.piscina.map(ms).join(', ')}); the module's float stores are NaN-canonicalised on both sides`
    )
  }
  if (res.scale && only.has('scale')) {
    out.push(
      '',
      `4 coordinator scale: the pure JobMachine, ${int(res.scale.donors)} simulated donors asking for ${res.scale.slots} units each, ` +
        `at most ${res.scale.budgetMs / 1000} s per job`,
      scaleTable(res.scale)
    )
  }
  if (res.wire && only.has('wire')) {
    out.push(
      '',
      `5 bytes on the wire per unit: primes input ${res.wire.inputBytes} B, output ${res.wire.outputBytes} B, quorum 1; the table is a unit sent alone, one message per frame`,
      wireTable(res.wire)
    )
  }
  process.stdout.write(out.join('\n') + '\n')
}
