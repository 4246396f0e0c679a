/**
 * How a peer's log is written: every line with its time and level, as text for people or one
 * JSON object per line (--log-format json) for log shippers. The same entries go to a file in
 * the data dir (peer.log, JSON lines, rotated), which `swarmgrid logs` reads and follows.
 */
import { appendFileSync, existsSync, renameSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { LogEntry } from '../../base/log.js'

export const LOG_FORMATS = ['text', 'json'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** The kinds of entry that mean something went wrong somewhere on the grid. */
const WARN_KINDS = new Set(['failure', 'violation', 'ban', 'blacklist', 'disagreement', 'spot-check', 'refused', 'backtrack'])
const ERROR_KINDS = new Set(['error'])

/** Rotated to peer.log.1 past this size: a peer that runs for months keeps two files at most. */
const MAX_LOG_FILE_BYTES = 8 * 1024 * 1024

export interface LogLine {
  time: string
  level: LogLevel
  kind: string
  msg: string
  job?: string
  peer?: string
}

export function levelOf(entry: LogEntry & { level?: LogLevel }): LogLevel {
  if (entry.level) return entry.level
  return ERROR_KINDS.has(entry.kind) ? 'error' : WARN_KINDS.has(entry.kind) ? 'warn' : 'info'
}

export function toLogLine(entry: LogEntry & { level?: LogLevel }): LogLine {
  const line: LogLine = { time: new Date(entry.at).toISOString(), level: levelOf(entry), kind: entry.kind, msg: entry.text }
  if (entry.job) line.job = entry.job
  if (entry.peer) line.peer = entry.peer
  return line
}

export function formatLogLine(line: LogLine, format: LogFormat): string {
  if (format === 'json') return JSON.stringify(line)
  return `${line.time} ${line.level.toUpperCase().padEnd(5)} [${line.kind}] ${line.msg}`
}

export function logFilePath(dataDir: string): string {
  return join(dataDir, 'peer.log')
}

/** Writes a peer's entries to stderr in `format` and to its data dir's log file. */
export class PeerLogWriter {
  private readonly file: string

  constructor(
    dataDir: string,
    private readonly format: LogFormat
  ) {
    this.file = logFilePath(dataDir)
  }

  write(entry: LogEntry & { level?: LogLevel }): void {
    const line = toLogLine(entry)
    process.stderr.write(formatLogLine(line, this.format) + '\n')
    try {
      this.rotateIfFull()
      // Synchronous and small: the line is on disk even if the process is killed right after.
      appendFileSync(this.file, JSON.stringify(line) + '\n', { mode: 0o600 })
    } catch {
      // A full or read-only disk must not stop the peer; stderr still has the line.
    }
  }

  /** A line of the peer's own (stopping, errors), not from the coordinator or donor. */
  say(level: LogLevel, text: string): void {
    this.write({ at: Date.now(), kind: 'peer', text, level })
  }

  private rotateIfFull(): void {
    if (existsSync(this.file) && statSync(this.file).size > MAX_LOG_FILE_BYTES) renameSync(this.file, this.file + '.1')
  }
}

/** Parses the log file's lines back; a torn last line (a kill mid-write) is skipped. */
export function parseLogLines(text: string): LogLine[] {
  const lines: LogLine[] = []
  for (const raw of text.split('\n')) {
    if (!raw) continue
    try {
      lines.push(JSON.parse(raw) as LogLine)
    } catch {
      /* torn */
    }
  }
  return lines
}
