/**
 * A small network of separate hosts for tests, in Linux network namespaces this process
 * creates: one namespace holding a bridge (the switch), and one per host, each joined to the
 * bridge by a veth pair and given an address on 10.77.0.0/24, which exists only inside these
 * namespaces. Each host's link gets `tc netem` delay and loss; where the kernel has no netem
 * (CONFIG_NET_SCH_NETEM unset), loss comes from nftables and a token bucket (tc tbf) slows the
 * link instead of a fixed delay, and the lab says so. Everything is deleted afterwards, also
 * when the test fails or the process exits.
 */
import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)
const SUBNET = '10.77.0'

export interface Host { name: string; ns: string; address: string }

export interface Shaping { delayMs: number; lossPercent: number }

export interface Lab {
  hosts: Host[]
  /** How each host's link is shaped, in words, for the test's report. */
  shaping: string
  /** The command prefix that runs a program on `host`. */
  on(host: Host): string[]
  destroy(): Promise<void>
}

async function ip(...args: string[]): Promise<void> { await run('ip', args) }

async function inNs(ns: string, ...command: string[]): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, ...command])
  return stdout
}

/** Why this machine cannot hold the lab, or null when it can. */
export async function labUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'network namespaces need root'
  const probe = `sgprobe${process.pid}`
  try {
    await ip('netns', 'add', probe)
  } catch (err) {
    return `cannot create a network namespace (${(err as Error).message.split('\n')[0]}); iproute2 missing?`
  }
  try {
    await ip('-n', probe, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1')
    const netem = await inNs(probe, 'tc', 'qdisc', 'add', 'dev', 'probe0', 'root', 'netem', 'loss', '1%').then(() => true, () => false)
    const nft = await run('nft', ['--version']).then(() => true, () => false)
    if (!netem && !nft) return 'this kernel has no tc netem and nftables is not installed, so there is no way to lose packets (apt-get install nftables)'
    return null
  } catch (err) {
    return `cannot build links in a network namespace (${(err as Error).message.split('\n')[0]})`
  } finally {
    await ip('netns', 'del', probe).catch(() => {})
  }
}

export async function createLab(count: number, shaping: Shaping): Promise<Lab> {
  const tag = `sg${process.pid % 100000}`
  const created: string[] = []
  const removeAll = () => { for (const ns of created.splice(0).reverse()) { try { execFileSync('ip', ['netns', 'del', ns]) } catch {} } }
  process.once('exit', removeAll)
  const add = async (ns: string) => { await ip('netns', 'add', ns); created.push(ns); await ip('-n', ns, 'link', 'set', 'lo', 'up') }
  try {
    const sw = `${tag}-sw`
    await add(sw)
    await ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge')
    await ip('-n', sw, 'link', 'set', 'br0', 'up')
    const hosts: Host[] = []
    let shapingText = ''
    for (let i = 0; i < count; i++) {
      const host: Host = { name: `h${i}`, ns: `${tag}-h${i}`, address: `${SUBNET}.${10 + i}` }
      await add(host.ns)
      // Made inside the namespaces: the machine's own network never sees these links.
      await ip('-n', sw, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns)
      await ip('-n', sw, 'link', 'set', `v${i}`, 'master', 'br0', 'up')
      await ip('-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0')
      await ip('-n', host.ns, 'link', 'set', 'eth0', 'up')
      shapingText = await shape(host.ns, shaping)
      hosts.push(host)
    }
    return {
      hosts,
      shaping: shapingText,
      on: (host) => ['ip', 'netns', 'exec', host.ns],
      async destroy() {
        process.off('exit', removeAll)
        for (const ns of created.splice(0).reverse()) await ip('netns', 'del', ns).catch(() => {})
      }
    }
  } catch (err) {
    removeAll()
    process.off('exit', removeAll)
    throw err
  }
}

/** Delay and loss on the host's link, both ways: netem where the kernel has it, else nftables loss and a slow token bucket. */
async function shape(ns: string, { delayMs, lossPercent }: Shaping): Promise<string> {
  try {
    await inNs(ns, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'delay', `${delayMs}ms`, 'loss', `${lossPercent}%`)
    return `tc netem: ${delayMs} ms delay and ${lossPercent}% loss on every host's link, each way`
  } catch (err) {
    if (!/unknown|not found|No such file/i.test((err as Error).message)) throw err
  }
  await inNs(ns, 'nft', `table inet sgloss {
    chain out { type filter hook output priority 0; meta l4proto udp numgen random mod 1000 < ${lossPercent * 10} drop; }
  }`)
  // A link slow enough that sending a 1 KiB packet takes `delayMs`, queueing up to half a second behind it.
  const kbit = Math.round((8 * 1024) / delayMs)
  await inNs(ns, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', '2kb', 'latency', '500ms')
  return `no netem in this kernel (CONFIG_NET_SCH_NETEM unset), so nftables drops ${lossPercent}% of the UDP packets every host sends ` +
    `and tc tbf holds every host's uplink to ${kbit} kbit/s (${delayMs} ms per KiB once a 2 KiB burst is spent) instead of a fixed delay`
}

/**
 * Measures the path between two hosts with a UDP echo: round trip (median) and the share of
 * pings lost, so the test reports what the network really did.
 */
export async function measure(lab: Lab, from: Host, to: Host, pings = 40, gapMs = 100): Promise<{ rttMs: number; lossPercent: number }> {
  const echo = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(m,r.port,r.address));s.bind(47999,'${to.address}');setTimeout(()=>s.close(),15000)`
  const server = execFile('ip', [...lab.on(to).slice(1), process.execPath, '-e', echo])
  try {
    await new Promise((resolve) => setTimeout(resolve, 300))
    // 1 KiB pings, the size of a unit's messages, spaced so they never queue; each carries its number before a colon.
    const probe = `const s=require('dgram').createSocket('udp4');const sent=new Map(),rtt=[];
s.on('message',(m)=>{const i=m.toString().split(':')[0];if(sent.has(i)){rtt.push(Date.now()-sent.get(i));sent.delete(i)}});
s.bind(0,'${from.address}',async()=>{for(let i=0;i<${pings};i++){sent.set(String(i),Date.now());s.send(i+':'+'x'.repeat(1000),47999,'${to.address}');await new Promise(r=>setTimeout(r,${gapMs}))}
setTimeout(()=>{rtt.sort((a,b)=>a-b);console.log(JSON.stringify({rtt:rtt[rtt.length>>1]??-1,got:rtt.length}));s.close()},1500)})`
    const out = await inNs(from.ns, process.execPath, '-e', probe)
    const { rtt, got } = JSON.parse(out)
    return { rttMs: rtt, lossPercent: Math.round((1 - got / pings) * 1000) / 10 }
  } finally {
    server.kill('SIGKILL')
  }
}
