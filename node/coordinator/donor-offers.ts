/**
 * The donors a coordinator serves: one link per donor key, the slots each has offered and not
 * yet been leased, and how many units each may hold at once. A donor's newer connection
 * replaces its older one.
 *
 * What a donor may hold is bounded by the threads it declared, as BOINC bounds the jobs in
 * progress per host: a newcomer gets a unit running and one waiting per thread, and one more
 * per thread for each result per thread that comes back, up to what an honest donor of the
 * shortest units holds. A lease it let expire in silence takes that growth back, so a donor
 * cannot hoard a job's units.
 */
import type { DonorLink } from '../protocol/links.js'
import { LIMITS, type WantMessage } from '../protocol/wire.js'
import type { JobRecord } from '../store/records.js'

export interface Offer {
  link: DonorLink
  credit: number
}

export type OfferChange = 'same link' | 'new link' | 'new donor'

/** What one donor has shown this coordinator, across its connections. */
interface Record {
  returned: number
  missed: number
}

/** Donors remembered; the least recently heard of go first. */
const RECORDS_KEPT = 4096

export class DonorOffers {
  private readonly offers = new Map<string, Offer>()
  private readonly records = new Map<string, Record>()

  /** Takes a donor's request for more units; says whether it came on a link not seen before. */
  want(link: DonorLink, msg: WantMessage): { offer: Offer; change: OfferChange } {
    let offer = this.offers.get(link.key)
    let change: OfferChange = 'same link'
    if (offer?.link !== link) {
      change = offer ? 'new link' : 'new donor'
      offer = { link, credit: 0 }
      this.offers.set(link.key, offer)
    }
    // No slots: the donor withdraws its standing offer (it paused). An offer stands up to the
    // most any donor of its threads holds; what it may hold now (holdLimit) decides how much of it is filled.
    offer.credit = msg.slots === 0 ? 0 : Math.min(offer.credit + msg.slots, threadsOf(link) * LIMITS.heldPerThread)
    return { offer, change }
  }

  /** Units this donor may hold now, its open leases included. */
  holdLimit(link: DonorLink): number {
    const threads = threadsOf(link)
    const { returned, missed } = this.records.get(link.key) ?? { returned: 0, missed: 0 }
    // Per thread, each round of results may double what it holds, as TCP's slow start does.
    const earned = Math.max(0, Math.floor(returned / threads) - missed * LIMITS.heldPerThread)
    return threads * Math.min(LIMITS.heldPerThread, LIMITS.heldPerThreadAtFirst + earned)
  }

  /** A result came back from this donor under a lease it held. */
  returned(key: string): void {
    this.record(key).returned++
  }

  /** A lease of this donor's expired without a word from it. */
  missed(key: string): void {
    this.record(key).missed++
  }

  /** The link closed; false when the donor had moved to a newer one already. */
  remove(link: DonorLink): boolean {
    if (this.offers.get(link.key)?.link !== link) return false
    this.offers.delete(link.key)
    return true
  }

  offerOf(link: DonorLink): Offer | undefined {
    const offer = this.offers.get(link.key)
    return offer?.link === link ? offer : undefined
  }

  linkOf(key: string): DonorLink | undefined {
    return this.offers.get(key)?.link
  }

  all(): IterableIterator<Offer> {
    return this.offers.values()
  }

  get size(): number {
    return this.offers.size
  }

  private record(key: string): Record {
    const record = this.records.get(key) ?? { returned: 0, missed: 0 }
    this.records.delete(key)
    this.records.set(key, record)
    if (this.records.size > RECORDS_KEPT) this.records.delete(this.records.keys().next().value!)
    return record
  }
}

function threadsOf(link: DonorLink): number {
  return Math.max(1, Math.min(link.hello?.threads ?? 1, LIMITS.threads))
}

/** Whether a donor said it has the job's task kind installed, at the job's version. */
export function runsTask(link: DonorLink, record: Pick<JobRecord, 'task' | 'taskVersion'>): boolean {
  return !!link.hello?.tasks.some((t) => t.name === record.task && t.version === record.taskVersion)
}

export function threads(link: DonorLink): string {
  const n = link.hello?.threads ?? 0
  return `${n} thread${n === 1 ? '' : 's'}`
}
