/** The flags that say how a donor lends its machine (node/cli/donor.ts reads them), for start and submit. */
import { WASI_CAPS_TEXT } from '../../tasks/wasi-cli.js'

export const DONOR_FLAGS = {
  'cpu-limit': { type: 'string' },
  'pause-when-busy': { type: 'string' },
  'resume-below': { type: 'string' },
  'pause-when-hot': { type: 'string' },
  schedule: { type: 'string', multiple: true },
  paused: { type: 'boolean' },
  nice: { type: 'string' },
  trust: { type: 'string', multiple: true },
  'allow-tasks': { type: 'string' },
  'wasm-memory': { type: 'string' },
  'wasm-time': { type: 'string' },
  'program-cache': { type: 'string' }
} as const

export const DONOR_HELP = `  --cpu-limit PCT         units use at most PCT% of the machine's CPU time, held second by second
  --pause-when-busy PCT   pause while other programs use more than PCT% of the CPU for 3 s;
                          resume once they use less than --resume-below PCT for 10 s
  --resume-below PCT      (default: PCT-20, at least half of PCT)
  --pause-when-hot C      pause while the CPU is above C °C for 3 s; resume once 5 °C cooler for 10 s (Linux)
  --schedule WINDOWS      donate only then, local time: "22:00-07:00", "mon-fri 18:00-08:00" (repeatable)
  --paused                start paused; swarmgrid resume starts donating
  --nice N                priority of the units, 0 to 19 (start's default 19: your programs come first)
  --trust KEY             run only jobs signed by this peer key (repeatable; default: jobs their coordinator signed)
  --allow-tasks A,B       run only these task kinds (for example wasm,primes)
  --wasm-memory MB        memory cap of one wasm, wasi or js unit (default 256, at most 4096; js: QuickJS's heap limit)
  --wasm-time SECONDS     time cap of one wasm, wasi or js unit (default 60; js: QuickJS's interrupt handler)
  --program-cache MB      disk kept for programs fetched from coordinators, for their later jobs (default 512; 0: none)
  (${WASI_CAPS_TEXT})`
