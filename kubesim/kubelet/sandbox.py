"""Pod sandboxes: a private mount namespace per pod, and processes started inside it.

The lowest layer of kubesim's kubelet. A pod is a *holder* ("pause") process owning a mount
namespace; containers and execs join it with ``setns``. The namespace is built in-process with
ctypes syscalls (~3 ms a pod, versus ~90 ms with util-linux commands):

- ``/`` made rprivate; an unbindable tmpfs on ``root_mountpoint`` becomes the pod root, holding the
  host's top-level symlinks (``bin -> usr/bin`` ...);
- a fresh ``/proc``; ``/dev`` rbound with a private ``/dev/shm``; ``/sys`` rbound read-only;
- private tmpfs ``/tmp`` (1777), ``/run`` and ``/root`` (0755: root's home is private and empty);
- ``/etc`` an overlay of the host's ``/etc`` whose upper layer lives in a tmpfs hidden beneath it
  (host mounts under ``/etc``, e.g. a container's ``/etc/resolv.conf``, are bound over it read-only);
- every other top-level directory rbound and made recursively read-only (``mount_setattr``);
- ``pivot_root`` (an exec joining the namespace lands at its root mount, so no chroot); then the
  passwd/group lines, the ``expose`` paths (read-only, same path), the volumes and the hosts file;
  finally the old root is detached.

Missing mount points are created in the pod where it can write, else on the host through the old
root -- only when that host directory is the very one the pod sees -- so the host gains nothing but
empty mount-point directories (or empty files). This is not isolation: PID, IPC, UTS and network
namespaces are the host's.

How processes start: a dedicated long-lived *spawner thread* does it without forking kubesim (a fork of
a process of tens of MB costs 4-10 ms, a vfork ~1 ms). Linux keeps the mount namespace, the root and cwd
(once the thread has its own fs_struct: ``unshare(CLONE_FS)``) and the credentials per *thread*, and a
vforked child inherits its thread's. So the thread joins the pod (``setns``) -- or, for a new pod,
``unshare(CLONE_NEWNS)`` and builds it as above -- takes on the user with raw syscalls (glibc's
``setuid`` & co. would change every thread), chdirs, and starts the process through ``subprocess.Popen``'s
vfork path (no preexec_fn: PATH lookup, fd closing, setsid and the exec error report happen in the
child, in the pod's view). Then it returns to the host's namespace and kubesim's own credentials and
checks that it did; if it ever cannot, the thread retires and every later call forks as before
(``_popen_reporting`` with a preexec_fn). Garbage collection is off while the thread is inside a pod,
so no finalizer of anyone else's runs there. ``KUBESIM_SANDBOX_SPAWNER=0`` forces the fork path.

Lifetime: pod processes must die with kubesim. A forked child gets PR_SET_PDEATHSIG=SIGKILL; a vforked
one cannot, so the spawner thread hands a pidfd of every process it starts to a small *watchdog*
process (one per kubesim, in a session of its own) that SIGKILLs them all when its socket to kubesim
reaches EOF -- kubesim exited or was killed. Like the parent-death signal, this reaches the processes
kubesim started, not what they double-forked (``kill_tagged`` finds those). start_sandbox pins the
namespace with an fd (namespace inode numbers are reused at once otherwise); kill_sandbox(SIGKILL)
releases it, so pair every started sandbox with one, before reaping the holder.

The ``preexec_fn`` functions of the fork path run between fork and exec in a possibly multi-threaded
process: they only call ``os`` functions and pre-bound ctypes syscalls on data resolved before the fork.
"""
from __future__ import annotations

import array
import ctypes
import errno
import gc
import logging
import os
import platform
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from functools import partial

__all__ = ["Mount", "SandboxSpec", "SandboxError", "start_sandbox", "spawn", "pod_pids",
           "kill_sandbox", "signal_pids"]

log = logging.getLogger("kubesim.kubelet")


class SandboxError(RuntimeError):
    """Setting up, or joining, a pod's mount namespace failed; the message says which step and why."""


@dataclass(frozen=True)
class Mount:
    host_path: str        # absolute host path of a directory OR a file
    mount_path: str       # absolute path inside the pod
    read_only: bool = False


@dataclass(frozen=True)
class SandboxSpec:
    root_mountpoint: str                # empty host directory: mount point of every pod's root tmpfs
    mounts: tuple[Mount, ...] = ()      # volumes, applied in order
    hosts_file: str | None = None       # bound over /etc/hosts (rewrite it in place: same inode)
    expose: tuple[str, ...] = ()        # host paths kept visible, read-only, at the same path
    passwd_lines: tuple[str, ...] = ()  # appended to the pod's /etc/passwd
    group_lines: tuple[str, ...] = ()   # appended to the pod's /etc/group
    error_file: str | None = None       # a set-up failure writes its message here
    tag: str = "tmpfs"                  # the pod root tmpfs's source name: `find_tagged` finds pods by it


# ---------------------------------------------------------------------------------------- syscalls
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(platform.machine())
_SYS_MOUNT_SETATTR = 442            # the same on x86_64 and aarch64
# setgroups, setresgid, setresuid: called raw, they change the calling thread's credentials only
_SYS_CREDS = {"x86_64": (116, 119, 117), "aarch64": (159, 149, 147)}.get(platform.machine())
CLONE_FS, CLONE_NEWNS, PR_SET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE = 0x200, 0x00020000, 1, 3, 4
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC = 0x2, 0x4, 0x1000, 0x4000
MS_UNBINDABLE, MS_PRIVATE = 1 << 17, 1 << 18
MNT_DETACH, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = 2, -100, 0x8000, 0x1
_OLDROOT = "/.kubesim-oldroot"      # where pivot_root parks the host's root inside the pod
_SLEEP = shutil.which("sleep") or "/bin/sleep"


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


_RDONLY = _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)


def _ok(ret: int) -> None:
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _enc(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def _mount(src: str | None, target: str, fstype: str | None = None, flags: int = 0,
           data: str | None = None) -> None:
    _ok(_libc.mount(_enc(src), _enc(target), _enc(fstype), ctypes.c_ulong(flags), _enc(data)))


def _bind(src: str, target: str, read_only: bool) -> None:
    _mount(src, target, None, MS_BIND | MS_REC)
    if read_only:   # recursively: `mount -o remount,ro` would leave submounts writable
        _ok(_libc.syscall(ctypes.c_long(_SYS_MOUNT_SETATTR), ctypes.c_int(AT_FDCWD),
                          ctypes.c_char_p(os.fsencode(target)), ctypes.c_uint(AT_RECURSIVE),
                          ctypes.byref(_RDONLY), ctypes.c_size_t(ctypes.sizeof(_RDONLY))))


def _die_with_parent(parent_pid: int) -> None:
    """SIGKILL when the forking thread dies. Call it last: credential changes clear it."""
    _ok(_libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL)))
    if os.getppid() != parent_pid:      # the parent died before prctl
        os.kill(os.getpid(), signal.SIGKILL)


# ---------------------------------------------------------------------------- in the forked child
def _same_file(a: str, b: str) -> bool:
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _create(path: str, is_file: bool) -> None:
    if is_file:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644))
    else:
        os.mkdir(path, 0o755)


def _mount_point(path: str, is_file: bool) -> str:
    """Resolve `path` as the pod sees it, create it (empty) if missing, and return it.

    Missing components are created in the pod. Where the pod's view is read-only they are created
    on the host through the old root instead -- provided that host directory is the one the pod
    sees (same device and inode), so the host gains only an empty directory or file.
    """
    path = os.path.realpath(path)       # after pivot_root: /var/run/x is the pod's /run/x
    if os.path.lexists(path):
        return path
    missing, base = [], path
    while not os.path.lexists(base):
        base, name = os.path.split(base)
        missing.insert(0, name)
    where = base
    for i, name in enumerate(missing):
        last = is_file and i == len(missing) - 1
        try:
            _create(os.path.join(where, name), last)
        except OSError as exc:
            if i or exc.errno != errno.EROFS or not _same_file(base, _OLDROOT + base):
                raise
            where = _OLDROOT + base
            _create(os.path.join(where, name), last)
        where = os.path.join(where, name)
    return path


def _append_lines(path: str, lines: tuple[str, ...]) -> None:
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
    try:
        size = os.fstat(fd).st_size
        lead = "" if size == 0 or os.pread(fd, 1, size - 1) == b"\n" else "\n"
        os.write(fd, (lead + "\n".join(lines) + "\n").encode())
    finally:
        os.close(fd)


def _report(errw: int, step: list[str], exc: BaseException) -> None:
    try:
        os.write(errw, f"{step[0]}: {exc}".encode(errors="replace"))
    except OSError:
        pass


def _build_root(plan: dict, step: list[str]) -> None:
    """In a new mount namespace (unshared by the caller): build the pod's root (see the module docstring)."""
    root = plan["root"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    step[0] = f"mounting the pod root tmpfs on {root}"
    _mount(plan["tag"], root, "tmpfs", 0, "mode=755")
    _mount(None, root, None, MS_UNBINDABLE)     # keeps it out of an rbind of its parent dir
    for name, link in plan["top"]:
        step[0] = f"setting up /{name}"
        here = root + "/" + name
        if link is not None:
            os.symlink(link, here)
            continue
        os.mkdir(here, 0o755)
        if name == "proc":
            _mount("proc", here, "proc", MS_NOSUID | MS_NODEV)
        elif name == "dev":
            _bind("/dev", here, False)
            _mount("shm", here + "/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
        elif name in ("tmp", "run", "root"):
            mode = "mode=1777" if name == "tmp" else "mode=755"
            _mount("tmpfs", here, "tmpfs", MS_NOSUID | MS_NODEV, mode)
        elif name == "etc":     # the overlay covers the tmpfs holding its own upper layer
            _mount("tmpfs", here, "tmpfs", 0, "mode=755")
            os.mkdir(here + "/.upper", 0o755)
            os.mkdir(here + "/.work", 0o755)
            _mount("overlay", here, "overlay", 0,
                   f"lowerdir=/etc,upperdir={here}/.upper,workdir={here}/.work")
            for sub in plan["etc_submounts"]:
                _bind(sub, root + sub, True)
        else:                   # sys and every other directory: the host's, read-only
            _bind("/" + name, here, True)
    step[0] = "pivot_root"
    os.mkdir(root + _OLDROOT, 0o700)
    os.chdir(root)
    _ok(_libc.syscall(ctypes.c_long(_SYS_PIVOT_ROOT), ctypes.c_char_p(b"."),
                      ctypes.c_char_p(os.fsencode(_OLDROOT[1:]))))
    os.chdir("/")
    for path, lines in (("/etc/passwd", plan["passwd"]), ("/etc/group", plan["group"])):
        step[0] = f"appending to {path}"
        if lines:
            _append_lines(path, lines)
    for src, dst, is_file, read_only in plan["mounts"]:
        step[0] = f"mounting {src} at {dst}"
        _bind(_OLDROOT + src, _mount_point(dst, is_file), read_only)
    # after the volumes: an emptyDir at /tmp must not hide this Python or the project when they live under /tmp
    for path, is_file in plan["expose"]:
        step[0] = f"exposing {path}"
        if not _same_file(path, _OLDROOT + path):     # unless the pod already sees it there
            _bind(_OLDROOT + path, _mount_point(path, is_file), True)
    step[0] = "detaching the host root"
    _ok(_libc.umount2(os.fsencode(_OLDROOT), MNT_DETACH))
    os.rmdir(_OLDROOT)


def _build_pod(plan: dict, errw: int, step: list[str]) -> None:
    """preexec_fn of the holder (fork path): build the pod's namespace, then the parent-death signal."""
    try:
        step[0] = "creating the mount namespace"
        _ok(_libc.unshare(CLONE_NEWNS))
        _build_root(plan, step)
        step[0] = "setting the parent-death signal"
        _die_with_parent(plan["parent"])
    except BaseException as exc:
        _report(errw, step, exc)
        raise


def _join_pod(ns_fd: int, cwd: str, uid: int, gid: int, groups: tuple[int, ...], parent: int,
              errw: int, step: list[str]) -> None:
    """preexec_fn of a pod process: enter the namespace, drop to the user, chdir, PDEATHSIG."""
    try:
        step[0] = "joining the pod's mount namespace"
        _ok(_libc.setns(ns_fd, CLONE_NEWNS))
        step[0] = f"switching to uid {uid} gid {gid} groups {list(groups)}"
        os.setgroups(list(groups))
        os.setgid(gid)
        os.setuid(uid)
        step[0] = f"chdir to {cwd}"
        os.chdir(cwd)
        step[0] = "setting the parent-death signal"
        _die_with_parent(parent)
    except BaseException as exc:
        _report(errw, step, exc)
        raise


# ----------------------------------------------------------------------------------- in the parent
def _etc_submounts() -> list[str]:
    """Host mounts strictly under /etc (outermost only), e.g. a container runtime's /etc/hosts."""
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        points = {re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), line.split()[4])
                  for line in f}                               # \040 is a space
    points = sorted(p for p in points if p.startswith("/etc/"))
    return [p for p in points if not any(p.startswith(q + "/") for q in points)]


def _plan(spec: SandboxSpec) -> dict:
    """Validate the spec and resolve everything the child needs; raise SandboxError if bad."""
    root = os.path.realpath(spec.root_mountpoint)
    if not os.path.isdir(root) or root == "/":
        raise SandboxError(f"root_mountpoint {spec.root_mountpoint!r} is not a directory")
    if any(c in root for c in ",:\\"):
        raise SandboxError(f"root_mountpoint {root!r} must not contain ',', ':' or '\\'")

    def host(path: str, what: str) -> tuple[str, bool]:
        if not os.path.isabs(path) or not os.path.exists(path):
            raise SandboxError(f"{what} {path!r} does not exist (or is not an absolute path)")
        real = os.path.realpath(path)
        return real, not os.path.isdir(real)

    with os.scandir("/") as entries:
        top = [(e.name, os.readlink(e.path) if e.is_symlink() else None)
               for e in sorted(entries, key=lambda e: e.name)
               if e.is_symlink() or (e.is_dir() and e.name != _OLDROOT[1:])]
    mounts = []
    for m in spec.mounts:
        if not os.path.isabs(m.mount_path):
            raise SandboxError(f"mount path {m.mount_path!r} is not absolute")
        src, is_file = host(m.host_path, f"volume host path (for {m.mount_path})")
        mounts.append((src, m.mount_path, is_file, m.read_only))
    if spec.hosts_file is not None:
        src, is_file = host(spec.hosts_file, "hosts file")
        if not is_file:
            raise SandboxError(f"hosts file {spec.hosts_file!r} is not a file")
        mounts.append((src, "/etc/hosts", True, False))
    return {"root": root, "top": top, "etc_submounts": _etc_submounts(), "mounts": mounts,
            "expose": [host(path, "exposed path") for path in spec.expose],
            "passwd": tuple(spec.passwd_lines), "group": tuple(spec.group_lines),
            "parent": os.getpid(), "tag": spec.tag}


def _popen_reporting(argv: list[str], preexec, **kwargs) -> subprocess.Popen:
    """Popen with `preexec(errw=, step=)`; a preexec failure becomes SandboxError with its message."""
    r, w = os.pipe()
    try:
        return subprocess.Popen(argv, preexec_fn=partial(preexec, errw=w, step=["starting"]),
                                close_fds=True, **kwargs)
    except subprocess.SubprocessError as exc:
        os.set_blocking(r, False)       # the child is gone: read what it reported, if anything
        try:
            message = os.read(r, 65536).decode(errors="replace")
        except BlockingIOError:
            message = ""
        raise SandboxError(message or str(exc)) from None
    finally:
        os.close(r)
        os.close(w)


# ------------------------------------------------------------------------------ the spawner thread
class _Unavailable(Exception):
    """The spawner thread does not serve (it could not start, or retired): take the fork path."""


def _set_ids(nr: int, ids: tuple[int, int, int]) -> None:
    _ok(_libc.syscall(ctypes.c_long(nr), *(ctypes.c_uint(i) for i in ids)))


def _set_groups(groups) -> None:
    _ok(_libc.syscall(ctypes.c_long(_SYS_CREDS[0]), ctypes.c_int(len(groups)),
                      (ctypes.c_uint * len(groups))(*groups)))


def _setns(fd: int) -> None:
    _ok(_libc.setns(fd, CLONE_NEWNS))


def _dumpable() -> int:
    return _libc.prctl(PR_GET_DUMPABLE, ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0),
                       ctypes.c_ulong(0))


def _thread_state() -> tuple:
    """The calling thread's credentials, mount namespace, root and cwd."""
    root, cwd = os.stat("/"), os.stat(".")
    return (os.getresuid(), os.getresgid(), sorted(os.getgroups()),
            os.readlink("/proc/thread-self/ns/mnt"), (root.st_dev, root.st_ino), (cwd.st_dev, cwd.st_ino))


def _thread_ns_fd() -> int:
    return os.open("/proc/thread-self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)


# The watchdog: holds a pidfd of every process the spawner thread started; SIGKILLs them when the
# socket to kubesim reaches EOF. Exited ones are dropped whenever the set doubles.
_WATCHDOG = r"""
import array, os, resource, select, signal, socket, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
mine, limit = int(sys.argv[2]), resource.getrlimit(resource.RLIMIT_NOFILE)[1]
os.closerange(3, mine)          # whatever kubesim had inherited without O_CLOEXEC
os.closerange(mine + 1, max(limit, 4096) if limit != resource.RLIM_INFINITY else 1 << 20)
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
except (ValueError, OSError):
    pass
sock = socket.socket(fileno=mine)
pidfds, prune_at = set(), 64
while True:
    try:
        msg, anc, _, _ = sock.recvmsg(1, socket.CMSG_SPACE(64))
    except OSError:
        break
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            pidfds.update(array.array("i", data[:len(data) - len(data) % 4]))
    if not msg:
        break
    if len(pidfds) >= prune_at:
        poller = select.poll()
        for fd in pidfds:
            poller.register(fd, select.POLLIN)
        for fd, _ in poller.poll(0):
            pidfds.discard(fd)
            os.close(fd)
        prune_at = max(64, 2 * len(pidfds))
for fd in pidfds:
    try:
        signal.pidfd_send_signal(fd, signal.SIGKILL)
    except OSError:
        pass
"""


class _Spawner:
    """The spawner thread (see the module docstring). `call(fn, ...)` runs `self.fn(...)` in it and
    returns its result or raises its exception; _Unavailable if the thread does not serve."""

    def __init__(self) -> None:
        self.retired: str | None = None
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._gate = threading.Lock()       # `retired` checked with a request queued; the queue drained
        self._home: tuple = ()
        self._dumpable = 1
        self._sock: socket.socket | None = None
        self._watchdog = 0
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="kubesim-spawner", daemon=True)
        self._thread.start()
        ready.wait()

    def call(self, fn, *args):
        done, box = threading.Lock(), []
        done.acquire()
        with self._gate:
            if self.retired is not None:
                raise _Unavailable(self.retired)
            self._requests.put((fn, args, box, done))
        while not done.acquire(timeout=1.0):
            if not self._thread.is_alive() and not box:     # cannot happen; never wait forever
                self.retired = "the spawner thread died"
                raise SandboxError("the spawner thread died during the call")
        ok, value = box[0]
        if ok:
            return value
        raise value

    # ---- in the thread
    def _run(self, ready: threading.Event) -> None:
        try:
            self._set_up()
        except Exception as exc:  # noqa: BLE001 - any failure: the fork path serves
            self.retired = f"setting up the spawner thread: {exc}"
            return
        finally:
            ready.set()
        while self.retired is None:
            fn, args, box, done = self._requests.get()
            collecting = gc.isenabled()
            gc.disable()        # no finalizer of anyone else's may run here inside a pod
            try:
                box.append((True, fn(self, *args)))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                box.append((False, exc))
            finally:
                if collecting:
                    gc.enable()
                done.release()
            del fn, args, box, done
        with self._gate:        # retired: answer what is still queued, then end the thread
            while True:
                try:
                    _, _, box, done = self._requests.get_nowait()
                except queue.Empty:
                    break
                box.append((False, _Unavailable(self.retired)))
                done.release()

    def _set_up(self) -> None:
        if _SYS_CREDS is None or _SYS_PIVOT_ROOT is None:
            raise OSError(f"unsupported architecture {platform.machine()}")
        _ok(_libc.unshare(CLONE_FS))        # own root and cwd: setns(CLONE_NEWNS) requires it
        os.chdir("/")                       # the thread's own cwd from now on (kubesim never chdirs)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])   # children inherit the thread's signal mask
        self._home = _thread_state()
        if self._home[0] != (0, 0, 0):
            raise OSError(f"kubesim runs as uids {self._home[0]}, not root")
        self._dumpable = _dumpable()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            os.set_inheritable(theirs.fileno(), True)
            self._watchdog = os.posix_spawn(
                sys.executable, [sys.executable, "-I", "-S", "-c", "import os; exec(os.environ['WATCHDOG'])",
                                 "kubesim-pod-watchdog", str(theirs.fileno())],
                {"PATH": "/usr/bin:/bin", "WATCHDOG": _WATCHDOG}, setsid=True,
                file_actions=[(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDWR, 0),
                              (os.POSIX_SPAWN_DUP2, 0, 1), (os.POSIX_SPAWN_DUP2, 0, 2)])
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        self._sock = mine

    def _check_watchdog(self) -> None:
        """Before starting anything: without the watchdog, pods would outlive kubesim."""
        try:
            if os.waitpid(self._watchdog, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            pass
        self.retired = "the pod watchdog process is gone"
        raise _Unavailable(self.retired)

    def _watch(self, pid: int) -> None:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return
        try:
            self._sock.sendmsg([b"p"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))],
                               socket.MSG_NOSIGNAL)
        except OSError as exc:
            self.retired = f"the pod watchdog process is gone ({exc}); process {pid} may outlive kubesim"
        finally:
            os.close(fd)

    def _leave(self, host_fd: int) -> None:
        """Back to kubesim's credentials, the host's namespace and "/"; verify it or retire."""
        uids, gids, groups = self._home[:3]
        errors = []
        for what, restore in (("uids", partial(_set_ids, _SYS_CREDS[2], uids)),
                              ("gids", partial(_set_ids, _SYS_CREDS[1], gids)),
                              ("groups", partial(_set_groups, groups)),
                              ("mount namespace", partial(_setns, host_fd)),
                              ("cwd", partial(os.chdir, "/"))):
            try:
                restore()
            except OSError as exc:
                errors.append(f"restoring the {what}: {exc}")
        if _dumpable() != self._dumpable:   # changing the euid reset this process-wide flag
            _libc.prctl(PR_SET_DUMPABLE, ctypes.c_ulong(self._dumpable), ctypes.c_ulong(0),
                        ctypes.c_ulong(0), ctypes.c_ulong(0))
        try:
            state = _thread_state()
            if state != self._home:
                errors.append(f"the thread's state is {state}, not {self._home}")
        except OSError as exc:
            errors.append(f"checking the thread's state: {exc}")
        if errors:
            self.retired = "; ".join(errors)

    def spawn(self, ns_fd: int, argv: list[str], env: dict[str, str], cwd: str, uid: int, gid: int,
              groups: tuple[int, ...], popen_kwargs: dict) -> subprocess.Popen:
        self._check_watchdog()
        host_fd = _thread_ns_fd()
        try:
            step = "joining the pod's mount namespace"
            try:
                _setns(ns_fd)
                step = f"switching to uid {uid} gid {gid} groups {list(groups)}"
                if not all(0 <= i < 0xFFFFFFFF for i in (uid, gid, *groups)):   # -1 would mean "unchanged"
                    raise OSError(errno.EINVAL, "invalid id")
                _set_groups(groups)
                _set_ids(_SYS_CREDS[1], (gid, gid, gid))
                _set_ids(_SYS_CREDS[2], (uid, uid, 0))     # saved uid 0: root can be regained
                step = f"chdir to {cwd}"
                os.chdir(cwd)
            except OSError as exc:
                raise SandboxError(f"{step}: {exc}") from None
            proc = subprocess.Popen(argv, env=env, close_fds=True, **popen_kwargs)
        finally:
            self._leave(host_fd)
            os.close(host_fd)
        self._watch(proc.pid)
        return proc

    def start(self, plan: dict) -> tuple[subprocess.Popen, int]:
        """A new pod: this thread unshares its namespace, builds it, starts the holder; returns it and
        an fd pinning the namespace."""
        self._check_watchdog()
        host_fd, pin = _thread_ns_fd(), -1
        step = ["creating the mount namespace"]
        try:
            try:
                _ok(_libc.unshare(CLONE_NEWNS))
                pin = _thread_ns_fd()
                _build_root(plan, step)
            except Exception as exc:  # noqa: BLE001 - reported with its step, as the fork path does
                raise SandboxError(f"{step[0]}: {exc}") from None
            try:
                proc = subprocess.Popen([_SLEEP, "infinity"], env={"PATH": "/usr/bin:/bin"}, close_fds=True,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
            except OSError as exc:
                raise SandboxError(f"starting the holder {_SLEEP}: {exc}") from None
        except BaseException:
            if pin >= 0:
                os.close(pin)
            raise
        finally:
            self._leave(host_fd)
            os.close(host_fd)
        self._watch(proc.pid)
        return proc, pin


_USE_SPAWNER = os.environ.get("KUBESIM_SANDBOX_SPAWNER", "1") != "0"
_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()
_fallback_noted = False


def _call_spawner(fn, *args):
    """Run `_Spawner.fn` in the spawner thread (started on first use); _Unavailable: fork instead."""
    global _spawner, _fallback_noted
    if not _USE_SPAWNER:
        raise _Unavailable("disabled by KUBESIM_SANDBOX_SPAWNER=0")
    spawner = _spawner
    if spawner is None:
        with _spawner_lock:
            if _spawner is None:
                _spawner = _Spawner()
            spawner = _spawner
    try:
        return spawner.call(fn, *args)
    except _Unavailable as exc:
        if not _fallback_noted:
            _fallback_noted = True
            log.warning("pod processes are forked from kubesim from now on (slower): %s", exc)
        raise


def _forget_spawner_in_child() -> None:
    """A forked child has no spawner thread: it would start its own (keep the old object: no finalizers)."""
    global _spawner, _spawner_lock
    _forked_away.append(_spawner)
    _spawner, _spawner_lock = None, threading.Lock()


_forked_away: list = []


os.register_at_fork(after_in_child=_forget_spawner_in_child)


# holder pid -> (its namespace "mnt:[inode]", an fd pinning that namespace until kill_sandbox)
_HOLDER_NS: dict[int, tuple[str, int]] = {}


def start_sandbox(spec: SandboxSpec) -> subprocess.Popen:
    """Start the pod's holder with its namespace fully set up; it sleeps until killed.

    Raises SandboxError (after writing spec.error_file, if set) when the spec is bad or set-up fails.
    """
    try:
        if _SYS_PIVOT_ROOT is None:
            raise SandboxError(f"unsupported architecture {platform.machine()}")
        plan = _plan(spec)
        try:
            proc, fd = _call_spawner(_Spawner.start, plan)
        except _Unavailable:
            proc, fd = _fork_holder(plan)
    except SandboxError as exc:
        if spec.error_file:
            with open(spec.error_file, "w", encoding="utf-8") as f:
                f.write(f"pod sandbox set-up failed: {exc}\n")
        raise
    _forget(proc.pid)
    _HOLDER_NS[proc.pid] = (os.readlink(f"/proc/self/fd/{fd}"), fd)
    return proc


def _fork_holder(plan: dict) -> tuple[subprocess.Popen, int]:
    """The fork path of start_sandbox: the holder builds its namespace in a preexec_fn."""
    try:
        proc = _popen_reporting([_SLEEP, "infinity"], partial(_build_pod, plan),
                                env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    except OSError as exc:
        raise SandboxError(f"starting the holder {_SLEEP}: {exc}") from None
    try:
        return proc, os.open(f"/proc/{proc.pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        proc.kill()
        proc.wait()
        raise SandboxError(f"the pod holder {proc.pid} died right after its set-up") from None


def spawn(holder_pid: int, argv: list[str], *, env: dict[str, str], cwd: str | None = None,
          uid: int = 0, gid: int = 0, groups: tuple[int, ...] = (), stdin=None, stdout=None,
          stderr=None, new_session: bool = True) -> subprocess.Popen:
    """Start `argv` in the holder's namespace as uid/gid/groups, in `cwd` (a pod path, default /).

    argv[0] is looked up on env["PATH"] inside the pod (Popen tries the candidates in the child, which
    sees the pod's filesystem); a missing executable raises FileNotFoundError. Failing to join the
    pod, switch user or chdir raises SandboxError. Returns a subprocess.Popen.
    """
    ns = _pod_ns(holder_pid)
    try:
        ns_fd = os.open(f"/proc/{holder_pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        ns_fd = -1
    try:
        if ns is None or ns_fd < 0 or os.readlink(f"/proc/self/fd/{ns_fd}") != ns:
            raise SandboxError(f"pod holder {holder_pid} is gone")
        try:
            return _call_spawner(_Spawner.spawn, ns_fd, list(argv), env, cwd or "/", uid, gid, tuple(groups),
                                 {"stdin": stdin, "stdout": stdout, "stderr": stderr,
                                  "start_new_session": new_session})
        except _Unavailable:
            pass
        preexec = partial(_join_pod, ns_fd, cwd or "/", uid, gid, tuple(groups), os.getpid())
        return _popen_reporting(list(argv), preexec, env=env, stdin=stdin, stdout=stdout,
                                stderr=stderr, start_new_session=new_session)
    finally:
        if ns_fd >= 0:
            os.close(ns_fd)


def _pod_ns(holder_pid: int) -> str | None:
    """A holder's namespace (pinned at start, else read now); None if gone or it is our own."""
    ns = _HOLDER_NS.get(holder_pid, (None,))[0]
    if ns is None:
        try:
            ns = os.readlink(f"/proc/{holder_pid}/ns/mnt")
        except OSError:
            return None
    return None if ns == os.readlink("/proc/self/ns/mnt") else ns


def _forget(holder_pid: int) -> None:
    entry = _HOLDER_NS.pop(holder_pid, None)
    if entry is not None:
        os.close(entry[1])


def _in_ns(pid: int | str, ns: str) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt") == ns
    except OSError:                     # gone, or a zombie (it has no namespaces any more)
        return False


def _pids_in(ns: str) -> list[int]:
    return sorted(int(e) for e in os.listdir("/proc") if e.isdigit() and _in_ns(e, ns))


def pod_pids(holder_pid: int) -> list[int]:
    """Every live pid in the holder's mount namespace, the holder included (empty if none)."""
    ns = _pod_ns(holder_pid)
    return [] if ns is None else _pids_in(ns)


def signal_pids(pids, sig: int) -> None:
    """Send `sig` to each pid, ignoring those already gone."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def kill_sandbox(holder_pid: int, sig: int = signal.SIGKILL, *, timeout: float = 5.0) -> None:
    """Signal every process in the pod's namespace (orphaned daemons too), the holder last.

    After SIGKILL, wait (at most `timeout` seconds) until none is left alive -- zombies count as
    gone: reaping is the Popen owners' job -- and release the namespace. Never raises for a dead pod.
    """
    ns = _pod_ns(holder_pid)
    if ns is None:
        return
    pids = _pids_in(ns)
    signal_pids([p for p in pids if p != holder_pid], sig)
    signal_pids([p for p in pids if p == holder_pid], sig)
    if sig != signal.SIGKILL:
        return
    # Poll the pids we know (cheap), then rescan /proc for any forked since the first pass.
    deadline, pause = time.monotonic() + timeout, 0.0001
    while time.monotonic() < deadline:
        pids = [p for p in pids if _in_ns(p, ns)] or _pids_in(ns)
        if not pids:
            _forget(holder_pid)
            return
        signal_pids(pids, signal.SIGKILL)
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def find_tagged(tag: str) -> list[int]:
    """Pids in any pod whose root tmpfs was mounted with source `tag` -- also pods of a kubesim that died
    (SIGKILL) and left double-forked processes behind. Processes in our own namespace are skipped cheaply."""
    own = os.readlink("/proc/self/ns/mnt")
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/mnt") == own:
                continue
            with open(f"/proc/{entry}/mountinfo", encoding="utf-8", errors="replace") as f:
                for line in f:
                    fields = line.split()
                    if fields[4] != "/":
                        continue
                    after = fields[fields.index("-") + 1:]
                    if len(after) >= 2 and after[0] == "tmpfs" and after[1] == tag:
                        found.append(int(entry))
                    break
        except (OSError, ValueError, IndexError):
            continue
    return found


def kill_tagged(tag: str, timeout: float = 5.0) -> int:
    """SIGKILL every process `find_tagged` finds, until none is left (bounded); returns how many were hit."""
    hit: set[int] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = find_tagged(tag)
        if not pids:
            break
        hit.update(pids)
        signal_pids(pids, signal.SIGKILL)
        time.sleep(0.01)
    return len(hit)
