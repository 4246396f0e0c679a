/**
 * The WASI preview-1 interface the `wasi` sandbox offers: every function's name and wasm
 * signature (so a module importing anything else is refused before it runs, naming the
 * import), and the numbers of the ABI the shim speaks.
 */

export const WASI_MODULE = 'wasi_snapshot_preview1'

/** Signature letters: i = i32, I = i64; every function returns an errno (i32) but proc_exit. */
const SIGNATURES: Record<string, string> = {
  args_get: 'ii',
  args_sizes_get: 'ii',
  environ_get: 'ii',
  environ_sizes_get: 'ii',
  clock_res_get: 'ii',
  clock_time_get: 'iIi',
  fd_advise: 'iIIi',
  fd_allocate: 'iII',
  fd_close: 'i',
  fd_datasync: 'i',
  fd_fdstat_get: 'ii',
  fd_fdstat_set_flags: 'ii',
  fd_fdstat_set_rights: 'iII',
  fd_filestat_get: 'ii',
  fd_filestat_set_size: 'iI',
  fd_filestat_set_times: 'iIIi',
  fd_pread: 'iiiIi',
  fd_prestat_get: 'ii',
  fd_prestat_dir_name: 'iii',
  fd_pwrite: 'iiiIi',
  fd_read: 'iiii',
  fd_readdir: 'iiiIi',
  fd_renumber: 'ii',
  fd_seek: 'iIii',
  fd_sync: 'i',
  fd_tell: 'ii',
  fd_write: 'iiii',
  path_create_directory: 'iii',
  path_filestat_get: 'iiiii',
  path_filestat_set_times: 'iiiiIIi',
  path_link: 'iiiiiii',
  path_open: 'iiiiiIIii',
  path_readlink: 'iiiiii',
  path_remove_directory: 'iii',
  path_rename: 'iiiiii',
  path_symlink: 'iiiii',
  path_unlink_file: 'iii',
  poll_oneoff: 'iiii',
  proc_exit: 'i',
  proc_raise: 'i',
  sched_yield: '',
  random_get: 'ii',
  sock_accept: 'iii',
  sock_recv: 'iiiiii',
  sock_send: 'iiiii',
  sock_shutdown: 'ii'
}

/** name -> "(i32, i64) -> (i32)", in the form wasm-binary's FuncType prints as. */
export const WASI_FUNCTIONS: ReadonlyMap<string, string> = new Map(
  Object.entries(SIGNATURES).map(([name, letters]) => {
    const params = [...letters].map((l) => (l === 'I' ? 'i64' : 'i32')).join(', ')
    return [name, `(${params}) -> (${name === 'proc_exit' ? '' : 'i32'})`]
  })
)

export const ERRNO = {
  SUCCESS: 0,
  BADF: 8,
  EXIST: 20,
  FAULT: 21,
  INVAL: 28,
  IO: 29,
  ISDIR: 31,
  MFILE: 33,
  NAMETOOLONG: 37,
  NOENT: 44,
  NOSYS: 52,
  NOTDIR: 54,
  NOTEMPTY: 55,
  NOTSUP: 58,
  PERM: 63,
  ROFS: 69,
  SPIPE: 70,
  NOTCAPABLE: 76
} as const

export const FILETYPE = { UNKNOWN: 0, CHARACTER_DEVICE: 2, DIRECTORY: 3, REGULAR_FILE: 4 } as const
export const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const
export const FDFLAGS = { APPEND: 1 } as const
export const WHENCE = { SET: 0, CUR: 1, END: 2 } as const
/** Rights a file descriptor needs to change its file. */
export const WRITE_RIGHTS = (1n << 6n) | (1n << 8n) | (1n << 22n) // fd_write, fd_allocate, fd_filestat_set_size
/**
 * Rights that open a file for writing. Not fd_filestat_set_size: Go's wasip1 port asks for it
 * even with O_RDONLY (its "writeRights" mask names path_filestat_set_size instead), and a
 * read-only descriptor refuses to change a file's size anyway.
 */
export const OPEN_FOR_WRITE_RIGHTS = (1n << 6n) | (1n << 8n) // fd_write, fd_allocate
/** Every right: the sandbox checks what a descriptor may do by its own flags, not by rights. */
export const ALL_RIGHTS = (1n << 30n) - 1n
export const EVENTTYPE = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 } as const
