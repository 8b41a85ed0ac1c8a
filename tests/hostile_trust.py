"""Hostile cases on what the grader takes from a submission: files, text, output, disk, host view.

Each is built from session 1's solution or release, like tests/hostile.py. Cases that write
their own ``timestamp.txt`` (a link, a FIFO) set ``timestamp=None`` so that the corpus builder
never writes through it.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

from autograder.paths import source_notebook
from tests.hostile import (
    S1, SECRET, TOTAL, Case, Expect, blank, full, inject, losing, setup_code, solved, writes)

NAME = source_notebook(S1).name
HOST_SECRET = "HOST-SECRET-7f3a"  # content of a root-only host file no row may quote
MIME = "application/vnd.deepcourse.observation+json"


def cases(submissions_root: Path, canary: Path, port: int) -> list[Case]:
    outside = canary.parent  # beside the submissions folder, never inside it
    return [
        # --- files that are not what they seem ---------------------------------------------
        Case("trust_symlink_notebook", S1, _symlink_notebook,
             Expect(0, "error", ("symbolic link",), 0),
             "the notebook is a symbolic link to the solution notebook (graded 26/26 as root)"),
        Case("trust_hardlink_notebook", S1, _hardlink_notebook(outside),
             Expect(0, "error", ("hard link",), 0),
             "the notebook is a hard link to a solved notebook outside the submission"),
        Case("trust_fifo_notebook", S1, _fifo(NAME, lambda folder: None),
             Expect(0, "error", ("not a regular file",), 0),
             "the notebook is a FIFO (an open() would wait forever)"),
        Case("trust_symlink_timestamp", S1, _symlink_timestamp(outside),
             Expect(None, "review", ("timestamp.txt is a symbolic link",), TOTAL),
             "timestamp.txt links to a root-only host file (its content was quoted in reasons)",
             timestamp=None),
        Case("trust_fifo_timestamp", S1, _fifo("timestamp.txt", writes(solved)),
             Expect(None, "review", ("timestamp.txt is not a regular file",), TOTAL),
             "timestamp.txt is a FIFO", timestamp=None),
        # --- text that breaks files ----------------------------------------------------------
        Case("trust_bad\udcffname", S1, writes(solved),
             Expect(0, "error", ("folder name",), 0),
             "a student folder whose name is not UTF-8 (a lone surrogate once decoded)"),
        Case("trust_surrogate_type", S1, writes(setup_code(solved(), (
            "_P = __import__('sys').modules['deepcourse_probes']\n"
            "import json\n"  # a packer that spells a lone surrogate as a JSON escape
            "get_ipython().kernel.session.pack = lambda o: json.dumps(o, default=str).encode()\n"
            "_odd = {'__type__': '\\ud800\\x00\\x1b[2J' + 'x' * 10_000}\n"
            "_P.PROBES['value_ops'] = lambda ns, seed: {'binary': [[_odd] for _ in "
            "_P.binary_cases(seed)], 'power': []}"))),
             losing("value_ops", reasons=("must be a number",)),
             "an observed type named with a lone surrogate, NUL and a terminal escape (no "
             "grades.csv for the class, the journal's resume crashed)"),
        Case("trust_unknown_ids", S1, writes(_unknown_ids(solved(), 200, 100_000)),
             full(reasons=("195 more test cells with unknown ids",)),
             "200 added test cells with 100 kB grade ids (20 MB of reasons and grades.csv)"),
        # --- output and disk -----------------------------------------------------------------
        Case("trust_metadata_flood", S1, writes(inject(solved(), "nn_classes", (
            "from IPython.display import display\n"
            "for _ in range(24):\n"
            "    display({'text/plain': 'x'}, metadata={'pad': 'x' * (15 << 20)}, raw=True)\n"
            "_h = display({'text/plain': 'y'}, display_id=True, raw=True)\n"
            "for _ in range(16):\n"
            "    _h.update({'text/plain': 'y'}, metadata={'pad': 'y' * (15 << 20)}, raw=True)"))),
             full(reasons=("truncated",)),
             "40 displays and display-id updates of 15 MB metadata (600 MB kept by the grader)"),
        Case("trust_socket_flood", S1, writes(inject(solved(), "nn_classes", (
            "import json, os\nfrom ipykernel import get_connection_file\n"
            "_d = os.path.dirname(json.load(open(get_connection_file()))['ip'])\n"
            "try:\n"
            "    for _i in range(5000):\n"
            "        open(os.path.join(_d, f'f{_i}'), 'w').close()\n"
            "    with open(os.path.join(_d, 'big'), 'wb') as _f:\n"
            "        for _ in range(60):\n"
            "            _f.write(b'x' * 2**20)\n"
            "except OSError as e:\n"
            "    print('refused:', e)"))),
             full(), "fills the kernel's socket folder (on the host's disk, without quota)"),
        # --- probes that fail closed -----------------------------------------------------------
        Case("trust_forge_then_raise", S1, writes(_forge_in_probe(solved(), "raise _Stop()")),
             Expect(None, "review", ("observed 2 times",), TOTAL),
             "sends a forged observation from inside a probe, then raises a BaseException "
             "(observe() caught Exception only, so the forged message stood alone)"),
        Case("trust_forge_then_exit", S1, writes(_forge_in_probe(
            solved(), "__import__('time').sleep(1); os._exit(0)")),
             Expect(None, "review", ("did not end normally",), TOTAL),
             "sends a forged observation from inside a probe, then kills its kernel"),
        # --- what the kernel can import ------------------------------------------------------
        Case("trust_later_helpers", "02_makemore",
             writes(_answers_from_later_helpers, source_notebook("02_makemore").name),
             Expect(0, points=(0, 0), deserved_points=0),
             "a blank session-2 notebook whose vocabulary, split and dataset answers call "
             "session 3's deepcourse.makemore (6/45, score 1, when kernels saw every helper)"),
    ]


def _answers_from_later_helpers():
    nb = blank("02_makemore")
    for grade_id, code in (
            ("vocab_counts", "from deepcourse.makemore import vocabulary as build_vocab"),
            ("split_fn", "from deepcourse.makemore import split_words as split"),
            ("dataset_fn", "from deepcourse.makemore import build_dataset")):
        inject(nb, grade_id, code, at_start=False)
    return nb


def _symlink_notebook(folder: Path):
    (folder / NAME).symlink_to(SECRET)


def _hardlink_notebook(outside: Path):
    def build(folder: Path):
        target = outside / "solved-elsewhere.ipynb"
        if not target.exists():
            nbformat.write(solved(), target)
        os.link(target, folder / NAME)
    return build


def _fifo(name: str, then):
    def build(folder: Path):
        then(folder)
        os.mkfifo(folder / name)
    return build


def _symlink_timestamp(outside: Path):
    def build(folder: Path):
        writes(solved)(folder)
        secret = outside / "root-only.txt"
        if not secret.exists():
            secret.write_text(f"{HOST_SECRET}\n")
            secret.chmod(0o600)
        (folder / "timestamp.txt").symlink_to(secret)
    return build


def _unknown_ids(nb, count: int, length: int):
    for i in range(count):
        cell = nbformat.v4.new_code_cell("pass")
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                     "points": 1, "grade_id": f"{i}" + "x" * length,
                                     "schema_version": 3}
        nb.cells.append(cell)
    return nb


def _forge_in_probe(nb, then: str):
    """The solution whose Value.__add__, called by the probes, first forges the probe's own
    observation (exercise and seed read from the probe's frame), then runs ``then``."""
    code = (
        "import os, sys\nfrom IPython.display import display\n"
        "class _Stop(BaseException):\n    pass\n"
        "_real_add = Value.__add__\n"
        "def _forging_add(self, other):\n"
        "    f = sys._getframe(1)\n"
        "    while f is not None and f.f_code.co_name != 'run':\n"
        "        f = f.f_back\n"
        "    if f is not None:\n"
        f"        display({{{MIME!r}: {{'exercise': f.f_locals['exercise'], "
        "'seed': f.f_locals['seed'], 'obs': {}}}, raw=True)\n"
        f"        {then}\n"
        "    return _real_add(self, other)\n"
        "Value.__add__ = _forging_add\n")
    return inject(nb, "value_class", code, at_start=False)

