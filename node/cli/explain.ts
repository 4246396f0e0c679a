/** `swarmgrid status JOB --unit N`: why a unit was accepted, or where it stands. */
import { resolve } from 'node:path'
import { UsageError, integerFlag } from './args.js'
import { printJson } from './output.js'
import { ControlClient } from '../control/client.js'
import { defaultDataDir } from '../store/data-dir.js'
import type { Store } from '../store/store.js'
import { unitReport } from '../coordinator/unit-explain.js'
import type { UnitReport } from '../job/types.js'

export async function explainUnit(store: Store, values: Record<string, any>, id: string): Promise<number> {
  const unit = integerFlag('status', values, 'unit', 0)!
  const record = store.findJob(id)
  if (!record) throw new UsageError('status', `no job "${id}" in this data dir (swarmgrid status lists them)`)
  // The running peer knows where an open unit stands; the store knows only accepted ones.
  const client = record.state === 'running' ? ControlClient.forDataDir(resolve(values.data ?? defaultDataDir())) : null
  let report: UnitReport | undefined
  try {
    report = client ? await client.get<UnitReport>(`/api/jobs/${record.id}/units/${unit}`) : undefined
  } catch {
    /* the peer stopped: fall back on the store */
  }
  try {
    report ??= unitReport(store, null, record.id, unit)!
  } catch (err) {
    throw new UsageError('status', (err as Error).message)
  }
  if (values.json) {
    printJson(report)
    return 0
  }
  console.log(`job ${report.job} unit ${report.unit}: ${report.state}`)
  console.log(report.reason)
  return 0
}
