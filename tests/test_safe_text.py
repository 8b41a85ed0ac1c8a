"""Student text made safe once: every field of a row, fed a lone surrogate, NUL, control
characters and a megabyte, reaches grades.csv, the journal, the table and the feedback page
intact, bounded and printable."""

import json

import pytest

from autograder.journal import Journal, journal_path
from autograder.observations import Opaque, decode, error_message
from autograder.results import (
    CellResult, GradedSubmission, feedback_text, format_table, read_csv, write_csv)
from autograder.safe_text import MAX_REASON, MAX_REASONS, safe, safe_row, without_surrogates

NASTY = "a\ud800b\udcff\x00c\x1b[2J\r\n\x07" + "x" * 2**20  # surrogates, NUL, escapes, 1 MB


def _nasty_row() -> GradedSubmission:
    cells = [CellResult(NASTY, NASTY, 0.0, 1.0, NASTY), CellResult("ok", "ok", 1.0, 1.0)]
    return GradedSubmission(NASTY, NASTY, NASTY, points=1.0, max_points=2.0, score=None,
                            starred_missing=(NASTY,), submitted_at=NASTY,
                            reasons=[NASTY] * (MAX_REASONS + 5), cells=cells)


def _clean(text: str) -> bool:
    return text.isprintable() and not any("\ud800" <= ch <= "\udfff" for ch in text)


def test_safe_removes_what_breaks_files_and_bounds_the_length():
    text = safe(NASTY, 50)
    assert _clean(text) and len(text) == 50 and text.startswith("a\ufffdb\ufffd")
    assert safe(b"\xff\xfeok", 10) == "\ufffd\ufffdok"
    assert safe(None, 10) == safe(["not text"], 10) == ""


def test_every_field_of_a_row_is_made_safe_and_bounded():
    row = safe_row(_nasty_row())
    texts = [row.student, row.session, row.status, row.submitted_at, *row.reasons,
             *row.starred_missing, *(t for c in row.cells for t in (c.grade_id, c.exercise,
                                                                     c.message))]
    assert all(_clean(t) for t in texts)
    assert len(row.reasons) == MAX_REASONS and "more notes" in row.reasons[-1]
    assert max(map(len, texts)) <= MAX_REASON


def test_a_safe_row_is_written_everywhere_and_read_back(tmp_path):
    row = safe_row(_nasty_row())
    out = tmp_path / "grades.csv"
    write_csv([row, GradedSubmission("bob", "01_micrograd", "graded")], out)
    written = read_csv(out)
    assert [r["student"] for r in written] == sorted([row.student, "bob"])
    assert out.stat().st_size < 2 * MAX_REASONS * MAX_REASON
    (tmp_path / "page.md").write_text(feedback_text(row), encoding="utf-8")
    assert _clean(format_table([row]).replace("\n", ""))
    journal = Journal(out)
    journal.add("key", row)
    lines = journal_path(out).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and len(lines[0]) < 2 * MAX_REASONS * MAX_REASON
    resumed = Journal(out).get("key")
    assert resumed.reasons == row.reasons and resumed.student == row.student


def test_a_raw_row_would_have_broken_grades_csv(tmp_path):
    """What safe_row prevents: one lone surrogate in one reason and no file is written."""
    with pytest.raises(UnicodeEncodeError):
        write_csv([GradedSubmission("eve", "01_micrograd", "graded", reasons=[NASTY])],
                  tmp_path / "grades.csv")


def test_the_journal_line_of_a_huge_executed_notebook_is_bounded(tmp_path, monkeypatch):
    import autograder.journal as journal_module

    monkeypatch.setattr(journal_module, "MAX_LINE_CHARS", 10_000)
    row = GradedSubmission("bob", "01_micrograd", "graded",
                           executed={"cells": [{"source": "x" * 50_000}]})
    journal = Journal(tmp_path / "grades.csv")
    journal.add("key", row)
    assert len(journal.path.read_text()) < 10_000
    assert Journal(tmp_path / "grades.csv").get("key").executed is None


def test_observed_text_is_made_safe_before_any_judge_sees_it():
    wire = json.loads(json.dumps({"__type__": NASTY}))  # as the kernel's JSON spells it
    opaque = decode(wire)
    assert isinstance(opaque, Opaque) and _clean(opaque.type_name) and len(opaque.type_name) <= 80
    message = error_message({"type": NASTY, "what": NASTY, "message": NASTY})
    assert _clean(message) and len(message) < 1000


def test_lone_surrogates_leave_a_notebook_writable():
    import nbformat

    nb = nbformat.reads(json.dumps({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {"k\ud800": "\udcff"},
        "cells": [{"cell_type": "code", "id": "a", "metadata": {}, "source": "x = '\ud800'",
                   "outputs": [], "execution_count": None}]}), as_version=4)
    without_surrogates(nb)
    nbformat.writes(nb).encode("utf-8")  # raised UnicodeEncodeError before
    assert nb.cells[0].source == "x = '\ufffd'" and nb.metadata == {"k\ufffd": "\ufffd"}
