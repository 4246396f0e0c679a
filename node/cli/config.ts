/**
 * The peer's settings: start's flags, from the command line, DATA/config.json, the environment
 * or the defaults, in that order. The file is checked whole before anything starts, and a bad
 * key or value names the file, the key and what it takes.
 */
import { existsSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { SwarmgridError } from '../../base/errors.js'
import { PEER_FLAGS, UsageError } from './args.js'
import { peerOptions } from './peer.js'
import { defaultDataDir } from '../store/data-dir.js'
import type { PeerOptions } from '../peer/peer.js'
import { LOG_FORMATS, type LogFormat } from './log-lines.js'

/** A usage error (exit 2) of the file rather than the command line. */
export class ConfigError extends SwarmgridError {
  override name = 'ConfigError'
  constructor(
    readonly file: string,
    readonly key: string | null,
    message: string
  ) {
    super('USAGE', `${file}: ${key ? `"${key}": ` : ''}${message}`)
  }
}

export type Source = 'flag' | 'config' | 'env' | 'default'

export interface Setting {
  key: string
  value: unknown
  source: Source
}

export interface Settings {
  dataDir: string
  configFile: string
  /** The flags in force, as parseArgs would give them: command line over config file. */
  values: Record<string, any>
  sources: Record<string, Source>
  peer: PeerOptions
  logFormat: LogFormat
}

/** The data dir is where the file lives, so the file cannot choose it. */
const CONFIG_KEYS = Object.keys(PEER_FLAGS).filter((key) => key !== 'data')
/** Pairs of which the command line's one replaces the file's other. */
const OPPOSITES: Record<string, string> = { http: 'no-http', 'no-http': 'http' }

/** What each setting is when nobody sets it, as people read it. */
const DEFAULTS: Record<string, unknown> = {
  grid: 'public',
  bootstrap: 'the public Hyperswarm DHT',
  host: '0.0.0.0 (127.0.0.1 when every bootstrap node is on loopback)',
  threads: availableParallelism(),
  'no-donate': false,
  'no-coordinate': false,
  tasks: 'the built-in tasks only',
  http: 'a free port',
  'no-http': false,
  'max-peers': 64,
  block: [],
  memory: 512,
  'same-host-replicas': 'only on a loopback grid',
  'log-format': 'text',
  retention: 'forever',
  'cpu-limit': 'no limit',
  'pause-when-busy': 'never',
  'resume-below': 'PCT-20',
  'pause-when-hot': 'never',
  schedule: 'always',
  paused: false,
  nice: 19,
  trust: 'any signed job',
  'allow-tasks': 'all',
  'wasm-memory': 256,
  'wasm-time': 60
}

export function configFilePath(dataDir: string): string {
  return join(dataDir, 'config.json')
}

/** The file's settings as flag values, or {} when there is none; throws ConfigError on a bad one. */
export function readConfigFile(file: string): Record<string, any> {
  if (!existsSync(file)) return {}
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ConfigError(file, null, `is not valid JSON (${(err as Error).message}); it holds one object such as {"threads": 2}`)
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(file, null, 'must hold one JSON object such as {"threads": 2}')
  const values: Record<string, any> = {}
  for (const [key, value] of Object.entries(raw)) {
    const flag = PEER_FLAGS[key]
    if (!flag || key === 'data') {
      const why = key === 'data' ? 'the data dir is where this file lives; pass --data or set SWARMGRID_DATA' : `is not a setting`
      throw new ConfigError(file, key, `${why}. Allowed keys: ${CONFIG_KEYS.join(', ')}`)
    }
    values[key] = flagValue(file, key, flag, value)
  }
  return values
}

function flagValue(file: string, key: string, flag: { type: string; multiple?: boolean }, value: unknown): unknown {
  const scalar = (v: unknown): string => {
    if (typeof v === 'string') return v
    if (typeof v === 'number' && Number.isFinite(v)) return String(v)
    throw new ConfigError(file, key, `takes a string or a number (as --${key} does), not ${JSON.stringify(v)}`)
  }
  if (flag.type === 'boolean') {
    if (typeof value !== 'boolean') throw new ConfigError(file, key, `takes true or false, not ${JSON.stringify(value)}`)
    return value
  }
  if (flag.multiple) return (Array.isArray(value) ? value : [value]).map(scalar)
  return scalar(value)
}

/** The settings for `command`, with its command-line flags in `cli`; the file is checked first. */
export function resolveSettings(command: string, cli: Record<string, any>): Settings {
  const dataDir = resolve(cli.data ?? defaultDataDir())
  const configFile = configFilePath(dataDir)
  const fromFile = readConfigFile(configFile)
  checkValues(configFile, fromFile)
  const values: Record<string, any> = { ...cli }
  const sources: Record<string, Source> = {}
  for (const key of CONFIG_KEYS) {
    if (cli[key] !== undefined) sources[key] = 'flag'
    else if (fromFile[key] !== undefined && !(OPPOSITES[key] && cli[OPPOSITES[key]] !== undefined)) {
      values[key] = fromFile[key]
      sources[key] = 'config'
    } else sources[key] = key === 'bootstrap' && process.env.SWARMGRID_BOOTSTRAP ? 'env' : 'default'
  }
  values.data = dataDir
  sources.data = cli.data !== undefined ? 'flag' : process.env.SWARMGRID_DATA ? 'env' : 'default'
  return { dataDir, configFile, values, sources, peer: peerOptions(command, values), logFormat: logFormatOf(command, values) }
}

export function logFormatOf(command: string, values: Record<string, any>): LogFormat {
  const format = values['log-format'] ?? 'text'
  if (!(LOG_FORMATS as readonly string[]).includes(format))
    throw new UsageError(command, `--log-format takes ${LOG_FORMATS.join(' or ')}, not "${format}"`)
  return format
}

/** Runs the flags' own checks on the file's values alone, so that an error names the file and key. */
function checkValues(file: string, fromFile: Record<string, any>): void {
  if (Object.keys(fromFile).length === 0) return
  try {
    peerOptions('start', { ...fromFile, bootstrap: fromFile.bootstrap ?? '' })
    logFormatOf('start', fromFile)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    const named = /--([a-z-]+)/.exec(err.message)?.[1]
    const key = named && fromFile[named] !== undefined ? named : guiltyKey(fromFile)
    throw new ConfigError(file, key, key ? err.message.replace(`--${key} `, '').replace(/^--[a-z-]+: /, '') : err.message)
  }
}

/** The key whose value fails the flags' checks on its own, when the message named none. */
function guiltyKey(fromFile: Record<string, any>): string | null {
  for (const [key, value] of Object.entries(fromFile)) {
    try {
      peerOptions('start', { [key]: value, ...(key === 'bootstrap' ? {} : { bootstrap: '' }) })
    } catch {
      return key
    }
  }
  return null
}

/** Every setting, for `swarmgrid config`: the value in force and where it came from. */
export function describeSettings(settings: Settings): Setting[] {
  return ['data', ...CONFIG_KEYS].map((key) => ({
    key,
    value:
      settings.sources[key] === 'default'
        ? (DEFAULTS[key] ?? null)
        : key === 'bootstrap' && settings.sources[key] === 'env'
          ? process.env.SWARMGRID_BOOTSTRAP
          : settings.values[key],
    source: settings.sources[key]
  }))
}
