/** Flags and help of the operators' commands: cancel, delete, logs, config, service. */
import type { ParseArgsConfig } from 'node:util'
import { EXIT_CODES_HELP } from './exit-codes.js'

type Options = NonNullable<ParseArgsConfig['options']>
type Spec = { options: Options; positionals: number; help: string }

const data: Options = { data: { type: 'string' } }

export function OPS_COMMANDS(peerFlags: Options, peerHelp: string): Record<string, Spec> {
  return {
    cancel: {
      options: { ...data, json: { type: 'boolean' } },
      positionals: 1,
      help: `swarmgrid cancel JOB [--data DIR] [--json]

Cancels a running job on the peer running for --data: its leases are called back from the
donors and it ends "cancelled". JOB is its id or a prefix of it.
Exits 0 once cancelled, 1 if the job is not running (or no peer runs), 2 if there is no such job.

Example:
  swarmgrid cancel 9410a220`
    },
    delete: {
      options: { ...data, json: { type: 'boolean' }, force: { type: 'boolean' } },
      positionals: 1,
      help: `swarmgrid delete JOB [--data DIR] [--json] [--force]

Deletes a finished job (done, failed or cancelled) and everything stored for it: its units'
inputs, accepted outputs and result. Through the running peer if one runs, else in the store.
A running job is refused: cancel it first. With no peer running, --force also deletes a job
stored as running (it would otherwise go on when a peer starts there).
To delete finished jobs by age, start the peer with --retention (e.g. --retention 7d).

Example:
  swarmgrid delete 9410a220`
    },
    logs: {
      options: {
        ...data,
        follow: { type: 'boolean', short: 'f' },
        'log-format': { type: 'string' },
        json: { type: 'boolean' },
        lines: { type: 'string', short: 'n' }
      },
      positionals: 1,
      help: `swarmgrid logs [JOB] [--follow] [--lines N] [--log-format text|json] [--data DIR]

Prints the log of the peer for --data (kept in DATA/peer.log while it runs, also when it has
stopped), or with JOB only that job's events. --follow keeps printing new lines until Ctrl-C.
Each line has its time and level; --log-format json (or --json) prints one JSON object per line:
{"time", "level", "kind", "msg", "job"?, "peer"?}.

Example:
  swarmgrid logs 9410a220 --follow`
    },
    config: {
      options: { ...peerFlags, json: { type: 'boolean' } },
      positionals: 0,
      help: `swarmgrid config [--data DIR] [--json] [start's flags]

Prints the settings a peer started with these flags would use, and where each came from:
"flag" (the command line), "config" (DATA/config.json), "env" (an environment variable) or
"default". A bad key or value in config.json is reported with the file, the key and what is allowed.

config.json holds start's flags by name, without the dashes: strings or numbers for flags
that take a value, true for those that do not, arrays for the repeatable ones. For example
  {"grid": "lab", "bootstrap": "192.168.1.10:49737", "threads": 2, "nice": 19, "retention": "7d"}
A flag on the command line wins over the file (a repeatable flag replaces the file's list).

${peerHelp}

Example:
  swarmgrid config --data ./peer1 --threads 4`
    },
    service: {
      options: {
        ...data,
        user: { type: 'boolean' },
        'cpu-limit': { type: 'string' },
        'target-dir': { type: 'string' },
        platform: { type: 'string' },
        json: { type: 'boolean' }
      },
      positionals: 1,
      help: `swarmgrid service install [--user] [--cpu-limit PCT] [--data DIR]
swarmgrid service uninstall [--user]
swarmgrid service status [--user] [--json]

Installs swarmgrid as a service that starts at boot and restarts if it fails: a systemd unit on
Linux (a system service, or with --user one of yours), a launchd plist on macOS. It runs
"swarmgrid start --data DIR" with this installed binary, at the lowest priority (Nice=19);
its settings come from DIR/config.json (swarmgrid config shows them). It prints what it wrote
and the commands that start it; it starts nothing itself.

  --user              a per-user service (systemctl --user, ~/Library/LaunchAgents)
  --cpu-limit PCT     cap the service at PCT% of the machine's CPU (systemd CPUQuota=)
  --data DIR          the peer's data dir (default: $SWARMGRID_DATA or your user data folder)
  --target-dir DIR    write the file here instead of the system's folder (packaging, tests)
  --platform P        linux or darwin: write that platform's file (default: this one)

Example:
  swarmgrid service install --user --cpu-limit 50
  systemctl --user daemon-reload && systemctl --user enable --now swarmgrid`
    },
    help: {
      options: {},
      positionals: 1,
      help: `swarmgrid help [COMMAND]

Prints the list of commands, or one command's flags and an example.

${EXIT_CODES_HELP}

Example:
  swarmgrid help submit`
    }
  }
}
