"""Deadlines in practice: one row regraded in place, extensions, and no timestamp held for review."""

import shutil

import nbformat
import pytest

from autograder.examples import fill
from autograder.notebook_info import total_points
from autograder.policy import policy_from_values
from autograder.regrade import regrade_one
from autograder.results import read_csv, write_csv

pytestmark = pytest.mark.slow
SESSION = "01_micrograd"


@pytest.fixture()
def graded(graded_class, tmp_path):
    subs = shutil.copytree(graded_class["submissions"], tmp_path / "submissions")
    write_csv(graded_class["rows"], tmp_path / "grades.csv")
    return subs, tmp_path / "grades.csv"


def test_missing_timestamp_is_held_for_review_and_says_why(graded_class):
    frank = next(r for r in graded_class["rows"] if r.student == "frank")
    assert (frank.status, frank.score, frank.raw_score) == ("review", None, 4)
    assert any("no submission time recorded" in r for r in frank.reasons)


def test_one_row_is_regraded_in_place_and_the_others_kept(graded):
    subs, out = graded
    before = out.read_text().splitlines()
    nb = subs / "bob" / SESSION / "micrograd.ipynb"
    nbformat.write(fill(SESSION, None), nb)  # bob hands in the complete notebook, on time
    row, _ = regrade_one(subs, out, "bob", SESSION, echo=lambda *a: None)
    assert (row.score, row.status) == (4, "graded")
    after = out.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(after) == len(before) and len(changed) == 1
    total = f"{total_points(SESSION):g}"
    assert changed[0][1].startswith(f"bob,{SESSION},{total},{total},4,4,")


def test_an_extension_lifts_the_late_cap(graded):
    subs, out = graded
    from tests.test_policy import config_values

    values = {**config_values(), "EXTENSIONS": {"dave": {SESSION: "2025-02-08 23:59:59"}}}
    row, _ = regrade_one(subs, out, "dave", SESSION, policy=policy_from_values(values),
                         echo=lambda *a: None)
    assert (row.score, row.late) == (4, False)
    assert [r.split(":")[0] for r in row.reasons] == ["extension"]
    assert {r["student"]: r["score"] for r in read_csv(out)}["dave"] == "4"


def test_unknown_student_or_session_is_refused_and_nothing_is_lost(graded):
    subs, out = graded
    before = out.read_text()
    with pytest.raises(FileNotFoundError, match="no folder for student 'zoe'"):
        regrade_one(subs, out, "zoe", SESSION)
    with pytest.raises(ValueError, match="unknown session '07_rl'"):
        regrade_one(subs, out, "bob", "07_rl")
    assert out.read_text() == before
