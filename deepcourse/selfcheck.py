"""The student's self-check: run the visible tests of this notebook and list what passes.

The last cell of every released notebook calls ``checklist()``. It reads the notebook file
(the exercises, their points and test cells, from the metadata ``make release`` wrote; their
titles from the notebook's "Exercise N — …" headings), runs each visible test cell in the
notebook's own namespace — on what the student has run so far, saved or not — and prints one
line per exercise with its points, then what the score would be if the hidden tests agreed.
It decides nothing: hidden tests, run only when the notebook is graded, decide the points.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

CAVEAT = ("Visible tests only: the hidden tests, run when your notebook is graded, try your code "
          "on other inputs and decide the final points.")
_HEADING = re.compile(r"^#+\s*((?:Exercise|Question)\b.*?)\s*(?:\(\d+ points?\))?\s*$", re.M)


class SelfCheckError(RuntimeError):
    """The notebook to check cannot be found or is not a released course notebook."""


@dataclass(frozen=True)
class Item:
    exercise: str  # the grade id's exercise name
    starred: bool
    points: int
    status: str  # "pass", "fail", "not run" (a name it needs is not defined) or "no test"
    message: str = ""
    title: str = ""  # "Exercise 9 — contexts and targets", from the notebook's heading

    @property
    def label(self) -> str:
        return f"{self.title or self.exercise}{' (*)' if self.starred else ''}"

    def line(self, width: int) -> str:
        box = {"pass": "[x]", "fail": "[ ]", "not run": "[ ]", "no test": "[?]"}[self.status]
        detail = {"pass": "visible tests pass", "no test": "no visible test"}.get(
            self.status, f"{self.status}: {self.message}")
        points = f"{self.points} pt{'s' if self.points != 1 else ''}"
        return f"  {box} {self.label:<{width}}  {points:>6}  {detail}"


@dataclass(frozen=True)
class Checklist:
    title: str
    items: tuple[Item, ...]
    max_score: int = 4
    starred_cap: int = 2

    @property
    def passed(self) -> list[str]:
        return [item.exercise for item in self.items if item.status == "pass"]

    def estimate(self) -> tuple[int, int, int]:
        """(points, max points, 0–max_score score) if the hidden tests pass exactly where the
        visible ones do: points scaled and rounded half up, capped while a (*) one fails."""
        total = sum(i.points for i in self.items)
        points = sum(i.points for i in self.items if i.status == "pass")
        score = math.floor(points / total * self.max_score + 0.5) if total else 0
        if any(i.starred and i.status != "pass" for i in self.items):
            score = min(score, self.starred_cap)
        return points, total, score

    def __str__(self) -> str:
        width = max((len(i.label) for i in self.items), default=0)
        starred = [i for i in self.items if i.starred]
        points, total, score = self.estimate()
        lines = [self.title, *(item.line(width) for item in self.items),
                 f"Visible tests pass for {len(self.passed)} of {len(self.items)} exercises "
                 f"({points} of {total} points)."]
        if starred:
            done = sum(i.status == "pass" for i in starred)
            lines.append(f"Required (*): {done} of {len(starred)} pass their visible tests.")
        lines += [f"Estimate, if the hidden tests pass exactly where the visible ones do: "
                  f"{score} of {self.max_score} (before any late cap).", CAVEAT]
        return "\n".join(lines)

    __repr__ = __str__


def checklist(notebook: str | os.PathLike | None = None, namespace: dict | None = None):
    """Run the visible tests of ``notebook`` (default: this notebook) in ``namespace``.

    ``namespace`` defaults to the notebook's (IPython's user namespace, or the caller's
    globals). Returns a :class:`Checklist`, shown as text; under the grader it does nothing.
    """
    if os.environ.get("NBGRADER_EXECUTION"):
        return "Self-check skipped: the notebook is being graded."
    if namespace is None:
        namespace = _notebook_namespace()
    import nbformat

    path = _find_notebook(notebook, namespace)
    nb = nbformat.read(path, as_version=4)
    info = nb.metadata.get("deepcourse")
    if not info or "exercises" not in info:
        raise SelfCheckError(f"{path} is not a released course notebook (no 'deepcourse' "
                             "metadata): open the notebook from notebooks/ and run it there.")
    sources = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in nb.cells
               if cell.metadata.get("nbgrader", {}).get("grade_id")}
    titles = exercise_titles(nb)
    items = []
    for ex in info["exercises"]:
        visible = [sources[t] for t in ex["tests"] if t.endswith("__visible") and t in sources]
        status, message = _run_tests(visible, namespace) if visible else ("no test", "")
        items.append(Item(ex["name"], ex["starred"], ex["points"], status, message,
                          titles.get(ex["tests"][0], "") if ex["tests"] else ""))
    deadline = dt.datetime.fromisoformat(info["deadline"])
    title = (f"Self-check of {path.name} ({info['title']}), "
             f"due {deadline:%Y-%m-%d %H:%M} {info.get('timezone', '')}").rstrip()
    return Checklist(title, tuple(items), info.get("max_score", 4), info.get("starred_cap", 2))


def exercise_titles(nb) -> dict[str, str]:
    """The title of each test cell (by grade id): the last "Exercise N — …" (or "Question
    N — …") heading above it, its points left out."""
    titles: dict[str, str] = {}
    heading = ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = _HEADING.findall(cell.source)
            heading = re.sub(r"\s*\(\\?\*\)", "", found[-1]) if found else heading
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and heading:
            titles[meta["grade_id"]] = heading
    return titles


def _run_tests(sources: list[str], namespace: dict) -> tuple[str, str]:
    """Run test cells in order; ("pass", "") or the first failure with its message."""
    import matplotlib.pyplot as plt

    for source in sources:
        figures = set(plt.get_fignums())
        try:
            with contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()):
                exec(compile(source, "<visible test>", "exec"), namespace)  # noqa: S102
        except KeyboardInterrupt:
            raise
        except NameError as exc:
            return "not run", f"{exc}: run the cells above it first"
        except BaseException as exc:  # noqa: BLE001 - any failure of student code is reported
            message = str(exc).strip().splitlines()
            return "fail", f"{type(exc).__name__}: {message[0] if message else ''}".rstrip(": ")
        finally:
            for number in set(plt.get_fignums()) - figures:
                plt.close(number)
    return "pass", ""


def _notebook_namespace() -> dict:
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is not None:
        return shell.user_ns
    frame = inspect.currentframe().f_back.f_back
    return frame.f_globals


def _find_notebook(notebook, namespace: dict) -> Path:
    """The notebook named, else the one this kernel runs (JupyterLab, VS Code), else the
    only released notebook in the working directory."""
    if notebook is not None:
        candidates = [Path(notebook)]
    else:
        candidates = [Path(p) for p in (os.environ.get("JPY_SESSION_NAME"),
                                        namespace.get("__vsc_ipynb_file__")) if p]
    for path in candidates:
        if path.suffix == ".ipynb" and path.is_file():
            return path
    if notebook is not None:
        raise SelfCheckError(f"notebook not found: {notebook}")
    here = [p for p in sorted(Path.cwd().glob("*.ipynb")) if _is_released(p)]
    if len(here) == 1:
        return here[0]
    found = ", ".join(p.name for p in here) or "none"
    raise SelfCheckError(f"cannot tell which notebook to check (released notebooks in "
                         f"{Path.cwd()}: {found}): pass its file name, e.g. "
                         "checklist('micrograd.ipynb')")


def _is_released(path: Path) -> bool:
    import json

    try:
        return "deepcourse" in json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return False
