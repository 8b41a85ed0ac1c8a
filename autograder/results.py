"""Typed grading results, the grades.csv file (written atomically) and the printed table."""

from __future__ import annotations

import csv
import io
import os
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = ["student", "session", "points", "max_points", "raw_score", "score",
           "starred_missing", "late", "submitted_at", "status", "reasons"]


@dataclass(frozen=True)
class CellResult:
    """One autograded test cell."""

    grade_id: str
    exercise: str
    points: float
    max_points: float
    message: str = ""  # what failed, in words for the student ("" when it passed)

    @property
    def passed(self) -> bool:
        return self.points >= self.max_points


@dataclass
class GradedSubmission:
    """One (student, session) row of grades.csv."""

    student: str
    session: str
    status: str  # "graded", "missing", "error" or "review" (tampering suspected: no score)
    points: float = 0.0
    max_points: float = 0.0
    raw_score: int = 0
    score: int | None = 0  # None while held for manual review
    starred_missing: tuple[str, ...] = ()
    late: bool = False
    submitted_at: str = ""
    reasons: list[str] = field(default_factory=list)
    cells: list[CellResult] = field(default_factory=list)
    isolation: dict = field(default_factory=dict)  # what the sandbox applied and skipped
    seconds: float = 0.0  # time spent executing the notebook
    # the notebook as the grader ran it, with its outputs (feedback pages, the gradebook's
    # autograded/ copy); None when nothing ran. Not a column of grades.csv.
    executed: dict | None = field(default=None, repr=False, compare=False)

    def row(self) -> dict[str, str]:
        return {
            "student": self.student,
            "session": self.session,
            "points": _num(self.points),
            "max_points": _num(self.max_points),
            "raw_score": str(self.raw_score),
            "score": "" if self.score is None else str(self.score),
            "starred_missing": " ".join(self.starred_missing),
            "late": "yes" if self.late else "no",
            "submitted_at": self.submitted_at,
            "status": self.status,
            "reasons": "; ".join(self.reasons),
        }


def _num(x: float) -> str:
    return f"{x:g}"


def write_csv(rows: list[GradedSubmission], path: Path | str) -> Path:
    """Write grades.csv atomically: a reader sees the old file or the new one, never half."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in sorted(rows, key=lambda r: (r.student, r.session)):
        writer.writerow(r.row())
    return write_text_atomic(path, buf.getvalue())


def write_text_atomic(path: Path | str, text: str) -> Path:
    """Write a file so that a reader sees the old one or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)  # mkstemp makes it private; results are meant to be read
    os.replace(tmp, path)
    return path


def read_csv(path: Path | str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def format_table(rows: list[GradedSubmission], width: int = 100) -> str:
    """The 0–4 table printed after grading: one line per row, then its reasons in full, one
    per line, wrapped at ``width`` (nothing an instructor must see is cut)."""
    header = f"{'student':<16} {'session':<14} {'points':>9} {'score':>5}  {'status':<7}"
    lines = [header + "  reasons", "-" * (len(header) + 9)]
    indent = " " * 4
    for r in sorted(rows, key=lambda r: (r.student, r.session)):
        pts = f"{_num(r.points)}/{_num(r.max_points)}"
        score = "held" if r.score is None else r.score
        lines.append(f"{r.student:<16} {r.session:<14} {pts:>9} {score:>5}  {r.status:<7}")
        for reason in r.reasons:
            lines += textwrap.wrap(reason, width, initial_indent=indent + "- ",
                                   subsequent_indent=indent + "  ", break_long_words=False,
                                   break_on_hyphens=False)
    return "\n".join(lines)


def feedback_text(row: GradedSubmission, title: str = "") -> str:
    """A student's feedback for one session: score, caps, and each exercise's result in words."""
    score = "held for manual review" if row.score is None else f"{row.score} / 4"
    lines = [f"# {row.session}{' — ' + title if title else ''}: {score}", "",
             f"Points: {row.points:g} / {row.max_points:g}", ""]
    exercises: dict[str, list[CellResult]] = {}
    for cell in row.cells:
        exercises.setdefault(cell.exercise, []).append(cell)
    if exercises:
        lines += ["| exercise | points | result |", "|---|---|---|"]
        for name, cells in exercises.items():
            got, full = sum(c.points for c in cells), sum(c.max_points for c in cells)
            failed = next((c.message for c in cells if not c.passed), "")
            result = "passed" if not failed else failed.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {name} | {got:g} / {full:g} | {result} |")
        lines.append("")
    if row.reasons:
        lines += ["Notes:", ""] + [f"- {r}" for r in row.reasons] + [""]
    return "\n".join(lines)


def write_feedback(rows: list[GradedSubmission], folder: Path | str, titles=None) -> None:
    """``folder/<student>/<session>.md`` for every row."""
    for row in rows:
        path = Path(folder) / row.student / f"{row.session}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(feedback_text(row, (titles or {}).get(row.session, "")), encoding="utf-8")
