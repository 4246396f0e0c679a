/**
 * A real network: the bootstrap node and the coordinator each on a host of its own, two donors
 * on a third host and one on a fourth (a network namespace per host, with its own address on
 * 10.77.0.0/24, joined by veth pairs and a bridge), with a fixed delay, packet loss and a rate
 * limit on every host's link. Delay and loss are measured, not taken on trust: round trips
 * between two hosts before and after shaping. The job's answer must be exact, and the two
 * replicas of every unit must have run on two different hosts: with two donors on one host,
 * that is the coordinator's same-host rule at work (on, as on any real grid), not luck.
 */
import { test } from '../support/test.js'
import * as assert from 'uvu/assert'
import primes from '../../tasks/primes.js'
import { ProcessGrid, calmRun } from '../support/process-grid.js'
import { untilAsync } from '../support/helpers.js'
import { createLab, labUnavailable, measure, measureRate, type Lab } from '../support/netns.js'

const SHAPING = { delayMs: 40, lossPercent: 5, rateKbit: 205 }

const NAME = 'peers on separate hosts over a lossy, shaped network: exact answer, replicas on distinct hosts'
const unavailable = await labUnavailable()
// Root on Linux is all the lab needs (.ci/run installs iproute2, nftables and the rest): CI must run it there.
if (unavailable) test.unavailable(NAME, unavailable, { expected: process.platform === 'linux' && process.getuid?.() === 0 })
else
  test(
    NAME,
    async () => {
      let lab: Lab | null = null
      let grid: ProcessGrid | null = null
      try {
        lab = await createLab(4)
        const [b, c, shared, single] = lab.hosts
        const donorHosts = [shared, shared, single]
        const bare = await measure(lab, c, shared, 20)
        const bareRate = await measureRate(lab, c, shared)
        await lab.shape(SHAPING)
        // Enough pings that a loss of 5% each way (about 10% of round trips) cannot go unseen: P(none lost) < 1e-5.
        const path = await measure(lab, c, shared, 120, 50)
        // Each way crosses one host's delay. Fastest round trips, as load on a shared machine only
        // adds to them; 0.8 leaves room for timer slack all the same.
        const added = path.minRttMs - bare.minRttMs
        assert.ok(
          added >= 0.8 * 2 * SHAPING.delayMs,
          `fastest round trip ${bare.minRttMs} ms unshaped, ${path.minRttMs} ms shaped: +${added} ms, want about ${2 * SHAPING.delayMs}`
        )
        assert.ok(
          path.lossPercent >= 1 && path.lossPercent <= 35,
          `${path.lossPercent}% of shaped round trips lost, want about ${2 * SHAPING.lossPercent}%`
        )
        assert.is(bare.lossPercent, 0, 'no loss before shaping')
        const rate = await measureRate(lab, c, shared)
        assert.ok(rate.received >= 5, `only ${rate.received} of a burst of 40 came back: too few to time`)
        assert.ok(rate.kbit <= 1.5 * SHAPING.rateKbit, `a burst came back at ${rate.kbit} kbit/s, over the limit of ${SHAPING.rateKbit}`)
        assert.ok(
          bareRate.kbit >= 5 * SHAPING.rateKbit,
          `unshaped, a burst came back at only ${bareRate.kbit} kbit/s: the limit is not what slowed it`
        )
        // As people run it: no SWARMGRID_REACHABLE, so each peer must find out by itself that the
        // other hosts reach it directly (node/peer/reachability.ts), or the peers never meet.
        grid = await ProcessGrid.start({
          grid: 'netns',
          host: b.address,
          bootstrapOptions: { prefix: lab.on(b) },
          env: { SWARMGRID_REACHABLE: '' }
        })
        grid.start('c', ['--host', c.address, '--no-donate'], { prefix: lab.on(c) })
        const spawnedAt = Date.now()
        donorHosts.forEach((host, i) =>
          grid!.start(`d${i}`, ['--host', host.address, '--no-coordinate', '--threads', '1'], { prefix: lab!.on(host) })
        )
        const [, ...donorKeys] = await grid.ready('c', 'd0', 'd1', 'd2')
        await grid!.donorsOffered('c', 3, 90_000)
        // First contact between hosts: a donor's process spawned, to the coordinator's hearing its offer.
        const firstContact = await Promise.all(
          donorKeys.map(async (key) => (await grid!.peers.get('c')!.logTime(new RegExp(`donor ${key.slice(0, 8)} .*offers`))) - spawnedAt)
        )

        const params = { from: 0, to: 3_000_000 }
        const started = Date.now()
        const job = await grid.submit('c', { task: 'primes', params, units: 12, quorum: 2, deadline: 60 })
        const done = await grid.wait('c', job.id, 120_000)
        const took = Date.now() - started
        assert.is(done.state, 'done', done.error ?? '')
        assert.equal(done.result, await calmRun(primes, params, 12))

        // A peer's reputation, which holds its host, is written behind the accept (store/write-behind.ts): wait for it.
        const readHosts = () =>
          grid!.readStore('c', (store) =>
            Array.from({ length: 12 }, (_, unit) =>
              store.acceptedOutput(job.id, unit)!.peers.map((key) => store.reputation(key)?.host ?? 'unknown')
            )
          )
        let replicaHosts = await readHosts()
        await untilAsync(
          async () => !(replicaHosts = await readHosts()).flat().includes('unknown'),
          5_000,
          "the replicas' reputations to be written"
        )
        const donorAddresses = new Set(donorHosts.map((h) => h.address))
        assert.is(lab.failure, null)
        const delayed = await lab.delayedPackets()
        for (const hosts of replicaHosts) {
          assert.is(new Set(hosts).size, hosts.length, `replicas on distinct hosts: ${hosts}`)
          for (const host of hosts) assert.ok(donorAddresses.has(host), `${host} is one of the donor hosts`)
          assert.ok(hosts.includes(single.address), `the lone donor's host holds a replica of every unit: ${hosts}`)
        }
        console.log(
          `\n  netns: ${lab.shaping}; measured between two hosts: ` +
            `round trip (median/fastest) ${bare.rttMs}/${bare.minRttMs} ms unshaped, ${path.rttMs}/${path.minRttMs} ms shaped, ` +
            `${path.lossPercent}% of shaped pings lost; a burst of 40 came back at ${bareRate.kbit} kbit/s unshaped, ${rate.kbit} kbit/s shaped (${rate.received} of 40); ` +
            `first contact (donor spawned to its offer at the coordinator) ${firstContact.map((ms) => `${ms} ms`).join(', ')}; ` +
            `job of 12 units done in ${took} ms with ${done.results} results` +
            `${delayed === null ? '' : `, ${delayed} packets delayed in all`}\n`
        )
      } finally {
        await grid?.destroy()
        await lab?.destroy()
      }
    },
    { ms: 300_000 }
  )

test.run()
