"""Before execution: restore the test cells from the source, then put the probes in place.

``restore_test_cells`` puts every test cell of the source notebook back in its place, as in the
source (hidden tests included), whatever the submission did to it: edited, deleted, moved,
duplicated or renamed. ``instrument`` adds a private first cell that installs the session's
probes in the kernel and replaces each hidden test cell (the one that calls
``judged(session, exercise)``) by the probe of its exercise, run with this submission's seed.
"""

from __future__ import annotations

import re

import nbformat
from nbformat import NotebookNode
from nbgrader.utils import compute_checksum, is_grade, is_solution

from autograder.safe_text import safe

ROLE = "deepcourse_role"  # cell metadata key of the cells the grader adds


def is_test_cell(cell) -> bool:
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def restore_test_cells(nb: NotebookNode, source: NotebookNode,
                       release: NotebookNode) -> tuple[NotebookNode, list[str]]:
    """The submission with the source's test cells, in the source's places; notes for the student."""
    notes = []
    source_tests = {_grade_id(c): c for c in source.cells if is_test_cell(c)}
    released = {_grade_id(c): c for c in release.cells if _grade_id(c)}
    kept, seen, unknown = [], set(), []
    for cell in nb.cells:
        if is_test_cell(cell):
            gid = _grade_id(cell)
            if gid not in source_tests:
                unknown.append(gid)
            elif gid in seen:
                notes.append(f"test cell {gid!r} appeared twice; one copy was kept")
            else:
                seen.add(gid)
                ref = released.get(gid)
                if ref is not None and compute_checksum(cell) != ref.metadata["nbgrader"].get(
                        "checksum", compute_checksum(ref)) and cell.source != ref.source:
                    notes.append(f"test cell {gid!r} was edited; the original was restored")
            continue
        kept.append(cell)
    notes += [f"a test cell with unknown id {safe(gid, 60)!r} was removed" for gid in unknown[:5]]
    if len(unknown) > 5:
        notes.append(f"{len(unknown) - 5} more test cells with unknown ids were removed")
    missing = [gid for gid in source_tests if gid not in seen]
    if missing:
        notes.append(f"test cell(s) {', '.join(missing)} were missing and were restored")
    nb = nbformat.from_dict({**nb, "cells": kept})
    _insert_in_source_order(nb, source)
    return nb, notes


def _insert_in_source_order(nb: NotebookNode, source: NotebookNode) -> None:
    """Insert each source test cell after the submission's copy of the cell before it."""
    position = {}
    for i, cell in enumerate(nb.cells):
        gid = _grade_id(cell)
        if gid is not None and gid not in position:
            position[gid] = i
    anchor = -1  # insert after this index of nb.cells
    for cell in source.cells:
        gid = _grade_id(cell)
        if is_test_cell(cell):
            copy = nbformat.from_dict(cell)
            copy.outputs, copy.execution_count = [], None
            nb.cells.insert(anchor + 1, copy)
            position = {k: (v + 1 if v > anchor else v) for k, v in position.items()}
            anchor += 1
        elif gid in position:
            anchor = max(anchor, position[gid])


JUDGED = re.compile(r"""judged\(\s*["']([^"']+)["']\s*,\s*["']([^"']+)["']\s*\)""")


def judged_exercise(cell) -> tuple[str, str] | None:
    """(session, exercise) of a hidden test cell that calls ``judged(...)``, else None."""
    found = JUDGED.search(cell.source) if is_test_cell(cell) else None
    return found.groups() if found else None


def instrument(nb: NotebookNode, session: str, seed: int,
               source_code: str) -> tuple[NotebookNode, dict[int, str], set[int]]:
    """Install the probes, then probe each judged exercise where its hidden tests were.

    Returns the notebook, {cell index: exercise} of the probe cells, and the indexes of the
    cells the grader added (kept out of the student's execution count).
    """
    from autograder.probe_runtime import exercise_seed

    probes = {}
    for index, cell in enumerate(nb.cells, start=1):  # after the prologue inserted below
        found = judged_exercise(cell)
        if found is not None and found[0] == session:
            exercise = found[1]
            cell.source = (f"__import__('autograder.probe_runtime').probe_runtime.run("
                           f"{exercise!r}, {exercise_seed(seed, exercise)})")
            probes[index] = exercise
    prologue = nbformat.v4.new_code_cell(
        f"__import__('autograder.probe_runtime').probe_runtime.install({source_code!r})")
    prologue.metadata[ROLE] = "prologue"
    nb.cells = [prologue, *nb.cells]
    return nb, probes, {0}
