/** The byte streams of one run: its capped stdout and stderr, and the seeded stream random_get reads. */
import { createHash } from 'node:crypto'
import { OUTPUT_CAP_PREFIX, OutputCapError } from './memfs.js'

/** stdout or stderr: bytes kept in order, up to the run's cap. */
export class Sink {
  readonly chunks: Uint8Array[] = []
  size = 0
  constructor(
    readonly name: string,
    readonly cap: number
  ) {}
  write(bytes: Uint8Array): void {
    if (this.size + bytes.byteLength > this.cap) throw new OutputCapError(`${OUTPUT_CAP_PREFIX}: ${this.name} passed ${this.cap} bytes`)
    this.chunks.push(bytes.slice())
    this.size += bytes.byteLength
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.chunks)
  }
}

/** SHA-256 in counter mode over the run's seed: the same stream on every donor. */
export class SeededStream {
  private block = new Uint8Array(0)
  private used = 0
  private counter = 0n
  constructor(private readonly seed: Uint8Array) {}
  fill(out: Uint8Array): void {
    for (let i = 0; i < out.byteLength; i++) {
      if (this.used === this.block.byteLength) {
        const count = Buffer.alloc(8)
        count.writeBigUInt64LE(this.counter++)
        this.block = createHash('sha256').update(this.seed).update(count).digest()
        this.used = 0
      }
      out[i] = this.block[this.used++]
    }
  }
}
