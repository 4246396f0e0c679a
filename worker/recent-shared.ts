/**
 * Shared bytes (a program) kept for the last few hashes that batches named. A later batch of the
 * same program gets the same object back: the sandboxes cache their work (the compiled module) by
 * that object, and the unit process keeps its one copy in shared memory for its threads.
 */
export class RecentShared {
  private readonly kept = new Map<string, Uint8Array>()

  constructor(
    private readonly size: number,
    /** What is kept of bytes seen first: they as they are, or a copy of them. */
    private readonly adopt: (bytes: Uint8Array) => Uint8Array = (bytes) => bytes
  ) {}

  /** The bytes kept for `hash`, now the most recently named; undefined if none are. */
  touch(hash: string): Uint8Array | undefined {
    const kept = this.kept.get(hash)
    if (kept) {
      this.kept.delete(hash)
      this.kept.set(hash, kept)
    }
    return kept
  }

  /** The bytes kept for `hash`, kept now from `bytes` if none were; the least recently named go past `size`. */
  get(hash: string, bytes: Uint8Array): Uint8Array {
    const kept = this.touch(hash)
    if (kept) return kept
    const adopted = this.adopt(bytes)
    this.kept.set(hash, adopted)
    if (this.kept.size > this.size) this.kept.delete(this.kept.keys().next().value!)
    return adopted
  }
}
