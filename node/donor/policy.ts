/**
 * Who may run what on a donor's machine. Every job must be signed, by default by the
 * coordinator that hands it out; the owner may name the keys it trusts instead (--trust KEY)
 * and narrow it to some task kinds (--allow-tasks). Code never
 * arrives over the wire as JavaScript: a donor runs only the task modules installed on it, and
 * the `wasm` kind, whose modules run sandboxed (worker/wasm-sandbox.ts).
 */
import { SwarmgridError } from '../../base/errors.js'
import { parseKey, verifyAssign } from '../protocol/signing.js'
import type { AssignMessage } from '../protocol/wire.js'

export interface DonorPolicyOptions {
  /** Submitter keys (hex) whose jobs run here; empty or absent: jobs signed by the coordinator that hands them out. */
  trust?: string[]
  /** Task kinds that run here; absent: every installed kind. */
  allowTasks?: string[]
  /** This peer's own key: its own jobs are always trusted. */
  self?: string
}

export class PolicyError extends SwarmgridError {
  override name = 'PolicyError'
  constructor(message: string) {
    super('BAD_POLICY', message)
  }
}

export function badTrustedKey(text: string): PolicyError {
  return new PolicyError(`--trust takes a peer's key, 64 hex digits (the "key" line that swarmgrid start prints), not "${text}"`)
}

export class DonorPolicy {
  private readonly trusted: Set<string> | null
  private readonly allowed: Set<string> | null

  private readonly self: string | undefined

  constructor(options: DonorPolicyOptions = {}) {
    this.self = options.self
    const keys = (options.trust ?? []).map(
      (text) =>
        parseKey(text) ??
        (() => {
          throw badTrustedKey(text)
        })()
    )
    this.trusted = keys.length > 0 ? new Set([...keys, ...(options.self ? [options.self] : [])]) : null
    this.allowed = options.allowTasks && options.allowTasks.length > 0 ? new Set(options.allowTasks) : null
  }

  allowsTask(name: string): boolean {
    return this.allowed === null || this.allowed.has(name)
  }

  /**
   * Null when the unit may run here, else the reason it may not, as the submitter will read it.
   * `coordinator`: the key of the connection the batch came on. Without --trust, only batches
   * that coordinator signed itself run here (a batch signed by anyone else could be one seen
   * elsewhere and replayed); with --trust, only batches signed by a trusted key (or this peer).
   */
  refusal(msg: AssignMessage, coordinator: string, now: number = Date.now()): string | null {
    if (!this.allowsTask(msg.task)) return `this donor runs only ${[...this.allowed!].join(', ')} (--allow-tasks), not ${msg.task}`
    const verdict = verifyAssign(msg, coordinator, now)
    if (!verdict.ok) return `${verdict.reason}; this donor runs signed jobs only`
    if (this.trusted && !this.trusted.has(verdict.signer)) {
      return `the job is signed by ${verdict.signer.slice(0, 8)}, a key this donor does not trust (--trust)`
    }
    if (!this.trusted && verdict.signer !== coordinator && verdict.signer !== this.self) {
      return `the job is signed by ${verdict.signer.slice(0, 8)}, not by its coordinator ${coordinator.slice(0, 8)}; list the signer with --trust to run it`
    }
    return null
  }

  describe(): string {
    const who = this.trusted
      ? `jobs signed by ${this.trusted.size} trusted key${this.trusted.size === 1 ? '' : 's'}`
      : 'jobs their coordinator signed'
    const what = this.allowed ? `, task kinds ${[...this.allowed].join(', ')} only` : ''
    return `runs ${who}${what}`
  }
}
