"""Regrade one (student, session) and replace its row in place in an existing results file."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from autograder import execute, forkserver
from autograder.grade import Context, check_isolation, grade_one, hidden_paths
from autograder.intake import discover
from autograder.paths import check_session, session_ids
from autograder.policy import Policy, load_policy
from autograder.results import COLUMNS, GradedSubmission, format_table, read_csv, write_text_atomic


def regrade_one(submissions: Path | str, out: Path | str, student: str, session: str,
                policy: Policy | None = None, echo=print,
                allow_unisolated: bool = False) -> tuple[GradedSubmission, list[dict]]:
    """Grade ``submissions/<student>/<session>`` alone; its row replaces the old one in ``out``
    (added when absent), every other row is kept as it was. Returns the row and all rows."""
    unisolated = check_isolation(allow_unisolated)
    policy = policy or load_policy()
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    check_session(session)
    if not (submissions / student).is_dir():
        raise FileNotFoundError(f"no folder for student {student!r} in {submissions}")
    (sub,) = [s for s in discover(submissions, session_ids())
              if (s.student, s.session) == (student, session)] or [None]
    if sub is None:  # the student exists but nobody submitted this session
        row = GradedSubmission(student, session, "missing", score=policy.missing_score,
                               reasons=[f"no submission -> score {policy.missing_score}"])
    else:
        with tempfile.TemporaryDirectory(prefix="dcg-") as tmp:
            ctx = Context(policy, Path(tmp), tuple(hidden_paths(submissions, Path(tmp), out)),
                          execute.Limits.of(policy), secrets.token_hex(16), unisolated)
            try:
                row = grade_one(sub, ctx, 0)
            finally:
                forkserver.close_all()
    rows = [r for r in (read_csv(out) if out.exists() else [])
            if (r["student"], r["session"]) != (student, session)]
    rows.append(row.row())
    rows.sort(key=lambda r: (r["student"], r["session"]))
    _write_dicts(rows, out)
    echo(format_table([row]))
    echo(f"\nrow {student}/{session} replaced in {out} ({len(rows)} row(s))")
    return row, rows


def rows_of(dicts: list[dict]) -> list[GradedSubmission]:
    """Rows read back from a results file (the columns the wide CSV needs)."""
    return [GradedSubmission(d["student"], d["session"], d["status"],
                             score=int(d["score"]) if d["score"] else None) for d in dicts]


def _write_dicts(rows: list[dict], path: Path) -> None:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buf.getvalue())
