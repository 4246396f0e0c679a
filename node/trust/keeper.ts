import { FixedQuorum, quorumExplanation } from '../job/acceptance.js'
import type { Acceptance, Explanation } from '../job/types.js'
import { CredibilityAcceptance } from './credibility-acceptance.js'
import type { Decision, JobPolicy } from '../job/types.js'
import type { Store } from '../store/store.js'
import { TrustLedger } from './ledger.js'

export class TrustKeeper {
  readonly ledger: TrustLedger

  constructor(store: Store) {
    this.ledger = new TrustLedger({
      load: (key) => store.reputation(key),
      save: (record) => store.saveReputation({ ...record })
    })
  }

  acceptanceFor(policy: JobPolicy): Acceptance {
    return policy.trust ? new CredibilityAcceptance(policy.trust, this.ledger) : new FixedQuorum(policy.quorum)
  }

  /** Records what a job's decisions say of the peers; returns those blacklisted by them. */
  observe(job: string, decisions: readonly Decision[], hostOf: (key: string) => string): string[] {
    return this.ledger.observe(decisions, hostOf, job)
  }

  /** The explanation stored with an accepted output; under a fixed quorum the decision itself says it all. */
  explanation(policy: JobPolicy, d: Extract<Decision, { type: 'accept' }>, hostOf: (key: string) => string): Explanation {
    if (d.why) return d.why
    const standing = (peer: string) => ({ peer, host: hostOf(peer), credibility: null, checks: null })
    return quorumExplanation(policy.quorum, d.agreeing.map(standing), d.outvoted.map(standing))
  }
}
