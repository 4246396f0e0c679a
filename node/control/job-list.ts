/**
 * The job list (GET /api/jobs, the live feed's snapshot) without decoding every stored result
 * at every call: a finished job's result never changes, so its slim view (byte arrays and long
 * arrays replaced by their sizes, as the feed sends them) is made once and kept. The whole
 * result is at GET /api/jobs/:id.
 */
import type { JobRecord } from '../store/records.js'
import type { JobView } from '../coordinator/job-view.js'
import { slim } from './live-feed.js'

const MAX_KEPT = 1000

export class FinishedJobViews {
  private readonly views = new Map<string, JobView>()

  /** The slim view of a finished job, built by `build` the first time only. */
  get(record: JobRecord, build: () => JobView): JobView {
    const key = `${record.id}:${record.state}:${record.finishedAt}`
    let view = this.views.get(key)
    if (!view) {
      view = slim(build()) as JobView
      this.views.set(key, view)
      if (this.views.size > MAX_KEPT) this.views.delete(this.views.keys().next().value!)
    }
    return view
  }
}
