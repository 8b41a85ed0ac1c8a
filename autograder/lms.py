"""The wide CSV for a learning-management system: one row per student, one column per session.

``grades-wide.csv`` beside the long ``grades.csv``: the columns are ``student``, one per
session (its 0–4 score, empty while the row is held for review), ``total`` (the sum of the
known scores) and ``held`` (the sessions still held for review, space-separated).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from autograder.results import GradedSubmission, write_text_atomic


def wide_path(out: Path | str) -> Path:
    """Where the wide CSV of a long results file ``out`` goes: ``<stem>-wide.csv`` beside it."""
    out = Path(out)
    return out.with_name(f"{out.stem}-wide.csv")


def wide_table(rows: list[GradedSubmission]) -> tuple[list[str], list[dict[str, str]]]:
    """(columns, one dict per student) of the wide CSV."""
    sessions = sorted({r.session for r in rows if r.session != "-"})
    by_student: dict[str, dict[str, GradedSubmission]] = {}
    for r in rows:
        by_student.setdefault(r.student, {})[r.session] = r
    table = []
    for student in sorted(by_student):
        mine = by_student[student]
        line = {"student": student}
        for s in sessions:
            score = mine[s].score if s in mine else None
            line[s] = "" if score is None else str(score)
        line["total"] = str(sum(r.score for r in mine.values() if r.score is not None))
        line["held"] = " ".join(s for s, r in sorted(mine.items()) if r.score is None)
        table.append(line)
    return ["student", *sessions, "total", "held"], table


def write_wide_csv(rows: list[GradedSubmission], path: Path | str) -> Path:
    columns, table = wide_table(rows)
    return write_text_atomic(path, _csv_text(columns, table))


def _csv_text(columns: list[str], table: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buf.getvalue()
