/** One line of a peer's log, as the coordinator, the donor and the peer write it and the CLI, API and dashboard show it. */
export interface LogEntry {
  at: number
  kind: string
  text: string
  job?: string
  peer?: string
}

/** A peer's key or a job's id as log lines and tables show it: its first 8 hex digits. */
export function short(key: string): string {
  return key.slice(0, 8)
}
