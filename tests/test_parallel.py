"""Serial, local-parallel and cluster grading, warm or fresh kernels: the same grades.csv; feedback
pages rendered where rows are graded, the gradebook written in batches."""

import logging
import time

import pytest

from autograder import grade as grading
from autograder import gradebook
from autograder.examples import write_examples
from autograder.execute import Limits
from autograder.grade import grade_folder

pytestmark = pytest.mark.slow
STUDENTS = {"alice", "bob", "carol", "dave", "erin"}


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    return write_examples(tmp_path_factory.mktemp("parallel") / "subs", ["01_micrograd"])


def grade(submissions, out, **kw):
    grade_folder(submissions, out, echo=lambda *_: None, salt="parallel", **kw)
    return out.read_text()


def test_parallel_and_cluster_match_serial(submissions, tmp_path, monkeypatch):
    from dask.distributed import LocalCluster

    serial = grade(submissions, tmp_path / "serial.csv", workers=1)
    local = grade(submissions, tmp_path / "local.csv", workers=2)

    def not_here(row):
        raise AssertionError(f"the page of {row.student} was rendered on the client")

    monkeypatch.setattr(grading, "render_page", not_here)  # the workers' processes have theirs
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        remote = grade(submissions, tmp_path / "cluster.csv", scheduler=cluster.scheduler_address,
                       feedback=tmp_path / "fb", gradebook=tmp_path / "course")
    assert serial.count("\n") == 6  # header and five students
    assert local == serial
    assert remote == serial
    pages = {p.parent.name: p.read_text() for p in (tmp_path / "fb").glob("*/01_micrograd.html")}
    assert set(pages) == STUDENTS
    assert all("Content-Security-Policy" in p and "Score:" in p for p in pages.values())
    assert {r.student for r in gradebook.export(tmp_path / "course")} == STUDENTS


def test_the_gradebook_is_written_in_batches_and_notebooks_let_go(submissions, tmp_path,
                                                                  monkeypatch):
    batches = []
    record = gradebook.record
    monkeypatch.setattr(grading, "GRADEBOOK_BATCH", 2)
    monkeypatch.setattr(gradebook, "record", lambda rows, *a: batches.append(
        [r.executed is not None for r in rows]) or record(rows, *a))
    rows = grade_folder(submissions, tmp_path / "g.csv", workers=1, echo=lambda *_: None,
                        gradebook=tmp_path / "course", feedback=tmp_path / "fb")
    assert [len(b) for b in batches] == [2, 2, 1]
    assert sum(map(sum, batches)) == 4  # each with its notebook, but erin's (nothing ran)
    assert all(r.executed is None for r in rows)
    assert {r.student for r in gradebook.export(tmp_path / "course")} == STUDENTS
    # every row, erin's unreadable one too, gets a notebook that formgrader opens
    assert len(list((tmp_path / "course" / "autograded").glob("*/01_micrograd/*.ipynb"))) == 5
    assert len(list((tmp_path / "fb").glob("*/01_micrograd.html"))) == 5
    import torch

    assert torch.get_num_threads() == 1  # the judges did not spin a second core


def test_fresh_kernels_grade_like_warm_ones(submissions, tmp_path):
    warm = grade(submissions, tmp_path / "warm.csv", workers=1)
    fresh = grade(submissions, tmp_path / "fresh.csv", workers=1, limits=Limits(warm=False))
    assert fresh == warm


class Result:
    """A task's result that the test can watch (weakrefs) without holding it."""


def test_results_are_let_go_of_once_taken():
    import gc
    import weakref

    from autograder.distribute import run_tasks

    taken = []
    alive = lambda: sum(ref() is not None for ref in taken[:-1])  # noqa: E731 (earlier results)
    for _, result in run_tasks(lambda item: Result(), list(range(6)), workers=2, progress=False):
        taken.append(weakref.ref(result))
        del result
        # the release reaches the worker asynchronously: wait for it, however loaded the machine
        deadline = time.monotonic() + 120
        while gc.collect() >= 0 and alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alive() == 0, f"{alive()} earlier result(s) still held by the cluster"
    assert len(taken) == 6
