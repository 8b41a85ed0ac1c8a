"""Before execution: restore the test cells from the source, then instrument the notebook.

``restore_test_cells`` puts every test cell of the source notebook back in its place, as in the
source (hidden tests included), whatever the submission did to it: edited, deleted, moved,
duplicated or renamed. ``instrument`` adds the grader's private first and last cells and makes
every test cell report its success to the grader (see ``autograder.sentinel``).
"""

from __future__ import annotations

import secrets

import nbformat
from nbformat import NotebookNode
from nbgrader.utils import compute_checksum, is_grade, is_solution

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
    kept, seen = [], set()
    for cell in nb.cells:
        if is_test_cell(cell):
            gid = _grade_id(cell)
            if gid not in source_tests:
                notes.append(f"a test cell with unknown id {gid!r} was removed")
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


def instrument(nb: NotebookNode) -> tuple[NotebookNode, str, set[int]]:
    """Add the grader's cells; return (notebook, key, indexes of the grader's private cells)."""
    key = secrets.token_hex(32)
    tokens = {}
    for cell in nb.cells:
        if is_test_cell(cell):
            gid = _grade_id(cell)
            tokens[gid] = secrets.token_hex(16)
            cell.source = (cell.source.rstrip("\n") + "\n"
                           f"__import__('autograder.sentinel').sentinel.passed({gid!r}, "
                           f"{tokens[gid]!r})")
    prologue = nbformat.v4.new_code_cell(
        f"__import__('autograder.sentinel').sentinel.arm({key!r}, {tokens!r})")
    epilogue = nbformat.v4.new_code_cell(
        "__import__('autograder.sentinel').sentinel.integrity('final')")
    for cell, role in ((prologue, "prologue"), (epilogue, "epilogue")):
        cell.metadata[ROLE] = role
    nb.cells = [prologue, *nb.cells, epilogue]
    private = {0, len(nb.cells) - 1} | {i for i, c in enumerate(nb.cells) if is_test_cell(c)}
    return nb, key, private
