/**
 * Whether other nodes reach this peer's DHT node directly, asked at start. Every hyperdht node
 * starts firewalled; dht-rpc checks it (other nodes ping the server socket) only after minutes
 * of uptime, or at bootstrap if that ping happens to beat the bootstrap query, which a small
 * private DHT on a LAN answers too fast for. Until then two peers on different hosts can only
 * hole-punch, which a DHT of a few nodes cannot analyse: each side aborts, the client's
 * connection is left half-open, and the peers never meet (docs/first-contact.md).
 */
import type HyperDHT from 'hyperdht'

/** How long start waits for the answer; on a LAN it comes in milliseconds. */
const PROBE_WAIT_MS = 1500

interface ProbedDht {
  firewalled: boolean
  ready(): Promise<void>
  /** dht-rpc's own check, the one it runs later by itself; onlyFirewall: change nothing else. */
  _updateNetworkState?(onlyFirewall: boolean): Promise<boolean>
}

/** Runs the DHT's firewall check now; true when the node is (now) known to be reachable. */
export async function probeReachable(dht: HyperDHT): Promise<boolean> {
  const node = dht as unknown as ProbedDht
  await node.ready()
  if (!node.firewalled) return true
  if (typeof node._updateNetworkState !== 'function') return false
  // dht-rpc resends a lost ping itself. Behind a NAT no answer comes, and each resend waits
  // longer: start goes on firewalled after PROBE_WAIT_MS, and the check finishes on its own.
  const probe = node._updateNetworkState(true).catch(() => false)
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    probe,
    new Promise((resolve) => {
      timer = setTimeout(resolve, PROBE_WAIT_MS)
    })
  ])
  clearTimeout(timer)
  return !node.firewalled
}
