"""Start a grading kernel in a sandbox: ``python -m autograder.sandbox [options] -f CONNECTION``.

A fork of the warm server (autograder/forkserver.py) calls ``main(argv)``: the same steps.

Before the IPython kernel starts, in this order (docs/grading-security.md says what each
step covers and what it does not):
1. its own stdout and stderr go to ``kernel.log`` in its folder, never to the grader's console;
2. it joins the memory and pids cgroups the grader made for it (one limit for all its processes);
3. new mount, network, IPC, UTS and PID namespaces (as root, or inside an unprivileged user
   namespace): no network, no shared memory with anyone, every process dies with the kernel;
4. a new root file system built from an allowlist: the system folders, the Python environment
   and the course's own folders read-only; its socket folder and a private copy of its working
   folder writable; private, size-limited /tmp and /dev/shm; a minimal /dev; a fresh /proc
   with /proc/sys read-only; no /sys; no home but the unlistable path to a Python installed in
   one. Nothing else of the host exists there;
5. resource limits: address space, file size, processes, no core dumps;
6. an unprivileged user (nobody), no capabilities, no_new_privs, and a seccomp filter
   (autograder/seccomp.py).
A step the machine refuses is skipped; ``isolation.json`` in the kernel's folder (out of the
kernel's reach) lists what was applied and what was skipped.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import resource
import shutil
import signal
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x20000, 0x4000000, 0x8000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
MOUNT_FLAGS = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC,
               "noatime": 1024, "nodiratime": 2048, "relatime": 1 << 21}  # kept on remounts
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 24, 38, 47
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
KERNEL_UID = KERNEL_GID = 65534  # nobody
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
PROC_READ_ONLY = ("sys", "sysrq-trigger", "irq", "bus", "fs")
LOG_NAME, REPORT_NAME, SOCKETS_NAME = "kernel.log", "isolation.json", "ipc"
HOMES = ("/root", "/home")  # in the kernel's root only as unlistable paths to what it may read
SOCKETS_TMPFS = "size=1m,nr_inodes=64,mode=0700"  # ipykernel makes five sockets there

_libc = ctypes.CDLL(None, use_errno=True)


class Log:
    def __init__(self):
        self.applied: list[str] = []
        self.skipped: list[str] = []

    def step(self, what: str, fn, *args) -> bool:
        try:
            fn(*args)
        except OSError as exc:
            self.skipped.append(f"{what}: {exc.strerror or exc}")
            return False
        self.applied.append(what)
        return True


def _check(result: int) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _mount(source, target, fstype, flags, data=None) -> None:
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                       ctypes.c_ulong(flags), data and data.encode()))


class UnisolatedError(RuntimeError):
    """This machine allows no sandbox, and the instructor did not allow grading without one."""


def isolation_possible() -> bool:
    """Whether this machine lets the sandbox make namespaces (root, or user namespaces)."""
    if os.geteuid() == 0:
        return True
    pid = os.fork()
    if pid == 0:
        os._exit(0 if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 else 1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


# --- the grader's side: the socket folder ---------------------------------------------------

def mount_socket_folder(path: str) -> bool:
    """As root, put the kernel's socket folder (shared with the grader, which connects there)
    on a tmpfs of 1 MiB and 64 inodes, so that a kernel cannot fill the host's disk through it.
    False where the grader may not mount (not root): the folder then stays on the disk."""
    if os.geteuid() != 0:
        return False
    try:
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, SOCKETS_TMPFS)
    except OSError:
        return False
    return True


def unmount(path: str) -> None:
    """Detach the mount at ``path`` (the socket folder's tmpfs), if there is one."""
    _libc.umount2(path.encode(), MNT_DETACH)


# --- 1, 2: output and cgroups ---------------------------------------------------------------

def _redirect_output(folder: str) -> None:
    """fd 0 from /dev/null, fd 1 and 2 to the kernel's log (capped by RLIMIT_FSIZE)."""
    log = os.open(os.path.join(folder, LOG_NAME), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    for fd, target in ((0, null), (1, log), (2, log)):
        os.dup2(target, fd)
    os.close(log)
    os.close(null)


def _join_cgroup(path: str) -> None:
    with open(os.path.join(path, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))


# --- 3: namespaces ----------------------------------------------------------------------------

def _unshare(log: Log) -> tuple[bool, bool]:
    """(namespaces made, with a PID namespace)."""
    uid, gid = os.getuid(), os.getgid()
    base = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | (0 if uid == 0 else
                                                                       CLONE_NEWUSER)
    for flags in (base | CLONE_NEWPID, base):
        if _libc.unshare(flags) == 0:
            if flags & CLONE_NEWUSER:  # nobody inside, with every capability until they drop
                for name, text in (("setgroups", "deny"), ("uid_map", f"{KERNEL_UID} {uid} 1"),
                                   ("gid_map", f"{KERNEL_GID} {gid} 1")):
                    with open(f"/proc/self/{name}", "w") as f:
                        f.write(text)
            log.applied.append("namespaces: mount, network, ipc, uts" + (
                ", user" if flags & CLONE_NEWUSER else "") + (", pid" if flags & CLONE_NEWPID
                                                             else ""))
            return True, bool(flags & CLONE_NEWPID)
    log.skipped.append(f"namespaces ({os.strerror(ctypes.get_errno())}): no network, file "
                       f"hiding or read-only mounts")
    return False, False


def _fork_into_pid_namespace() -> None:
    """Become PID 1 of the new namespace; the parent forwards signals and mirrors the exit."""
    child = os.fork()
    if child == 0:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        return
    def forward(signum, _frame):
        try:
            os.kill(child, signum)
        except OSError:
            pass
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    _drop_privileges(Log())  # the parent needs none to wait
    while True:
        try:
            _, status = os.waitpid(child, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(1)


# --- 4: the new root --------------------------------------------------------------------------

def _inside(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _bind(source: str, root: str, flags: int = MS_REC) -> None:
    """``source`` at the same path under ``root`` (a symbolic link is copied as one)."""
    target = _inside(root, source)
    if os.path.islink(source) and os.path.dirname(source) == "/":
        os.symlink(os.readlink(source), target)
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        open(target, "a").close()
    _mount(source, target, None, MS_BIND | flags)


def _tmpfs(target: str, size_mb: int, mode: str, owner: bool) -> None:
    os.makedirs(target, exist_ok=True)
    options = f"size={size_mb}m,mode={mode}" + (
        f",uid={KERNEL_UID},gid={KERNEL_GID}" if owner else "")
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options)


def _unlistable(top: str) -> None:
    """The folders of the new root under ``top`` that only lead to a mount (Python installed
    in /root, say) become 0711: the kernel passes through them but lists nothing there."""
    if not os.path.isdir(top) or os.path.ismount(top):
        return
    for folder, subfolders, _ in os.walk(top):
        subfolders[:] = [d for d in subfolders if not os.path.ismount(os.path.join(folder, d))]
        os.chmod(folder, 0o711)


def _copy_workdir(source: str, target: str, owner: bool) -> None:
    """The files the grader put in the working folder (not the notebook) into its private copy."""
    for entry in os.scandir(source):
        if entry.is_file(follow_symlinks=False) and not entry.name.endswith(".ipynb"):
            dest = os.path.join(target, entry.name)
            shutil.copyfile(entry.path, dest)
            if owner:
                os.chown(dest, KERNEL_UID, KERNEL_GID)


def _dev(root: str, shm_mb: int) -> None:
    dev = _inside(root, "/dev")
    _tmpfs(dev, 1, "0755", False)
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            open(os.path.join(dev, name), "a").close()
            _mount(f"/dev/{name}", os.path.join(dev, name), None, MS_BIND)
    os.mkdir(os.path.join(dev, "pts"))
    try:
        _mount("devpts", os.path.join(dev, "pts"), "devpts", MS_NOSUID | MS_NOEXEC,
               "newinstance,ptmxmode=0666,mode=0620")
        os.symlink("pts/ptmx", os.path.join(dev, "ptmx"))
    except OSError:
        pass  # no terminals: nothing a notebook needs
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(dev, name))
    _tmpfs(os.path.join(dev, "shm"), shm_mb, "1777", False)


def _proc(root: str) -> None:
    proc = _inside(root, "/proc")
    os.mkdir(proc)
    _mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for name in PROC_READ_ONLY:
        path = os.path.join(proc, name)
        if os.path.exists(path):
            _mount(path, path, None, MS_BIND | MS_REC)
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
                   | MS_NOEXEC)


def _mounts() -> list[tuple[str, int]]:
    """(mount point, flags to keep on a remount) of every mount of this namespace."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            flags = sum(MOUNT_FLAGS.get(o, 0) for o in fields[5].split(","))
            out.append((fields[4].encode().decode("unicode_escape"), flags))
    return out


def _new_root(args, folder: str, workdir: str) -> None:
    """Build the allowlisted root under ``folder/root``, then pivot into it."""
    owner = os.getuid() == 0  # as root, the kernel runs as nobody: give it its own files
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = os.path.join(folder, "root")
    os.makedirs(root, exist_ok=True)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    python = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    exposed = [p for p in [*SYSTEM, *sorted(python), *args.expose] if os.path.lexists(p)]
    _tmpfs(_inside(root, "/tmp"), args.scratch_mb, "1777", False)  # under exposed folders in /tmp
    for path in exposed:
        if not os.path.lexists(_inside(root, path)):
            _bind(path, root)
    sockets, connection = os.path.join(folder, SOCKETS_NAME), os.path.realpath(args.connection_file)
    if owner:
        os.chown(sockets, KERNEL_UID, KERNEL_GID)
        os.chown(connection, KERNEL_UID, KERNEL_GID)
    _bind(sockets, root, 0)
    _bind(connection, root, 0)
    for home in HOMES:
        _unlistable(_inside(root, home))
    _tmpfs(_inside(root, workdir), args.scratch_mb, "0700", owner)
    _copy_workdir(workdir, _inside(root, workdir), owner)
    _dev(root, args.scratch_mb)
    _proc(root)
    for path in map(os.path.realpath, args.hide):  # a secret inside an exposed folder
        if not any(path == e or path.startswith(e.rstrip("/") + "/") for e in exposed):
            continue  # not in the new root at all
        target = _inside(root, path)
        if os.path.isdir(target):
            _mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k")
        elif os.path.isfile(target):
            _mount("/dev/null", target, None, MS_BIND)
    os.chdir(root)
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(0, f"unknown pivot_root syscall on {platform.machine()}")
    _check(_libc.syscall(number, b".", b"."))  # the old root now lies under the new one
    _check(_libc.umount2(b".", MNT_DETACH))  # and goes
    os.chdir("/")
    writable = {sockets, workdir, "/tmp", "/proc"}
    failed = []
    for point, flags in _mounts():
        if point not in writable and not point.startswith(("/proc/", "/dev/")):
            try:
                _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
            except OSError:
                failed.append(point)
    if failed:
        raise OSError(0, f"cannot make {', '.join(failed[:5])} read-only")


# --- 5, 6: limits, privileges, seccomp ----------------------------------------------------------

def _limits(args, log: Log) -> None:
    """Per-process limits; RLIMIT_NPROC only without a pids cgroup (it counts every process
    of the user, so kernels that share the user nobody would share it)."""
    mib = 2**20
    limits = [("RLIMIT_AS", args.memory_mb * mib), ("RLIMIT_FSIZE", args.fsize_mb * mib),
              ("RLIMIT_CORE", 0)] + ([] if args.cgroup else [("RLIMIT_NPROC", args.nproc)])
    for name, value in limits:
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
            log.applied.append(f"{name}={value}")
        except (ValueError, OSError) as exc:
            log.skipped.append(f"{name}: {exc}")


def _drop_privileges(log: Log) -> None:
    """Nobody, with empty capability sets (bounding and ambient too) and no_new_privs."""
    for cap in range(64):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    _libc.prctl(PR_CAP_AMBIENT, 4, 0, 0, 0)  # PR_CAP_AMBIENT_CLEAR_ALL
    if os.getuid() == 0:
        def become_nobody():
            os.setgroups([])
            os.setresgid(KERNEL_GID, KERNEL_GID, KERNEL_GID)
            os.setresuid(KERNEL_UID, KERNEL_UID, KERNEL_UID)
        log.step(f"user {KERNEL_UID} (nobody)", become_nobody)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()
    number = SYS_CAPSET.get(platform.machine())

    def capset():
        if number is None:
            raise OSError(0, f"unknown capset syscall on {platform.machine()}")
        _check(_libc.syscall(number, header, data))
    log.step("no capabilities", capset)
    log.step("no new privileges", lambda: _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)))


def _report(fd: int, log: Log) -> None:
    os.write(fd, json.dumps({"applied": log.applied, "skipped": log.skipped}).encode())
    os.close(fd)


def _die_with_parent() -> None:
    """SIGKILL when the grader dies, whatever kills it (also if it died before we asked)."""
    parent = os.getppid()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent or parent == 1:
        os._exit(1)


def main(argv: list[str] | None = None) -> None:
    _die_with_parent()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-f", dest="connection_file", required=True)
    parser.add_argument("--folder", required=True, help="the kernel's own folder")
    parser.add_argument("--workdir", required=True, help="the notebook's folder, inside --folder")
    parser.add_argument("--expose", action="append", default=[],
                        help="a folder the kernel may read, besides the system and Python (repeat)")
    parser.add_argument("--hide", action="append", default=[],
                        help="a folder or file to hide if it lies inside an exposed one (repeat)")
    parser.add_argument("--memory-mb", type=int, default=4096)
    parser.add_argument("--fsize-mb", type=int, default=64)
    parser.add_argument("--scratch-mb", type=int, default=256,
                        help="size of each of the private /tmp, /dev/shm and working folder")
    parser.add_argument("--nproc", type=int, default=256)
    parser.add_argument("--cgroup", action="append", default=[],
                        help="a cgroup folder to join, made by the grader (repeat)")
    args = parser.parse_args(argv)

    folder, workdir = os.path.realpath(args.folder), os.path.realpath(args.workdir)
    _redirect_output(folder)
    report = os.open(os.path.join(folder, REPORT_NAME), os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     0o600)
    import autograder.kernel_output  # noqa: F401  the kernel's stdout and stderr
    import autograder.probe_runtime  # noqa: F401  the only grading code a kernel uses
    from autograder import seccomp

    log = Log()
    for path in args.cgroup:
        log.step(f"cgroup {os.path.basename(os.path.dirname(path)) or path}", _join_cgroup, path)
    isolated, pid_namespace = _unshare(log)
    if pid_namespace:
        _fork_into_pid_namespace()
    if isolated and not log.step("new root", _new_root, args, folder, workdir):
        _report(report, log)
        os._exit(1)  # half a sandbox is none: the kernel does not start
    _limits(args, log)
    _drop_privileges(log)
    log.step("seccomp filter", seccomp.install)
    _report(report, log)
    os.chdir(workdir)

    from ipykernel.kernelapp import launch_new_instance

    sys.argv = ["ipykernel", "-f", args.connection_file, "--IPKernelApp.log_level=ERROR",
                "--IPKernelApp.outstream_class=autograder.kernel_output.CappedOutStream",
                "--HistoryManager.enabled=False",
                "--InteractiveShell.xmode=Plain",  # the error and its line, 100x cheaper
                "--InlineBackend.figure_formats=[]"]  # figures are not drawn: nobody sees them
    launch_new_instance()


if __name__ == "__main__":
    main()
