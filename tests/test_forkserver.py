"""Warm kernels: forked from a server, as isolated as fresh ones, and never outliving the grader."""

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder import execute, forkserver

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
LIMITS = execute.Limits(cell_timeout_s=30, notebook_timeout_s=60)

INHERITED_SOCKETS = """
import os, socket
kinds = []
for fd in map(int, os.listdir("/proc/self/fd")):
    try:
        s = socket.socket(fileno=os.dup(fd))
    except OSError:
        continue
    kinds.append(s.type)
    s.close()
print("seqpacket sockets:", kinds.count(socket.SOCK_SEQPACKET))
"""
FIGURE = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()"


def execute_cells(tmp_path, *sources, limits=LIMITS):
    folder = tmp_path / "k"
    workdir = folder / "work"
    workdir.mkdir(parents=True)
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    return execute.run(nb, folder, workdir, [], limits, set())


def outputs(run, index):
    return run.nb.cells[index].outputs


@pytest.fixture(autouse=True)
def fresh_servers():
    forkserver.close_all()
    yield
    forkserver.close_all()


def test_warm_kernel_holds_none_of_the_server_sockets(tmp_path):
    run = execute_cells(tmp_path, INHERITED_SOCKETS, "import sys\nprint('torch' in sys.modules)")
    assert run.events == [], run.events
    assert outputs(run, 0)[0]["text"] == "seqpacket sockets: 0\n"
    assert outputs(run, 1)[0]["text"] == "True\n"  # it did come from the server
    assert "no new privileges" in run.isolation["applied"]


def test_cold_and_warm_kernels_print_the_same(tmp_path):
    code = "import os, numpy\nprint(os.getcwd().endswith('work'), os.environ['HOME'][-1:])"
    warm = execute_cells(tmp_path / "w", code)
    cold = execute_cells(tmp_path / "c", code, limits=execute.Limits(warm=False))
    assert outputs(warm, 0) == outputs(cold, 0)
    assert outputs(warm, 0)[0]["text"] == "True k\n"


def test_figures_are_shown_as_text_not_drawn(tmp_path):
    run = execute_cells(tmp_path, FIGURE)
    data = [o["data"] for o in outputs(run, 0) if o["output_type"] == "display_data"]
    assert data and all("image/png" not in d for d in data)
    assert data[0]["text/plain"].startswith("<Figure size")


def test_closing_the_server_kills_its_running_kernels(tmp_path):
    result = {}
    worker = threading.Thread(target=lambda: result.update(
        run=execute_cells(tmp_path, "import time\ntime.sleep(25)\nprint('survived')")))
    worker.start()
    deadline = time.monotonic() + 20
    while not list(tmp_path.glob("k/isolation.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)
    start = time.monotonic()
    forkserver.close_all()
    worker.join(30)
    assert time.monotonic() - start < 15
    assert any("died" in e for e in result["run"].events), result["run"].events
    assert "survived" not in str(outputs(result["run"], 0))


def test_the_server_exits_when_the_grader_dies(tmp_path):
    script = ("import os, sys\nfrom autograder import forkserver\n"
              "s = forkserver.shared({'PATH': os.environ['PATH']})\n"
              "print(s.process.pid, flush=True)\nos._exit(0)\n")
    grader = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)})
    pid = int(grader.stdout.split()[0])
    deadline = time.monotonic() + 10
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(pid)


def test_a_dead_server_is_replaced(tmp_path):
    env = execute.kernel_env(tmp_path, 1)
    first = forkserver.shared(env)
    first.process.kill()
    first.process.wait()
    second = forkserver.shared(env)
    assert second is not first and second.alive()
    run = execute_cells(tmp_path, "print(1 + 1)")
    assert outputs(run, 0)[0]["text"] == "2\n"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


NO_JUDGES = """
import sys
print(sorted(m for m in sys.modules if m.startswith("autograder")))
try:
    import autograder.checks
    print("checks importable")
except ImportError:
    print("checks not importable")
"""


@pytest.mark.parametrize("warm", [True, False])
def test_a_kernel_holds_no_judge(tmp_path, warm):
    """Neither a fork of the warm server nor a fresh kernel has the checks in memory or reach."""
    from autograder.grade import hidden_paths

    folder = tmp_path / "k"
    (folder / "work").mkdir(parents=True)
    hide = hidden_paths(tmp_path / "subs", tmp_path, tmp_path / "out" / "grades.csv")
    run = execute.run(new_notebook(cells=[new_code_cell(NO_JUDGES)]), folder, folder / "work",
                      hide, execute.Limits(cell_timeout_s=30, notebook_timeout_s=60, warm=warm),
                      set())
    text = outputs(run, 0)[0]["text"]
    assert "autograder.checks" not in text and "autograder.grade" not in text, text
    assert "checks not importable" in text, text


MODULES = "import sys\nprint(' '.join(sorted(sys.modules)))"
STARTUP_PACKAGES = ("debugpy", "pydevd", "_pydevd_bundle", "_pydev_bundle", "ipykernel", "pdb",
                    "torch", "matplotlib", "numpy", "deepcourse")


def test_the_server_preloads_what_a_kernel_imports_as_it_starts(tmp_path):
    """Whatever a fresh kernel has imported by its first cell (its debugger included) is
    already in the server, so that a fork does not import it again."""
    cold = execute_cells(tmp_path, MODULES, limits=execute.Limits(warm=False))
    in_kernel = set(outputs(cold, 0)[0]["text"].split())
    preloaded = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom autograder import forkserver\n"
         "forkserver.preload()\n" + MODULES], capture_output=True, text=True, check=True,
        cwd=REPO, timeout=120).stdout.split()
    missing = sorted(m for m in in_kernel - set(preloaded)
                     if m.split(".")[0] in STARTUP_PACKAGES)
    assert "debugpy" in in_kernel and "ipykernel.debugger" in in_kernel  # it does use them
    assert missing == []


RAISES = "def inverse(x):\n    return 1 / x\n\ninverse(0)"


@pytest.mark.parametrize("warm", [True, False])
def test_errors_show_as_plain_tracebacks_with_the_students_line(tmp_path, warm):
    run = execute_cells(tmp_path, RAISES, limits=execute.Limits(warm=warm))
    error = outputs(run, 0)[0]
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error["traceback"]))  # colours aside
    assert error["ename"] == "ZeroDivisionError"
    assert "return 1 / x" in text and "inverse(0)" in text and "line 2" in text
    assert "-" * 20 not in text  # the verbose formatter's banner: not used
