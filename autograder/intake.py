"""Find the submissions in an nbgrader-layout folder and check each one before grading."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import parse_utc

from autograder.paths import source_notebook

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")
MAX_NOTEBOOK_BYTES = 50 * 2**20  # a larger file is refused, unread


@dataclass
class Submission:
    """What a student handed in for one session, as found on disk."""

    student: str
    session: str
    folder: Path | None  # None when the student submitted nothing for this session
    submitted_at: dt.datetime | None = None  # aware, UTC
    notes: list[str] = field(default_factory=list)  # facts the student should know
    fatal: str = ""  # why it cannot be graded at all ("" when it can)
    notebook: Path | None = None  # the file to grade as the session's notebook


def discover(root: Path, known_sessions: list[str]) -> list[Submission]:
    """Every (student, session) pair: each student gets a row for each session anyone submitted."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"submissions folder {root} does not exist")
    found: dict[tuple[str, str], Submission] = {}
    students, sessions = set(), set()
    for student_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        student = student_dir.name
        students.add(student)
        if not _SAFE_ID.match(student):
            found[(student, "-")] = Submission(
                student, "-", student_dir,
                fatal="the student folder name may only use letters, digits and . _ @ + -")
            continue
        for session_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            session = session_dir.name
            if session not in known_sessions:
                close = difflib.get_close_matches(session, known_sessions, n=1)
                meant = close[0] if close and not (student_dir / close[0]).is_dir() else None
                hint = f"did you mean {meant!r}? rename the folder; " if meant else ""
                found[(student, meant or session)] = Submission(
                    student, meant or session, session_dir,
                    fatal=f"unknown session folder {session!r} ({hint}expected one of "
                          f"{', '.join(known_sessions)})")
                if meant:
                    sessions.add(meant)
                continue
            sessions.add(session)
            found[(student, session)] = inspect(student, session, session_dir)
    for student in students:
        for session in sessions:
            found.setdefault((student, session), Submission(student, session, None))
    return [found[k] for k in sorted(found)]


def inspect(student: str, session: str, folder: Path) -> Submission:
    """Read the timestamp and pick and validate the notebook of one submission folder."""
    sub = Submission(student, session, folder)
    expected = source_notebook(session).name
    try:
        sub.submitted_at = read_timestamp(folder)
    except ValueError as exc:
        sub.notes.append(str(exc))
    candidates = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    path = folder / expected
    if not path.is_file():
        if len(candidates) == 1:
            path = candidates[0]
            sub.notes.append(f"notebook named {path.name!r} graded as {expected!r}")
        else:
            found = ", ".join(p.name for p in candidates) or "no notebook"
            sub.fatal = f"expected notebook {expected!r} not found (found: {found})"
            return sub
    problem = validate_notebook(path)
    if problem:
        sub.fatal = problem
    else:
        sub.notebook = path
    return sub


def read_timestamp(folder: Path) -> dt.datetime | None:
    """The submission time from nbgrader's timestamp.txt (UTC when no zone is given)."""
    path = folder / "timestamp.txt"
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    try:
        return parse_utc(text).replace(tzinfo=dt.timezone.utc)
    except (ValueError, OverflowError, TypeError) as exc:
        raise ValueError(f"timestamp.txt could not be read ({text[:40]!r}): "
                         f"treated as no timestamp") from exc


def validate_notebook(path: Path) -> str:
    """'' when ``path`` is a readable Jupyter notebook (nbformat 4), else why not."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return f"{path.name} is {size / 2**20:.0f} MiB, over the {MAX_NOTEBOOK_BYTES // 2**20} MiB limit"
    try:
        nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    except Exception as exc:  # bad JSON, bad encoding, not a notebook at all
        return f"{path.name} is not a readable notebook ({type(exc).__name__}: {str(exc)[:120]})"
    if not isinstance(nb, dict) or nb.get("nbformat") is None:
        return f"{path.name} is not a Jupyter notebook (it has no nbformat version)"
    if nb.get("nbformat") != 4:
        return f"{path.name} has nbformat {nb.get('nbformat')!r}; only version 4 can be graded"
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        return f"{path.name} is not a valid notebook: {exc.message[:160]}"
    return ""
