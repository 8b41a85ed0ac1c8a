"""Grades land in nbgrader's gradebook, and a manual regrade changes the exported 0–4 score."""

import pytest

from autograder import gradebook, nbgrader_api
from autograder.lms import wide_table
from autograder.results import read_csv, write_csv

pytestmark = pytest.mark.slow
SESSION, NB = "01_micrograd", "micrograd"


@pytest.fixture(scope="module")
def course(graded_class):
    gradebook.record(graded_class["rows"], graded_class["course"])
    return graded_class


def grades_of(gb, student):
    return {g.name: g for nb in gb.find_submission(SESSION, student).notebooks for g in nb.grades}


def verdict_comment(gb, student):
    return gb.find_comment("value_class", NB, SESSION, student).comment


def test_gradebook_holds_students_assignment_and_cell_scores(course):
    rows = {r.student: r for r in course["rows"]}
    with nbgrader_api.open_gradebook(gradebook.db_url(course["course"])) as gb:
        assert {s.id for s in gb.students} == set(rows)
        assert gb.find_assignment(SESSION).duedate is not None
        for student in ("alice", "bob", "carol", "dave"):
            cells = {c.grade_id: c.points for c in rows[student].cells}
            scored = {name: g.auto_score for name, g in grades_of(gb, student).items()}
            assert scored == cells
            assert gb.find_submission(SESSION, student).score == rows[student].points
        bob = gb.find_comment("numerical_grad", NB, SESSION, "bob").comment
        assert bob.startswith("- finite_diff: ") and "not implemented yet" in bob


def test_the_0_4_score_and_every_cap_are_in_the_gradebook(course):
    with nbgrader_api.open_gradebook(gradebook.db_url(course["course"])) as gb:
        assert verdict_comment(gb, "alice").startswith("Course score: 4/4")
        dave = verdict_comment(gb, "dave")
        assert dave.startswith("Course score: 1/4") and "late:" in dave and "capped at 1" in dave
        frank = verdict_comment(gb, "frank")
        assert frank.startswith("Course score: held for review")
        assert "no submission time" in frank
        assert all(g.needs_manual_grade for g in grades_of(gb, "frank").values())
        assert not any(g.needs_manual_grade for g in grades_of(gb, "alice").values())


def test_export_matches_the_grader_before_any_manual_grade(course):
    graded = {(r.student, r.session): r for r in course["rows"]}
    exported = {(r.student, r.session): r for r in gradebook.export(course["course"])}
    assert exported.keys() == graded.keys()
    for key, row in exported.items():
        assert (row.score, row.points, row.late) == (graded[key].score, graded[key].points,
                                                     graded[key].late), key


def test_manual_regrade_shows_in_the_next_export_and_in_the_wide_csv(course, tmp_path):
    with nbgrader_api.open_gradebook(gradebook.db_url(course["course"])) as gb:
        bob = grades_of(gb, "bob")
        for name in ("finite_diff__hidden", "nn__visible", "nn__hidden", "train_step__visible"):
            bob[name].manual_score = bob[name].max_score
            bob[name].needs_manual_grade = False
        for g in grades_of(gb, "frank").values():  # reviewed: the points stand, release it
            g.manual_score, g.needs_manual_grade = g.auto_score, False
        gb.db.commit()
    rows = {r.student: r for r in gradebook.export(course["course"])}
    # 12 points graded, 5 more by hand: 17/26 * 4 = 2.6 -> 3
    assert (rows["bob"].points, rows["bob"].max_points, rows["bob"].score) == (17, 26, 3)
    assert any("nn__hidden regraded by hand: 2/2" in r for r in rows["bob"].reasons)
    assert (rows["frank"].status, rows["frank"].score) == ("graded", 4)
    with nbgrader_api.open_gradebook(gradebook.db_url(course["course"])) as gb:
        assert verdict_comment(gb, "bob").startswith("Course score: 3/4")
    write_csv(list(rows.values()), tmp_path / "grades.csv")
    assert {r["student"]: r["score"] for r in read_csv(tmp_path / "grades.csv")}["bob"] == "3"
    columns, table = wide_table(list(rows.values()))
    assert columns == ["student", SESSION, "total", "held", "errors"]
    wide = {line["student"]: line for line in table}
    assert wide["bob"][SESSION] == "3" and wide["dave"]["total"] == "1"
    assert (wide["erin"][SESSION], wide["erin"]["errors"]) == ("", SESSION)
