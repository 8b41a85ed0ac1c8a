"""A seccomp filter for grading kernels: the system calls a notebook never needs fail.

A hand-written classic BPF program (no library is needed, and libseccomp's Python binding
is not on PyPI): it kills a process that calls in with another architecture's ABI, answers
EPERM to the calls of ``DENIED`` (mounts, namespaces, tracing, kernel modules and keys, BPF,
io_uring, ...) and to ``clone`` with a namespace flag, and ENOSYS to ``clone3`` (whose flags a
filter cannot read; the C library then falls back to ``clone``). Everything else is allowed.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

DENIED = (
    "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr", "unshare", "setns", "ptrace", "process_vm_readv",
    "process_vm_writev", "kcmp", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd",
    "open_by_handle_at", "name_to_handle_at", "fanotify_init", "reboot", "swapon", "swapoff",
    "acct", "syslog", "settimeofday", "clock_settime", "adjtimex", "clock_adjtime", "quotactl",
    "quotactl_fd", "lookup_dcookie", "vhangup", "sethostname", "setdomainname", "io_uring_setup",
    "io_uring_enter", "io_uring_register")
# (audit architecture, the x32 bit or 0, {name: number}) of each supported machine
SYSCALLS = {
    "x86_64": (0xC000003E, 0x40000000, dict(
        mount=165, umount2=166, pivot_root=155, chroot=161, open_tree=428, move_mount=429,
        fsopen=430, fsconfig=431, fsmount=432, fspick=433, mount_setattr=442, unshare=272,
        setns=308, ptrace=101, process_vm_readv=310, process_vm_writev=311, kcmp=312,
        kexec_load=246, kexec_file_load=320, init_module=175, finit_module=313,
        delete_module=176, bpf=321, perf_event_open=298, keyctl=250, add_key=248, request_key=249,
        userfaultfd=323, open_by_handle_at=304, name_to_handle_at=303, fanotify_init=300,
        reboot=169, swapon=167, swapoff=168, acct=163, syslog=103, settimeofday=164,
        clock_settime=227, adjtimex=159, clock_adjtime=305, quotactl=179, quotactl_fd=443,
        lookup_dcookie=212, vhangup=153, sethostname=170, setdomainname=171, io_uring_setup=425,
        io_uring_enter=426, io_uring_register=427, clone=56, clone3=435)),
    "aarch64": (0xC00000B7, 0, dict(
        mount=40, umount2=39, pivot_root=41, chroot=51, open_tree=428, move_mount=429, fsopen=430,
        fsconfig=431, fsmount=432, fspick=433, mount_setattr=442, unshare=97, setns=268,
        ptrace=117, process_vm_readv=270, process_vm_writev=271, kcmp=272, kexec_load=104,
        kexec_file_load=294, init_module=105, finit_module=273, delete_module=106, bpf=280,
        perf_event_open=241, keyctl=219, add_key=217, request_key=218, userfaultfd=282,
        open_by_handle_at=265, name_to_handle_at=264, fanotify_init=262, reboot=142, swapon=224,
        swapoff=225, acct=89, syslog=116, settimeofday=170, clock_settime=112, adjtimex=171,
        clock_adjtime=266, quotactl=60, quotactl_fd=443, lookup_dcookie=18, vhangup=58,
        sethostname=161, setdomainname=162, io_uring_setup=425, io_uring_enter=426,
        io_uring_register=427, clone=220, clone3=435)),
}
NAMESPACE_FLAGS = 0x7E020000  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET

LD_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06  # BPF_LD|W|ABS, BPF_JMP|..|K, BPF_RET|K
KILL_PROCESS, ALLOW, ERRNO = 0x80000000, 0x7FFF0000, 0x00050000
NR, ARCH, ARG0 = 0, 4, 16  # offsets in struct seccomp_data (arg0's low word, little-endian)
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2


def program(machine: str | None = None) -> list[tuple[int, int, int, int]]:
    """The filter as (code, jump if true, jump if false, k) instructions."""
    arch, x32, numbers = SYSCALLS[machine or platform.machine()]
    deny = ERRNO | errno.EPERM
    prog = [(LD_ABS, 0, 0, ARCH), (JEQ, 1, 0, arch), (RET, 0, 0, KILL_PROCESS), (LD_ABS, 0, 0, NR)]
    if x32:
        prog += [(JGE, 0, 1, x32), (RET, 0, 0, deny)]
    for name in DENIED:
        prog += [(JEQ, 0, 1, numbers[name]), (RET, 0, 0, deny)]
    prog += [(JEQ, 0, 1, numbers["clone3"]), (RET, 0, 0, ERRNO | errno.ENOSYS),
             (JEQ, 0, 4, numbers["clone"]), (LD_ABS, 0, 0, ARG0), (JSET, 0, 1, NAMESPACE_FLAGS),
             (RET, 0, 0, deny), (RET, 0, 0, ALLOW), (RET, 0, 0, ALLOW)]
    return prog


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def install() -> None:
    """Load the filter on this thread (and every thread or process it starts); needs no_new_privs."""
    if platform.machine() not in SYSCALLS:
        raise OSError(errno.ENOSYS, f"no system call table for {platform.machine()}")
    prog = program()
    code = b"".join(struct.pack("HBBI", *ins) for ins in prog)
    fprog = _Program(len(prog), code)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, errno.errorcode.get(err, str(err)))
