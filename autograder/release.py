"""Generate the student notebooks (nbgrader release) and check that they are fresh and clean."""

from __future__ import annotations

import filecmp
import functools
import re
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder import nbgrader_api
from autograder.overlap import covered, grams, tokens
from autograder.paths import (NOTEBOOKS_DIR, REPO_ROOT, SOLUTIONS_DIR, session_ids,
                              source_notebook)

_REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)


class ReleaseError(RuntimeError):
    """A release failed, is stale, or leaks solution code or hidden tests."""


def generate(root: Path, sessions: list[str] | None = None) -> Path:
    """Run nbgrader generate_assignment for each session into ``root/notebooks``.

    ``root`` must hold (or link to) ``solutions/``; the gradebook is created inside ``root``.
    """
    api = nbgrader_api.make_api(root)
    for session in sessions or session_ids():
        result = nbgrader_api.run(api, "generate_assignment", session, force=True, create=True)
        if not result["success"]:
            raise ReleaseError(f"nbgrader generate_assignment {session} failed:\n"
                               f"{result.get('error') or result.get('log')}")
    return root / "notebooks"


def release(sessions: list[str] | None = None) -> list[Path]:
    """Regenerate notebooks/<session>/ from solutions/<session>/ (the only way to write them)."""
    sessions = sessions or session_ids()
    with tempfile.TemporaryDirectory(prefix="deepcourse-release-") as tmp:
        out = generate(_scratch_course(Path(tmp)), sessions)
        written = []
        for session in sessions:
            target = NOTEBOOKS_DIR / session
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(out / session, target)
            written.extend(sorted(target.rglob("*.ipynb")))
    return written


def check_release() -> list[str]:
    """Problems with notebooks/: stale against solutions/, or leaking solutions/hidden tests."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="deepcourse-check-") as tmp:
        fresh = generate(_scratch_course(Path(tmp)))
        for session in session_ids():
            problems += _compare_dirs(fresh / session, NOTEBOOKS_DIR / session)
    for session in session_ids():
        for source in sorted((SOLUTIONS_DIR / session).glob("*.ipynb")):
            released = NOTEBOOKS_DIR / session / source.name
            if released.exists():
                problems += leaks(source, released)
    return problems


def _scratch_course(root: Path) -> Path:
    (root / "solutions").symlink_to(SOLUTIONS_DIR, target_is_directory=True)
    return root


def _compare_dirs(fresh: Path, committed: Path) -> list[str]:
    rel = committed.relative_to(REPO_ROOT)
    if not committed.exists():
        return [f"{rel} is missing: run `make release`"]
    cmp = filecmp.dircmp(fresh, committed)
    problems = [f"{rel}/{name} is missing: run `make release`" for name in cmp.left_only]
    problems += [f"{rel}/{name} is not generated from solutions/: remove it"
                 for name in cmp.right_only]
    problems += [f"{rel}/{name} is stale: run `make release`"
                 for name in cmp.diff_files
                 if (fresh / name).read_bytes() != (committed / name).read_bytes()]
    return problems


def secret_lines(source: Path) -> set[str]:
    """Every non-trivial line inside a solution or hidden-test region of a source notebook."""
    nb = nbformat.read(source, as_version=4)
    inside, outside = set(), set()
    for cell in nb.cells:
        for _, body in _REGION.findall(cell.source + "\n"):
            inside.update(line.strip() for line in body.splitlines())
        outside.update(line.strip() for line in _REGION.sub("", cell.source + "\n").splitlines())
    return {line for line in inside - outside
            if len(line) > 12 and not line.startswith("#")}


def leaks(source: Path, released: Path) -> list[str]:
    """Lines of solution code or hidden tests that appear in the released notebook."""
    text = "\n".join(c.source for c in nbformat.read(released, as_version=4).cells)
    present = {line.strip() for line in text.splitlines()}
    rel = released.relative_to(REPO_ROOT)
    problems = [f"{rel} contains solution or hidden-test code: {line!r}"
                for line in sorted(secret_lines(source) & present)]
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END SOLUTION", "END HIDDEN TESTS"):
        if marker in text:
            problems.append(f"{rel} contains the marker {marker!r}")
    return problems


# --- Answers shipped in disguise ----------------------------------------------------------
# A solution block counts as shipped when this share of its normalised tokens (names, comments
# and layout set aside: autograder.overlap) lies in runs found in one file of the bundle.
LEAK_THRESHOLD = 0.7
# Blocks shorter than this are lines every PyTorch program writes (zero_grad, backward, step):
# they cannot tell an answer from common code.
LEAK_MIN_TOKENS = 40
TEXT_SUFFIXES = (".py", ".ipynb", ".md", ".txt", ".yml", ".yaml", ".toml", ".cfg", ".json")


def solution_blocks(source: Path) -> list[tuple[str, str]]:
    """(grade id, code) of every ``### BEGIN SOLUTION`` block of a source notebook."""
    blocks = []
    for cell in nbformat.read(source, as_version=4).cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "?")
        blocks += [(grade_id, body) for kind, body in _REGION.findall(cell.source + "\n")
                   if kind == "SOLUTION"]
    return blocks


def shipped_text(path: Path) -> str | None:
    """What a shipped file says as text: a notebook's cell sources, a text file's content;
    None for a binary file (a compressed data set)."""
    if path.suffix == ".ipynb":
        return "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        if path.suffix in TEXT_SUFFIXES:
            raise
        return None


@functools.lru_cache(maxsize=None)
def course_idioms(k: int = 10) -> frozenset[tuple[str, ...]]:
    """Runs of ``k`` normalised tokens that the given code of two sessions or more already
    shows students (a training step's zero_grad, backward, step): common knowledge, never an
    answer, however much of a short solution block they make up."""
    seen: dict[tuple[str, ...], set[str]] = {}
    for sid in session_ids():
        for cell in nbformat.read(source_notebook(sid), as_version=4).cells:
            if cell.cell_type != "code":
                continue
            given = _REGION.sub("", cell.source)
            for run in grams(tokens(given), k):
                seen.setdefault(run, set()).add(sid)
    return frozenset(run for run, sessions in seen.items() if len(sessions) >= 2)


def answer_leaks(folder: Path, sessions: list[str],
                 threshold: float = LEAK_THRESHOLD) -> list[str]:
    """Every (file, solution block) pair where a file under ``folder`` holds at least
    ``threshold`` of a solution block of one of ``sessions`` (those whose answers are secret).

    A session's own notebook (``folder/notebooks/<session>/``) is left to the release checks
    of its given cells; every other file, helpers and other sessions' notebooks, is compared.
    """
    blocks = [(sid, grade_id, block) for sid in sessions
              for grade_id, block in solution_blocks(source_notebook(sid))
              if len(tokens(block)) >= LEAK_MIN_TOKENS]
    idioms = course_idioms()
    problems = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = shipped_text(path)
        if text is None:
            continue
        rel = path.relative_to(folder).parts
        for sid, grade_id, block in blocks:
            if rel[:2] == ("notebooks", sid):
                continue
            share = covered(block, text, ignore=idioms)
            if share >= threshold:
                problems.append(f"{path.relative_to(folder)} holds {share:.0%} of the answer "
                                f"to {sid} {grade_id}")
    return problems
