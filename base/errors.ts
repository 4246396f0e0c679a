/**
 * The one error model, after hyperdht's: every error swarmgrid raises on purpose is a
 * SwarmgridError with a `code`, and says whether the person who asked is at fault (a bad flag,
 * parameter or request) or not (the grid, the machine, a bug). The CLI's exit status and the
 * control API's HTTP status both come from the code (`exitStatusOf`, `httpStatusOf`), so no
 * caller keeps a list of error classes. This folder is the bottom layer: it imports nothing.
 */

/** Every code, with whether it is the asker's fault and the HTTP status it answers with. */
export const ERROR_CODES = {
  USAGE: { userFault: true, http: 400 },
  BAD_PARAM: { userFault: true, http: 400 },
  UNKNOWN_TASK: { userFault: true, http: 400 },
  BAD_REQUEST: { userFault: true, http: 400 },
  UNIT_RANGE: { userFault: true, http: 400 },
  BAD_POLICY: { userFault: true, http: 400 },
  BAD_SCHEDULE: { userFault: true, http: 400 },
  WASM_REJECTED: { userFault: true, http: 400 },
  CPU_LIMIT_UNSUPPORTED: { userFault: true, http: 400 },
  MEMORY_TOO_SMALL: { userFault: true, http: 400 },
  BAD_SECRET: { userFault: false, http: 500 },
  DATA_DIR_LOCKED: { userFault: false, http: 409 },
  FORBIDDEN: { userFault: true, http: 403 },
  UNIT_DECLINED: { userFault: false, http: 409 },
  UNAUTHORIZED: { userFault: true, http: 401 },
  NOT_FOUND: { userFault: true, http: 404 },
  CONFLICT: { userFault: true, http: 409 },
  TOO_LARGE: { userFault: true, http: 413 },
  MALFORMED_MESSAGE: { userFault: false, http: 502 },
  PROTOCOL_VIOLATION: { userFault: false, http: 502 },
  VALUE_LIMIT: { userFault: false, http: 502 },
  MALFORMED_VALUE: { userFault: false, http: 502 },
  OVERSIZED_FRAME: { userFault: false, http: 502 },
  NO_TOKEN: { userFault: false, http: 500 },
  STORE_WRITE_FAILED: { userFault: false, http: 507 },
  SHARED_BYTES_UNAVAILABLE: { userFault: false, http: 502 }
} as const satisfies Record<string, { userFault: boolean; http: number }>

export type ErrorCode = keyof typeof ERROR_CODES

export class SwarmgridError extends Error {
  override name = 'SwarmgridError'
  readonly userFault: boolean
  constructor(
    readonly code: ErrorCode,
    message: string
  ) {
    super(message)
    this.userFault = ERROR_CODES[code].userFault
  }
}

export function isSwarmgridError(err: unknown, code?: ErrorCode): err is SwarmgridError {
  return err instanceof SwarmgridError && (code === undefined || err.code === code)
}

/** Exit status for a command that ended in this error: 2 when the asker must change what they asked, else 1. */
export function exitStatusOf(err: unknown): 1 | 2 {
  return err instanceof SwarmgridError && err.userFault ? 2 : 1
}

/** HTTP status for a request that ended in this error; anything unplanned is a 500. */
export function httpStatusOf(err: unknown): number {
  return err instanceof SwarmgridError ? ERROR_CODES[err.code].http : 500
}

export const badRequest = (message: string) => new SwarmgridError('BAD_REQUEST', message)
export const notFound = (message: string) => new SwarmgridError('NOT_FOUND', message)
export const conflict = (message: string) => new SwarmgridError('CONFLICT', message)
export const forbidden = (message: string) => new SwarmgridError('FORBIDDEN', message)
export const unauthorized = (message: string) => new SwarmgridError('UNAUTHORIZED', message)
export const tooLarge = (message: string) => new SwarmgridError('TOO_LARGE', message)
