"""The course's nbgrader gradebook: graded rows go in, 0–4 scores come out.

``record`` writes each graded row into nbgrader's gradebook (``<root>/gradebook.db``): the
student, the assignment (one per session, due at its deadline), the submission with its time
and any extension, every test cell's points as its ``auto_score``, and comments:

- the comment of the notebook's **first solution cell** opens with the 0–4 score and every
  cap with its reason (``VERDICT``), then the row's notes;
- each failed exercise's judge message goes to the comment of the solution cell it tests
  (the last solution cell above its test cells).

A row held for review (no score) has every grade flagged "needs manual grade", so formgrader
lists it. The notebook as graded is written to ``<root>/autograded/<student>/<session>/``,
where formgrader looks for it.

``export`` reads the gradebook back and recomputes each 0–4 score with ``autograder.policy``
from the cells' scores, manual ones included: a cell regraded in formgrader counts at the next
export. A held row is released when no cell needs a manual grade any more.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from traitlets.config import Config

from autograder import nbgrader_api
from autograder.notebook_info import grade_cells
from autograder.paths import REPO_ROOT, SOLUTIONS_DIR, session_ids, source_notebook
from autograder.policy import Policy, load_policy, missing_verdict, score_submission
from autograder.prepare import ROLE, is_test_cell
from autograder.results import CellResult, GradedSubmission

VERDICT = "Course score"  # first words of the verdict comment
AUTOGRADED = "autograded"  # nbgrader's folder of graded notebooks, under the course root


def db_url(root: Path | str) -> str:
    return f"sqlite:///{Path(root).resolve() / 'gradebook.db'}"


def record(rows: list[GradedSubmission], root: Path | str = REPO_ROOT,
           policy: Policy | None = None) -> Path:
    """Write graded rows into ``root/gradebook.db`` (replacing earlier grades of those rows)."""
    policy = policy or load_policy()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    known = set(session_ids()) & set(policy.sessions)
    rows = [r for r in rows if r.session in known]
    ensure_assignments(root, sorted({r.session for r in rows}), policy)
    with nbgrader_api.open_gradebook(db_url(root)) as gb, warnings.catch_warnings():
        # nbgrader's add_submission trips SQLAlchemy autoflush warnings that change nothing
        warnings.filterwarnings("ignore", message=".*not in session.*")
        for row in rows:
            gb.update_or_create_student(row.student)
            try:
                gb.remove_submission(row.session, row.student)
            except MissingEntry:
                pass
            if row.status == "missing":
                continue
            _add_submission(gb, row, policy)
            if row.executed is not None:
                write_autograded(row, root)
    return root / "gradebook.db"


def ensure_assignments(root: Path, sessions: list[str], policy: Policy) -> None:
    """Each session as an nbgrader assignment with its notebook, cells and due date."""
    stale = []
    with nbgrader_api.open_gradebook(db_url(root)) as gb:
        for session in sessions:
            try:
                cells = {c.name for nb in gb.find_assignment(session).notebooks
                         for c in nb.grade_cells}
            except MissingEntry:
                cells = set()
            if cells != {gid for gid, _ in grade_cells(session)}:
                stale.append(session)
    if stale:
        with tempfile.TemporaryDirectory(prefix="deepcourse-gradebook-") as tmp:
            (Path(tmp) / "solutions").symlink_to(SOLUTIONS_DIR, target_is_directory=True)
            extra = Config()
            extra.CourseDirectory.db_url = db_url(root)
            api = nbgrader_api.make_api(Path(tmp), extra)
            for session in stale:
                result = nbgrader_api.run(api, "generate_assignment", session, force=True,
                                          create=True)
                if not result["success"]:
                    raise RuntimeError(f"nbgrader could not add {session} to the gradebook:\n"
                                       f"{result.get('error') or result.get('log')}")
    with nbgrader_api.open_gradebook(db_url(root)) as gb:
        for session in sessions:
            gb.update_or_create_assignment(session, duedate=_utc(policy.sessions[session].deadline))


def _add_submission(gb: Gradebook, row: GradedSubmission, policy: Policy) -> None:
    name = source_notebook(row.session).stem
    when = dt.datetime.fromisoformat(row.submitted_at) if row.submitted_at else None
    sub = gb.add_submission(row.session, row.student)
    sub.timestamp = _utc(when) if when else None
    deadline = policy.deadline(row.session, row.student)
    extension = deadline - policy.sessions[row.session].deadline
    sub.extension = extension if extension else None
    held = row.score is None
    points = {c.grade_id: c.points for c in row.cells}
    for grade_id, _ in grade_cells(row.session):
        grade = gb.find_grade(grade_id, name, row.session, row.student)
        grade.auto_score = points.get(grade_id, 0.0)
        grade.needs_manual_grade = held
    for cell, text in comments(row).items():
        gb.find_comment(cell, name, row.session, row.student).auto_comment = text
    gb.db.commit()


def comments(row: GradedSubmission) -> dict[str, str]:
    """{solution cell grade_id: comment}: the verdict on the first, judge messages below."""
    owner = comment_cells(row.session)
    first = next(iter(dict.fromkeys(owner.values())), None)
    texts: dict[str, list[str]] = {}
    if first is not None:
        texts[first] = [verdict_text(row)]
    seen = set()
    for c in row.cells:
        if not c.passed and c.exercise not in seen and c.exercise in owner:
            seen.add(c.exercise)
            texts.setdefault(owner[c.exercise], []).append(
                f"- {c.exercise}: {c.message or 'failed'}")
    return {cell: "\n".join(lines) for cell, lines in texts.items()}


def verdict_text(row: GradedSubmission) -> str:
    """The first comment: the score and every cap (recomputed at each export), then the
    row's other notes (kept as they were)."""
    score = "held for review" if row.score is None else f"{row.score}/4"
    lines = [f"{VERDICT}: {score} (points {row.points:g}/{row.max_points:g}, status {row.status})"]
    lines += [f"- {r}" for r in row.reasons if _is_cap(r)]
    notes = [f"- {r}" for r in row.reasons if not _is_cap(r) and not r.startswith("exercise ")]
    return "\n".join(lines + ([NOTES] + notes if notes else []))


NOTES = "Notes:"
_CAPS = ("late:", "required exercise", "no submission time", "held for review")


def _is_cap(reason: str) -> bool:
    """A reason the policy gives (recomputed at export), not a note from grading."""
    return reason.startswith(_CAPS) or " regraded by hand: " in reason


def comment_cells(session: str) -> dict[str, str]:
    """{exercise: grade_id of the solution cell its tests check} from the source notebook."""
    nb = nbformat.read(source_notebook(session), as_version=4)
    owner, last, first = {}, None, None
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            last = meta["grade_id"]
            first = first or last
        elif is_test_cell(cell) and (last or first):
            owner.setdefault(meta["grade_id"].split("__", 1)[0], last or first)
    return owner


def write_autograded(row: GradedSubmission, root: Path) -> Path:
    """The notebook as graded, where formgrader reads it: the grader's own cells removed, each
    test cell shown as the source notebook has it (an instructor's view)."""
    source = nbformat.read(source_notebook(row.session), as_version=4)
    tests = {c.metadata["nbgrader"]["grade_id"]: c for c in source.cells if is_test_cell(c)}
    nb = nbformat.from_dict(row.executed)
    kept = []
    for cell in nb.cells:
        if cell.metadata.get(ROLE):
            continue
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if is_test_cell(cell) and gid in tests:
            cell.source = tests[gid].source
            if "judged(" in cell.source:  # a probe ran here: its outputs are the grader's
                cell.outputs = []
        kept.append(cell)
    nb.cells = kept
    path = Path(root) / AUTOGRADED / row.student / row.session / source_notebook(row.session).name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def read_autograded(row: GradedSubmission, root: Path | str = REPO_ROOT) -> dict | None:
    """The notebook of ``row`` as graded (written by ``record``), or None."""
    path = Path(root) / AUTOGRADED / row.student / row.session / source_notebook(row.session).name
    return nbformat.read(path, as_version=4) if path.is_file() else None


def export(root: Path | str = REPO_ROOT, policy: Policy | None = None) -> list[GradedSubmission]:
    """Every (student, session) of the gradebook, its 0–4 score recomputed from the cells'
    scores (manual ones win) with the course policy. Refreshes each verdict comment."""
    policy = policy or load_policy()
    rows = []
    with nbgrader_api.open_gradebook(db_url(root)) as gb:
        assignments = [a.name for a in gb.assignments if a.name in policy.sessions]
        for student in sorted(s.id for s in gb.students):
            for session in assignments:
                try:
                    sub = gb.find_submission(session, student)
                except MissingEntry:
                    verdict = missing_verdict(policy)
                    rows.append(GradedSubmission(student, session, "missing", score=verdict.score,
                                                 reasons=list(verdict.reasons)))
                    continue
                row = _row_of(sub, student, session, policy)
                rows.append(row)
                first = next(iter(dict.fromkeys(comment_cells(session).values())), None)
                if first is not None:
                    comment = gb.find_comment(first, source_notebook(session).stem, session,
                                              student)
                    old = comment.auto_comment or ""
                    notes = old[old.index(NOTES):] if NOTES in old else ""
                    row.reasons += [n[2:] for n in notes.splitlines() if n.startswith("- ")]
                    comment.auto_comment = "\n".join(filter(None, [verdict_text(row), notes]))
        gb.db.commit()
    return rows


def _row_of(sub, student: str, session: str, policy: Policy) -> GradedSubmission:
    order = {gid: n for n, (gid, _) in enumerate(grade_cells(session))}
    grades = sorted((g for nb in sub.notebooks for g in nb.grades),
                    key=lambda g: order.get(g.name, len(order)))
    messages = _messages(sub)
    cells, regraded = [], []
    for g in grades:
        exercise = policy.exercise_of(g.name)
        score = float(g.score)
        message = "" if score >= g.max_score else messages.get(exercise, "failed")
        cells.append(CellResult(g.name, exercise, score, float(g.max_score), message))
        if g.manual_score is not None:
            regraded.append(f"{g.name} regraded by hand: {score:g}/{g.max_score:g}")
    held = any(g.needs_manual_grade for g in grades)
    when = sub.timestamp.replace(tzinfo=dt.timezone.utc) if sub.timestamp else None
    row = GradedSubmission(student, session, "graded", submitted_at=when.isoformat() if when
                           else "", cells=cells)
    row.points = sum(c.points for c in cells)
    row.max_points = sum(c.max_points for c in cells)
    if held:
        flagged = sum(g.needs_manual_grade for g in grades)
        row.status, row.score = "review", None
        row.reasons = [f"held for review: {flagged} cell(s) need a manual grade in formgrader"]
        return row
    if when is None and not held:  # reviewed by hand: the instructor released it
        policy = dataclasses.replace(policy, missing_timestamp="on_time")
    done: dict[str, bool] = {}
    for c in cells:
        done[c.exercise] = done.get(c.exercise, True) and c.passed
    verdict = score_submission(policy, session, row.points, row.max_points, done, when, student)
    row.raw_score, row.score = verdict.raw_score, verdict.score
    row.starred_missing, row.late = verdict.starred_missing, verdict.late
    failed = dict.fromkeys(c.exercise for c in cells if not c.passed)
    row.reasons = [f"exercise {ex}: {messages.get(ex, 'failed')}" for ex in failed]
    row.reasons += list(verdict.reasons) + regraded
    return row


def _messages(sub) -> dict[str, str]:
    """{exercise: judge message} from the comments (``- exercise: message`` lines)."""
    out = {}
    for nb in sub.notebooks:
        for comment in nb.comments:
            for line in (comment.comment or "").splitlines():
                name, sep, message = line[2:].partition(": ")
                if line.startswith("- ") and sep and " " not in name:
                    out.setdefault(name, message)
    return out


def _utc(when: dt.datetime) -> dt.datetime:
    """A naive UTC time, as nbgrader stores them."""
    return when.astimezone(dt.timezone.utc).replace(tzinfo=None)
