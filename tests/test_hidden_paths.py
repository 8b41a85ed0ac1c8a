"""What the grading kernels are not allowed to see."""

from pathlib import Path

from autograder.grade import hidden_paths
from autograder.paths import REPO_ROOT


def test_secrets_submissions_and_results_folder_are_hidden(tmp_path):
    paths = hidden_paths(tmp_path / "subs", tmp_path / "sandbox", tmp_path / "out" / "grades.csv")
    for name in ("solutions", "autograder", "tests", ".git"):
        assert REPO_ROOT / name in paths
    assert {tmp_path / "subs", tmp_path / "sandbox", tmp_path / "out"} <= set(paths)


def test_results_beside_the_course_hide_only_their_files(tmp_path):
    out = REPO_ROOT / "grades.csv"
    paths = hidden_paths(tmp_path / "subs", tmp_path / "sandbox", out)
    assert REPO_ROOT not in paths
    assert out in paths and Path(str(out) + ".journal") in paths


def test_a_results_folder_holding_the_course_is_not_hidden(tmp_path):
    out = REPO_ROOT.parent / "grades.csv"
    paths = hidden_paths(tmp_path / "subs", tmp_path / "sandbox", out)
    assert REPO_ROOT.parent not in paths and out in paths
