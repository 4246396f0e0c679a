/** The simulator's table: one line per threat, error and cost per policy, Sarmenta's closed form beside the voting columns. */
import { majorityError, majorityNeeded } from '../node/trust/credibility.js'
import type { Outcome } from './scenario.js'

export interface Threat {
  f: number
  s: number
  colluding: boolean
}

export interface Row {
  threat: Threat
  quorum2: Outcome
  majority: Outcome
  adaptive: Outcome
  credibility: Outcome
}

export const error = (o: Outcome): number => o.wrong / Math.max(1, o.units)
export const cost = (o: Outcome): number => o.results / Math.max(1, o.units)

function sci(x: number): string {
  if (x === 0) return '0'
  if (x >= 0.01) return x.toFixed(3)
  return x.toExponential(1)
}

const pad = (text: string, width: number) => text.padStart(width)

export interface TableOptions {
  majorityM: number
  target: number
  peers: number
}

export function formatTable(rows: Row[], { majorityM, target, peers }: TableOptions): string {
  const lines: string[] = []
  const head1 = `${pad('f', 5)} ${pad('s', 4)} ${pad('collude', 7)} │ ${'quorum 2'.padEnd(23)}│ ${`majority M=${majorityM}`.padEnd(23)}│ ${`M for ${target.toExponential(0)}`.padEnd(11)}│ ${'BOINC adaptive'.padEnd(15)}│ credibility (ours)`
  const head2 = `${pad('', 5)} ${pad('', 4)} ${pad('', 7)} │ ${pad('error', 7)} ${pad('ε(2,φ)', 7)} ${pad('cost', 6)} │ ${pad('error', 7)} ${pad(`ε(${majorityM},φ)`, 7)} ${pad('cost', 6)} │ ${pad('M', 3)} ${pad('cost', 6)} │ ${pad('error', 7)} ${pad('cost', 6)} │ ${pad('error', 7)} ${pad('cost', 6)}  ${pad('blacklisted', 11)}`
  lines.push(head1, head2, '─'.repeat(head2.length + 2))
  for (const row of rows) {
    const { f, s, colluding } = row.threat
    const phi = f * s
    const needed = majorityNeeded(target, phi)
    const neededCost = needed === null ? '?' : (needed / (1 - phi)).toFixed(2)
    const black =
      `${row.credibility.saboteursBlacklisted}/${Math.round(f * peers)}` +
      (row.credibility.honestBlacklisted ? ` +${row.credibility.honestBlacklisted} honest` : '')
    lines.push(
      [
        `${pad(f.toFixed(2), 5)} ${pad(f === 0 ? '-' : String(s), 4)} ${pad(f === 0 ? '-' : colluding ? 'yes' : 'no', 7)}`,
        `${pad(sci(error(row.quorum2)), 7)} ${pad(sci(majorityError(2, phi)), 7)} ${pad(cost(row.quorum2).toFixed(2), 6)}`,
        `${pad(sci(error(row.majority)), 7)} ${pad(sci(majorityError(majorityM, phi)), 7)} ${pad(cost(row.majority).toFixed(2), 6)}`,
        `${pad(String(needed ?? '?'), 3)} ${pad(neededCost, 6)}`,
        `${pad(sci(error(row.adaptive)), 7)} ${pad(cost(row.adaptive).toFixed(2), 6)}`,
        `${pad(sci(error(row.credibility)), 7)} ${pad(cost(row.credibility).toFixed(3), 6)}  ${pad(black, 11)}`
      ].join(' │ ')
    )
  }
  return lines.join('\n')
}
