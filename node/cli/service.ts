/** `swarmgrid service install|uninstall|status`: the peer as a systemd or launchd service. */
import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, userInfo } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { UsageError, type Parsed } from './args.js'
import { defaultDataDir, readRunningPeer } from '../store/data-dir.js'
import { printJson } from './output.js'
import {
  SERVICE_NAME,
  launchdPlist,
  serviceFile,
  startCommands,
  stopCommands,
  systemdUnit,
  type ServicePlatform,
  type ServiceSpec
} from './service-files.js'

const ACTIONS = ['install', 'uninstall', 'status']

function platformOf(values: Record<string, any>): ServicePlatform {
  const platform = values.platform ?? process.platform
  if (platform === 'linux' || platform === 'darwin') return platform
  throw new UsageError(
    'service',
    `services are written for linux (systemd) and darwin (launchd), not "${platform}"; on Windows run swarmgrid start from the Task Scheduler`
  )
}

function cpuLimit(values: Record<string, any>): number | undefined {
  const raw = values['cpu-limit']
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0 || n > 100)
    throw new UsageError('service', `--cpu-limit takes a share of the machine from 1 to 100 (percent), not "${raw}"`)
  return n
}

/** The account a system service runs as: whoever ran sudo, else the caller unless that is root. */
function account(): string | undefined {
  const name = process.env.SUDO_USER || userInfo().username
  return name === 'root' ? undefined : name
}

/** The systemd links `enable` makes beside the unit; uninstall removes them with it. */
function enableLinks(file: string, user: boolean): string[] {
  return [join(dirname(file), `${user ? 'default' : 'multi-user'}.target.wants`, SERVICE_NAME)]
}

export async function serviceCommand({ values, positionals }: Parsed): Promise<number> {
  const action = positionals[0]
  if (!ACTIONS.includes(action)) throw new UsageError('service', `which? swarmgrid service ${ACTIONS.join('|')}`)
  const platform = platformOf(values)
  const user = !!values.user
  const file = serviceFile(platform, user, values['target-dir'] ? resolve(values['target-dir']) : undefined)
  if (action === 'install') return install(values, platform, user, file)
  if (action === 'uninstall') return uninstall(values, platform, user, file)
  return status(values, platform, user, file)
}

function install(values: Record<string, any>, platform: ServicePlatform, user: boolean, file: string): number {
  const spec: ServiceSpec = {
    node: process.execPath,
    bin: fileURLToPath(new URL('./main.js', import.meta.url)),
    dataDir: resolve(values.data ?? defaultDataDir()),
    user,
    account: user ? undefined : account(),
    cpuLimitPct: cpuLimit(values),
    cores: availableParallelism()
  }
  const text = platform === 'darwin' ? launchdPlist(spec) : systemdUnit(spec)
  try {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, text, { mode: 0o644 })
  } catch (err) {
    const hint = user ? '' : ' (a system service needs root: sudo swarmgrid service install, or --user for yours)'
    throw new Error(`cannot write ${file}: ${(err as Error).message}${hint}`)
  }
  const commands = startCommands(platform, user, file)
  if (values.json) {
    printJson({ file, text, start: commands, dataDir: spec.dataDir })
    return 0
  }
  console.log(`wrote ${file}:\n`)
  console.log(text.replace(/^/gm, '  '))
  if (!user && !spec.account) console.log('note: this service runs as root; install it with sudo from your account, or use --user\n')
  console.log(`its settings: ${join(spec.dataDir, 'config.json')} (swarmgrid config --data ${spec.dataDir} shows them)`)
  console.log('start it with:')
  for (const command of commands) console.log(`  ${command}`)
  return 0
}

function uninstall(values: Record<string, any>, platform: ServicePlatform, user: boolean, file: string): number {
  if (!existsSync(file)) throw new Error(`no swarmgrid service is installed at ${file}`)
  const removed = [file, ...(platform === 'linux' ? enableLinks(file, user) : [])].filter((path) => {
    try {
      lstatSync(path)
    } catch {
      return false
    }
    rmSync(path, { force: true })
    return true
  })
  const commands = stopCommands(platform, user, file)
  const stop = platform === 'linux' ? [commands[0].replace('disable --now', 'stop'), commands[1]] : commands
  if (values.json) {
    printJson({ removed, stop })
    return 0
  }
  for (const path of removed) console.log(`removed ${path}`)
  console.log('if it is running, stop it with:')
  for (const command of stop) console.log(`  ${command}`)
  return 0
}

/** The data dir an installed file points at: the word after --data. */
function installedDataDir(text: string): string | null {
  const unit = /"--data"\s+"((?:[^"\\]|\\.)+)"/.exec(text)?.[1]
  if (unit) return unit.replace(/%%/g, '%').replace(/\$\$/g, '$').replace(/\\(.)/g, '$1')
  const plist = /<string>--data<\/string>\s*<string>([^<]+)<\/string>/.exec(text)?.[1]
  return plist ? plist.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&') : null
}

/** What the service manager says, when it is there to ask and the file is where it reads. */
function managerState(platform: ServicePlatform, user: boolean, values: Record<string, any>): string | null {
  if (values['target-dir'] || platform !== process.platform) return null
  try {
    if (platform === 'linux')
      return execFileSync('systemctl', [...(user ? ['--user'] : []), 'is-active', SERVICE_NAME], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore']
      }).trim()
    return execFileSync('launchctl', ['print', `${user ? `gui/${process.getuid?.()}` : 'system'}/dev.swarmgrid.peer`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore']
    }).includes('state = running')
      ? 'active'
      : 'inactive'
  } catch (err) {
    const out = (err as { stdout?: string }).stdout?.trim()
    return out || null
  }
}

function status(values: Record<string, any>, platform: ServicePlatform, user: boolean, file: string): number {
  const installed = existsSync(file)
  const dataDir = installed ? installedDataDir(readFileSync(file, 'utf8')) : null
  const peer = dataDir ? readRunningPeer(dataDir) : null
  const manager = installed ? managerState(platform, user, values) : null
  if (values.json) {
    printJson({ installed, file, dataDir, manager, running: peer ? { pid: peer.pid, key: peer.key, url: peer.url } : null })
    return installed ? 0 : 1
  }
  if (!installed) {
    console.log(`not installed (no ${file}); swarmgrid service install${user ? ' --user' : ''} writes it`)
    return 1
  }
  console.log(`installed: ${file}`)
  console.log(`data dir:  ${dataDir ?? 'unknown'}`)
  if (manager) console.log(`service:   ${manager}`)
  console.log(peer ? `peer:      running, pid ${peer.pid}, key ${peer.key.slice(0, 16)}…` : 'peer:      not running')
  return 0
}
