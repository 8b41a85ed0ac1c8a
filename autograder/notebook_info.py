"""What a source notebook declares: its autograded test cells and their points."""

from __future__ import annotations

import functools

import nbformat

from autograder.paths import source_notebook


@functools.lru_cache(maxsize=None)
def grade_cells(session: str) -> tuple[tuple[str, float], ...]:
    """(grade_id, points) of every autograded test cell of a session, in notebook order."""
    nb = nbformat.read(source_notebook(session), as_version=4)
    cells = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            cells.append((meta["grade_id"], float(meta.get("points", 0))))
    return tuple(cells)


def total_points(session: str) -> float:
    """The points of all the autograded test cells of a session."""
    return sum(points for _, points in grade_cells(session))


def exercises(session: str, separator: str = "__") -> list[str]:
    """The exercise names of a session, in notebook order."""
    names = [grade_id.split(separator, 1)[0] for grade_id, _ in grade_cells(session)]
    return list(dict.fromkeys(names))
