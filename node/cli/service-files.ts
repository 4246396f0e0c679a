/**
 * The files that make swarmgrid a service: a systemd unit (Linux) and a launchd plist (macOS).
 * Pure text from a spec, so tests can check them with the tools that will read them.
 */
import { homedir } from 'node:os'
import { join } from 'node:path'

export type ServicePlatform = 'linux' | 'darwin'

export interface ServiceSpec {
  /** The node binary and the installed CLI entry (dist/node/cli/main.js). */
  node: string
  bin: string
  dataDir: string
  /** A per-user service rather than a system one. */
  user: boolean
  /** The account a system service runs as; omitted: root (we warn). */
  account?: string
  /** Share of the whole machine, 1..100; systemd's CPUQuota counts one core as 100%. */
  cpuLimitPct?: number
  cores: number
}

export const SERVICE_NAME = 'swarmgrid.service'
export const LAUNCHD_LABEL = 'dev.swarmgrid.peer'

/** Where the file goes: the folder the service manager reads (or `targetDir`), and its name. */
export function serviceFile(platform: ServicePlatform, user: boolean, targetDir?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (platform === 'darwin') {
    const dir = targetDir ?? (user ? join(homedir(), 'Library', 'LaunchAgents') : '/Library/LaunchDaemons')
    return join(dir, `${LAUNCHD_LABEL}.plist`)
  }
  const dir = targetDir ?? (user ? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'systemd', 'user') : '/etc/systemd/system')
  return join(dir, SERVICE_NAME)
}

export function cpuQuota(spec: ServiceSpec): string | null {
  if (spec.cpuLimitPct === undefined) return null
  return `${Math.max(1, Math.round(spec.cpuLimitPct * spec.cores))}%`
}

/** One word of an ExecStart= line: quoted, with systemd's specifier (%) and variable ($) signs doubled. */
function systemdWord(word: string): string {
  const escaped = word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')
  return `"${escaped}"`
}

export function systemdUnit(spec: ServiceSpec): string {
  const quota = cpuQuota(spec)
  const exec = [spec.node, spec.bin, 'start', '--data', spec.dataDir].map(systemdWord).join(' ')
  return [
    '# Written by swarmgrid service install; swarmgrid service uninstall removes it.',
    '# Settings: ' + join(spec.dataDir, 'config.json') + ' (swarmgrid config shows them).',
    '[Unit]',
    'Description=swarmgrid peer: donates CPU to a volunteer computing grid',
    ...(spec.user ? [] : ['After=network-online.target', 'Wants=network-online.target']),
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    `Environment=${systemdWord(`SWARMGRID_DATA=${spec.dataDir}`)}`,
    ...(!spec.user && spec.account ? [`User=${spec.account}`] : []),
    'Restart=on-failure',
    'RestartSec=10',
    'Nice=19',
    'IOSchedulingClass=idle',
    ...(quota ? [`CPUQuota=${quota}`] : []),
    // SIGTERM lets the peer hand back its units and close its store; give it time to.
    'KillSignal=SIGTERM',
    'TimeoutStopSec=60',
    '',
    '[Install]',
    `WantedBy=${spec.user ? 'default.target' : 'multi-user.target'}`,
    ''
  ].join('\n')
}

const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** launchd has no CPU quota: the peer's own --cpu-limit holds its units to the share instead. */
export function launchdPlist(spec: ServiceSpec): string {
  const args = [
    spec.node,
    spec.bin,
    'start',
    '--data',
    spec.dataDir,
    ...(spec.cpuLimitPct !== undefined ? ['--cpu-limit', String(spec.cpuLimitPct)] : [])
  ]
  const string = (s: string) => `<string>${xml(s)}</string>`
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by swarmgrid service install; swarmgrid service uninstall removes it. -->
<plist version="1.0">
<dict>
  <key>Label</key>
  ${string(LAUNCHD_LABEL)}
  <key>ProgramArguments</key>
  <array>
${args.map((a) => `    ${string(a)}`).join('\n')}
  </array>
  <key>EnvironmentVariables</key>
  <dict>
    <key>SWARMGRID_DATA</key>
    ${string(spec.dataDir)}
  </dict>
${!spec.user && spec.account ? `  <key>UserName</key>\n  ${string(spec.account)}\n` : ''}  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>10</integer>
  <key>Nice</key>
  <integer>19</integer>
  <key>ProcessType</key>
  ${string('Background')}
  <key>LowPriorityIO</key>
  <true/>
  <key>ExitTimeOut</key>
  <integer>60</integer>
  <key>StandardErrorPath</key>
  ${string(join(spec.dataDir, 'service.err'))}
</dict>
</plist>
`
}

/** What to run to start the service once the file is in place. */
export function startCommands(platform: ServicePlatform, user: boolean, file: string): string[] {
  if (platform === 'darwin') {
    return user ? [`launchctl bootstrap gui/$(id -u) ${file}`] : [`sudo launchctl bootstrap system ${file}`]
  }
  const ctl = user ? 'systemctl --user' : 'sudo systemctl'
  return [
    `${ctl} daemon-reload`,
    `${ctl} enable --now ${SERVICE_NAME}`,
    ...(user ? ['loginctl enable-linger "$USER"   # to run while you are logged out, and from boot'] : [])
  ]
}

export function stopCommands(platform: ServicePlatform, user: boolean, file: string): string[] {
  if (platform === 'darwin') return user ? [`launchctl bootout gui/$(id -u) ${file}`] : [`sudo launchctl bootout system ${file}`]
  const ctl = user ? 'systemctl --user' : 'sudo systemctl'
  return [`${ctl} disable --now ${SERVICE_NAME}`, `${ctl} daemon-reload`]
}
