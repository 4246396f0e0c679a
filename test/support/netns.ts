/**
 * A small network of separate hosts for tests, in Linux network namespaces this process
 * creates: one namespace holding a bridge (the switch), and one per host, each joined to the
 * bridge by a veth pair and given an address on 10.77.0.0/24, which exists only inside these
 * namespaces. `shape` then gives every host's link a fixed delay, loss and a rate limit: all
 * three from `tc netem` where the kernel has it; where it has not (CONFIG_NET_SCH_NETEM unset,
 * as on this project's CI machine), loss comes from nftables, the rate from tc tbf, and the delay
 * from netns-delay.py, which holds each host's outgoing packets in an NFQUEUE for the delay.
 * Everything is deleted afterwards, also when the test fails or the process exits.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const SUBNET = '10.77.0'
const DELAYER = fileURLToPath(new URL('../../../test/support/netns-delay.py', import.meta.url))

export interface Host {
  name: string
  ns: string
  address: string
}

/** Applied to what every host sends, so a round trip between two hosts meets each twice. */
export interface Shaping {
  delayMs: number
  lossPercent: number
  rateKbit: number
}

export interface Lab {
  hosts: Host[]
  /** How each host's link is shaped, in words, for the test's report ('' until `shape`). */
  shaping: string
  /** Why the shaping stopped working (the delayer died), or null while it holds. */
  failure: string | null
  /** The command prefix that runs a program on `host`. */
  on(host: Host): string[]
  shape(shaping: Shaping): Promise<void>
  /** How many packets the hosts have sent through the delayer so far (null under netem). */
  delayedPackets(): Promise<number | null>
  destroy(): Promise<void>
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args)
}

async function inNs(ns: string, ...command: string[]): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, ...command])
  return stdout
}

const has = (command: string) =>
  run(command, ['--version']).then(
    () => true,
    () => false
  )

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
    return null
  } catch (err) {
    return `cannot build links in a network namespace (${(err as Error).message.split('\n')[0]})`
  } finally {
    await ip('netns', 'del', probe).catch(() => {})
  }
}

export async function createLab(count: number): Promise<Lab> {
  const tag = `sg${process.pid % 100000}`
  const created: string[] = []
  let delayer: ChildProcess | null = null
  let ending = false
  // Synchronous, for the process's 'exit': the delayer also quits by itself once its stdin closes.
  const removeAll = () => {
    ending = true
    delayer?.kill('SIGKILL')
    for (const ns of created.splice(0).reverse()) {
      try {
        execFileSync('ip', ['netns', 'del', ns])
      } catch {}
    }
  }
  process.once('exit', removeAll)
  const add = async (ns: string) => {
    await ip('netns', 'add', ns)
    created.push(ns)
    await ip('-n', ns, 'link', 'set', 'lo', 'up')
  }
  try {
    const sw = `${tag}-sw`
    await add(sw)
    await ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge')
    await ip('-n', sw, 'link', 'set', 'br0', 'up')
    const hosts: Host[] = []
    for (let i = 0; i < count; i++) {
      const host: Host = { name: `h${i}`, ns: `${tag}-h${i}`, address: `${SUBNET}.${10 + i}` }
      await add(host.ns)
      // Made inside the namespaces: the machine's own network never sees these links.
      await ip('-n', sw, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns)
      await ip('-n', sw, 'link', 'set', `v${i}`, 'master', 'br0', 'up')
      await ip('-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0')
      await ip('-n', host.ns, 'link', 'set', 'eth0', 'up')
      hosts.push(host)
    }
    const lab: Lab = {
      hosts,
      shaping: '',
      failure: null,
      on: (host) => ['ip', 'netns', 'exec', host.ns],
      async shape(shaping) {
        if (await netem(hosts[0].ns, shaping)) {
          for (const host of hosts.slice(1)) await netem(host.ns, shaping)
          lab.shaping = `tc netem: ${shaping.delayMs} ms delay, ${shaping.lossPercent}% loss and ${shaping.rateKbit} kbit/s on what every host sends`
          return
        }
        const missing = []
        for (const tool of ['nft', 'iptables', 'python3']) if (!(await has(tool))) missing.push(tool)
        if (missing.length)
          throw new Error(
            `this kernel has no tc netem, and shaping without it needs ${missing.join(', ')} (apt-get install nftables iptables python3)`
          )
        delayer = await startDelayer(hosts, shaping.delayMs, (why) => {
          if (ending) return
          lab.failure ??= why
          console.error(`\n  netns: ${why}; the hosts' packets now go nowhere\n`)
        })
        for (const host of hosts) await fallback(host.ns, shaping)
        lab.shaping =
          `no netem in this kernel (CONFIG_NET_SCH_NETEM unset), so every host's outgoing packets wait ${shaping.delayMs} ms ` +
          `in an NFQUEUE (test/support/netns-delay.py), nftables drops ${shaping.lossPercent}% of the UDP packets it sends, ` +
          `and tc tbf holds its uplink to ${shaping.rateKbit} kbit/s`
      },
      async delayedPackets() {
        if (!delayer) return null
        let total = 0
        for (const host of hosts) {
          const table = await inNs(host.ns, 'iptables', '-L', 'OUTPUT', '-n', '-v', '-x')
          for (const line of table.split('\n')) if (/\bNFQUEUE\b/.test(line)) total += Number(line.trim().split(/\s+/)[0])
        }
        return total
      },
      async destroy() {
        ending = true
        process.off('exit', removeAll)
        const stopping = delayer
        delayer = null
        if (stopping && stopping.exitCode === null && stopping.signalCode === null) {
          const exited = new Promise((resolve) => stopping.once('exit', resolve))
          stopping.kill('SIGTERM')
          await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())])
          stopping.kill('SIGKILL')
        }
        for (const ns of created.splice(0).reverse()) await ip('netns', 'del', ns).catch(() => {})
      }
    }
    return lab
  } catch (err) {
    removeAll()
    process.off('exit', removeAll)
    throw err
  }
}

/** True when the kernel took netem; false when it has no such qdisc. */
async function netem(ns: string, { delayMs, lossPercent, rateKbit }: Shaping): Promise<boolean> {
  try {
    await inNs(
      ns,
      'tc',
      'qdisc',
      'add',
      'dev',
      'eth0',
      'root',
      'netem',
      'delay',
      `${delayMs}ms`,
      'loss',
      `${lossPercent}%`,
      'rate',
      `${rateKbit}kbit`
    )
    return true
  } catch (err) {
    if (/unknown|not found|No such file/i.test((err as Error).message)) return false
    throw err
  }
}

async function fallback(ns: string, { lossPercent, rateKbit }: Shaping): Promise<void> {
  await inNs(
    ns,
    'nft',
    `table inet sgloss {
    chain out { type filter hook output priority 0; meta l4proto udp numgen random mod 1000 < ${lossPercent * 10} drop; }
  }`
  )
  // No --queue-bypass: were the delayer gone, the host would go silent and the test fail, rather
  // than pass on an undelayed network. Loopback stays out: only the link is slow.
  await inNs(ns, 'iptables', '-A', 'OUTPUT', '-o', 'eth0', '-j', 'NFQUEUE', '--queue-num', '0')
  await inNs(ns, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'tbf', 'rate', `${rateKbit}kbit`, 'burst', '2kb', 'latency', '500ms')
}

/** Starts the one delayer process for all hosts and resolves once each host's queue is bound. */
async function startDelayer(hosts: Host[], delayMs: number, failed: (why: string) => void): Promise<ChildProcess> {
  // stdin stays an open pipe: when this process dies, however, the delayer reads EOF and quits.
  const child = spawn('python3', [DELAYER, String(delayMs), '0', ...hosts.map((h) => h.ns)], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (chunk) => {
    stderr += chunk
  })
  let ready = false
  child.once('exit', (code, signal) => {
    const last = stderr.trim().split('\n').pop()
    if (ready) failed(`the delayer exited (${code ?? signal})${last ? `: ${last}` : ''}`)
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error('the delayer did not bind its queues within 10 s'))
    }, 10_000)
    createInterface({ input: child.stdout! }).once('line', (line) => {
      if (line !== 'ready') return
      ready = true
      clearTimeout(timer)
      resolve()
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (!ready) reject(new Error(`the delayer exited (${code}): ${stderr.trim()}`))
    })
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
  return child
}

export interface PathFigures {
  rttMs: number
  minRttMs: number
  lossPercent: number
}

/**
 * Measures the path between two hosts with a UDP echo: round trip (median and fastest) and the
 * share of pings lost, so the test reports what the network really did. The fastest round trip
 * is what a busy machine inflates least, so a fixed delay shows best in it.
 */
export async function measure(lab: Lab, from: Host, to: Host, pings = 40, gapMs = 100): Promise<PathFigures> {
  return withEcho(lab, to, async () => {
    // 1 KiB pings, the size of a unit's messages, spaced so they never queue; each carries its number before a colon.
    const probe = `const s=require('dgram').createSocket('udp4');const sent=new Map(),rtt=[];
s.on('message',(m)=>{const i=m.toString().split(':')[0];if(sent.has(i)){rtt.push(performance.now()-sent.get(i));sent.delete(i)}});
s.bind(0,'${from.address}',async()=>{for(let i=0;i<${pings};i++){sent.set(String(i),performance.now());s.send(i+':'+'x'.repeat(1000),47999,'${to.address}');await new Promise(r=>setTimeout(r,${gapMs}))}
setTimeout(()=>{rtt.sort((a,b)=>a-b);console.log(JSON.stringify({rtt:rtt[rtt.length>>1]??-1,min:rtt[0]??-1,got:rtt.length}));s.close()},1500)})`
    const out = await inNs(from.ns, process.execPath, '-e', probe)
    const { rtt, min, got } = JSON.parse(out)
    const tenth = (ms: number) => Math.round(ms * 10) / 10
    return { rttMs: tenth(rtt), minRttMs: tenth(min), lossPercent: tenth((1 - got / pings) * 100) }
  })
}

/**
 * The rate a burst gets through between two hosts, there and back: `packets` of 1 KiB sent at
 * once, echoed, and timed as they come back. Under a rate limit they return spaced out by it
 * (or are dropped once its queue is full); unshaped they return within a few milliseconds.
 */
export async function measureRate(lab: Lab, from: Host, to: Host, packets = 40): Promise<{ kbit: number; received: number }> {
  return withEcho(lab, to, async () => {
    const probe = `const s=require('dgram').createSocket('udp4');const at=[];
s.on('message',()=>at.push(performance.now()));
s.bind(0,'${from.address}',()=>{for(let i=0;i<${packets};i++)s.send(i+':'+'x'.repeat(1000),47999,'${to.address}');
setTimeout(()=>{console.log(JSON.stringify({got:at.length,spanMs:at.length>1?at[at.length-1]-at[0]:0}));s.close()},3000)})`
    const { got, spanMs } = JSON.parse(await inNs(from.ns, process.execPath, '-e', probe))
    // Each packet is 1 KiB of payload and 42 bytes of UDP, IP and Ethernet headers on the wire.
    const kbit = got > 1 && spanMs > 0 ? Math.round(((got - 1) * 1046 * 8) / spanMs) : Infinity
    return { kbit, received: got }
  })
}

/** Runs `measure` while a UDP echo server listens on `to`, port 47999. */
async function withEcho<T>(lab: Lab, to: Host, measure: () => Promise<T>): Promise<T> {
  const echo =
    `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(m,r.port,r.address));` +
    `s.bind(47999,'${to.address}',()=>console.log('up'));setTimeout(()=>s.close(),30000)`
  const server = spawn('ip', [...lab.on(to).slice(1), process.execPath, '-e', echo], { stdio: ['ignore', 'pipe', 'ignore'] })
  try {
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: server.stdout! }).once('line', () => resolve())
      server.once('exit', (code) => reject(new Error(`the echo server exited (${code})`)))
    })
    return await measure()
  } finally {
    server.kill('SIGKILL')
  }
}
