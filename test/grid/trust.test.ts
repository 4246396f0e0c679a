/**
 * Credibility-based acceptance on a live loopback grid: honest donors and colluding liars that
 * all return the same wrong answer. The answer must be exact and the liars must end blacklisted.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import { rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { runCli, startTestGrid, tempDir, until, within } from '../support/helpers.js'
import { ControlClient } from '../../node/control/client.js'
import { Coordinator } from '../../node/coordinator/coordinator.js'
import type { DonorLink } from '../../node/protocol/links.js'
import { Store } from '../../node/store/store.js'
import { checksPassed } from '../../node/trust/ledger.js'
import { unitReport } from '../../node/coordinator/unit-explain.js'
import type { UnitReport } from '../../node/job/types.js'
import * as wire from '../../node/protocol/wire.js'
import { TaskRegistry } from '../../tasks/registry.js'
import { decodeValue, encodeValue } from '../../tasks/values.js'

const PRIMES_BELOW_3M = 216816
const colluder = fileURLToPath(new URL('../../../test/fixtures/colluder', import.meta.url))
const HONEST = 5
const LIARS = 2

test('colluding liars among honest donors: the answer is exact and the liars end blacklisted', async () => {
  const grid = await startTestGrid()
  try {
    // Every peer here is on 127.0.0.1, so two keys on one host must count as two replicas: said
    // explicitly, as a real grid never would (the default there is one replica per host).
    const coordinator = await grid.add({ donate: false, sameHostReplicas: true })
    const honest = []
    for (let i = 0; i < HONEST; i++) honest.push(await grid.add({ coordinate: false }))
    const liars = []
    for (let i = 0; i < LIARS; i++) liars.push(await grid.add({ coordinate: false, tasksDir: colluder }))
    await until(() => coordinator.parts.coordinator.donorCount() === HONEST + LIARS, 20_000, 'donors to connect')
    // Every donor first runs a unit of a fixed-quorum job (which earns no credibility checks), so
    // its thread is up and its task modules loaded: the job below lasts two or three seconds, and
    // a liar whose thread started slowly could otherwise have no result in before it ends.
    const warmUp = await coordinator.submit({ task: 'pi', params: { samples: 70_000 }, units: 1, quorum: HONEST + LIARS })
    await within(coordinator.wait(warmUp.id), 20_000, 'the warm-up job')

    const job = await coordinator.submit({ task: 'primes', params: { to: 3_000_000 }, units: 60, errorRate: 1e-3, saboteurs: 0.2 })
    assert.equal(job.acceptance, { rule: 'credibility', errorRate: 1e-3, saboteurs: 0.2, spotCheckRate: 0.02 })
    const done = await within(coordinator.wait(job.id), 25_000, 'the job to end')

    assert.is(done.state, 'done', done.error ?? '')
    assert.equal(done.result, { count: PRIMES_BELOW_3M })
    for (const liar of liars) {
      const record = coordinator.parts.store.reputation(liar.key)
      assert.ok(
        record?.blacklisted,
        `liar ${liar.key.slice(0, 8)} is blacklisted: ${JSON.stringify(record)}\n` +
          coordinator.log
            .filter((e) => e.peer === liar.key || e.text.includes(liar.key.slice(0, 8)))
            .map((e) => `${e.kind}: ${e.text}`)
            .join('\n')
      )
      assert.is(checksPassed(record), 0, 'a liar never passes a check')
    }
    for (const peer of honest) assert.not.ok(coordinator.parts.store.reputation(peer.key)?.blacklisted, 'no honest donor is blacklisted')
    const shown = coordinator
      .peers()
      .filter((p) => p.blacklisted)
      .map((p) => p.key)
      .sort()
    assert.equal(shown, liars.map((l) => l.key).sort(), 'the peer list shows exactly the liars as blacklisted')

    // Every unit says why it was accepted: honest peers only, and credible enough.
    const reports: UnitReport[] = []
    for (let unit = 0; unit < done.units; unit++)
      reports.push(unitReport(coordinator.parts.store, coordinator.parts.coordinator, job.id, unit)!)
    const liarKeys = new Set(liars.map((l) => l.key))
    for (const report of reports) {
      assert.is(report.state, 'accepted')
      assert.is(report.why?.rule, 'credibility')
      assert.ok(report.why!.credibility! >= 1 - 1e-3, report.reason)
      assert.ok(
        report.why!.agreeing.every((p) => !liarKeys.has(p.peer)),
        `unit ${report.unit} was accepted on a liar's word`
      )
    }
    const lone = reports.filter((r) => r.why!.agreeing.length === 1).length
    console.log(
      `  ${HONEST} honest donors, ${LIARS} colluding liars, ${done.units} units: ${done.results} results, ` +
        `cost ${(done.results / done.units).toFixed(2)} results per accepted unit (quorum 2 pays at least 2; ` +
        `here every peer is a newcomer, so units need 2 to 5 agreeing results); ${lone} units accepted on one result`
    )
    console.log(`  unit 0: ${reports[0].reason}`)

    // The same explanation from the command line and the control API.
    const cli = await runCli(['status', job.id, '--unit', '0', '--json', '--data', coordinator.dataDir])
    assert.is(cli.code, 0, cli.stderr)
    const shownByCli = JSON.parse(cli.stdout) as UnitReport
    assert.is(shownByCli.state, 'accepted')
    assert.equal(
      shownByCli.why?.agreeing.map((p) => p.peer),
      reports[0].why!.agreeing.map((p) => p.peer)
    )
    const api = await ControlClient.forDataDir(coordinator.dataDir)!.get<UnitReport>(`/api/jobs/${job.id}/units/1`)
    assert.is(api.reason, reports[1].reason)
    const wrong = await runCli(['status', job.id, '--unit', '60', '--data', coordinator.dataDir])
    assert.is(wrong.code, 2)
    assert.match(wrong.stderr, /has units 0 to 59, not 60/)
  } finally {
    await grid.destroy()
  }
})

/** A donor with no socket: it answers every unit it is given right away, honestly or not. */
class ScriptedDonor implements DonorLink {
  readonly hello: wire.HelloMessage
  readonly pending: wire.AssignMessage[] = []

  constructor(
    readonly key: string,
    readonly host: string,
    private readonly registry: TaskRegistry,
    readonly lies: boolean
  ) {
    this.hello = { version: wire.PROTOCOL_VERSION, roles: wire.ROLE_DONOR, threads: 1, tasks: registry.list() }
  }

  sendAssign(msg: wire.AssignMessage): void {
    this.pending.push(msg)
  }
  sendCancel(): void {}
  sendVerdict(): void {}
  sendPiece(): void {}

  answer(coordinator: Coordinator): void {
    for (const { unit, lease, input } of this.pending.splice(0).flatMap((msg) => msg.units)) {
      const { count } = this.registry.require('primes').run(decodeValue(input), { unitIndex: unit, progress() {} }) as { count: number }
      const output = encodeValue({ count: this.lies ? count + 1 : count })
      coordinator.result(this, { lease, runMs: 1, output, cpuMs: 1, speed: 1 })
    }
  }
}

test('backtracking on a coordinator: a proven peer that lied is caught by a spot-check, and its units are decided again', async () => {
  const dir = await tempDir()
  const store = Store.open(dir)
  const registry = await TaskRegistry.load()
  const coordinator = new Coordinator(store, registry)
  const log: string[] = []
  coordinator.on('log', (entry: { kind: string; text: string }) => log.push(`${entry.kind}: ${entry.text}`))
  try {
    const [liar, checker, other] = ['a', 'b', 'c'].map((n, i) => new ScriptedDonor(n.repeat(64), `192.0.2.${i + 1}`, registry, n === 'a'))
    // Three peers that passed a hundred checks each: any one of them is trusted alone.
    for (const d of [liar, checker, other])
      coordinator.trust.ledger.update(d.key, d.host, (r) => {
        r.corroborated = 100
      })
    const job = await coordinator.submit({ task: 'primes', params: { to: 30_000 }, units: 4, errorRate: 1e-3, spotChecks: 0.99 })
    const settled = coordinator.waitFor(job.id)!
    // The liar goes first and has two units accepted on its word alone.
    for (let i = 0; i < 2; i++) {
      coordinator.want(liar, { slots: 1 })
      liar.answer(coordinator)
    }
    await until(() => coordinator.status(job.id)!.accepted === 2, 5_000, "the liar's units to be accepted")
    for (let round = 0; round < 20 && coordinator.status(job.id)?.state === 'running'; round++) {
      for (const donor of [checker, other]) {
        coordinator.want(donor, { slots: 1 })
        donor.answer(coordinator)
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const done = await within(settled, 5_000, 'the job to end')
    assert.is(done.state, 'done', done.error ?? '')
    assert.equal(done.result, { count: 3245 })
    assert.match(store.reputation(liar.key)?.blacklisted ?? '', /contradicted an answer/)
    for (const d of [checker, other]) assert.not.ok(store.reputation(d.key)?.blacklisted)
    for (let unit = 0; unit < 4; unit++) {
      assert.not.ok(store.acceptedOutput(job.id, unit)!.peers.includes(liar.key), `unit ${unit} stands on the liar's word`)
    }
    assert.ok(
      log.some((l) => /^backtrack: unit \d is open again: a spot-check contradicted it/.test(l)),
      log.join('\n')
    )
    assert.ok(
      log.some((l) => l.startsWith(`blacklist: ${liar.key.slice(0, 8)} is blacklisted`)),
      log.join('\n')
    )
  } finally {
    coordinator.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
