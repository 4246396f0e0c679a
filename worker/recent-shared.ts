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

  has(hash: string): boolean {
    return this.kept.has(hash)
  }

  /** The bytes kept for `hash`, kept now from `bytes` if none were; the least recently named go past `size`. */
  get(hash: string, bytes: Uint8Array): Uint8Array {
    let kept = this.kept.get(hash)
    if (kept) this.kept.delete(hash)
    else kept = this.adopt(bytes)
    this.kept.set(hash, kept)
    if (this.kept.size > this.size) this.kept.delete(this.kept.keys().next().value!)
    return kept
  }
}
