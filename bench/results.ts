/** What one run of the bench measured, as run.ts gathers it and report.ts prints it. */
import type { Traffic } from './grid.js'
import type { WireFigure } from './wire-bytes.js'
import type { SizingFigure } from './unit-sizing.js'
import type { ScaleRow } from './machine-scale.js'
import type { JsFigure } from './js-sandbox.js'
import type { WasiFigure } from './wasi.js'
import type { CliCpuFigure, CliJoinFigure } from './cli-path.js'
import type { ProgramWireFigure } from './program-wire.js'
import type { WasiGoFigure } from './wasi-go.js'

export interface Machine {
  cpu: string
  cores: number
  memoryGb: number
  node: string
  platform: string
}

export interface Results {
  machine: Machine
  threads: number
  /** Others' use of this machine while figures 1-3 ran: a busy neighbour slows both sides of a ratio, unevenly. */
  contention?: { othersShare: number; loadAverageBefore: number }
  cpu?: {
    units: number
    unitMs: number
    gridMs: number
    piscinaMs: number
    ratio: number
    count: number
    traffic: Traffic
    rounds: { grid: number[]; piscina: number[] }
  }
  dispatch?: {
    units: number
    gridPerSec: number
    piscinaTasks: number
    piscinaPerSec: number
    ratio: number
    traffic: Traffic
    rounds: { grid: number[]; piscina: number[] }
  }
  sizing?: SizingFigure
  join?: {
    runs: number[]
    startResolved: number[]
    connected: number[]
    medianMs: number
    piscinaRuns: number[]
    piscinaMedianMs: number
    ratio: number
  }
  scale?: { donors: number; slots: number; budgetMs: number; gc: boolean; rows: ScaleRow[] }
  wire?: WireFigure & { measured: { cpu?: Traffic; dispatch?: Traffic } }
  js?: JsFigure
  wasi?: WasiFigure | { skipped: string }
  cliJoin?: CliJoinFigure
  cliCpu?: CliCpuFigure
  /** The same job with the threads split between two donor processes. */
  cliCpuSplit?: CliCpuFigure
  programWire?: ProgramWireFigure | { skipped: string }
  wasiGo?: WasiGoFigure | { skipped: string }
}
