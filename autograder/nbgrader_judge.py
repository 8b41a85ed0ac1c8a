"""The course's judge inside stock ``nbgrader autograde``.

nbgrader's own ``Execute`` step runs a notebook and lets any test cell that raised nothing
earn its points: under it, code in the student's kernel would decide. The course's nbgrader
configuration (``autograder.course.course_config``) puts ``JudgedExecute`` in its place: the
notebook runs exactly as under ``make autograde`` (sandboxed kernel, probes, judges in this
process), then every test cell gets an output that says the judge's verdict — an error for a
failed exercise, so that nbgrader's own scoring gives the points our grader gives and no more.
A submission held for review by our grader gets an error in every test cell.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

from autograder import execute
from autograder.grade import SECRET_PATHS, Context, check_isolation, judge_notebook
from autograder.paths import REPO_ROOT
from autograder.policy import load_policy
from autograder.prepare import ROLE

NBGRADER_FOLDERS = ("submitted", "autograded", "feedback", "gradebook.db")


class JudgedExecute(NbGraderPreprocessor):
    """Replaces nbgrader's Execute: run and judge the notebook the course's way."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        check_isolation(False)  # untrusted code never runs unsandboxed under nbgrader either
        policy = load_policy()
        root = Path(self.config.CourseDirectory.get("root") or Path.cwd())
        with tempfile.TemporaryDirectory(prefix="dcn-") as tmp:
            hide = [REPO_ROOT / p for p in SECRET_PATHS] + [Path(tmp)] + [
                p for p in (root / name for name in NBGRADER_FOLDERS) if p.exists()]
            ctx = Context(policy, Path(tmp), tuple(hide), execute.Limits.of(policy), secrets.token_hex(16))
            workdir = Path(tmp) / "k" / "work"
            workdir.mkdir(parents=True)
            run, cells, suspicious, _ = judge_notebook(
                nbformat.from_dict(nb), info["assignment"],
                ctx.seed(info["student"], info["assignment"]), ctx, Path(tmp) / "k", workdir)
        return _with_verdicts(nb, run.nb, cells, suspicious), resources


def _with_verdicts(nb, executed, cells, suspicious):
    """``nb`` with the executed outputs of the student's cells and a verdict in each test cell."""
    outputs = {}
    for cell in executed.cells:
        if cell.metadata.get(ROLE) is None and cell.cell_type == "code" and "id" in cell:
            outputs[cell.id] = cell.get("outputs", [])
    results = {c.grade_id: c for c in cells}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if is_grade(cell) and not is_solution(cell):
            result = results.get(cell.metadata["nbgrader"]["grade_id"])
            if suspicious:
                cell.outputs = [_error("held for manual review: " + "; ".join(suspicious))]
            elif result is None or not result.passed:
                cell.outputs = [_error(result.message if result else "not judged")]
            else:
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                       text="passed (judged by the grader)\n")]
        else:
            cell.outputs = outputs.get(cell.get("id"), [])
    return nb


def _error(message: str):
    return nbformat.v4.new_output("error", ename="AssertionError", evalue=message,
                                  traceback=[f"AssertionError: {message}"])
