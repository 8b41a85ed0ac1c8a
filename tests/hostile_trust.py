"""Hostile cases on what the grader takes from a submission: files, text, output, disk, host view."""

from __future__ import annotations

from pathlib import Path

from tests.hostile import Case  # noqa: F401  (the cases' type)


def cases(submissions_root: Path, canary: Path, port: int) -> list[Case]:
    return []
