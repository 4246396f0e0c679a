/**
 * A well-formed message that breaks the protocol's rules: a result for a lease its sender does
 * not hold, units beyond what was offered. Thrown inside a channel's message handler, it ends
 * that one connection and counts as a strike against the peer (peer/ban-list.ts).
 */
import { SwarmgridError } from '../../base/errors.js'

export class ProtocolViolation extends SwarmgridError {
  override name = 'ProtocolViolation'
}

export function protocolViolation(reason: string): ProtocolViolation {
  return new ProtocolViolation('PROTOCOL_VIOLATION', `protocol violation: ${reason}`)
}
