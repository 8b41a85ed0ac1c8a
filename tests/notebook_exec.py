"""Run a session's source notebook in-process, optionally with a mutated answer.

The hidden checks are plain functions: tests load the objects a notebook defines (the
solution, or the solution with a typical mistake planted in it) and call the checks on them
directly, which is fast and says exactly which exercise a mistake costs.
"""

from __future__ import annotations

import os

import nbformat

from autograder.paths import source_notebook


class MutationNotApplied(AssertionError):
    """The text to replace is not in the cell: the mutation test would prove nothing."""


def code_cells(session: str):
    """(grade_id or None, is_test_cell, source) of each code cell, in notebook order."""
    nb = nbformat.read(source_notebook(session), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        yield meta.get("grade_id"), bool(meta.get("grade")) and not meta.get("solution"), cell.source


def namespace(session: str, mutations: dict[str, list[tuple[str, str]]] | None = None,
              stop_before: str | None = None, solutions_only: bool = False) -> dict:
    """Execute the non-test code cells of a source notebook (in fast mode) and return globals.

    As under the grader, a cell that raises does not stop the cells after it.

    ``mutations`` maps a cell's grade_id to (old, new) replacements applied to its source;
    ``stop_before`` stops at the cell with that grade_id; ``solutions_only`` runs the set-up
    cell and the solution cells alone (skipping plots and training runs).
    """
    os.environ["DEEPCOURSE_FAST"] = "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    mutations = dict(mutations or {})
    ns: dict = {"__name__": "__notebook__"}
    for n, (grade_id, is_test, source) in enumerate(code_cells(session)):
        if stop_before is not None and grade_id == stop_before:
            break
        if solutions_only and n > 0 and (grade_id is None or is_test):
            continue
        for old, new in mutations.pop(grade_id, []):
            if old not in source:
                raise MutationNotApplied(f"{old!r} not found in cell {grade_id!r}")
            source = source.replace(old, new)
        if is_test:
            continue
        try:
            exec(compile(source, f"<{session}:{grade_id or 'cell'}>", "exec"), ns)
        except Exception:  # as when graded: a cell that fails does not stop the notebook
            continue
    if mutations:
        raise MutationNotApplied(f"cells not found: {sorted(mutations)}")
    return ns


def failing(session: str, ns: dict, seed: int = 1234) -> dict[str, str]:
    """Every registered exercise of ``session`` whose probe on ``ns``, judged, fails: its message.

    The probes run here exactly as shipped to a kernel (``kernel_source``) and their
    observations go through the same JSON encoding as on the wire.
    """
    from autograder.checks import exercises, run_in_process

    out = {}
    for name in exercises(session):
        result = run_in_process(session, name, ns, seed)
        if not result.passed:
            out[name] = result.message
    return out


def failing_checks(checks: dict) -> dict[str, str]:
    """Run every check (exercise -> zero-argument callable); the failing ones with their message."""
    from autograder.checks import CheckFailed

    out = {}
    for name, check in checks.items():
        try:
            check()
        except CheckFailed as exc:
            out[name] = str(exc)
    return out
