/**
 * The file system one WASI run sees, all in memory: its input files, read-only, under `/`,
 * and `/out`, the one writable directory, whose bytes are counted against the output cap.
 * Paths resolve from a directory the program holds and never above it: `..` past that
 * directory, absolute paths and names of the host's files simply do not exist here.
 */
import { ERRNO } from './abi.js'

export interface FileNode {
  kind: 'file'
  ino: number
  data: Uint8Array
  size: number
  writable: boolean
}
export interface DirNode {
  kind: 'dir'
  ino: number
  entries: Map<string, Node>
  writable: boolean
  parent: DirNode | null
}
export type Node = FileNode | DirNode

/** A unit failure message starting so is reported to the coordinator as kind 'output'. */
export const OUTPUT_CAP_PREFIX = 'output cap'

export class OutputCapError extends Error {
  override name = 'OutputCapError'
}

export function isOutputCapError(err: unknown): boolean {
  return typeof (err as Error)?.message === 'string' && (err as Error).message.startsWith(OUTPUT_CAP_PREFIX)
}

export interface OutputCaps {
  stdoutBytes: number
  stderrBytes: number
  outBytes: number
  outEntries: number
}

export class WasiErrno extends Error {
  constructor(readonly errno: number) {
    super(`errno ${errno}`)
  }
}

export const fail = (errno: number): never => {
  throw new WasiErrno(errno)
}

export interface Resolved {
  dir: DirNode
  name: string
  node: Node | undefined
}

export class MemoryFs {
  readonly root: DirNode
  readonly out: DirNode
  private nextIno = 1
  private outBytes = 0
  private outEntries = 0

  constructor(
    files: Array<[string, Uint8Array]>,
    private readonly caps: OutputCaps
  ) {
    this.root = this.dir(null, false)
    for (const [path, data] of files) {
      const parts = path.split('/')
      let dir = this.root
      for (const part of parts.slice(0, -1)) {
        let next = dir.entries.get(part)
        if (!next) {
          next = this.dir(dir, false)
          dir.entries.set(part, next)
        }
        dir = next as DirNode
      }
      dir.entries.set(parts[parts.length - 1], { kind: 'file', ino: this.nextIno++, data, size: data.byteLength, writable: false })
    }
    this.out = this.dir(this.root, true)
    this.root.entries.set('out', this.out)
  }

  private dir(parent: DirNode | null, writable: boolean): DirNode {
    return { kind: 'dir', ino: this.nextIno++, entries: new Map(), writable, parent }
  }

  /** Where `path` leads from `base`; the last component need not exist. */
  resolve(base: DirNode, path: string): Resolved {
    if (path.includes('\0')) fail(ERRNO.INVAL)
    if (path.startsWith('/')) fail(ERRNO.NOTCAPABLE)
    const parts = path.split('/')
    const stack: DirNode[] = [base]
    const top = () => stack[stack.length - 1]
    const up = () => {
      if (stack.length === 1) fail(ERRNO.NOTCAPABLE)
      stack.pop()
    }
    for (const part of parts.slice(0, -1)) {
      if (part === '' || part === '.') continue
      if (part === '..') {
        up()
        continue
      }
      const next = top().entries.get(part)
      if (!next) fail(ERRNO.NOENT)
      if (next!.kind !== 'dir') fail(ERRNO.NOTDIR)
      stack.push(next as DirNode)
    }
    const last = parts[parts.length - 1]
    if (last === '..') up()
    if (last === '' || last === '.' || last === '..') return { dir: top().parent ?? top(), name: '.', node: top() }
    return { dir: top(), name: last, node: top().entries.get(last) }
  }

  createFile(dir: DirNode, name: string): FileNode {
    this.mayAdd(dir)
    const file: FileNode = { kind: 'file', ino: this.nextIno++, data: new Uint8Array(0), size: 0, writable: true }
    dir.entries.set(name, file)
    return file
  }

  createDir(dir: DirNode, name: string): void {
    this.mayAdd(dir)
    dir.entries.set(name, this.dir(dir, true))
  }

  private mayAdd(dir: DirNode): void {
    if (!dir.writable) fail(ERRNO.ROFS)
    if (++this.outEntries > this.caps.outEntries) {
      throw new OutputCapError(`${OUTPUT_CAP_PREFIX}: the program made more than ${this.caps.outEntries} files and directories under /out`)
    }
  }

  remove(dir: DirNode, name: string): void {
    if (!dir.writable) fail(ERRNO.ROFS)
    const node = dir.entries.get(name)
    if (node?.kind === 'file') this.outBytes -= node.size
    dir.entries.delete(name)
    this.outEntries--
  }

  /** Sets a file's size, counting the change against the output cap. */
  resize(file: FileNode, size: number): void {
    if (!file.writable) fail(ERRNO.BADF)
    const grown = this.outBytes + size - file.size
    if (grown > this.caps.outBytes) {
      throw new OutputCapError(`${OUTPUT_CAP_PREFIX}: the files under /out passed ${this.caps.outBytes} bytes`)
    }
    if (size > file.data.byteLength) {
      const data = new Uint8Array(Math.min(Math.max(size, file.data.byteLength * 2, 4096), this.caps.outBytes))
      data.set(file.data.subarray(0, file.size))
      file.data = data
    } else if (size < file.size) {
      file.data.fill(0, size, file.size)
    }
    this.outBytes = grown
    file.size = size
  }

  write(file: FileNode, at: number, bytes: Uint8Array): void {
    if (at + bytes.byteLength > file.size) this.resize(file, at + bytes.byteLength)
    file.data.set(bytes, at)
  }

  /** Every file under /out, path relative to it, in name order: the run's output files. */
  outputFiles(): Record<string, Uint8Array> {
    const files: Record<string, Uint8Array> = {}
    const walk = (dir: DirNode, prefix: string) => {
      for (const name of [...dir.entries.keys()].sort()) {
        const node = dir.entries.get(name)!
        if (node.kind === 'dir') walk(node, `${prefix}${name}/`)
        else files[`${prefix}${name}`] = node.data.slice(0, node.size)
      }
    }
    walk(this.out, '')
    return files
  }
}
