"""Probes of the sandbox, run from inside real grading kernels, and the grader's own defences.

Each probe reports what a determined student would look for: the user and capabilities, every
writable path, whether a sysctl opens for writing (never written), cgroups, /dev, mounts,
left-overs of an earlier kernel, memory over child processes; the hostile cases check the
grader's console, the grader's memory and a canary file on the host.
"""

import ctypes
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder import cgroups, cli, execute, forkserver, grade, sandbox, seccomp
from autograder.paths import REPO_ROOT
from autograder.probe_runtime import MIME

slow = pytest.mark.slow
LIMITS = execute.Limits(cell_timeout_s=60, notebook_timeout_s=150)
MARK = "someone 20/20 4"

IDENTITY = """
import json, os
status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines() if ':' in l)
print(json.dumps({'uid': os.getuid(), 'euid': os.geteuid(), 'groups': os.getgroups(),
                  **{k: status[k].strip() for k in ('CapEff', 'CapPrm', 'CapBnd', 'CapAmb',
                                                     'NoNewPrivs', 'Seccomp')}}))
"""
WRITABLE = """
import json, os
found = []
for top, dirs, files in os.walk('/'):
    if top.startswith('/proc'):
        dirs[:] = []
        continue
    if os.access(top, os.W_OK):
        found.append(top)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(top, d))]
    paths = {os.path.realpath(os.path.join(top, f)) for f in files}  # where links lead
    found += [p for p in paths if os.access(p, os.W_OK)]
print(json.dumps(sorted(set(found))))
"""
SYSCTL = """
import json, os
out = {}
for path in ('/proc/sys/kernel/core_pattern', '/proc/sys/vm/overcommit_memory',
             '/proc/sysrq-trigger', '/sys/kernel/uevent_helper'):
    try:
        os.close(os.open(path, os.O_WRONLY))  # opened, never written
        out[path] = 'opened for writing'
    except OSError as exc:
        out[path] = type(exc).__name__
print(json.dumps(out))
"""
CGROUP = """
import json, os
print(json.dumps({'cgroup': open('/proc/self/cgroup').read(), 'sys': os.path.exists('/sys/fs/cgroup'),
                  'dev': sorted(os.listdir('/dev')), 'mountinfo': open('/proc/self/mountinfo').read()}))
"""
CANARY = """
import ctypes, os, subprocess
for path in {targets!r}:
    try:
        with open(path, 'w') as f:
            f.write('escaped')
        print('wrote', path)
    except OSError as exc:
        print('refused', path, type(exc).__name__)
libc = ctypes.CDLL(None, use_errno=True)
print('unshare', libc.unshare(0x10000000 | 0x20000), ctypes.get_errno())
os.write(1, b"{mark}\\n")
os.write(2, b"{mark}\\n")
os.system("echo '{mark}' >&2")
"""
COPIES = """
import os
for fd in map(int, os.listdir('/proc/self/fd')):  # ipykernel's copies of the original fd 1, 2
    try:
        link = os.readlink(f'/proc/self/fd/{fd}')
    except OSError:
        continue
    if fd > 2 and link.startswith('/') and not link.startswith(('/proc', '/dev/null')):
        os.write(fd, b"%s\\n")
""" % MARK
LEAVE = """
import ctypes, os, subprocess
open('/tmp/left-over', 'w').write('x')
open('/dev/shm/left-over', 'w').write('x' * 1000)
libc = ctypes.CDLL(None, use_errno=True)
print('shm', libc.shmget(0, 1 << 20, 0o1000 | 0o666))  # IPC_PRIVATE, IPC_CREAT, never removed
subprocess.Popen(['sleep', '{marker}'], start_new_session=True)
print('left')
"""
FIND = """
import json, os
print(json.dumps({'tmp': os.listdir('/tmp'), 'shm': os.listdir('/dev/shm'),
                  'sysv': open('/proc/sysvipc/shm').read().splitlines()[1:],
                  'processes': [open(f'/proc/{p}/cmdline').read() for p in os.listdir('/proc')
                                if p.isdigit()]}))
"""
CHILDREN = """
import subprocess, sys
code = "b = b'x' * (600 << 20); import time; time.sleep(8)"
kids = [subprocess.Popen([sys.executable, '-c', code]) for _ in range(3)]
print('exit codes', [k.wait() for k in kids])
"""
HOST_VIEW = """
import json, os
from ipykernel import get_connection_file
view = {}
for path in ('/root', '/home'):
    try:
        view[path] = os.listdir(path)
    except OSError as exc:
        view[path] = type(exc).__name__
sockets = os.path.dirname(json.load(open(get_connection_file()))['ip'])
files = written = 0
try:
    for i in range(5000):
        open(os.path.join(sockets, f'f{i}'), 'w').close()
        files += 1
except OSError:
    pass
for i in range(files):
    os.remove(os.path.join(sockets, f'f{i}'))
try:
    with open(os.path.join(sockets, 'big'), 'wb') as f:
        for _ in range(64):
            f.write(b'x' * 2**20)
            f.flush()
            written += 2**20
except OSError:
    pass
print(json.dumps({**view, 'files': files, 'written': written}))
"""
METADATA_FLOOD = """
from IPython.display import display
for _ in range(24):
    display({'text/plain': 'x'}, metadata={'pad': 'x' * (15 << 20)}, raw=True)
handle = display({'text/plain': 'y'}, display_id=True, raw=True)
for _ in range(16):
    handle.update({'text/plain': 'y'}, metadata={'pad': 'y' * (15 << 20)}, raw=True)
"""
FLOOD = """
from IPython.display import display
for i in range(25):
    display({{'{mime}': {{'exercise': 'x' * (40 << 20)}}, 'text/plain': 'x' * 1000}}, raw=True)
print('sent')
"""


def _run(tmp_path: Path, *sources: str, limits=LIMITS, hide=()):
    folder = tmp_path / "k"
    (folder / "work").mkdir(parents=True)
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    return execute.run(nb, folder, folder / "work", list(hide), limits, set())


def _text(run, index: int) -> str:
    return "".join(o.get("text", "") for o in run.nb.cells[index].outputs
                   if o["output_type"] == "stream" and o["name"] == "stdout")


def _json(run, index: int):
    return json.loads(_text(run, index).strip().splitlines()[-1])


class _Console:
    """The grader's real fd 1 and 2, captured into a file while the block runs."""

    def __enter__(self):
        self.file = tempfile.TemporaryFile()
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = [os.dup(1), os.dup(2)]
        os.dup2(self.file.fileno(), 1)
        os.dup2(self.file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)
        self.file.seek(0)
        self.text = self.file.read().decode(errors="replace")
        self.file.close()


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    """One warm kernel runs every probe, with the grader's real hidden paths."""
    forkserver.close_all()
    tmp = tmp_path_factory.mktemp("probe")
    subs = tmp / "submissions"
    (subs / "other_student" / "01_micrograd").mkdir(parents=True)
    (subs / "other_student" / "01_micrograd" / "micrograd.ipynb").write_text("{}")
    canary = tmp / "canary.txt"
    hide = grade.hidden_paths(subs, tmp, tmp / "out" / "grades.csv")
    targets = [str(canary), str(subs / "other_student" / "01_micrograd" / "micrograd.ipynb"),
               str(REPO_ROOT / "solutions" / "canary.txt")]
    with _Console() as console:
        run = _run(tmp, IDENTITY, WRITABLE, SYSCTL, CGROUP,
                   CANARY.format(targets=targets, mark=MARK), COPIES, HOST_VIEW, hide=hide)
    forkserver.close_all()
    return run, console.text, canary, subs, targets


@slow
def test_kernel_is_nobody_without_capabilities(probed):
    run = probed[0]
    assert run.events == [], run.events
    who = _json(run, 0)
    assert who["uid"] != 0 and who["euid"] != 0 and who["groups"] in ([], [who["uid"]]), who
    for key in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        assert int(who[key], 16) == 0, who
    assert who["NoNewPrivs"] == "1" and who["Seccomp"] == "2", who


@slow
def test_only_the_kernels_own_folders_are_writable(probed):
    run = probed[0]
    work = str((probed[3].parent / "k" / "work").resolve())
    sockets = str((probed[3].parent / "k" / "ipc").resolve())
    allowed = (work, sockets, "/tmp", "/dev/shm", "/dev/pts")
    found = _json(run, 1)
    assert work in found, found  # the probe does see what is writable
    stray = [p for p in found if not p.startswith(allowed) and p not in (
        "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")]
    assert stray == [], stray


@slow
def test_no_sysctl_or_sys_file_opens_for_writing(probed):
    opened = {k: v for k, v in _json(probed[0], 2).items() if v == "opened for writing"}
    assert opened == {}


@slow
def test_cgroup_dev_and_mounts(probed):
    seen = _json(probed[0], 3)
    if os.geteuid() == 0:
        assert "deepcourse-" in seen["cgroup"], seen["cgroup"]
    assert not seen["sys"]
    assert set(seen["dev"]) <= {"null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx",
                                "shm", "fd", "stdin", "stdout", "stderr"}, seen["dev"]
    mounts = seen["mountinfo"]
    for secret in ("solutions", "autograder", "/tests", str(probed[3]), "grades.csv"):
        assert secret not in mounts, (secret, mounts)
    points = [line.split()[4] for line in mounts.splitlines()]
    assert not any(p == "/sys" or p.startswith("/sys/") for p in points), points


@slow
def test_canary_files_on_the_host_are_never_written(probed):
    run, _, canary, subs, targets = probed
    text = _text(run, 4)
    assert "wrote" not in text and text.count("refused") == len(targets), text
    assert not canary.exists()
    assert (subs / "other_student" / "01_micrograd" / "micrograd.ipynb").read_text() == "{}"
    assert not (REPO_ROOT / "solutions" / "canary.txt").exists()
    assert "unshare -1 1" in text  # EPERM from the seccomp filter


@slow
def test_kernel_output_never_reaches_the_graders_console(probed):
    assert MARK not in probed[1], probed[1][-2000:]


@slow
def test_no_home_can_be_listed(probed):
    view = _json(probed[0], 6)
    for home in ("/root", "/home"):
        assert view[home] in ("PermissionError", "FileNotFoundError"), view


@slow
@pytest.mark.skipif(os.geteuid() != 0, reason="the socket folder's tmpfs needs a root grader")
def test_the_socket_folder_cannot_fill_the_disk(probed):
    view = _json(probed[0], 6)
    assert view["files"] < 100 and view["written"] <= 2**20, view
    assert not (probed[3].parent / "k" / "ipc").is_mount()  # unmounted after the run


@slow
def test_nothing_is_left_for_the_next_kernel(tmp_path):
    marker = f"{time.time() % 1000 + 1000:.3f}"  # a sleep argument no one else uses
    first = _run(tmp_path / "a", LEAVE.format(marker=marker))
    assert "left" in _text(first, 0), first.nb.cells[0].outputs
    second = _run(tmp_path / "b", FIND)
    found = _json(second, 0)
    assert "left-over" not in found["tmp"], found
    assert found["shm"] == [] and found["sysv"] == [], found
    assert not any(marker in p for p in found["processes"]), found["processes"]
    host = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
    assert host.stdout.strip() == "", "a process of the first kernel outlived it"
    forkserver.close_all()


@slow
@pytest.mark.skipif(os.geteuid() != 0, reason="the cgroup memory limit needs a root grader")
def test_memory_is_limited_over_all_child_processes(tmp_path):
    run = _run(tmp_path, CHILDREN, limits=execute.Limits(cell_timeout_s=60, notebook_timeout_s=90,
                                                          memory_mb=1536))
    text = _text(run, 0)
    killed = "-9" in text or any("died" in e for e in run.events)
    assert killed, (text, run.events)  # 3 x 600 MB > 1536 MB: someone was killed
    forkserver.close_all()


@slow
def test_a_project_under_tmp_stays_readable(tmp_path, monkeypatch):
    """A checkout in /tmp (a CI runner's clone, say): its folders are bound over the private /tmp."""
    with tempfile.TemporaryDirectory(dir="/tmp") as project:
        os.chmod(project, 0o755)  # as a checkout's folders are
        Path(project, "marker.txt").write_text("the course files")
        arguments = execute.sandbox_arguments
        monkeypatch.setattr(execute, "sandbox_arguments",
                            lambda *a: [*arguments(*a), "--expose", project])
        run = _run(tmp_path, f"print(open({project!r} + '/marker.txt').read())")
        forkserver.close_all()
    assert run.events == [], run.events
    assert _text(run, 0).strip() == "the course files", run.nb.cells[0].outputs


@slow
def test_a_huge_print_costs_only_its_own_output(tmp_path):
    """40 MB printed at once: over the size zmq lets through, which would cut every later output."""
    run = _run(tmp_path, "print('x' * 40_000_000)", "print('after')")
    forkserver.close_all()
    assert _text(run, 1) == "after\n", (run.events, run.nb.cells[1].outputs)
    assert any("truncated" in e for e in run.events), run.events
    assert run.seconds < 30, f"the notebook took {run.seconds:.0f} s"


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


@slow
def test_a_flood_of_large_outputs_does_not_grow_the_grader(tmp_path):
    peak, stop = [_rss_mb()], threading.Event()

    def sample():
        while not stop.wait(0.05):
            peak.append(_rss_mb())
    start = _rss_mb()
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        run = _run(tmp_path, FLOOD.format(mime=MIME), "print('after')")
    finally:
        stop.set()
        sampler.join()
        forkserver.close_all()
    assert sum(map(len, run.observations.values())) == 0
    assert max(peak) - start < 100, f"the grader grew from {start:.0f} to {max(peak):.0f} MB"


@slow
def test_display_metadata_and_updates_count_in_the_output_caps(tmp_path):
    """40 displays and display-id updates of 15 MB metadata each: nearly all dropped on arrival."""
    peak, stop = [_rss_mb()], threading.Event()

    def sample():
        while not stop.wait(0.05):
            peak.append(_rss_mb())
    start = _rss_mb()
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        run = _run(tmp_path, METADATA_FLOOD)
    finally:
        stop.set()
        sampler.join()
        forkserver.close_all()
    kept = len(json.dumps(run.nb.cells[0].outputs))
    assert kept < 2 * LIMITS.output_bytes_per_cell, kept
    assert any("truncated" in e for e in run.events), run.events
    assert max(peak) - start < 300, f"the grader grew from {start:.0f} to {max(peak):.0f} MB"


# --- no kernel needed ---------------------------------------------------------------------------

def test_seccomp_tables_agree_with_libseccomp():
    try:
        lib = ctypes.CDLL("libseccomp.so.2")
    except OSError:
        pytest.skip("libseccomp is not installed")
    resolve = lib.seccomp_syscall_resolve_name_arch
    for machine, (arch, _, numbers) in seccomp.SYSCALLS.items():
        wrong = {n: v for n, v in numbers.items() if resolve(arch, n.encode()) != v}
        assert wrong == {}, machine


def test_seccomp_filter_denies_and_allows():
    code = ("import ctypes, subprocess, threading\nfrom autograder import seccomp\n"
            "libc = ctypes.CDLL(None, use_errno=True)\nlibc.prctl(38, 1, 0, 0, 0)\n"
            "seccomp.install()\n"
            "r = [libc.unshare(0x20000), libc.mount(b'n', b'/mnt', b'tmpfs', 0, None),"
            " libc.ptrace(0, 0, 0, 0), libc.syscall(272, 0x10000000)]\n"
            "t = threading.Thread(target=print); t.start(); t.join()\n"
            "print(r, subprocess.run(['true']).returncode)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=REPO_ROOT)
    assert out.stdout.strip().endswith("[-1, -1, -1, -1] 0"), (out.stdout, out.stderr)


def test_grading_refuses_to_start_unisolated(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "isolation_possible", lambda: False)
    (tmp_path / "subs" / "alice" / "01_micrograd").mkdir(parents=True)
    (tmp_path / "subs" / "alice" / "01_micrograd" / "micrograd.ipynb").write_text("not json")
    with pytest.raises(sandbox.UnisolatedError):
        grade.grade_folder(tmp_path / "subs", tmp_path / "g.csv", echo=lambda *_: None)
    assert not (tmp_path / "g.csv").exists()
    assert cli.main(["grade", "--submissions", str(tmp_path / "subs"),
                     "--out", str(tmp_path / "g.csv")]) == 2
    assert "--allow-unisolated" in capsys.readouterr().err
    rows = grade.grade_folder(tmp_path / "subs", tmp_path / "g.csv", echo=lambda *_: None,
                              allow_unisolated=True)
    assert rows and all(grade.UNISOLATED in r.reasons for r in rows)


def test_makefile_passes_allow_unisolated():
    out = subprocess.run(["make", "-n", "autograde", "ALLOW_UNISOLATED=1"],
                         cwd=REPO_ROOT, capture_output=True, text=True)
    assert "--allow-unisolated" in out.stdout, out.stdout + out.stderr


def test_cgroups_are_made_and_removed():
    if os.geteuid() != 0:
        assert cgroups.create("t", 2**30, 64) == []
        return
    made = cgroups.create(f"test-{os.getpid()}", 2**30, 64)
    assert made and all(p.is_dir() for p in made)
    cgroups.remove(made)
    assert not any(p.exists() for p in made)
