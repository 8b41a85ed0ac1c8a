"""The wide CSV for the LMS: one row per student, one column per session, a total."""

from autograder.lms import wide_path, write_wide_csv
from autograder.results import GradedSubmission, read_csv


def test_wide_csv_one_row_per_student_held_and_error_rows_left_blank(tmp_path):
    rows = [GradedSubmission("ann", "01_micrograd", "graded", score=4),
            GradedSubmission("ann", "02_makemore", "review", score=None),
            GradedSubmission("ben", "01_micrograd", "late", score=1),
            GradedSubmission("ben", "02_makemore", "missing", score=0),
            GradedSubmission("cid", "01_micrograd", "error", score=0),  # unreadable notebook
            GradedSubmission("cid", "02_makemore", "graded", score=3)]
    path = write_wide_csv(rows, wide_path(tmp_path / "grades.csv"))
    assert path.name == "grades-wide.csv"
    got = read_csv(path)
    assert list(got[0]) == ["student", "01_micrograd", "02_makemore", "total", "held", "errors"]
    assert got == [
        {"student": "ann", "01_micrograd": "4", "02_makemore": "", "total": "4",
         "held": "02_makemore", "errors": ""},
        {"student": "ben", "01_micrograd": "1", "02_makemore": "0", "total": "1", "held": "",
         "errors": ""},
        {"student": "cid", "01_micrograd": "", "02_makemore": "3", "total": "3", "held": "",
         "errors": "01_micrograd"},
    ]
