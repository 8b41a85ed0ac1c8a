"""Find the submissions in an nbgrader-layout folder and check each one before grading.

The submissions folder is the students' (an LMS export, unpacked archives): the grader, which
may run as root, reads from it only regular files that are what they seem. Symbolic links,
hard links (a second name for a file that may lie outside the submission), FIFOs, sockets and
devices are refused unread (``lstat``, ``O_NOFOLLOW``), and no file is read past a bound.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import parse_utc

from autograder.paths import source_notebook
from autograder.safe_text import quoted, safe, without_surrogates

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")
MAX_NOTEBOOK_BYTES = 50 * 2**20  # a larger file is refused, unread
MAX_TIMESTAMP_BYTES = 256


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
    for student_dir in _folders(root):
        student = student_dir.name
        students.add(student)
        if not _SAFE_ID.match(student) or student_dir.is_symlink():
            found[(student, "-")] = Submission(
                student, "-", student_dir,
                fatal="the student folder name may only use letters, digits and . _ @ + -"
                if not student_dir.is_symlink() else "the student folder is a symbolic link: "
                                                      "not followed")
            continue
        for session_dir in _folders(student_dir):
            session = session_dir.name
            if session_dir.is_symlink():
                found[(student, session)] = Submission(
                    student, session, session_dir,
                    fatal="the session folder is a symbolic link: not followed")
                continue
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


def _folders(parent: Path) -> list[Path]:
    """The sub-folders of ``parent``, and the links that point to one (refused by the caller)."""
    return sorted(p for p in parent.iterdir() if p.is_dir())


def inspect(student: str, session: str, folder: Path) -> Submission:
    """Read the timestamp and pick and validate the notebook of one submission folder."""
    sub = Submission(student, session, folder)
    expected = source_notebook(session).name
    try:
        sub.submitted_at = read_timestamp(folder)
    except ValueError as exc:
        sub.notes.append(str(exc))
    refused = [f"{p.name!r} {why}: not read" for p, why in map(_refusal, sorted(folder.iterdir()))
               if why and p.name != "timestamp.txt"]  # read_timestamp says why
    sub.notes.extend(refused[:5] + ([f"{len(refused) - 5} more such files: not read"]
                                    if len(refused) > 5 else []))
    candidates = [p for p in submission_files(folder) if p.suffix == ".ipynb"]
    path = folder / expected
    if _refusal(path)[1]:
        sub.fatal = f"{expected} {_refusal(path)[1]}: only a regular file is graded"
        return sub
    if not path.exists():
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


def _refusal(path: Path) -> tuple[Path, str]:
    """(path, why the grader will not read it), why being "" for a regular file with one name
    or a folder, or a path that does not exist."""
    try:
        info = os.lstat(path)
    except OSError:
        return path, ""
    if stat.S_ISLNK(info.st_mode):
        return path, "is a symbolic link"
    if stat.S_ISDIR(info.st_mode):
        return path, ""
    if not stat.S_ISREG(info.st_mode):
        return path, "is not a regular file (a FIFO, socket or device)"
    if info.st_nlink > 1:
        return path, "is a hard link (a second name of another file)"
    return path, ""


def submission_files(folder: Path) -> list[Path]:
    """The regular files of a submission folder that the grader may read, by name."""
    return [p for p in sorted(folder.iterdir()) if not _refusal(p)[1] and p.is_file()]


def read_bytes(path: Path, limit: int) -> bytes:
    """At most ``limit`` + 1 bytes of a regular file with one name, never through a link.

    Raises OSError (saying why) for anything else: the check is made on the file opened, so
    the file cannot be swapped for a link between the check and the read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            raise OSError(f"{path.name} is not a regular file with one name")
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_timestamp(folder: Path) -> dt.datetime | None:
    """The submission time from nbgrader's timestamp.txt (UTC when no zone is given)."""
    path = folder / "timestamp.txt"
    if not os.path.lexists(path):
        return None
    if _refusal(path)[1] or not path.is_file():
        raise ValueError(f"timestamp.txt {_refusal(path)[1] or 'is not a file'}: not read, "
                         f"treated as no timestamp")
    try:
        data = read_bytes(path, MAX_TIMESTAMP_BYTES)
    except OSError:
        raise ValueError("timestamp.txt could not be read: treated as no timestamp") from None
    text = safe(data, MAX_TIMESTAMP_BYTES)
    try:
        if len(data) > MAX_TIMESTAMP_BYTES:
            raise ValueError("too long")
        return parse_utc(text).replace(tzinfo=dt.timezone.utc)
    except (ValueError, OverflowError, TypeError) as exc:
        raise ValueError(f"timestamp.txt could not be read ({quoted(text, 40)}): "
                         f"treated as no timestamp") from exc


def read_notebook(path: Path, as_version=nbformat.NO_CONVERT) -> nbformat.NotebookNode:
    """The notebook at ``path``, read at most MAX_NOTEBOOK_BYTES through ``read_bytes``;
    raises OSError for a file that is not a plain one, ValueError when larger or not JSON."""
    data = read_bytes(path, MAX_NOTEBOOK_BYTES)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"over the {MAX_NOTEBOOK_BYTES // 2**20} MiB limit")
    nb = nbformat.reads(data.decode("utf-8", errors="replace"), as_version=as_version)
    return without_surrogates(nb)  # JSON escapes can spell lone surrogates, which no file holds


def validate_notebook(path: Path) -> str:
    """'' when ``path`` is a readable Jupyter notebook (nbformat 4), else why not."""
    size = path.lstat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return f"{path.name} is {size / 2**20:.0f} MiB, over the {MAX_NOTEBOOK_BYTES // 2**20} MiB limit"
    try:
        nb = read_notebook(path)
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
