/** The CLI's flags and help texts, and a parser whose errors say what to do. */
import { SwarmgridError } from '../../base/errors.js'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { DONOR_FLAGS, DONOR_HELP } from './donor-flags.js'
import { OPS_COMMANDS } from './ops-commands.js'
import { EXIT_CODES_HELP } from './exit-codes.js'
import { WASI_EXAMPLE, WASI_FLAGS, WASI_HELP, glueArgValues } from '../../tasks/wasi-cli.js'

export type Options = NonNullable<ParseArgsConfig['options']>

export class UsageError extends SwarmgridError {
  override name = 'UsageError'
  constructor(
    readonly command: string,
    message: string
  ) {
    super('USAGE', message)
  }
}

export const PEER_FLAGS: Options = {
  grid: { type: 'string' },
  bootstrap: { type: 'string' },
  host: { type: 'string' },
  data: { type: 'string' },
  threads: { type: 'string' },
  'no-donate': { type: 'boolean' },
  'no-coordinate': { type: 'boolean' },
  tasks: { type: 'string' },
  http: { type: 'string' },
  'no-http': { type: 'boolean' },
  'max-peers': { type: 'string' },
  block: { type: 'string', multiple: true },
  memory: { type: 'string' },
  'same-host-replicas': { type: 'boolean' },
  'log-format': { type: 'string' },
  retention: { type: 'string' },
  ...DONOR_FLAGS
}

const PEER_HELP = `  --grid NAME             grid to join (default: public)
  --bootstrap HOST:PORT   bootstrap nodes, comma-separated (default: $SWARMGRID_BOOTSTRAP, else the public DHT)
  --host ADDR             address the DHT node binds (default 0.0.0.0; loopback when every bootstrap is)
  --data DIR              data dir (default: $SWARMGRID_DATA or your user data folder)
  --threads N             threads to donate (default: all cores)
  --no-donate             do not run other peers' units
  --no-coordinate         do not take jobs (donate only)
  --tasks DIR             load task modules (.js/.mjs) from DIR; same name replaces a built-in here
  --http PORT             dashboard and control API on 127.0.0.1:PORT (default: a free port)
  --no-http               no dashboard
  --max-peers N           connections to keep at most (default 64)
  --block KEY             refuse this peer (repeatable)
  --memory MB             heap limit of each unit's thread (default 512, at least 16)
  --same-host-replicas    let two keys on one host count as two replicas (default: only on a loopback grid)
  --log-format F          text (default) or json: one JSON object per line, each with time and level
  --retention T           delete finished jobs T after they end: 90s, 30m, 12h, 7d (default: keep them)
${DONOR_HELP}

  Every flag can also be set in DATA/config.json ({"threads": 2, "no-donate": true, ...}); a flag
  given here wins. swarmgrid config shows the settings in force and where each came from.`

export interface CommandSpec {
  options: Options
  positionals: number
  help: string
}

export const COMMANDS: Record<string, CommandSpec> = {
  bootstrap: {
    options: { host: { type: 'string' }, port: { type: 'string' } },
    positionals: 0,
    help: `swarmgrid bootstrap [--host 127.0.0.1] [--port 49737]

Runs a DHT bootstrap node for a private grid until Ctrl-C. Prints "bootstrap HOST:PORT".
--port 0 takes any free port.

Example:
  swarmgrid bootstrap --host 192.168.1.10 --port 49737
  swarmgrid start --bootstrap 192.168.1.10:49737 --grid lab`
  },
  start: {
    options: PEER_FLAGS,
    positionals: 0,
    help: `swarmgrid start [flags]

Runs a peer until Ctrl-C: joins the grid, donates CPU, coordinates the jobs submitted to it,
serves the dashboard. Prints "key HEX", then "ready" and the dashboard URL.

${PEER_HELP}

Example:
  swarmgrid start --grid lab --bootstrap 127.0.0.1:49737 --data ./peer1 --threads 2`
  },
  submit: {
    options: {
      ...PEER_FLAGS,
      param: { type: 'string', multiple: true, short: 'p' },
      job: { type: 'string' },
      units: { type: 'string' },
      'unit-seconds': { type: 'string' },
      quorum: { type: 'string' },
      'max-results': { type: 'string' },
      deadline: { type: 'string' },
      'error-rate': { type: 'string' },
      saboteurs: { type: 'string' },
      'spot-checks': { type: 'string' },
      json: { type: 'boolean' },
      detach: { type: 'boolean' },
      ...WASI_FLAGS
    },
    positionals: 1,
    help: `swarmgrid submit TASK [--param KEY=VALUE …] [--units N | --unit-seconds T] [--quorum Q] [--json] [--detach]
swarmgrid submit --job FILE.json [flags]

Hands a job to the peer running for --data; if none runs, runs one here for the job's life
(taking start's flags). Shows progress on a terminal and waits for the result.

  --param KEY=VALUE       a task parameter (repeatable); numbers are numbers
  --job FILE.json         the job as JSON: {"task", "params", "units", "quorum", ...}
  --units N               work units to split the job into (default 16; js: one per input, at most 10000)
  --unit-seconds T        instead of --units: units of about T seconds each; the peer runs a few small
                          pieces of the job first (a few seconds at most) and sizes the units from their times
  --quorum Q              agreeing results from distinct peers to accept a unit (default 2)
  --max-results N         results a unit may gather without agreement before it fails (default 2Q+1;
                          with --error-rate, 2n+1 for the n agreeing newcomers a unit may need)
  --deadline SECONDS      time a donor has for one unit (default 300)
  --error-rate E          accept on credibility instead of a quorum: a unit is accepted once its
                          answer is right with probability 1 − E (default 1e-4 when any of these three is given)
  --saboteurs F           the fraction of lying peers to assume at worst, below 0.5 (default 0.2)
  --spot-checks Q         the share of a trusted peer's units that are checks with known answers (default 0.02)
  --json                  print the finished job as one JSON object
  --detach                return once the job is stored; print its id
  (and start's flags, for the peer run here when none is running)

Exits 0 when the job is done, 1 when it failed or was cancelled, 2 for a bad flag, task or
parameter, 130 on Ctrl-C (the job goes on at the running peer, or waits in the data dir).

Tasks: primes (from, to), pi (samples, seed), mandelbrot (width, height, maxIter, x0, x1, y0, y1),
       wasm (module, entry, range or inputs, reduce: your own WebAssembly, see examples/wasm),
       js (code, inputs: your own JavaScript function, run in QuickJS on the donors, see examples/js),
       wasi (program, runs: your own command-line program, see examples/wasi)

${WASI_HELP}

Example:
  swarmgrid submit primes --param from=0 --param to=3000000 --units 24 --quorum 2
  swarmgrid submit primes --param to=2e10 --unit-seconds 2
  swarmgrid submit primes --param to=3000000 --units 240 --error-rate 1e-4
  swarmgrid submit --job examples/js/job.json --json
  swarmgrid submit js --param 'code={"file": "fn.mjs"}' --param 'inputs=[1, 2, 3]'
  swarmgrid submit --job examples/wasi/wordstat-job.json
${WASI_EXAMPLE}`
  },
  status: {
    options: { data: { type: 'string' }, json: { type: 'boolean' }, unit: { type: 'string' } },
    positionals: 1,
    help: `swarmgrid status [JOB [--unit N]] [--data DIR] [--json]

Without JOB: the jobs in the data dir and the peers' reputation. With JOB (or a prefix of its
id): that job as it stands now. With --unit N: why unit N was accepted (which peers agreed,
their credibility, the rule), or where it stands.

Example:
  swarmgrid status 9410a220 --json
  swarmgrid status 9410a220 --unit 3`
  },
  results: {
    options: { data: { type: 'string' }, out: { type: 'string' } },
    positionals: 1,
    help: `swarmgrid results JOB [--data DIR] [--out FILE | --out DIR]

Prints a finished job's result as JSON, or writes it to FILE: an image result as PNG when FILE
ends in .png, the raw CBOR when it ends in .cbor, else JSON. For a js job, --out DIR writes
DIR/outputs.json (the outputs in input order) and DIR/value.json when the module merged them.
A wasi job's result goes to the directory DIR: run N as DIR/N/stdout, DIR/N/stderr, DIR/N/exit
and DIR/N/out/…

Example:
  swarmgrid results 9410a220 --out mandelbrot.png
  swarmgrid results 5c1e07d2 --out results/
  swarmgrid results 51c0ffee --out runs/ && cat runs/0/stdout`
  },
  pause: {
    options: { data: { type: 'string' }, finish: { type: 'boolean' }, json: { type: 'boolean' } },
    positionals: 0,
    help: `swarmgrid pause [--finish] [--data DIR] [--json]

Pauses the donor of the peer running for --data: it takes no more units and hands back those
it holds at once, so your CPU is free now. With --finish it hands back only the units not yet
started and finishes those running, then pauses. The dashboard has the same buttons.

Example:
  swarmgrid pause --finish && swarmgrid resume`
  },
  resume: {
    options: { data: { type: 'string' }, json: { type: 'boolean' } },
    positionals: 0,
    help: `swarmgrid resume [--data DIR] [--json]

Undoes swarmgrid pause. A donor paused because other programs are busy (--pause-when-busy) or
because of its --schedule stays paused until that passes; it says so.

Example:
  swarmgrid resume --data ./peer1`
  },
  demo: {
    options: { keep: { type: 'boolean' }, json: { type: 'boolean' }, donors: { type: 'string' } },
    positionals: 0,
    help: `swarmgrid demo [--donors N] [--keep] [--json]

Everything on this machine: a private DHT on 127.0.0.1, a coordinator and N donor peers
(default 3), three sample jobs cross-checked with quorum 2, live progress and the dashboard
URL. Checks every answer against a local run. --keep leaves the grid and dashboard running.

Example:
  npx swarmgrid demo`
  },
  ...OPS_COMMANDS(PEER_FLAGS, PEER_HELP)
}

export const USAGE = `swarmgrid: a volunteer computing grid with no central server

Usage: swarmgrid COMMAND [flags]     (swarmgrid COMMAND --help for its flags and an example)

  demo        run a whole grid on this machine, with sample jobs (start here)
  start       run a peer: donate CPU, take jobs, serve the dashboard
  submit      submit a job and follow it to its result
  status      show jobs and peers
  pause       stop donating now (--finish: after the units running)
  resume      donate again
  results     print or save a job's result
  cancel      cancel a running job
  delete      delete a finished job and all stored for it
  logs        show (or --follow) the peer's log, or one job's events
  config      show the settings in force and where each came from
  service     install, remove or check swarmgrid as a service (systemd, launchd)
  bootstrap   run a DHT bootstrap node for a private grid
  help CMD    that command's flags and an example (the same as swarmgrid CMD --help)

  --version   print the version

${EXIT_CODES_HELP}

Example:
  npx swarmgrid demo`

export interface Parsed {
  values: Record<string, any>
  positionals: string[]
}

export function parse(command: string, argv: string[]): Parsed {
  const spec = COMMANDS[command]
  let parsed: Parsed
  try {
    const joined = joinNegativeValues(spec.options, command === 'submit' ? glueArgValues(argv) : argv)
    parsed = parseArgs({
      args: joined,
      options: { ...spec.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true
    }) as Parsed
  } catch (err) {
    throw new UsageError(command, (err as Error).message.replace(/\. To specify a positional.*$/s, ''))
  }
  if (!parsed.values.help && parsed.positionals.length > spec.positionals) {
    throw new UsageError(command, `unexpected argument "${parsed.positionals[spec.positionals]}"`)
  }
  return parsed
}

/**
 * parseArgs reads "--units -1" as --units with no value followed by an option -1: a negative
 * number after a flag that takes a value is that flag's value, so that its check can say why.
 */
function joinNegativeValues(options: Options, argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : null
    if (name && options[name]?.type === 'string' && /^-(\d|\.\d)/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`)
    else out.push(argv[i])
  }
  return out
}

export function integerFlag(
  command: string,
  values: Record<string, any>,
  flag: string,
  min = 1,
  max = Number.MAX_SAFE_INTEGER
): number | undefined {
  const raw = values[flag]
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`
    throw new UsageError(command, `--${flag} takes a whole number ${range}, not "${raw}"`)
  }
  return n
}

export function numberFlag(command: string, values: Record<string, any>, flag: string): number | undefined {
  const raw = values[flag]
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(command, `--${flag} takes a number above 0, not "${raw}"`)
  return n
}

/** --param KEY=VALUE: JSON values (numbers, booleans, arrays) where they parse, else strings. */
export function parseParams(command: string, items: string[] = []): Record<string, unknown> {
  const params: Record<string, unknown> = {}
  for (const item of items) {
    const eq = item.indexOf('=')
    if (eq <= 0) throw new UsageError(command, `--param takes KEY=VALUE, not "${item}"`)
    const raw = item.slice(eq + 1)
    let value: unknown = raw
    try {
      value = JSON.parse(raw)
    } catch {
      /* a plain string */
    }
    params[item.slice(0, eq)] = value
  }
  return params
}
