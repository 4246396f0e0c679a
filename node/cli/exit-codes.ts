/**
 * The exit codes scripts can rely on. 0: it worked. 1: the job or run failed (or the peer
 * said no). 2: the command was wrong (a flag, an argument, a task, a parameter, a config key).
 * 130: interrupted by SIGINT before the command's work was done, as shells report 128+2.
 */
import { exitStatusOf } from '../../base/errors.js'

export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_USAGE = 2
export const EXIT_INTERRUPTED = 130

export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    the job or run failed, or the peer refused
  2    usage: a bad flag, argument, task, parameter or config value
  130  interrupted by Ctrl-C (SIGINT) before the work was done (start, bootstrap and
       logs --follow run until a signal: they stop cleanly and exit 0)`

/** A command that a signal stopped short; the message says what became of its work. */
export class InterruptedError extends Error {
  override name = 'InterruptedError'
  constructor(
    readonly signal: string,
    message: string
  ) {
    super(message)
  }
}

/** 130 for a SIGINT, else what the error's code says (base/errors.ts): 2 when the asker is at fault, else 1. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof InterruptedError) return err.signal === 'SIGINT' ? EXIT_INTERRUPTED : EXIT_FAILED
  return exitStatusOf(err)
}
