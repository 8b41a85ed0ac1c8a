"""A corpus of hostile and broken submissions, each with the row the grader must produce.

Every case builds a submission folder from the session's own solution or release (so the
corpus follows the notebooks), and states what it deserves: its score (None: held for manual
review), status, words that must appear in its reasons, and the most points it deserves.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat

from autograder.examples import fill
from autograder.notebook_info import grade_cells, total_points
from autograder.policy import load_policy
from autograder.paths import REPO_ROOT, source_notebook

S1 = "01_micrograd"
TRUE_ALLCLOSE = ("import math, torch\ntorch.allclose = lambda *a, **k: True\n"
                 "math.isclose = lambda *a, **k: True\n")
TOTAL = total_points(S1)


def points_without(*exercises: str) -> float:
    """The points of the solution less those of ``exercises``."""
    return TOTAL - sum(p for gid, p in grade_cells(S1) if gid.split("__")[0] in exercises)


WRONG = points_without("value_ops", "local_grads")  # what wrong() earns
PROBES = "__import__('sys').modules['deepcourse_probes']"  # what the grader installs in a kernel


@dataclass(frozen=True)
class Expect:
    score: int | None  # None: held for manual review
    status: str = "graded"
    reasons: tuple[str, ...] = ()  # each must appear in the row's reasons
    deserved_points: float | None = None  # the most points this submission deserves
    points: tuple[float, float] | None = None  # (min, max) points the row must have


@dataclass(frozen=True)
class Case:
    student: str
    session: str
    build: Callable[[Path], None]  # writes the submission into the given session folder
    expect: Expect
    what: str = ""
    timestamp: str | None = "2025-02-05 12:00:00 UTC"


# --- notebook surgery -------------------------------------------------------------------------

def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def solved(session=S1):
    return fill(session, None)


def wrong():
    """The solution with one mistake: ``4 / a`` computes ``a / 4`` (see WRONG)."""
    return replace(solved(), "value_class", "return other * self ** -1", "return self * other ** -1")


def blank(session=S1):
    return fill(session, 0)


def inject(nb, grade_id, code, at_start=True):
    cell = _cell(nb, grade_id)
    cell.source = code + "\n" + cell.source if at_start else cell.source + "\n" + code
    return nb


def replace(nb, grade_id, old, new):
    cell = _cell(nb, grade_id)
    if old not in cell.source:
        raise AssertionError(f"{old!r} not in {grade_id}")
    cell.source = cell.source.replace(old, new)
    return nb


def drop(nb, *grade_ids):
    nb.cells = [c for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") not in grade_ids]
    return nb


def setup_code(nb, code):
    """Add code to the first code cell (the set-up cell, not a graded one)."""
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.source += "\n" + code
    return nb


def writes(nb, name=None):
    def build(folder: Path):
        nbformat.write(nb() if callable(nb) else nb, folder / (name or source_notebook(S1).name))
    return build


def raw(text: bytes, name=None):
    def build(folder: Path):
        (folder / (name or source_notebook(S1).name)).write_bytes(text)
    return build


def full(**kw):
    return Expect(4, points=(TOTAL, TOTAL), deserved_points=TOTAL, **kw)


def losing(*exercises: str, **kw):
    """The row of the solution less ``exercises``: their points lost, graded normally."""
    left = points_without(*exercises)
    return Expect(load_policy().raw_score(left, TOTAL), points=(left, left),
                  deserved_points=left, **kw)


def wrong_points(**kw):
    """What wrong() earns, graded normally: the cheat neither helps nor holds the row."""
    return losing("value_ops", "local_grads", **kw)


SECRET = REPO_ROOT / "solutions" / S1 / source_notebook(S1).name


def cases(submissions_root: Path, canary: Path, port: int) -> list[Case]:
    """The corpus. ``canary`` is a file outside the submission a notebook tries to change;
    ``port`` a TCP port on 127.0.0.1 listening in the test process."""
    nb4 = lambda: nbformat.v4.new_notebook()  # noqa: E731
    return _core_cases(submissions_root, canary, port, nb4) + [
        case for module in EXTRA_CASES
        for case in importlib.import_module(module).cases(submissions_root, canary, port)]


# Further cases, by concern, each module with ``cases(submissions_root, canary, port)``.
EXTRA_CASES = ("tests.hostile_trust", "tests.hostile_judges_s01_s02_s05",
               "tests.hostile_judges_s04_s06")


def _core_cases(submissions_root: Path, canary: Path, port: int, nb4) -> list[Case]:
    return [
        # --- cheating: the kernel decides nothing, so changing it earns nothing -------------
        Case("cheat_allclose", S1, writes(setup_code(wrong(), TRUE_ALLCLOSE)), wrong_points(),
             "replaces torch.allclose and math.isclose with functions that always return True "
             "(in-kernel checks were fooled by it)"),
        Case("cheat_transformer", S1, writes(setup_code(wrong(), (
            "import re\nget_ipython().input_transformers_post.append(\n"
            "    lambda lines: [re.sub(r'^(\\s*)assert .*', r'\\1pass', l) for l in lines])"))),
             wrong_points(), "an input transformer that turns every assert into pass"),
        Case("cheat_checks_import", S1, writes(setup_code(wrong(), (
            "try:\n    import autograder.checks.micrograd as m\n"
            "    raise RuntimeError(__import__('inspect').getsource(m))\n"
            "except ImportError as e:\n    print('no checks here:', e)"))),
             wrong_points(), "imports the checks to read, leak or patch them (in-kernel checks could be read and "
             "replaced; now they are not in a kernel)"),
        Case("cheat_settrace", S1, writes(setup_code(wrong(), "import sys\nsys.settrace(lambda *a: None)")),
             wrong_points(), "installs a tracing hook"),
        Case("cheat_event_hook", S1, writes(setup_code(wrong(), (
            "get_ipython().events.register('pre_run_cell', lambda info: None)"))),
             wrong_points(), "registers a pre_run_cell hook"),
        Case("cheat_tensor_abs", S1, writes(setup_code(wrong(), (
            "import torch\ntorch.Tensor.abs = lambda s: s * 0\n"
            "torch.Tensor.__eq__ = lambda s, o: torch.ones((), dtype=torch.bool)"))),
             wrong_points(), "patches torch.Tensor.abs and __eq__ (in-kernel checks gave undeserved points to it)"),
        Case("cheat_builtins", S1, writes(setup_code(wrong(), (
            "import builtins\n_real = builtins.isinstance\n"
            "builtins.isinstance = lambda o, t: True if t is float else _real(o, t)"))),
             Expect(0, points=(0, 0), deserved_points=WRONG), "patches a builtin"),
        Case("cheat_frame_walk", S1, writes(inject(wrong(), "value_class", (
            "import sys\n_wrong_rdiv = Value.__rtruediv__\n"
            "def _peek(self, other):\n"
            "    f = sys._getframe(1)\n"
            "    while f is not None:\n"
            "        for name in ('want', 'expected', 'ref', 'reference'):\n"
            "            if isinstance(f.f_locals.get(name), (int, float)):\n"
            "                return Value(f.f_locals[name])\n"
            "        f = f.f_back\n"
            "    return _wrong_rdiv(self, other)\n"
            "Value.__rtruediv__ = _peek"), at_start=False)), wrong_points(),
             "walks its callers' frames for reference values (with in-kernel checks it copied them)"),
        Case("cheat_forged_observation", S1, writes(setup_code(wrong(), (
            "from IPython.display import display\n"
            "display({'application/vnd.deepcourse.observation+json': {'exercise': 'value_ops', "
            "'seed': 1, 'obs': {}}}, raw=True)"))),
             Expect(None, "review", ("not a probe",), WRONG),
             "displays a forged observation from its own cell (forged signed reports earned 20/20)"),
        Case("cheat_run_probe_early", S1, writes(setup_code(wrong(), (
            f"{PROBES}.send = lambda *a, **k: None\n"
            "__import__('autograder.probe_runtime').probe_runtime.run('value_ops', 1)"))),
             Expect(None, "review", ("not a probe",), WRONG),
             "silences the probes' channel, then runs a probe itself: the probe sends through the "
             "display taken at install, from a cell that is not a probe"),
        Case("cheat_replaced_probe", S1, writes(setup_code(wrong(), (
            f"{PROBES}.PROBES['value_ops'] = lambda ns, seed: "
            "{'binary': [[1.0]] * 20, 'power': [[1.0]] * 5}\n"
            f"{PROBES}.PROBES['local_grads'] = lambda ns, seed: {{'binary': [], 'power': []}}"))),
             wrong_points(), "replaces two probes by functions that report made-up observations"),
        Case("cheat_forging_thread", S1, writes(setup_code(wrong(), (
            "import threading, time\nfrom IPython.display import display\n"
            "def _forge():\n"
            "    for _ in range(200):\n"
            "        display({'application/vnd.deepcourse.observation+json': {'exercise': "
            "'value_ops', 'seed': 1, 'obs': {}}}, raw=True)\n"
            "        time.sleep(0.05)\n"
            "threading.Thread(target=_forge, daemon=True).start()"))),
             Expect(None, "review", (), WRONG), "a background thread that keeps forging (it forged signed reports in-kernel: 20/20)"),
        Case("cheat_observation_flood", S1, writes(setup_code(wrong(), (
            "from IPython.display import display\n"
            "for _ in range(500):\n"
            "    display({'application/vnd.deepcourse.observation+json': ['x' * 100_000]}, raw=True)"))),
             Expect(None, "review", (), WRONG), "floods the grader with observation messages"),
        Case("silences_display", S1, writes(setup_code(solved(), (
            "import IPython.display\nIPython.display.display = lambda *a, **k: None"))),
             full(), "replaces IPython's display(): the probes keep the one they started with"),
        Case("cheat_read_solutions", S1, writes(setup_code(blank(), (
            f"try:\n    _src = open({str(SECRET)!r}).read()\n"
            "except OSError as e:\n    print('blocked:', e)"))),
             Expect(0, points=(0, 0), deserved_points=0), "reads the solution notebook"),
        Case("cheat_read_others", S1, writes(setup_code(blank(), (
            "import os\n"
            f"print(os.listdir({str(submissions_root)!r}))"))),
             Expect(0, points=(0, 0), deserved_points=0), "lists other students' folders"),
        Case("edits_outside", S1, writes(setup_code(solved(), (
            f"try:\n    open({str(canary)!r}, 'w').write('pwned')\n"
            "except OSError as e:\n    print('blocked:', e)"))),
             full(), "writes to a file outside its folder"),
        Case("network", S1, writes(setup_code(solved(), (
            f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            "    raise SystemError('network reachable')\n"
            "except OSError as e:\n    print('no network:', e)"))),
             full(), "opens a TCP connection"),
        Case("wrong_honest", S1, writes(wrong()), wrong_points(),
             "the wrong answer of the cheating cases, without cheating"),
        # --- test cells tampered with ----------------------------------------------------------
        Case("deleted_tests", S1, writes(drop(solved(), "value_ops__hidden", "nn__visible")),
             full(reasons=("were missing and were restored",)), "deletes two test cells"),
        Case("edited_test", S1, writes(replace(blank(), "value_ops__visible", "assert isinstance",
                                              "pass  #")),
             Expect(0, points=(0, 0), reasons=("was edited; the original was restored",),
                    deserved_points=0),
             "edits a visible test so that it cannot fail"),
        Case("reordered", S1, writes(lambda: _reorder(solved())), full(),
             "moves every test cell to the top of the notebook"),
        Case("duplicated_ids", S1, writes(lambda: _duplicate(solved(), "backward__hidden")),
             full(reasons=("appeared twice",)), "duplicates a test cell"),
        Case("renamed_grade_id", S1, writes(lambda: _rename_id(solved(), "nn__hidden", "mine")),
             full(reasons=("unknown id 'mine' was removed", "were missing")),
             "renames a test cell's grade id"),
        Case("solution_deleted", S1, writes(drop(solved(), "nn_classes")),
             losing("nn", "train_step"), "deletes a solution cell"),
        # --- crashes and resource abuse ---------------------------------------------------------
        Case("infinite_loop", S1, writes(inject(solved(), "train_step", (
            "def train_step(model, xs, ys, lr):\n    while True:\n        pass\n"), at_start=False)),
             losing("train_step", "hinge_loss", reasons=("ran past its",)),
             "a training step that never returns"),
        Case("c_loop_no_interrupt", S1, writes(inject(solved(), "train_step", (
            "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "def train_step(model, xs, ys, lr):\n    time.sleep(10_000)\n"), at_start=False)),
             losing("train_step", "hinge_loss", reasons=("ran past its",)),
             "a C-level sleep that ignores the interrupt"),
        Case("sys_exit", S1, writes(inject(solved(), "nn_classes", "import sys\nsys.exit(3)")),
             losing("nn", "train_step", reasons=("exercise nn",)), "sys.exit() in a solution cell"),
        Case("os_exit", S1, writes(inject(solved(), "nn_classes", "import os\nos._exit(0)")),
             losing("nn", "train_step", "hinge_loss", reasons=("kernel died",)),
             "os._exit() kills the kernel half-way"),
        Case("segfault", S1, writes(inject(solved(), "nn_classes", "import ctypes\nctypes.string_at(0)")),
             losing("nn", "train_step", "hinge_loss", reasons=("kernel died",)),
             "a segmentation fault"),
        # mapped, not written: refused at the address-space limit in milliseconds, however
        # loaded the machine (filling 4 GB first took seconds, past the cell's limit)
        Case("memory_bomb", S1, writes(inject(solved(), "nn_classes", (
            "import mmap\n_hog = []\nwhile True:\n    _hog.append(mmap.mmap(-1, 256 * 2**20))"))),
             losing("nn", "train_step", reasons=("exercise nn",)), "allocates memory until refused"),
        Case("fork_bomb", S1, writes(inject(solved(), "train_step", (
            "import os\n_kids = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
            "            import time\n            while True:\n                time.sleep(1)\n"
            "        _kids += 1\nexcept OSError as e:\n    print('fork refused after', _kids)\n"))),
             full(), "forks until refused"),
        Case("huge_print", S1, writes(inject(solved(), "nn_classes", "print('x' * 300_000_000)")),
             full(reasons=("truncated",)), "prints 300 MB"),
        Case("huge_display", S1, writes(inject(solved(), "nn_classes", (
            "from IPython.display import HTML, display\ndisplay(HTML('<p>' * 2_000_000))"))),
             full(reasons=("truncated",)), "displays 6 MB of HTML"),
        Case("huge_file", S1, writes(inject(solved(), "nn_classes", (
            "try:\n    open('big.bin', 'wb').write(b'x' * 200 * 2**20)\n"
            "except OSError as e:\n    print('refused:', e)"))),
             full(), "writes a 200 MB file"),
        # --- broken files -----------------------------------------------------------------------
        Case("corrupt_json", S1, raw(b'{"cells": [ {"cell_type": '),
             Expect(0, "error", ("not a readable notebook",), 0)),
        Case("binary_junk", S1, raw(bytes(range(256)) * 64),
             Expect(0, "error", ("not a readable notebook",), 0)),
        Case("nbformat_3", S1, raw(json.dumps({"nbformat": 3, "nbformat_minor": 0,
                                                "metadata": {}, "worksheets": []}).encode()),
             Expect(0, "error", ("nbformat 3",), 0)),
        Case("not_a_notebook", S1, raw(b'{"hello": "world"}'),
             Expect(0, "error", ("not a Jupyter notebook",), 0)),
        Case("empty_notebook", S1, writes(nb4), Expect(0, points=(0, 0), deserved_points=0,
                                                       reasons=("were missing and were restored",))),
        Case("renamed_notebook", S1, writes(solved, name="final_version.ipynb"),
             full(reasons=("graded as 'micrograd.ipynb'",))),
        Case("two_wrong_names", S1, _two_notebooks,
             Expect(0, "error", ("expected notebook 'micrograd.ipynb' not found",), 0)),
        Case("no_timestamp", S1, writes(solved),
             Expect(None, "review", ("no submission time recorded",), TOTAL,
                    points=(TOTAL, TOTAL)), timestamp=None),
        Case("bad_timestamp", S1, writes(solved),
             Expect(None, "review", ("timestamp.txt could not", "held for review"),
                    deserved_points=TOTAL, points=(TOTAL, TOTAL)),
             timestamp="next tuesday-ish"),
        Case("late_by_a_second", S1, writes(solved),
             Expect(1, reasons=("late:",), deserved_points=TOTAL),
             timestamp="2025-02-05 23:00:00 UTC"),
        Case("bad name!", S1, writes(solved), Expect(0, "error", ("folder name",), 0),
             "a student folder name with spaces and punctuation"),
        Case("lost_student", "99_unknown", writes(solved),
             Expect(0, "error", ("unknown session folder",), 0), "a session that does not exist"),
        Case("symlink_escape", S1, _symlink_to_secret, Expect(0, points=(0, 0), deserved_points=0),
             "a notebook plus a symlink to the solution notebook"),
    ]


def _reorder(nb):
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and
             not c.metadata["nbgrader"].get("solution")]
    rest = [c for c in nb.cells if c not in tests]
    nb.cells = tests + rest
    return nb


def _duplicate(nb, grade_id):
    cell = _cell(nb, grade_id)
    nb.cells.insert(nb.cells.index(cell), nbformat.from_dict(json.loads(json.dumps(cell))))
    for c in nb.cells:
        c.pop("id", None)
    nb.nbformat_minor = 4
    return nb


def _rename_id(nb, grade_id, new):
    _cell(nb, grade_id).metadata["nbgrader"]["grade_id"] = new
    return nb


def _two_notebooks(folder: Path):
    nbformat.write(solved(), folder / "a.ipynb")
    nbformat.write(solved(), folder / "b.ipynb")


def _symlink_to_secret(folder: Path):
    nbformat.write(setup_code(blank(), (
        "try:\n    print(open('answers.ipynb').read()[:100])\n"
        "except OSError as e:\n    print('blocked:', e)")), folder / source_notebook(S1).name)
    (folder / "answers.ipynb").symlink_to(SECRET)
