"""The grading pipeline, one step per concern, for one submission:

    intake -> clear outputs -> restore test cells -> put the probes in place
           -> execute in a sandbox -> judge the observations -> score 0–4 (policy) -> row

The kernel only observes: every point comes from a judge that runs here, in the grader, on
inputs made from a seed drawn for each submission (``autograder/checks``).

``grade_folder`` runs it over a whole submissions folder and writes grades.csv. Each
(student, session) is graded on its own; whatever goes wrong with one becomes that row's reason
and never stops the batch. A row's feedback page is rendered where it was graded (a Dask
worker); the client only writes files, and the gradebook in batches (``RowWriter``).
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearOutput

from autograder import checks, execute, forkserver, sandbox
from autograder.bundle import withheld_helpers
from autograder.distribute import run_tasks
from autograder.intake import Submission, discover, read_bytes, read_notebook, submission_files
from autograder.journal import Journal, journal_path
from autograder.notebook_info import grade_cells, total_points
from autograder.paths import NOTEBOOKS_DIR, REPO_ROOT, session_ids, source_notebook
from autograder.policy import Policy, load_policy, missing_verdict, score_submission
from autograder.prepare import instrument, is_test_cell, restore_test_cells
from autograder.probe_runtime import exercise_seed
from autograder.results import (
    CellResult, GradedSubmission, format_table, write_csv, write_feedback, write_text_atomic)
from autograder.safe_text import safe, safe_row

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
    salt: str  # secret of this run: each submission's probe seed derives from it
    unisolated: bool = False  # the instructor allowed grading without a sandbox
    pages: bool = False  # render each row's feedback page where it is graded

    def seed(self, student: str, session: str) -> int:
        """The seed of one submission's probe inputs (the same on a parallel run)."""
        digest = hashlib.sha256(f"{self.salt}/{student}/{session}".encode()).digest()
        return int.from_bytes(digest[:4], "big") % 2**31


def grade_folder(submissions: Path | str, out: Path | str, policy: Policy | None = None,
                 limits: execute.Limits | None = None, workers: int | None = None,
                 scheduler: str | None = None, progress: bool = False,
                 feedback: Path | str | None = None, echo=print,
                 warm_kernels: bool = True, salt: str | None = None,
                 allow_unisolated: bool = False,
                 gradebook: Path | str | None = None) -> list[GradedSubmission]:
    """Grade every submission under ``submissions`` and write ``out`` (grades.csv).

    ``workers`` submissions at a time (default: one per core; 1 grades in this process), or
    on the Dask cluster at ``scheduler``. The file is the same however it is run. With
    ``feedback``, each student's feedback goes to ``feedback/<student>/<session>.html`` (and
    ``.md``) as the row comes in. With ``gradebook`` (a course folder), rows go into its
    nbgrader gradebook in batches, and each row lets go of its graded notebook once written
    there; without it, the returned rows keep theirs (``row.executed``).
    Kernels fork from a warm server (autograder/forkserver.py) unless ``warm_kernels`` is false.
    Probe inputs derive from ``salt`` (default: a fresh secret for every run).
    Where this machine allows no sandbox, it refuses (UnisolatedError) unless
    ``allow_unisolated``; every row then says so.
    """
    unisolated = check_isolation(allow_unisolated)
    policy = policy or load_policy()
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    found = discover(submissions, session_ids())
    limits = limits or execute.Limits.of(policy, warm=warm_kernels)
    execute.sweep_stale_cgroups()
    journal = Journal(out)
    keys = [journal.key(sub) for sub in found]
    rows: list[GradedSubmission | None] = [journal.get(k) for k in keys]
    if any(r is not None for r in rows):
        echo(f"resuming: {sum(r is not None for r in rows)} row(s) kept from {journal.path}")
    todo = [n for n, row in enumerate(rows) if row is None]
    writer = RowWriter(feedback, gradebook, policy)
    for row in rows:
        if row is not None:  # kept from the journal: its page may not have been written
            writer.add(row, kept=True)
    with tempfile.TemporaryDirectory(prefix="dcg-") as tmp:
        ctx = Context(policy, Path(tmp), tuple(hidden_paths(submissions, Path(tmp), out)), limits,
                      salt if salt is not None else secrets.token_hex(16), unisolated,
                      pages=feedback is not None)
        tasks = [(found[n], ctx, n) for n in todo]
        try:
            for i, (row, html) in run_tasks(_grade_task, tasks, workers, scheduler, progress):
                rows[todo[i]] = row
                journal.add(keys[todo[i]], row)
                writer.add(row, html)
        finally:
            forkserver.close_all()  # in-process kernels' server; workers' go with them
    writer.flush()
    write_csv(rows, out)
    journal.close()
    echo(format_table(rows))
    echo(isolation_summary(rows))
    echo(f"\n{len(rows)} row(s) written to {out}")
    return rows


UNISOLATED = ("graded WITHOUT isolation (no namespaces on this machine; allowed by the "
              "instructor): the submission could read and change files, the network and other runs")


def check_isolation(allow_unisolated: bool) -> bool:
    """Whether grading runs unisolated; raises UnisolatedError where that is not allowed."""
    if sandbox.isolation_possible():
        return False
    if not allow_unisolated:
        raise sandbox.UnisolatedError(
            "this machine allows no sandbox (not root, and no unprivileged user namespaces): "
            "a submission would run with the grader's rights. Grade as root or in a container "
            "that allows namespaces, or pass --allow-unisolated (ALLOW_UNISOLATED=1) for "
            "trusted submissions only")
    return True


def mark_unisolated(row: GradedSubmission, ctx: Context) -> GradedSubmission:
    """Say so in the row when its kernel ran without the sandbox's namespaces."""
    skipped = " ".join(row.isolation.get("skipped", [])) if row.isolation else ""
    if ctx.unisolated or skipped.startswith("namespaces") or " namespaces" in skipped:
        row.reasons.insert(0, UNISOLATED)
    return row


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


def _grade_task(task) -> tuple[GradedSubmission, str | None]:
    """One row and, when asked, its feedback page, both made where the row was graded."""
    row = grade_one(*task)
    return row, render_page(row) if task[1].pages else None


def render_page(row: GradedSubmission) -> str | None:
    """The row's HTML feedback page (None for a row of no session, or where rendering failed:
    the client then tries again)."""
    if row.session not in session_ids():
        return None
    from autograder.feedback import page

    try:
        return page(row, row.executed)
    except Exception:
        traceback.print_exc()
        return None


GRADEBOOK_BATCH = 50  # rows written to the gradebook at once


class RowWriter:
    """Writes each finished row's feedback pages and, in batches, the gradebook; a row lets go of
    its graded notebook once the gradebook has its copy (``autograded/``)."""

    def __init__(self, feedback: Path | str | None, gradebook: Path | str | None, policy: Policy,
                 batch: int | None = None):
        self.feedback = Path(feedback) if feedback is not None else None
        self.gradebook, self.policy, self.batch = gradebook, policy, batch or GRADEBOOK_BATCH
        self.titles = {sid: s.title for sid, s in policy.sessions.items()}
        self.pending: list[GradedSubmission] = []

    def add(self, row: GradedSubmission, html: str | None = None, kept: bool = False) -> None:
        """``html``: the page rendered by the worker (None: render it here); ``kept``: a row
        of an earlier run, whose page is rendered again only if missing."""
        if self.feedback is not None:
            write_feedback([row], self.feedback, self.titles)
            path = self.feedback / row.student / f"{row.session}.html"
            if html is None and not (kept and path.exists()):
                html = render_page(row)
            if html is not None:
                write_text_atomic(path, html)
        if self.gradebook is not None:
            self.pending.append(row)
            if len(self.pending) >= self.batch:
                self.flush()

    def flush(self) -> None:
        if self.gradebook is None or not self.pending:
            return
        from autograder import gradebook

        gradebook.record(self.pending, self.gradebook, self.policy)
        for row in self.pending:
            row.executed = None
        self.pending = []


def grade_one(sub: Submission, ctx: Context, n: int) -> GradedSubmission:
    """One row: never raises, whatever the submission holds."""
    try:
        ctx.sandbox_root.mkdir(parents=True, exist_ok=True)  # on a remote worker too
        return safe_row(mark_unisolated(_grade(sub, ctx, ctx.sandbox_root / f"k{n}"), ctx))
    except Exception as exc:  # the grader's own failure: keep the batch going, say why
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        row = GradedSubmission(sub.student, sub.session, "error", score=None)
        row.reasons.append(f"grading failed, held for review: {detail}")
        return safe_row(row)


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
            row.max_points = total_points(sub.session)
        return row

    nb = read_notebook(sub.notebook, as_version=4)
    workdir = _sandbox_folder(sub, folder)
    run, row.cells, suspicious, notes = judge_notebook(nb, sub.session, ctx.seed(sub.student,
                                                       sub.session), ctx, folder, workdir)
    row.reasons.extend(notes)
    row.isolation, row.seconds, row.executed = run.isolation, run.seconds, run.nb
    row.points = sum(c.points for c in row.cells)
    row.max_points = sum(c.max_points for c in row.cells)
    row.reasons.extend(run.events)
    if suspicious:
        row.status, row.score = "review", None
        row.reasons.append("held for manual review: " + "; ".join(suspicious))
        return row
    verdict = score_submission(policy, sub.session, row.points, row.max_points,
                               exercises_done(row.cells), sub.submitted_at, sub.student)
    row.raw_score, row.score = verdict.raw_score, verdict.score
    row.status = "review" if verdict.held else row.status
    row.starred_missing, row.late = verdict.starred_missing, verdict.late
    row.reasons.extend(f"exercise {ex}: {msg}" for ex, msg in _failures(row.cells))
    row.reasons.extend(verdict.reasons)
    return row


def judge_notebook(nb, session: str, seed: int, ctx: Context, folder: Path, workdir: Path):
    """Restore the tests, put the probes in place, execute in a sandbox, judge.

    Returns (execution, cell results, suspicious findings, notes for the student).
    """
    source = nbformat.read(source_notebook(session), as_version=4)
    release = nbformat.read(NOTEBOOKS_DIR / session / source_notebook(session).name,
                            as_version=4)
    nb, _ = ClearOutput().preprocess(nb, {})
    nb, notes = restore_test_cells(nb, source, release)
    nb, probes, private = instrument(nb, session, seed, checks.kernel_source(session))
    nbformat.write(nb, workdir / source_notebook(session).name)
    try:
        hide = [*ctx.hide, *withheld_helpers(session)]  # helpers that answer this session
        run = execute.run(nb, folder, workdir, hide, ctx.limits, private)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    cells, suspicious = collect(run, probes, seed, session, ctx.policy)
    return run, cells, suspicious, notes


def _sandbox_folder(sub: Submission, folder: Path) -> Path:
    """A scratch copy of the submission folder (its small files) for the kernel to work in."""
    workdir = folder / "work"
    workdir.mkdir(parents=True)
    budget = MAX_COPY_BYTES
    for path in submission_files(sub.folder):  # regular files only, never through a link
        if path.suffix != ".ipynb" and path.lstat().st_size <= budget:
            data = read_bytes(path, budget)
            if len(data) <= budget:
                (workdir / path.name).write_bytes(data)
                budget -= len(data)
    return workdir


def collect(run: execute.Execution, probes: dict[int, str], seed: int, session: str,
            policy: Policy) -> tuple[list[CellResult], list[str]]:
    """Judge each exercise's observation; every test cell of an exercise earns its points only
    when the judge passes it. Also returns what looks like forgery (the row is then held)."""
    judge_with_one_thread()
    registered = checks.exercises(session)
    suspicious = ["more probe messages than a notebook sends"] if run.flooded else []
    for index, messages in run.observations.items():
        if index not in probes:
            suspicious.append(f"observations sent from code cell {index} (not a probe)")
    verdicts: dict[str, checks.Verdict] = {}
    cell_errors = _messages(run.nb)
    for index, exercise in probes.items():
        messages = run.observations.get(index, [])
        expected = exercise_seed(seed, exercise)
        if any(not isinstance(m, dict) or m.get("exercise") != exercise or m.get("seed") != expected
               for m in messages):
            suspicious.append(f"an observation of exercise {exercise!r} that its probe did not send")
        elif len(messages) > 1:
            suspicious.append(f"exercise {exercise!r} observed {len(messages)} times")
        elif messages and index not in run.completed:
            suspicious.append(f"the probe cell of exercise {exercise!r} sent an observation "
                              f"but did not end normally")
        elif len(messages) == 1 and exercise in registered:
            verdicts[exercise] = checks.verdict(registered[exercise], messages[0], expected)
            continue
        if len(messages) == 0:
            verdicts[exercise] = checks.Verdict(False, cell_errors.get(index, NOT_RUN))
        else:
            verdicts[exercise] = checks.Verdict(False, "its observations were rejected: no points")
    cells = []
    for grade_id, max_points in grade_cells(session):
        exercise = policy.exercise_of(grade_id)
        result = verdicts.get(exercise, checks.Verdict(False, NO_JUDGE if exercise not in
                                                       registered else NOT_RUN))
        cells.append(CellResult(grade_id, exercise, max_points if result.passed else 0.0,
                                max_points, result.message))
    return cells, sorted(dict.fromkeys(suspicious))


def judge_with_one_thread() -> None:
    """Judges compute with one torch thread: the grading slots already use every core, and a
    second OpenMP thread mostly spins (this process's setting)."""
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


NOT_RUN = "its hidden tests did not run to their end (stopped, removed, skipped or silenced)"
NO_JUDGE = "no judge is registered for this exercise (a course set-up error): no points"


def _messages(nb) -> dict[int, str]:
    """The error a probe cell ended with, in words, by cell index."""
    out = {}
    for index, cell in enumerate(nb.cells):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if is_test_cell(cell) and errors:
            out[index] = "its hidden tests stopped: " + _student_message(errors[-1])
    return out


def exercises_done(cells: list[CellResult]) -> dict[str, bool]:
    done: dict[str, bool] = {}
    for c in cells:
        done[c.exercise] = done.get(c.exercise, True) and c.passed
    return done


def _student_message(error: dict) -> str:
    """A probe cell's error in words: student text, quoted and cut (the kernel wrote it)."""
    ename = safe(error.get("ename"), 60) or "Error"
    evalue = safe(error.get("evalue"), 200)
    return f"{ename}: “{evalue}”" if evalue else ename


def _failures(cells: list[CellResult]):
    """(exercise, message) once per exercise, for the cells that lost points."""
    seen = {}
    for c in cells:
        if not c.passed and c.exercise not in seen:
            seen[c.exercise] = c.message
    return seen.items()
