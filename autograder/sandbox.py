"""Start a grading kernel in a sandbox: ``python -m autograder.sandbox [options] -f CONNECTION``.

A fork of the warm server (autograder/forkserver.py) calls ``main(argv)``: the same steps.

Before the IPython kernel starts, in this order (docs/grading-security.md says what each
step covers and what it does not):
1. import the probe runtime (the only grading code a kernel uses), before autograder/ is hidden;
2. Linux namespaces (as root, or through an unprivileged user namespace): private mounts, an
   empty network namespace (no network; the kernel talks to the grader over unix sockets) and
   a PID namespace whose every process dies with the kernel;
3. every mount made read-only, secret paths (solutions, checks, tests, other submissions)
   covered by empty tmpfs mounts, and only the kernel's own folder left writable;
4. resource limits: address space, file size, processes (a pids cgroup when run as root,
   where RLIMIT_NPROC does not apply), no core dumps;
5. every capability dropped, and no way to gain new ones.
A step the machine refuses is skipped; ``isolation.json`` in the kernel's folder lists what was
applied and what was skipped.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import resource
import signal
import sys

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 32, 4096, 16384, 1 << 18)
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
KEEP_WRITABLE = ("/proc", "/sys", "/dev")  # pseudo file systems left as they are

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


def _unshare(log: Log) -> bool:
    """New mount, network and PID namespaces; returns whether a PID namespace was made."""
    uid, gid = os.getuid(), os.getgid()
    base = CLONE_NEWNS | CLONE_NEWNET | (0 if uid == 0 else CLONE_NEWUSER)
    for flags in (base | CLONE_NEWPID, base):
        if _libc.unshare(flags) == 0:
            if flags & CLONE_NEWUSER:  # map ourselves to root inside, to be allowed to mount
                for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"),
                                   ("gid_map", f"0 {gid} 1")):
                    with open(f"/proc/self/{name}", "w") as f:
                        f.write(text)
            log.applied.append("namespaces: mount, network" + (", pid" if flags & CLONE_NEWPID
                                                               else ""))
            return bool(flags & CLONE_NEWPID)
    log.skipped.append(f"namespaces ({os.strerror(ctypes.get_errno())}): no network, file "
                       f"hiding or read-only mounts")
    return False


def _fork_into_pid_namespace() -> None:
    """Become PID 1 of the new namespace; the parent forwards signals and mirrors the exit."""
    child = os.fork()
    if child == 0:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        return
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: os.kill(child, s))
    while True:
        try:
            _, status = os.waitpid(child, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(1)


def _mount_points() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].encode().decode("unicode_escape") for line in f]
    return sorted(set(points), key=len)


def _read_only_everywhere(log: Log) -> None:
    failed = []
    for point in _mount_points():
        if any(point == p or point.startswith(p + "/") for p in KEEP_WRITABLE):
            continue
        try:
            _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        except OSError:
            failed.append(point)
    (log.skipped.append(f"read-only remount of {', '.join(failed[:5])}") if failed
     else log.applied.append("all file systems read-only"))


def _isolate_files(hide: list[str], keep: str, log: Log) -> None:
    """Read-only file systems, empty tmpfs over ``hide``, ``keep`` writable, a fresh /proc."""
    if not log.step("private mounts", _mount, None, "/", None, MS_REC | MS_PRIVATE):
        return
    keep_fd = os.open(keep, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _read_only_everywhere(log)
        for path in hide:
            if os.path.isfile(path):  # a results file beside the course: shadow it
                log.step(f"hidden: {path}", _mount, "/dev/null", path, None, MS_BIND)
            elif os.path.isdir(path):
                covers_keep = keep == path or keep.startswith(path.rstrip("/") + "/")
                flags = MS_NOSUID | MS_NODEV | (0 if covers_keep else MS_RDONLY)
                log.step(f"hidden: {path}", _mount, "tmpfs", path, "tmpfs", flags,
                         "size=64k,mode=0755")
        os.makedirs(keep, exist_ok=True)

        def writable_keep():  # a bind mount copies the (now read-only) flags of its source
            _mount(f"/proc/self/fd/{keep_fd}", keep, None, MS_BIND | MS_REC)
            _mount(None, keep, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
        log.step("own folder writable", writable_keep)
    finally:
        os.close(keep_fd)
    log.step("fresh /proc", _mount, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV)


def _limits(args, log: Log) -> None:
    mib = 2**20
    for name, value in (("RLIMIT_AS", args.memory_mb * mib), ("RLIMIT_FSIZE", args.fsize_mb * mib),
                        ("RLIMIT_NPROC", args.nproc), ("RLIMIT_CORE", 0)):
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
            log.applied.append(f"{name}={value}")
        except (ValueError, OSError) as exc:
            log.skipped.append(f"{name}: {exc}")
    if args.cgroup:
        def join():
            with open(os.path.join(args.cgroup, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        log.step(f"pids cgroup {args.cgroup}", join)


def _drop_capabilities(log: Log) -> None:
    """Empty bounding, effective, permitted and inheritable sets; no new privileges on exec."""
    for cap in range(64):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()
    number = SYS_CAPSET.get(platform.machine())

    def capset():
        if number is None:
            raise OSError(0, f"unknown capset syscall on {platform.machine()}")
        _check(_libc.syscall(number, header, data))
    log.step("no capabilities", capset)
    log.step("no new privileges", lambda: _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)))


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
    parser.add_argument("--folder", required=True, help="the kernel's own folder (stays writable)")
    parser.add_argument("--workdir", required=True, help="the notebook's folder, inside --folder")
    parser.add_argument("--hide", action="append", default=[],
                        help="a folder or file to hide (repeat)")
    parser.add_argument("--memory-mb", type=int, default=4096)
    parser.add_argument("--fsize-mb", type=int, default=64)
    parser.add_argument("--nproc", type=int, default=256)
    parser.add_argument("--cgroup", help="a pids cgroup folder to join (made by the grader)")
    args = parser.parse_args(argv)

    import autograder.probe_runtime  # noqa: F401  1. before autograder/ is hidden
    log = Log()
    folder = os.path.realpath(args.folder)
    if _unshare(log):
        _fork_into_pid_namespace()
    if log.applied:
        _isolate_files([os.path.realpath(p) for p in args.hide], folder, log)
    _limits(args, log)
    _drop_capabilities(log)
    with open(os.path.join(folder, "isolation.json"), "w") as f:
        json.dump({"applied": log.applied, "skipped": log.skipped}, f)
    os.chdir(args.workdir)

    from ipykernel.kernelapp import launch_new_instance

    sys.argv = ["ipykernel", "-f", args.connection_file, "--IPKernelApp.log_level=ERROR",
                "--HistoryManager.enabled=False",
                "--InlineBackend.figure_formats=[]"]  # figures are not drawn: nobody sees them
    launch_new_instance()


if __name__ == "__main__":
    main()
