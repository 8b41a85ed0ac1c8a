"""The wide CSV for a learning-management system: one row per student, one column per session.

``grades-wide.csv`` beside the long ``grades.csv``: the columns are ``student``, one per
session (its 0–4 score; empty while the row is held for review or in error), ``total`` (the
sum of the known scores), ``held`` (the sessions held for review) and ``errors`` (the sessions
whose notebook could not be graded: never counted as a silent 0), both space-separated.
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
        counted = {s: r for s, r in mine.items() if r.score is not None and r.status != "error"}
        for s in sessions:
            line[s] = str(counted[s].score) if s in counted else ""
        line["total"] = str(sum(r.score for r in counted.values()))
        line["held"] = " ".join(s for s, r in sorted(mine.items())
                                if r.score is None and r.status != "error")
        line["errors"] = " ".join(s for s, r in sorted(mine.items()) if r.status == "error")
        table.append(line)
    return ["student", *sessions, "total", "held", "errors"], table


def write_wide_csv(rows: list[GradedSubmission], path: Path | str) -> Path:
    columns, table = wide_table(rows)
    return write_text_atomic(path, _csv_text(columns, table))


def _csv_text(columns: list[str], table: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buf.getvalue()
