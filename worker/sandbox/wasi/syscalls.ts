/**
 * The wasi_snapshot_preview1 functions of one run, over its in-memory file system. Nothing
 * here reaches the host: the clock is the job's creation time and never moves (the monotonic
 * one moves only by what the program sleeps: clock.ts), random bytes come from the run's seed,
 * sleeps end at once, sockets do not exist, and the environment holds only what the run gives.
 */
import { SeededStream, Sink } from './streams.js'
import { VirtualClock, pollOneoff } from './clock.js'
import { ALL_RIGHTS, ERRNO, FDFLAGS, FILETYPE, OFLAGS, OPEN_FOR_WRITE_RIGHTS, WASI_FUNCTIONS, WHENCE, WRITE_RIGHTS } from './abi.js'
import { MemoryFs, WasiErrno, fail, type DirNode, type FileNode, type Node, type OutputCaps } from './memfs.js'

export interface RunConfig {
  args: Uint8Array[]
  env: Uint8Array[]
  stdin: Uint8Array
  files: Array<[string, Uint8Array]>
  /** The fixed clock, in nanoseconds since 1970. */
  timeNs: bigint
  seed: Uint8Array
  caps: OutputCaps
}

/** What proc_exit throws to unwind the module; the run catches it. */
export class ProcExit {
  constructor(readonly code: number) {}
}

type Descriptor =
  | { kind: 'stdin'; pos: number }
  | { kind: 'sink'; name: 'stdout' | 'stderr' }
  | { kind: 'file'; node: FileNode; pos: number; read: boolean; write: boolean; append: boolean }
  | { kind: 'dir'; node: DirNode; preopen: string | null }

const FD_READ = 1n << 1n
const SEEK_RIGHTS = (1n << 2n) | (1n << 5n)

export class WasiRun {
  readonly fs: MemoryFs
  readonly stdout: Sink
  readonly stderr: Sink
  private readonly fds = new Map<number, Descriptor>()
  private readonly random: SeededStream
  private readonly clock: VirtualClock
  memory: WebAssembly.Memory | null = null

  constructor(private readonly config: RunConfig) {
    this.fs = new MemoryFs(config.files, config.caps)
    this.stdout = new Sink('stdout', config.caps.stdoutBytes)
    this.stderr = new Sink('stderr', config.caps.stderrBytes)
    this.random = new SeededStream(config.seed)
    this.clock = new VirtualClock(config.timeNs)
    this.fds.set(0, { kind: 'stdin', pos: 0 })
    this.fds.set(1, { kind: 'sink', name: 'stdout' })
    this.fds.set(2, { kind: 'sink', name: 'stderr' })
    this.fds.set(3, { kind: 'dir', node: this.fs.root, preopen: '/' })
    this.fds.set(4, { kind: 'dir', node: this.fs.out, preopen: '/out' })
  }

  private get view(): DataView {
    return new DataView(this.memory!.buffer)
  }
  private get bytes(): Uint8Array {
    return new Uint8Array(this.memory!.buffer)
  }
  private string(ptr: number, len: number): string {
    return new TextDecoder().decode(this.bytes.subarray(ptr >>> 0, (ptr >>> 0) + (len >>> 0)))
  }
  private range(ptr: number, len: number): Uint8Array {
    const start = ptr >>> 0
    const end = start + (len >>> 0)
    if (end > this.memory!.buffer.byteLength) fail(ERRNO.FAULT)
    return this.bytes.subarray(start, end)
  }
  private iovecs(ptr: number, count: number): Uint8Array[] {
    const view = this.view
    const out: Uint8Array[] = []
    for (let i = 0; i < count >>> 0; i++) {
      const at = (ptr >>> 0) + i * 8
      out.push(this.range(view.getUint32(at, true), view.getUint32(at + 4, true)))
    }
    return out
  }
  private fd(fd: number): Descriptor {
    const d = this.fds.get(fd)
    if (!d) fail(ERRNO.BADF)
    return d!
  }
  private dirFd(fd: number): DirNode {
    const d = this.fd(fd)
    if (d.kind !== 'dir') fail(ERRNO.NOTDIR)
    return (d as { node: DirNode }).node
  }
  private fileFd(fd: number): Extract<Descriptor, { kind: 'file' }> {
    const d = this.fd(fd)
    if (d.kind === 'dir') fail(ERRNO.ISDIR)
    if (d.kind !== 'file') fail(ERRNO.SPIPE)
    return d as Extract<Descriptor, { kind: 'file' }>
  }
  private writeStrings(list: Uint8Array[], ptrs: number, buf: number): void {
    const view = this.view
    let at = buf >>> 0
    list.forEach((s, i) => {
      view.setUint32((ptrs >>> 0) + i * 4, at, true)
      this.range(at, s.byteLength + 1).set([...s, 0])
      at += s.byteLength + 1
    })
  }
  private sizes(list: Uint8Array[], countPtr: number, sizePtr: number): void {
    this.view.setUint32(countPtr >>> 0, list.length, true)
    this.view.setUint32(
      sizePtr >>> 0,
      list.reduce((n, s) => n + s.byteLength + 1, 0),
      true
    )
  }
  private filestat(node: Node, ptr: number): void {
    const v = this.view
    const p = ptr >>> 0
    this.range(p, 64).fill(0)
    v.setBigUint64(p + 8, BigInt(node.ino), true)
    v.setUint8(p + 16, node.kind === 'dir' ? FILETYPE.DIRECTORY : FILETYPE.REGULAR_FILE)
    v.setBigUint64(p + 24, 1n, true)
    v.setBigUint64(p + 32, BigInt(node.kind === 'file' ? node.size : 0), true)
    for (const off of [40, 48, 56]) v.setBigUint64(p + off, this.config.timeNs, true)
  }
  private readInto(iovs: Uint8Array[], source: Uint8Array, size: number, at: number): number {
    let n = 0
    for (const iov of iovs) {
      const chunk = source.subarray(Math.min(at + n, size), Math.min(at + n + iov.byteLength, size))
      iov.set(chunk)
      n += chunk.byteLength
      if (chunk.byteLength < iov.byteLength) break
    }
    return n
  }
  private writeFile(d: Extract<Descriptor, { kind: 'file' }>, iovs: Uint8Array[], at: number): number {
    if (!d.write) fail(ERRNO.BADF)
    let n = 0
    for (const iov of iovs) {
      this.fs.write(d.node, at + n, iov)
      n += iov.byteLength
    }
    return n
  }
  private offset(value: bigint): number {
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) fail(ERRNO.INVAL)
    return Number(value)
  }

  /** The functions a module imports, each returning an errno (a fault in the program's pointers is EFAULT). */
  imports(): Record<string, (...args: any[]) => number | void> {
    const calls = this.calls()
    const out: Record<string, (...args: any[]) => number | void> = {}
    for (const name of WASI_FUNCTIONS.keys()) {
      const call = calls[name] ?? (() => ERRNO.NOSYS)
      out[name] = (...args: any[]) => {
        try {
          return call(...args)
        } catch (err) {
          if (err instanceof WasiErrno) return err.errno
          if (err instanceof RangeError) return ERRNO.FAULT
          throw err
        }
      }
    }
    return out
  }

  private calls(): Record<string, (...args: any[]) => number | void> {
    const ok = ERRNO.SUCCESS
    return {
      args_get: (argv: number, buf: number) => {
        this.writeStrings(this.config.args, argv, buf)
        return ok
      },
      args_sizes_get: (count: number, size: number) => {
        this.sizes(this.config.args, count, size)
        return ok
      },
      environ_get: (env: number, buf: number) => {
        this.writeStrings(this.config.env, env, buf)
        return ok
      },
      environ_sizes_get: (count: number, size: number) => {
        this.sizes(this.config.env, count, size)
        return ok
      },
      clock_res_get: (id: number, ptr: number) => {
        if (id >>> 0 > 3) return ERRNO.INVAL
        this.view.setBigUint64(ptr >>> 0, 1000n, true)
        return ok
      },
      clock_time_get: (id: number, _precision: bigint, ptr: number) => {
        const now = this.clock.read(id >>> 0)
        if (now === null) return ERRNO.INVAL
        this.view.setBigUint64(ptr >>> 0, now, true)
        return ok
      },
      random_get: (ptr: number, len: number) => {
        this.random.fill(this.range(ptr, len))
        return ok
      },
      sched_yield: () => ok,
      proc_exit: (code: number) => {
        throw new ProcExit(code >>> 0)
      },
      poll_oneoff: (inPtr: number, outPtr: number, count: number, neventsPtr: number) => {
        const events = pollOneoff(this.view, this.clock, inPtr >>> 0, outPtr >>> 0, count >>> 0, (fd, read) => {
          const d = this.fds.get(fd)
          if (!d) return { errno: ERRNO.BADF, bytes: 0 }
          if (!read) return { errno: ERRNO.SUCCESS, bytes: 0 }
          const left = d.kind === 'stdin' ? this.config.stdin.byteLength - d.pos : d.kind === 'file' ? d.node.size - d.pos : 0
          return { errno: ERRNO.SUCCESS, bytes: Math.max(0, left) }
        })
        this.view.setUint32(neventsPtr >>> 0, events, true)
        return ok
      },
      fd_write: (fd: number, iovs: number, count: number, nPtr: number) => {
        const d = this.fd(fd)
        const list = this.iovecs(iovs, count)
        let n = 0
        if (d.kind === 'sink') {
          const sink = d.name === 'stdout' ? this.stdout : this.stderr
          for (const iov of list) {
            sink.write(iov)
            n += iov.byteLength
          }
        } else if (d.kind === 'file') {
          n = this.writeFile(d, list, d.append ? d.node.size : d.pos)
          d.pos = d.append ? d.node.size : d.pos + n
        } else return ERRNO.BADF
        this.view.setUint32(nPtr >>> 0, n, true)
        return ok
      },
      fd_pwrite: (fd: number, iovs: number, count: number, offset: bigint, nPtr: number) => {
        const d = this.fileFd(fd)
        this.view.setUint32(nPtr >>> 0, this.writeFile(d, this.iovecs(iovs, count), this.offset(offset)), true)
        return ok
      },
      fd_read: (fd: number, iovs: number, count: number, nPtr: number) => {
        const d = this.fd(fd)
        const list = this.iovecs(iovs, count)
        let n: number
        if (d.kind === 'stdin') {
          n = this.readInto(list, this.config.stdin, this.config.stdin.byteLength, d.pos)
          d.pos += n
        } else if (d.kind === 'file') {
          if (!d.read) return ERRNO.BADF
          n = this.readInto(list, d.node.data, d.node.size, d.pos)
          d.pos += n
        } else return d.kind === 'dir' ? ERRNO.ISDIR : ERRNO.BADF
        this.view.setUint32(nPtr >>> 0, n, true)
        return ok
      },
      fd_pread: (fd: number, iovs: number, count: number, offset: bigint, nPtr: number) => {
        const d = this.fileFd(fd)
        if (!d.read) return ERRNO.BADF
        this.view.setUint32(nPtr >>> 0, this.readInto(this.iovecs(iovs, count), d.node.data, d.node.size, this.offset(offset)), true)
        return ok
      },
      fd_seek: (fd: number, offset: bigint, whence: number, ptr: number) => {
        const d = this.fileFd(fd)
        const base =
          whence === WHENCE.SET
            ? 0n
            : whence === WHENCE.CUR
              ? BigInt(d.pos)
              : whence === WHENCE.END
                ? BigInt(d.node.size)
                : fail(ERRNO.INVAL)
        d.pos = this.offset(base + offset)
        this.view.setBigUint64(ptr >>> 0, BigInt(d.pos), true)
        return ok
      },
      fd_tell: (fd: number, ptr: number) => {
        this.view.setBigUint64(ptr >>> 0, BigInt(this.fileFd(fd).pos), true)
        return ok
      },
      fd_close: (fd: number) => {
        this.fd(fd)
        this.fds.delete(fd)
        return ok
      },
      fd_renumber: (from: number, to: number) => {
        const d = this.fd(from)
        this.fd(to)
        this.fds.set(to, d)
        this.fds.delete(from)
        return ok
      },
      fd_fdstat_get: (fd: number, ptr: number) => {
        const d = this.fd(fd)
        const v = this.view
        const p = ptr >>> 0
        this.range(p, 24).fill(0)
        let base = ALL_RIGHTS
        if (d.kind === 'file') {
          v.setUint8(p, FILETYPE.REGULAR_FILE)
          v.setUint16(p + 2, d.append ? FDFLAGS.APPEND : 0, true)
          if (!d.write) base &= ~WRITE_RIGHTS
          if (!d.read) base &= ~FD_READ
        } else if (d.kind === 'dir') v.setUint8(p, FILETYPE.DIRECTORY)
        else {
          v.setUint8(p, FILETYPE.UNKNOWN)
          base &= ~SEEK_RIGHTS
        } // a pipe, as native stdio under a grid is
        v.setBigUint64(p + 8, base, true)
        v.setBigUint64(p + 16, d.kind === 'dir' ? ALL_RIGHTS : 0n, true)
        return ok
      },
      fd_fdstat_set_flags: (fd: number, flags: number) => {
        const d = this.fd(fd)
        if (d.kind === 'file') d.append = (flags & FDFLAGS.APPEND) !== 0
        return ok
      },
      fd_fdstat_set_rights: (fd: number) => {
        this.fd(fd)
        return ok
      },
      fd_filestat_get: (fd: number, ptr: number) => {
        const d = this.fd(fd)
        if (d.kind === 'file' || d.kind === 'dir') this.filestat(d.node, ptr)
        else {
          this.range(ptr, 64).fill(0)
          this.view.setUint8((ptr >>> 0) + 16, FILETYPE.UNKNOWN)
        }
        return ok
      },
      fd_filestat_set_size: (fd: number, size: bigint) => {
        const d = this.fileFd(fd)
        if (!d.write) return ERRNO.BADF
        this.fs.resize(d.node, this.offset(size))
        return ok
      },
      fd_allocate: (fd: number, offset: bigint, len: bigint) => {
        const d = this.fileFd(fd)
        if (!d.write) return ERRNO.BADF
        const end = this.offset(offset + len)
        if (end > d.node.size) this.fs.resize(d.node, end)
        return ok
      },
      fd_filestat_set_times: (fd: number) => {
        this.fd(fd)
        return ok
      },
      fd_advise: (fd: number) => {
        this.fd(fd)
        return ok
      },
      fd_datasync: (fd: number) => {
        this.fd(fd)
        return ok
      },
      fd_sync: (fd: number) => {
        this.fd(fd)
        return ok
      },
      fd_prestat_get: (fd: number, ptr: number) => {
        const d = this.fds.get(fd)
        if (d?.kind !== 'dir' || d.preopen === null) return ERRNO.BADF
        this.view.setUint32(ptr >>> 0, 0, true)
        this.view.setUint32((ptr >>> 0) + 4, Buffer.byteLength(d.preopen), true)
        return ok
      },
      fd_prestat_dir_name: (fd: number, ptr: number, len: number) => {
        const d = this.fds.get(fd)
        if (d?.kind !== 'dir' || d.preopen === null) return ERRNO.BADF
        const name = new TextEncoder().encode(d.preopen)
        this.range(ptr, Math.min(len >>> 0, name.byteLength)).set(name.subarray(0, len >>> 0))
        return ok
      },
      fd_readdir: (fd: number, buf: number, len: number, cookie: bigint, usedPtr: number) => {
        const dir = this.dirFd(fd)
        const names = ['.', '..', ...[...dir.entries.keys()].sort()]
        const out = this.range(buf, len)
        let used = 0
        for (
          let i = Number(cookie < BigInt(names.length) ? cookie : BigInt(names.length));
          i < names.length && used < out.byteLength;
          i++
        ) {
          const name = new TextEncoder().encode(names[i])
          const node = i === 0 ? dir : i === 1 ? (dir.parent ?? dir) : dir.entries.get(names[i])!
          const entry = new Uint8Array(24 + name.byteLength)
          const v = new DataView(entry.buffer)
          v.setBigUint64(0, BigInt(i + 1), true)
          v.setBigUint64(8, BigInt(node.ino), true)
          v.setUint32(16, name.byteLength, true)
          v.setUint8(20, node.kind === 'dir' ? FILETYPE.DIRECTORY : FILETYPE.REGULAR_FILE)
          entry.set(name, 24)
          const fits = entry.subarray(0, Math.min(entry.byteLength, out.byteLength - used))
          out.set(fits, used)
          used += fits.byteLength
        }
        this.view.setUint32(usedPtr >>> 0, used, true)
        return ok
      },
      path_open: (
        dirFd: number,
        _lookup: number,
        ptr: number,
        len: number,
        oflags: number,
        rights: bigint,
        _inheriting: bigint,
        fdflags: number,
        fdPtr: number
      ) => {
        const { dir, name, node: found } = this.fs.resolve(this.dirFd(dirFd), this.string(ptr, len))
        let node: Node | undefined = found
        if (node && oflags & OFLAGS.CREAT && oflags & OFLAGS.EXCL) return ERRNO.EXIST
        if (node?.kind === 'dir') {
          if (oflags & (OFLAGS.CREAT | OFLAGS.TRUNC)) return ERRNO.ISDIR
          return this.open({ kind: 'dir', node, preopen: null }, fdPtr)
        }
        if (oflags & OFLAGS.DIRECTORY) return node ? ERRNO.NOTDIR : ERRNO.NOENT
        const write = (rights & OPEN_FOR_WRITE_RIGHTS) !== 0n || (oflags & OFLAGS.TRUNC) !== 0 || (fdflags & FDFLAGS.APPEND) !== 0
        if (!node) {
          if (!(oflags & OFLAGS.CREAT)) return ERRNO.NOENT
          if (name === '.') return ERRNO.ISDIR
          node = this.fs.createFile(dir, name)
        }
        const file = node as FileNode
        if (write && !file.writable) return ERRNO.ROFS
        if (oflags & OFLAGS.TRUNC) this.fs.resize(file, 0)
        return this.open(
          { kind: 'file', node: file, pos: 0, read: (rights & FD_READ) !== 0n, write, append: (fdflags & FDFLAGS.APPEND) !== 0 },
          fdPtr
        )
      },
      path_filestat_get: (dirFd: number, _flags: number, ptr: number, len: number, buf: number) => {
        const { node } = this.fs.resolve(this.dirFd(dirFd), this.string(ptr, len))
        if (!node) return ERRNO.NOENT
        this.filestat(node, buf)
        return ok
      },
      path_filestat_set_times: (dirFd: number, _flags: number, ptr: number, len: number) => {
        return this.fs.resolve(this.dirFd(dirFd), this.string(ptr, len)).node ? ok : ERRNO.NOENT
      },
      path_create_directory: (dirFd: number, ptr: number, len: number) => {
        const { dir, name, node } = this.fs.resolve(this.dirFd(dirFd), this.string(ptr, len))
        if (node) return ERRNO.EXIST
        this.fs.createDir(dir, name)
        return ok
      },
      path_remove_directory: (dirFd: number, ptr: number, len: number) => {
        const { dir, name, node } = this.fs.resolve(this.dirFd(dirFd), this.string(ptr, len))
        if (!node) return ERRNO.NOENT
        if (node.kind !== 'dir') return ERRNO.NOTDIR
        if (name === '.' || node === this.fs.out) return ERRNO.INVAL
        if (node.entries.size > 0) return ERRNO.NOTEMPTY
        this.fs.remove(dir, name)
        return ok
      },
      path_unlink_file: (dirFd: number, ptr: number, len: number) => {
        const { dir, name, node } = this.fs.resolve(this.dirFd(dirFd), this.string(ptr, len))
        if (!node) return ERRNO.NOENT
        if (node.kind === 'dir') return ERRNO.ISDIR
        this.fs.remove(dir, name)
        return ok
      },
      path_rename: (fromFd: number, fromPtr: number, fromLen: number, toFd: number, toPtr: number, toLen: number) => {
        const from = this.fs.resolve(this.dirFd(fromFd), this.string(fromPtr, fromLen))
        const to = this.fs.resolve(this.dirFd(toFd), this.string(toPtr, toLen))
        if (!from.node) return ERRNO.NOENT
        if (from.name === '.' || to.name === '.' || from.node === this.fs.out) return ERRNO.INVAL
        if (!from.dir.writable || !to.dir.writable) return ERRNO.ROFS
        if (to.node?.kind === 'dir' && (from.node.kind !== 'dir' || to.node.entries.size > 0))
          return to.node.entries.size > 0 ? ERRNO.NOTEMPTY : ERRNO.ISDIR
        if (to.node && from.node.kind === 'dir' && to.node.kind !== 'dir') return ERRNO.NOTDIR
        if (to.node) this.fs.remove(to.dir, to.name)
        from.dir.entries.delete(from.name)
        to.dir.entries.set(to.name, from.node)
        if (from.node.kind === 'dir') from.node.parent = to.dir
        return ok
      },
      path_readlink: (dirFd: number, ptr: number, len: number) => {
        return this.fs.resolve(this.dirFd(dirFd), this.string(ptr, len)).node ? ERRNO.INVAL : ERRNO.NOENT
      },
      path_link: () => ERRNO.NOTSUP,
      path_symlink: () => ERRNO.NOTSUP
      // proc_raise, sock_accept, sock_recv, sock_send, sock_shutdown: ENOSYS
    }
  }

  private open(d: Descriptor, fdPtr: number): number {
    let fd = 3
    while (this.fds.has(fd)) fd++
    if (fd > 1024) return ERRNO.MFILE
    this.fds.set(fd, d)
    this.view.setUint32(fdPtr >>> 0, fd, true)
    return ERRNO.SUCCESS
  }
}
