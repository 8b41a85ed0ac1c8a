"""The grading pipeline, one step per concern, for one submission:

    intake -> clear outputs -> restore test cells -> instrument -> execute in a sandbox
           -> collect authenticated check reports -> score 0–4 (policy) -> row

``grade_folder`` runs it over a whole submissions folder and writes grades.csv. Each
(student, session) is graded on its own; whatever goes wrong with one becomes that row's reason
and never stops the batch.
"""

from __future__ import annotations

import shutil
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearOutput

from autograder import execute, forkserver
from autograder.distribute import run_tasks
from autograder.intake import Submission, discover
from autograder.journal import Journal, journal_path
from autograder.notebook_info import grade_cells
from autograder.paths import NOTEBOOKS_DIR, REPO_ROOT, session_ids, source_notebook
from autograder.policy import Policy, load_policy, missing_verdict, score_submission
from autograder.prepare import instrument, is_test_cell, restore_test_cells
from autograder.results import (
    CellResult, GradedSubmission, format_table, write_csv, write_feedback)
from autograder.sentinel import verify_report

MAX_COPY_BYTES = 20 * 2**20  # files of a submission folder copied into the sandbox, at most
# what the grading kernel must not see: answers, checks, tests, history, other builds
SECRET_PATHS = ("solutions", "autograder", "tests", ".git", "build")


@dataclass(frozen=True)
class Context:
    """Everything grading one submission needs (picklable, for worker processes)."""

    policy: Policy
    sandbox_root: Path  # holds one folder per kernel; hidden from every kernel but its own
    hide: tuple[Path, ...]
    limits: execute.Limits


def grade_folder(submissions: Path | str, out: Path | str, policy: Policy | None = None,
                 limits: execute.Limits | None = None, workers: int | None = None,
                 scheduler: str | None = None, progress: bool = False,
                 feedback: Path | str | None = None, echo=print,
                 warm_kernels: bool = True) -> list[GradedSubmission]:
    """Grade every submission under ``submissions`` and write ``out`` (grades.csv).

    ``workers`` submissions at a time (default: one per core; 1 grades in this process), or
    on the Dask cluster at ``scheduler``. The file is the same however it is run. With
    ``feedback``, each student's feedback goes to ``feedback/<student>/<session>.md``.
    Kernels fork from a warm server (autograder/forkserver.py) unless ``warm_kernels`` is false.
    """
    policy = policy or load_policy()
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    found = discover(submissions, session_ids())
    limits = limits or execute.Limits(cell_timeout_s=policy.cell_timeout_s,
                                      notebook_timeout_s=policy.notebook_timeout_s,
                                      memory_mb=policy.memory_limit_mb, warm=warm_kernels)
    execute.sweep_stale_cgroups()
    journal = Journal(out)
    keys = [journal.key(sub) for sub in found]
    rows: list[GradedSubmission | None] = [journal.get(k) for k in keys]
    if any(r is not None for r in rows):
        echo(f"resuming: {sum(r is not None for r in rows)} row(s) kept from {journal.path}")
    todo = [n for n, row in enumerate(rows) if row is None]
    with tempfile.TemporaryDirectory(prefix="dcg-") as tmp:
        ctx = Context(policy, Path(tmp), tuple(hidden_paths(submissions, Path(tmp), out)), limits)
        tasks = [(found[n], ctx, n) for n in todo]
        try:
            for i, row in run_tasks(_grade_task, tasks, workers, scheduler, progress):
                rows[todo[i]] = row
                journal.add(keys[todo[i]], row)
        finally:
            forkserver.close_all()  # in-process kernels' server; workers' go with them
    write_csv(rows, out)
    if feedback is not None:
        write_feedback(rows, feedback, {sid: s.title for sid, s in policy.sessions.items()})
    journal.close()
    echo(format_table(rows))
    echo(isolation_summary(rows))
    echo(f"\n{len(rows)} row(s) written to {out}")
    return rows


def isolation_summary(rows: list[GradedSubmission]) -> str:
    """One line on the sandbox the kernels ran in (what the machine allowed)."""
    seen = next((r.isolation for r in rows if r.isolation), None)
    if seen is None:
        return "sandbox: no notebook was executed"
    skipped = "; skipped: " + "; ".join(seen["skipped"]) if seen.get("skipped") else ""
    hidden = sum(a.startswith("hidden:") for a in seen["applied"])
    applied = [a for a in seen["applied"] if not a.startswith("hidden:")]
    return f"sandbox: {', '.join(applied)}, {hidden} folder(s) hidden{skipped}"


def hidden_paths(submissions: Path, sandbox_root: Path, out: Path) -> list[Path]:
    """Folders no kernel may see: the course's secrets, all submissions, other kernels, results."""
    paths = [REPO_ROOT / p for p in SECRET_PATHS] + [submissions, sandbox_root]
    folder = out.parent  # hidden too, unless that would hide the course (and its environment)
    if folder != REPO_ROOT and folder not in REPO_ROOT.parents and not any(
            folder == p or p in folder.parents for p in paths):
        paths.append(folder)
    else:  # then at least the results and the journal of finished rows
        paths += [out, journal_path(out)]
    return paths


def _grade_task(task) -> GradedSubmission:
    return grade_one(*task)


def grade_one(sub: Submission, ctx: Context, n: int) -> GradedSubmission:
    """One row: never raises, whatever the submission holds."""
    try:
        ctx.sandbox_root.mkdir(parents=True, exist_ok=True)  # on a remote worker too
        return _grade(sub, ctx, ctx.sandbox_root / f"k{n}")
    except Exception as exc:  # the grader's own failure: keep the batch going, say why
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        row = GradedSubmission(sub.student, sub.session, "error", score=None)
        row.reasons.append(f"grading failed, held for review: {detail}")
        return row


def _grade(sub: Submission, ctx: Context, folder: Path) -> GradedSubmission:
    policy = ctx.policy
    row = GradedSubmission(sub.student, sub.session, "graded")
    if sub.submitted_at is not None:
        row.submitted_at = sub.submitted_at.isoformat()
    if sub.folder is None:
        verdict = missing_verdict(policy)
        row.status, row.score, row.reasons = "missing", verdict.score, list(verdict.reasons)
        return row
    row.reasons.extend(sub.notes)
    if sub.fatal:
        row.status = "error"
        row.reasons.append(f"not graded: {sub.fatal} -> score 0")
        if sub.session in session_ids():
            row.max_points = sum(points for _, points in grade_cells(sub.session))
        return row

    source = nbformat.read(source_notebook(sub.session), as_version=4)
    release = nbformat.read(NOTEBOOKS_DIR / sub.session / source_notebook(sub.session).name,
                            as_version=4)
    nb = nbformat.read(sub.notebook, as_version=4)
    nb, _ = ClearOutput().preprocess(nb, {})
    nb, notes = restore_test_cells(nb, source, release)
    row.reasons.extend(notes)
    nb, key, private = instrument(nb)
    workdir = _sandbox_folder(sub, folder)
    nbformat.write(nb, workdir / source_notebook(sub.session).name)
    run = execute.run(nb, folder, workdir, list(ctx.hide), ctx.limits, private)
    shutil.rmtree(folder, ignore_errors=True)

    row.isolation, row.seconds = run.isolation, run.seconds
    row.cells, tampered = collect(run, key, sub.session, policy)
    row.points = sum(c.points for c in row.cells)
    row.max_points = sum(c.max_points for c in row.cells)
    row.reasons.extend(run.events)
    if tampered:
        row.status, row.score = "review", None
        row.reasons.append("tampering suspected — held for manual review: " + ", ".join(tampered))
        return row
    verdict = score_submission(policy, sub.session, row.points, row.max_points,
                               exercises_done(row.cells), sub.submitted_at)
    row.raw_score, row.score = verdict.raw_score, verdict.score
    row.starred_missing, row.late = verdict.starred_missing, verdict.late
    row.reasons.extend(f"exercise {ex}: {msg}" for ex, msg in _failures(row.cells))
    row.reasons.extend(verdict.reasons)
    return row


def _sandbox_folder(sub: Submission, folder: Path) -> Path:
    """A scratch copy of the submission folder (its small files) for the kernel to work in."""
    workdir = folder / "work"
    workdir.mkdir(parents=True)
    budget = MAX_COPY_BYTES
    for path in sorted(sub.folder.iterdir()):
        if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb":
            size = path.stat().st_size
            if size <= budget:
                shutil.copyfile(path, workdir / path.name)
                budget -= size
    return workdir


def collect(run: execute.Execution, key: str, session: str,
            policy: Policy) -> tuple[list[CellResult], list[str]]:
    """Per test cell: points only for an authentic report that it passed; and what was tampered."""
    passed, tampered = set(), []
    for reports in run.reports.values():
        for raw in reports:
            payload = verify_report(key, raw)
            if payload is None:
                tampered.append("a forged grading report")
                continue
            tampered.extend(payload.get("tampered") or [])
            if not payload.get("token_ok"):
                tampered.append(f"a grading report out of place ({payload.get('grade_id')})")
            elif payload.get("passed"):
                passed.add(payload.get("grade_id"))
    messages = _messages(run.nb)
    cells = []
    for grade_id, max_points in grade_cells(session):
        ok = grade_id in passed
        message = "" if ok else messages.get(
            grade_id, "did not run to its end (stopped, removed, skipped or silenced)")
        cells.append(CellResult(grade_id, policy.exercise_of(grade_id),
                                max_points if ok else 0.0, max_points, message))
    return cells, sorted(dict.fromkeys(tampered))


def _messages(nb) -> dict[str, str]:
    out = {}
    for cell in nb.cells:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if is_test_cell(cell) and errors:
            out[cell.metadata["nbgrader"]["grade_id"]] = _student_message(errors[-1])
    return out


def exercises_done(cells: list[CellResult]) -> dict[str, bool]:
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
