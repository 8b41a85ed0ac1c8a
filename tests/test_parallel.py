"""Serial, local-parallel and cluster grading, warm or fresh kernels: the same grades.csv."""

import logging

import pytest

from autograder.examples import write_examples
from autograder.execute import Limits
from autograder.grade import grade_folder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    return write_examples(tmp_path_factory.mktemp("parallel") / "subs", ["01_micrograd"])


def grade(submissions, out, **kw):
    grade_folder(submissions, out, echo=lambda *_: None, salt="parallel", **kw)
    return out.read_text()


def test_parallel_and_cluster_match_serial(submissions, tmp_path):
    from dask.distributed import LocalCluster

    serial = grade(submissions, tmp_path / "serial.csv", workers=1)
    local = grade(submissions, tmp_path / "local.csv", workers=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        remote = grade(submissions, tmp_path / "cluster.csv", scheduler=cluster.scheduler_address)
    assert serial.count("\n") == 6  # header and five students
    assert local == serial
    assert remote == serial


def test_fresh_kernels_grade_like_warm_ones(submissions, tmp_path):
    warm = grade(submissions, tmp_path / "warm.csv", workers=1)
    fresh = grade(submissions, tmp_path / "fresh.csv", workers=1, limits=Limits(warm=False))
    assert fresh == warm
