/** One line of a peer's log, as the coordinator, the donor and the peer write it and the CLI, API and dashboard show it. */
export interface LogEntry { at: number; kind: string; text: string; job?: string; peer?: string }
