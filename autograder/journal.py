"""A journal of finished rows, so that a grading run killed half-way resumes where it stopped.

Each graded (student, session) is appended to ``<out>.journal`` as one JSON line, flushed to
disk, with a fingerprint of the submission folder and of the course material it was graded
against. A restarted run reuses the rows whose fingerprints still match, grades the rest, writes
the results file atomically and removes the journal. A row appears once, whatever the run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from autograder.intake import Submission
from autograder.paths import REPO_ROOT, SOLUTIONS_DIR
from autograder.results import CellResult, GradedSubmission


def course_fingerprint() -> str:
    """The source notebooks and the policy: a change to either invalidates old rows."""
    digest = hashlib.sha256()
    for path in sorted(SOLUTIONS_DIR.rglob("*.ipynb")) + [REPO_ROOT / "grading_config.py"]:
        digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def submission_fingerprint(sub: Submission) -> str:
    digest = hashlib.sha256(f"{sub.student}\0{sub.session}\0".encode())
    if sub.folder is not None and sub.folder.is_dir():
        for path in sorted(sub.folder.iterdir()):
            if path.is_file() and not path.is_symlink():
                digest.update(path.name.encode() + b"\0")
                with open(path, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        digest.update(block)
    return digest.hexdigest()


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
    return GradedSubmission(**d)
