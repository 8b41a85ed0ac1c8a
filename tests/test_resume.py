"""A grading run killed half-way resumes without losing or duplicating rows; runs are deterministic."""

import os
import signal
import subprocess
import sys
import time

import pytest

from autograder.examples import write_examples
from autograder.paths import REPO_ROOT
from autograder.results import read_csv

pytestmark = pytest.mark.slow


def grade_cmd(subs, out):
    return [sys.executable, "-m", "autograder", "grade", "--submissions", str(subs), "--out", str(out),
            "--gradebook", str(out.parent / "course")]


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    return write_examples(tmp_path_factory.mktemp("resume") / "subs", ["01_micrograd"])


def sandbox_pids() -> set[int]:
    pids = set()
    for proc in os.listdir("/proc"):
        try:
            with open(f"/proc/{proc}/cmdline", "rb") as f:
                if b"autograder.sandbox" in f.read():
                    pids.add(int(proc))
        except (OSError, ValueError):
            continue
    return pids


def test_killed_run_resumes_to_the_same_file(submissions, tmp_path):
    clean = tmp_path / "clean.csv"
    subprocess.run(grade_cmd(submissions, clean), check=True, cwd=REPO_ROOT, capture_output=True)

    out = tmp_path / "killed.csv"
    journal = tmp_path / "killed.csv.journal"
    pages = ["--feedback", str(tmp_path / "feedback")]
    proc = subprocess.Popen(grade_cmd(submissions, out) + ["--workers", "1"] + pages, cwd=REPO_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 900  # a guard against a hang, not a speed limit
    while proc.poll() is None and time.monotonic() < deadline and (
            not journal.exists() or len(journal.read_text().splitlines()) < 2):
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be killed"
    before = sandbox_pids()
    os.kill(proc.pid, signal.SIGKILL)  # the grader alone: its kernels must follow it
    proc.wait()
    deadline = time.monotonic() + 60  # they go at once; the margin is for a loaded machine
    while time.monotonic() < deadline and sandbox_pids() & before:
        time.sleep(0.2)
    assert not sandbox_pids() & before, "kernels outlived the killed grader"
    assert not out.exists(), "the results file must not exist before the run finishes"
    done_before = len(journal.read_text().splitlines())
    assert 2 <= done_before < 5

    resumed = subprocess.run(grade_cmd(submissions, out) + pages, check=True, cwd=REPO_ROOT,
                             capture_output=True, text=True)
    assert f"resuming: {done_before} row(s) kept" in resumed.stdout
    assert not journal.exists()
    assert read_csv(out) == read_csv(clean)  # same rows, none lost or twice, same reasons
    written = {p.parent.name for p in (tmp_path / "feedback").glob("*/01_micrograd.html")}
    assert written == {r["student"] for r in read_csv(clean)}  # kept rows' pages too


def test_changed_submission_is_graded_again(submissions, tmp_path):
    from autograder.journal import Journal
    from autograder.intake import discover
    from autograder.paths import session_ids

    subs = discover(submissions, session_ids())
    journal = Journal(tmp_path / "x.csv")
    before = [journal.key(s) for s in subs]
    (submissions / "alice" / "01_micrograd" / "timestamp.txt").write_text("2025-02-09 10:00:00 UTC")
    after = [journal.key(s) for s in subs]
    assert sum(a != b for a, b in zip(before, after)) == 1
