/** A one-line progress bar for a terminal, redrawn in place, with counts and an ETA. */
import type { JobView } from '../coordinator/job-view.js'

const WIDTH = 30

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?'
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`
}

export function progressLine(view: JobView, now = Date.now()): string {
  const fraction = Math.max(0, Math.min(1, view.progress))
  const filled = Math.round(fraction * WIDTH)
  const bar = '█'.repeat(filled) + '░'.repeat(WIDTH - filled)
  const elapsed = now - view.createdAt
  const eta = fraction > 0.01 && fraction < 1 ? ` ETA ${formatDuration((elapsed * (1 - fraction)) / fraction)}` : ''
  return (
    `${view.task.padEnd(10)} ${bar} ${String(Math.round(fraction * 100)).padStart(3)}%  ` +
    `${view.accepted}/${view.units} units  ${view.results} results  ${formatDuration(elapsed)}${eta}`
  )
}

export class ProgressBar {
  private lines = 0

  constructor(private readonly stream: NodeJS.WriteStream) {}

  /** Redraws the bars of these jobs, one line each, over the previous drawing. */
  draw(views: JobView[]): void {
    const up = this.lines > 0 ? `\x1b[${this.lines}F` : ''
    this.stream.write(up + views.map((v) => `\x1b[2K${progressLine(v)}\n`).join(''))
    this.lines = views.length
  }
}
