"""Example submissions generated from the solutions, so that they never drift.

Each example is (student, what it shows, expected score); ``write_examples`` lays them out in
nbgrader's submission layout ``OUT/<student>/<session>/<notebook>.ipynb`` + ``timestamp.txt``.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.paths import NOTEBOOKS_DIR, session_ids, source_notebook
from autograder.policy import load_policy

LATE_DAYS = 2  # how long after the deadline the late example comes


@dataclass(frozen=True)
class Example:
    student: str
    kind: str  # complete, partial, blank, late, broken
    expected_score: int
    description: str


EXAMPLES = [
    Example("alice", "complete", 4, "the solution notebook, on time"),
    Example("bob", "partial", 2, "the first solution cell filled in, the rest left blank"),
    Example("carol", "blank", 0, "the released notebook, untouched"),
    Example("dave", "late", 1, "the complete solution, two days after the deadline"),
    Example("erin", "broken", 0, "a file that is not valid JSON"),
]


def student_notebook(session: str) -> nbformat.NotebookNode:
    """The released (blank) notebook of a session."""
    return nbformat.read(NOTEBOOKS_DIR / session / source_notebook(session).name, as_version=4)


def solution_notebook(session: str) -> nbformat.NotebookNode:
    return nbformat.read(source_notebook(session), as_version=4)


def fill(session: str, n_solution_cells: int | None) -> nbformat.NotebookNode:
    """The released notebook with its first ``n`` solution cells answered (None: all)."""
    solved = {c.metadata["nbgrader"]["grade_id"]: c.source
              for c in solution_notebook(session).cells
              if c.metadata.get("nbgrader", {}).get("solution")}
    nb = student_notebook(session)
    filled = 0
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solved and (n_solution_cells is None or filled < n_solution_cells):
            cell.source = "\n".join(line for line in solved[grade_id].splitlines()
                                    if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
            filled += 1
    return nb


def timestamp(session: str, late: bool) -> str:
    """The class day at 16:30 UTC, or LATE_DAYS later."""
    day = load_policy().sessions[session].class_date
    if late:
        day += dt.timedelta(days=LATE_DAYS)
    return f"{day.isoformat()} 16:30:00 UTC"


def write_examples(out: Path | str, sessions: list[str] | None = None) -> Path:
    """Write every example for every session (default: all sessions with a source notebook)."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    for session in sessions or session_ids():
        name = source_notebook(session).name
        for ex in EXAMPLES:
            folder = out / ex.student / session
            folder.mkdir(parents=True)
            path = folder / name
            if ex.kind == "broken":
                path.write_text('{"cells": [ {"cell_type": "code", "source": "oops"', encoding="utf-8")
            else:
                n = {"complete": None, "late": None, "partial": 1, "blank": 0}[ex.kind]
                nbformat.write(fill(session, n), path)
            (folder / "timestamp.txt").write_text(timestamp(session, ex.kind == "late") + "\n")
    return out
