"""The grading pipeline: intake -> nbgrader autograde -> collect cell results -> score 0–4 -> write.

``grade_folder`` is what ``python -m autograder grade`` and ``make autograde`` call. Each
(student, session) is graded on its own; whatever goes wrong with one becomes that row's
reason and never stops the batch.
"""

from __future__ import annotations

import shutil
import tempfile
import traceback
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from autograder import nbgrader_api
from autograder.intake import Submission, discover
from autograder.notebook_info import grade_cells
from autograder.paths import SOLUTIONS_DIR, session_ids
from autograder.policy import Policy, load_policy, missing_verdict, score_submission
from autograder.results import CellResult, GradedSubmission, format_table, write_csv


def grade_folder(submissions: Path | str, out: Path | str, policy: Policy | None = None,
                 workdir: Path | str | None = None, echo=print) -> list[GradedSubmission]:
    """Grade every submission under ``submissions`` and write ``out`` (grades.csv)."""
    policy = policy or load_policy()
    found = discover(Path(submissions), session_ids())
    with tempfile.TemporaryDirectory(prefix="deepcourse-grade-", dir=workdir) as tmp, \
            warnings.catch_warnings():
        # nbgrader's gradebook triggers harmless SQLAlchemy session warnings
        warnings.filterwarnings("ignore", category=SAWarning)
        course = Course(Path(tmp), policy)
        rows = [course.grade(sub) for sub in found]
    write_csv(rows, out)
    echo(format_table(rows))
    echo(f"\n{len(rows)} row(s) written to {out}")
    return rows


class Course:
    """A scratch nbgrader course directory in which submissions are autograded."""

    def __init__(self, root: Path, policy: Policy):
        self.root = root
        self.policy = policy
        (root / "solutions").symlink_to(SOLUTIONS_DIR, target_is_directory=True)
        self.api = nbgrader_api.make_api(root, extra=self._execution_config())
        self._generated: set[str] = set()

    def _execution_config(self) -> Config:
        c = Config()
        c.Execute.timeout = self.policy.cell_timeout_s
        c.Execute.interrupt_on_timeout = True
        c.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR"]  # no start-up chatter
        return c

    def grade(self, sub: Submission) -> GradedSubmission:
        """One row: never raises, whatever the submission holds."""
        try:
            return self._grade(sub)
        except Exception as exc:  # the grader's own failure: keep the batch going, say why
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            row = GradedSubmission(sub.student, sub.session, "error")
            row.reasons.append(f"grading failed, held for review: {detail}")
            return row

    def _grade(self, sub: Submission) -> GradedSubmission:
        row = GradedSubmission(sub.student, sub.session, "graded")
        if sub.submitted_at is not None:
            row.submitted_at = sub.submitted_at.isoformat()
        if sub.folder is None:
            verdict = missing_verdict(self.policy)
            row.status, row.score, row.reasons = "missing", verdict.score, list(verdict.reasons)
            return row
        row.reasons.extend(sub.notes)
        if sub.fatal:
            row.status = "error"
            row.reasons.append(f"not graded: {sub.fatal} -> score 0")
            row.max_points = self.max_points(sub.session) if sub.session in session_ids() else 0
            return row
        self._ensure_generated(sub.session)
        failure = self._autograde(sub)
        row.cells = self._collect(sub)
        if failure:
            row.reasons.append(failure)
        row.points = sum(c.points for c in row.cells)
        row.max_points = sum(c.max_points for c in row.cells)
        done = self._exercises_done(row.cells)
        verdict = score_submission(self.policy, sub.session, row.points, row.max_points, done,
                                   sub.submitted_at)
        row.raw_score, row.score = verdict.raw_score, verdict.score
        row.starred_missing, row.late = verdict.starred_missing, verdict.late
        row.reasons.extend(f"exercise {ex}: {msg}" for ex, msg in _failures(row.cells))
        row.reasons.extend(verdict.reasons)
        return row

    def _ensure_generated(self, session: str) -> None:
        """Fill the scratch gradebook with the session's source cells (hidden tests included)."""
        if session in self._generated:
            return
        result = nbgrader_api.run(self.api, "generate_assignment", session, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader generate_assignment {session} failed: "
                               f"{(result.get('error') or '')[-300:]}")
        self._generated.add(session)

    def _autograde(self, sub: Submission) -> str:
        """Copy the submission into the scratch course and run nbgrader autograde on it."""
        dest = self.root / "submitted" / sub.student / sub.session
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        shutil.copyfile(sub.notebook, dest / self._notebook_name(sub.session))
        if (sub.folder / "timestamp.txt").is_file():
            shutil.copyfile(sub.folder / "timestamp.txt", dest / "timestamp.txt")
        result = nbgrader_api.run(self.api, "autograde", sub.session, sub.student,
                                  force=True, create=True)
        if result["success"]:
            return ""
        last = (result.get("error") or result.get("log") or "").strip().splitlines()[-1:]
        return f"grading did not finish: {last[0][:200] if last else 'unknown error'}"

    def _notebook_name(self, session: str) -> str:
        return next((SOLUTIONS_DIR / session).glob("*.ipynb")).name

    def max_points(self, session: str) -> float:
        return sum(points for _, points in grade_cells(session))

    def _collect(self, sub: Submission) -> list[CellResult]:
        """Per-cell points from the gradebook, failure messages from the autograded notebook."""
        name = Path(self._notebook_name(sub.session)).stem
        messages = self._messages(sub, name)
        scores = {}
        with Gradebook(self.api.coursedir.db_url, self.api.coursedir.course_id) as gb:
            try:
                notebook = gb.find_submission_notebook(name, sub.session, sub.student)
                scores = {g.name: g.score or 0.0 for g in notebook.grades}
            except MissingEntry:
                pass
        cells = []
        for grade_id, max_points in grade_cells(sub.session):
            points = min(float(scores.get(grade_id, 0.0)), max_points)
            message = "" if points >= max_points else messages.get(grade_id, "did not run")
            cells.append(CellResult(grade_id, self.policy.exercise_of(grade_id), points,
                                    max_points, message))
        return cells

    def _messages(self, sub: Submission, name: str) -> dict[str, str]:
        path = self.root / "autograded" / sub.student / sub.session / f"{name}.ipynb"
        if not path.exists():
            return {}
        out = {}
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if grade_id and errors:
                out[grade_id] = _student_message(errors[-1])
        return out

    @staticmethod
    def _exercises_done(cells: list[CellResult]) -> dict[str, bool]:
        done: dict[str, bool] = {}
        for c in cells:
            done[c.exercise] = done.get(c.exercise, True) and c.passed
        return done


def _student_message(error: dict) -> str:
    """A test failure in words: the exception's message, never the test's code."""
    ename, evalue = error.get("ename", "Error"), (error.get("evalue") or "").strip()
    if ename == "NotImplementedError":
        return "not implemented yet"
    if ename in ("AssertionError", "CheckFailed") and evalue:
        return evalue[:300]
    return f"{ename}: {evalue[:280]}" if evalue else ename


def _failures(cells: list[CellResult]):
    """(exercise, message) once per exercise, for the cells that lost points."""
    seen = {}
    for c in cells:
        if not c.passed and c.exercise not in seen:
            seen[c.exercise] = c.message
    return seen.items()
