/**
 * What the coordinator and the donor see of each other. A WireChannel is both, over the
 * network; a LocalLink pair joins the coordinator and donor of one peer without a socket.
 */
import type * as wire from './wire.js'

/** The coordinator's side of a donor. */
export interface DonorLink {
  readonly key: string
  readonly host: string
  readonly hello: wire.HelloMessage | null
  sendAssign(msg: wire.AssignMessage): void
  sendCancel(msg: wire.CancelMessage): void
  sendVerdict(msg: wire.VerdictMessage): void
  sendPiece(msg: wire.PieceMessage): void
  /** Resolves true once all sent so far has reached the donor's side, false if the connection ended first. */
  delivered?(): Promise<boolean>
}

/** The donor's side of a coordinator. */
export interface CoordinatorLink {
  readonly key: string
  readonly host: string
  sendWant(msg: wire.WantMessage): void
  sendProgress(msg: wire.ProgressMessage): void
  sendResult(msg: wire.ResultMessage): void
  sendFailure(msg: wire.FailureMessage): void
  sendFetch(msg: wire.FetchMessage): void
  /** Resolves true once all sent so far has reached the coordinator's side, false if the connection ended first. */
  delivered?(): Promise<boolean>
}

export interface CoordinatorSide {
  want(link: DonorLink, msg: wire.WantMessage): void
  progress(link: DonorLink, msg: wire.ProgressMessage): void
  result(link: DonorLink, msg: wire.ResultMessage): void
  failure(link: DonorLink, msg: wire.FailureMessage): void
  fetch(link: DonorLink, msg: wire.FetchMessage): void
}

export interface DonorSide {
  assign(link: CoordinatorLink, msg: wire.AssignMessage): void
  cancel(link: CoordinatorLink, msg: wire.CancelMessage): void
  verdict(link: CoordinatorLink, msg: wire.VerdictMessage): void
  piece(link: CoordinatorLink, msg: wire.PieceMessage): void
}

/**
 * Joins a peer's own donor to its own coordinator. Messages are delivered on a later tick,
 * as over the network, so neither side re-enters the other while it is deciding.
 */
export function localLinks(
  key: string,
  hello: wire.HelloMessage,
  coordinator: CoordinatorSide,
  donor: DonorSide
): { toDonor: DonorLink; toCoordinator: CoordinatorLink } {
  const later = (fn: () => void) => queueMicrotask(fn)
  const toDonor: DonorLink = {
    key,
    host: 'local',
    hello,
    sendAssign: (msg) => later(() => donor.assign(toCoordinator, msg)),
    sendCancel: (msg) => later(() => donor.cancel(toCoordinator, msg)),
    sendVerdict: (msg) => later(() => donor.verdict(toCoordinator, msg)),
    sendPiece: (msg) => later(() => donor.piece(toCoordinator, msg))
  }
  const toCoordinator: CoordinatorLink = {
    key,
    host: 'local',
    sendWant: (msg) => later(() => coordinator.want(toDonor, msg)),
    sendProgress: (msg) => later(() => coordinator.progress(toDonor, msg)),
    sendResult: (msg) => later(() => coordinator.result(toDonor, msg)),
    sendFailure: (msg) => later(() => coordinator.failure(toDonor, msg)),
    sendFetch: (msg) => later(() => coordinator.fetch(toDonor, msg))
  }
  return { toDonor, toCoordinator }
}
