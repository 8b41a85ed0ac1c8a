"""A journal of finished rows, so that a grading run killed half-way resumes where it stopped.

Each graded (student, session) is appended to ``<out>.journal`` as one JSON line, flushed to
disk, with a fingerprint of the submission folder and of the course material it was graded
against. A restarted run reuses the rows whose fingerprints still match, grades the rest, writes
the results file atomically and removes the journal. A row appears once, whatever the run.
Rows arrive with their text made safe (``safe_text.safe_row``); a line is at most
MAX_LINE_CHARS characters (json escapes anything not ASCII).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from autograder.intake import MAX_NOTEBOOK_BYTES, Submission, read_bytes, submission_files
from autograder.paths import REPO_ROOT, SOLUTIONS_DIR
from autograder.results import CellResult, GradedSubmission
from autograder.safe_text import safe_row


def course_fingerprint() -> str:
    """The source notebooks and the policy: a change to either invalidates old rows."""
    digest = hashlib.sha256()
    for path in sorted(SOLUTIONS_DIR.rglob("*.ipynb")) + [REPO_ROOT / "grading_config.py"]:
        digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def submission_fingerprint(sub: Submission) -> str:
    digest = hashlib.sha256(f"{sub.student}\0{sub.session}\0".encode(errors="surrogateescape"))
    if sub.folder is not None and sub.folder.is_dir() and not sub.folder.is_symlink():
        for path in submission_files(sub.folder):  # what intake may read, as it reads it
            digest.update(os.fsencode(path.name) + b"\0")
            try:
                digest.update(read_bytes(path, MAX_NOTEBOOK_BYTES))
            except OSError:  # changed since it was listed
                digest.update(b"\0unreadable")
    return digest.hexdigest()


MAX_LINE_CHARS = 64 * 2**20  # a longer row is journaled without its executed notebook


def journal_path(out: Path) -> Path:
    """Where the rows of a run writing ``out`` are journaled."""
    return Path(str(out) + ".journal")


class Journal:
    def __init__(self, out: Path):
        self.path = journal_path(out)
        self.course = course_fingerprint()
        self.done: dict[str, GradedSubmission] = {}
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:  # a line cut short by the kill
                    continue
                if entry.get("course") == self.course:
                    self.done[entry["key"]] = _row_from_dict(entry["row"])

    def key(self, sub: Submission) -> str:
        return submission_fingerprint(sub)

    def get(self, key: str) -> GradedSubmission | None:
        return self.done.get(key)

    def add(self, key: str, row: GradedSubmission) -> None:
        line = json.dumps({"course": self.course, "key": key, "row": dataclasses.asdict(row)})
        if len(line) > MAX_LINE_CHARS:  # the executed notebook is what can be large
            line = json.dumps({"course": self.course, "key": key,
                               "row": dataclasses.asdict(dataclasses.replace(row, executed=None))})
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.done[key] = row

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


def _row_from_dict(d: dict) -> GradedSubmission:
    d = dict(d)
    d["cells"] = [CellResult(**c) for c in d.get("cells", [])]
    d["starred_missing"] = tuple(d.get("starred_missing", ()))
    return safe_row(GradedSubmission(**d))
