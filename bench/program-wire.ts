/**
 * The program-wire figure (issue 12, item 3): a real 5 MiB WASI program, a C program whose
 * data segment holds 5 MiB of random bytes that it reads (test/support/wasi-programs.ts
 * buildPadded, built by clang), run over 200 units on a loopback grid of a coordinator and
 * two donors at quorum 2. What is counted is every byte the coordinator's connection to each
 * donor wrote, after encryption (secret-stream's raw bytes): the program, the assigns, the
 * verdicts, everything. The target is under 2 × the program per donor; before programs
 * travelled by hash, each unit carried the program, 200 × 5 MiB between two donors.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withoutDebugInfo } from '../worker/sandbox/wasi/code-transform.js'
import { buildPadded, clangMissing } from '../test/support/wasi-programs.js'
import { BenchGrid } from './grid.js'
import type { SharedSent } from '../node/coordinator/shared-sender.js'

const PAD_BYTES = 5 * 1024 * 1024
const UNITS = 200
const DONORS = 2

export interface ProgramWireFigure {
  /** The program as units name it (its DWARF, if any, dropped): what a donor must receive. */
  programBytes: number
  units: number
  donors: number
  /** Per donor: bytes the coordinator's connection wrote to it during the job, and how many times it sent the program. */
  perDonor: Array<{ bytes: number; programSends: number; unitsRun: number }>
  /** The worst donor's bytes over the program's size; the target is under 2. */
  ratio: number
  /** A second job of the same program: bytes to each donor, which already holds it. */
  secondJobPerDonor: number[]
  ms: number
}

function writtenTo(grid: BenchGrid): Map<string, number> {
  const out = new Map<string, number>()
  for (const conn of grid.coordinator.parts.swarm.connections as Set<any>) {
    out.set(conn.remotePublicKey.toString('hex'), conn.rawBytesWritten ?? 0)
  }
  return out
}

export async function programWireFigure(say: (text: string) => void): Promise<ProgramWireFigure | { skipped: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'swarmgrid-bench-program-wire-'))
  let grid: BenchGrid | null = null
  try {
    const missing = clangMissing(dir)
    if (missing) return { skipped: missing }
    const program = buildPadded(dir, 'pad5m', PAD_BYTES)
    const programBytes = withoutDebugInfo(program).byteLength
    grid = await BenchGrid.start()
    const donors = []
    for (let i = 0; i < DONORS; i++) donors.push(await grid.addPeer({ threads: 1, coordinate: false }))
    const coordinator = grid.coordinator
    const sent: SharedSent[] = []
    coordinator.parts.coordinator.on('shared-sent', (s: SharedSent) => sent.push(s))
    const deadline = Date.now() + 20_000
    while (coordinator.parts.coordinator.donorCount() < DONORS) {
      if (Date.now() > deadline) throw new Error('program-wire: the donors did not connect')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const spec = {
      task: 'wasi',
      quorum: 2,
      params: {
        program: { base64: Buffer.from(program).toString('base64') },
        runs: Array.from({ length: UNITS }, (_, i) => ({ args: [String(i)] }))
      }
    }
    say(`program-wire: a ${(programBytes / 2 ** 20).toFixed(1)} MiB WASI program over ${UNITS} units, ${DONORS} donors, quorum 2`)
    const before = writtenTo(grid)
    const run = await grid.runJob(spec)
    const after = writtenTo(grid)
    const perDonor = donors.map((d) => ({
      bytes: (after.get(d.key) ?? 0) - (before.get(d.key) ?? 0),
      programSends: sent.filter((s) => s.peer === d.key).length,
      unitsRun: d.parts.donor!.snapshot().unitsRun
    }))
    say('program-wire: the same program again, to donors that hold it')
    await grid.runJob(spec)
    const again = writtenTo(grid)
    return {
      programBytes,
      units: UNITS,
      donors: DONORS,
      perDonor,
      ratio: Math.max(...perDonor.map((d) => d.bytes)) / programBytes,
      secondJobPerDonor: donors.map((d) => (again.get(d.key) ?? 0) - (after.get(d.key) ?? 0)),
      ms: run.ms
    }
  } finally {
    await grid?.destroy()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The figure's lines in the bench's table. */
export function describeProgramWire(fig: ProgramWireFigure | { skipped: string }): string[] {
  if ('skipped' in fig) return [`program-wire: skipped, ${fig.skipped}`]
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`
  return [
    `program-wire: a ${mib(fig.programBytes)} program over ${fig.units} units (quorum 2, ${fig.donors} donors): ` +
      fig.perDonor.map((d) => `${mib(d.bytes)} to a donor (${d.unitsRun} units, program sent ${d.programSends}×)`).join(', ') +
      `; worst ${fig.ratio.toFixed(2)} × the program (target < 2)` +
      `; a second job of it: ${fig.secondJobPerDonor.map(mib).join(', ')} per donor`
  ]
}
