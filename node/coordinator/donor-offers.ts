/**
 * The donors a coordinator serves: one link per donor key, and the slots each has offered and
 * not yet been leased. A donor's newer connection replaces its older one.
 */
import type { DonorLink } from '../protocol/links.js'
import type { WantMessage } from '../protocol/wire.js'
import type { JobRecord } from '../store/records.js'

export interface Offer { link: DonorLink; credit: number }

export type OfferChange = 'same link' | 'new donor' | 'new link'

export class DonorOffers {
  private readonly offers = new Map<string, Offer>()

  /** Takes a donor's request for more units; says whether it came on a link not seen before. */
  want(link: DonorLink, msg: WantMessage): { offer: Offer; change: OfferChange } {
    let offer = this.offers.get(link.key)
    let change: OfferChange = 'same link'
    if (offer?.link !== link) {
      change = offer ? 'new link' : 'new donor'
      offer = { link, credit: 0 }
      this.offers.set(link.key, offer)
    }
    // No slots: the donor withdraws its standing offer (it paused).
    offer.credit = msg.slots === 0 ? 0 : offer.credit + msg.slots
    return { offer, change }
  }

  /** The link closed; false when the donor had moved to a newer one already. */
  remove(link: DonorLink): boolean {
    if (this.offers.get(link.key)?.link !== link) return false
    this.offers.delete(link.key)
    return true
  }

  linkOf(key: string): DonorLink | undefined { return this.offers.get(key)?.link }

  all(): IterableIterator<Offer> { return this.offers.values() }

  get size(): number { return this.offers.size }
}

/** Whether a donor said it has the job's task kind installed, at the job's version. */
export function runsTask(link: DonorLink, record: Pick<JobRecord, 'task' | 'taskVersion'>): boolean {
  return !!link.hello?.tasks.some((t) => t.name === record.task && t.version === record.taskVersion)
}

export function threads(link: DonorLink): string {
  const n = link.hello?.threads ?? 0
  return `${n} thread${n === 1 ? '' : 's'}`
}
