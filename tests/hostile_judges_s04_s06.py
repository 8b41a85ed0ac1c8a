"""Hostile cases on sessions 4 and 6: judges decide on evidence, never on claims (tests/hostile.py)."""

from __future__ import annotations

from pathlib import Path

from tests.hostile import Case  # noqa: F401  (the cases' type)


def cases(submissions_root: Path, canary: Path, port: int) -> list[Case]:
    return []
