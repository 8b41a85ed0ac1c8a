"""The course's nbgrader gradebook: graded rows go in, 0–4 scores come out.

``record`` writes each graded row into nbgrader's gradebook (``<root>/gradebook.db``): the
student, the assignment (one per session, due at its deadline), the submission with its time
and any extension, every test cell's points as its ``auto_score``, and comments:

- the comment of the notebook's **first solution cell** opens with the 0–4 score, the row's
  status and every cap with its reason (``VERDICT``); the row's notes close it;
- each failed exercise's judge message goes to the comment of the solution cell it tests
  (the last solution cell above its test cells).

A row held for review (no score) has every grade flagged "needs manual grade", so formgrader
lists it. The notebook as graded is written to ``<root>/autograded/<student>/<session>/``,
where formgrader looks for it.

``export`` reads the gradebook back and recomputes each 0–4 score with ``autograder.policy``
from the cells' scores, manual ones included: a cell regraded in formgrader counts at the next
export. A held row is released when no cell needs a manual grade any more; a row recorded
in error (an unreadable notebook) stays in error, with its score and notes, until a cell of it
is graded by hand. Comments are written by ``comments`` alone, from the row: an export that
finds no changed grade rewrites them as they were.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
import tempfile
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry, SubmittedAssignment
from traitlets.config import Config

from autograder import nbgrader_api
from autograder.notebook_info import grade_cells
from autograder.paths import (NOTEBOOKS_DIR, REPO_ROOT, SOLUTIONS_DIR, session_ids,
                              source_notebook)
from autograder.policy import Policy, load_policy, missing_verdict, score_submission
from autograder.prepare import ROLE, is_test_cell
from autograder.results import CellResult, GradedSubmission, write_text_atomic

VERDICT = "Course score"  # first words of the verdict comment
AUTOGRADED = "autograded"  # nbgrader's folder of graded notebooks, under the course root


def db_url(root: Path | str) -> str:
    return f"sqlite:///{Path(root).resolve() / 'gradebook.db'}"


class NoGradebook(FileNotFoundError):
    """The gradebook to read is missing, or holds no submission."""


def existing(root: Path | str) -> Path:
    """``root/gradebook.db`` when it holds graded submissions; else ``NoGradebook`` says how
    to make one (reading never creates an empty gradebook)."""
    path = Path(root).resolve() / "gradebook.db"
    make = ("make one with `make autograde SUBMISSIONS=DIR`, or point at another with "
            "--gradebook DIR (`make demo` keeps its own in build/examples: "
            "`make export GRADEBOOK=build/examples`)")
    if not path.is_file():
        raise NoGradebook(f"no gradebook at {path}: {make}")
    with nbgrader_api.open_gradebook(db_url(root)) as gb:
        if not gb.db.query(SubmittedAssignment).count():
            raise NoGradebook(f"the gradebook {path} holds no graded submission: {make}")
    return path


def record(rows: list[GradedSubmission], root: Path | str = REPO_ROOT,
           policy: Policy | None = None) -> Path:
    """Write graded rows into ``root/gradebook.db`` (replacing earlier grades of those rows)."""
    policy = policy or load_policy()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    known = set(session_ids()) & set(policy.sessions)
    rows = [r for r in rows if r.session in known]
    ensure_assignments(root, sorted({r.session for r in rows}), policy)
    link_course(root)
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
            write_submitted(row, root)
            write_autograded(row, root)
    return root / "gradebook.db"


def link_course(root: Path) -> None:
    """A gradebook kept outside the repository (``make demo``'s ``build/examples``) gets
    ``solutions`` and ``notebooks`` links and an ``nbgrader_config.py`` beside it: formgrader,
    run there, finds the assignments it lists and this gradebook."""
    for name, target in (("solutions", SOLUTIONS_DIR), ("notebooks", NOTEBOOKS_DIR)):
        link = Path(root) / name
        if not link.exists() and not link.is_symlink():
            link.symlink_to(target, target_is_directory=True)
    config = Path(root) / "nbgrader_config.py"
    if not config.exists():
        config.write_text(COURSE_CONFIG.format(root=str(Path(root).resolve())), encoding="utf-8")


COURSE_CONFIG = """\"\"\"nbgrader reads this file when run here: this folder is the course root.\"\"\"

from autograder.course import course_config

c = get_config()  # noqa: F821 (provided by nbgrader)
c.merge(course_config(root={root!r}))
"""


SUBMITTED = "submitted"  # nbgrader's folder of submissions, under the course root


def write_submitted(row: GradedSubmission, root: Path) -> None:
    """``<root>/submitted/<student>/<session>/timestamp.txt``, by which formgrader counts a
    submission and knows it autograded (its time equals the gradebook's). A folder that holds
    a notebook is a real submission (``nbgrader collect``) and is left alone."""
    folder = Path(root) / SUBMITTED / row.student / row.session
    if folder.is_dir() and any(folder.glob("*.ipynb")):
        return
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "timestamp.txt"
    if row.submitted_at:
        when = _utc(dt.datetime.fromisoformat(row.submitted_at))
        _write_if_changed(stamp, f"{when:%Y-%m-%d %H:%M:%S.%f} UTC\n")
    elif stamp.exists():
        stamp.unlink()


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_text_atomic(path, text)


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
    """{solution cell grade_id: comment}: on the first, the verdict, then its exercises'
    messages, then the notes; on the others, the messages of the exercises they answer.

    The one writer of comments, at grading and at every export: the same row gives the same
    text, so that rewriting them changes nothing."""
    owner = comment_cells(row.session)
    first = next(iter(dict.fromkeys(owner.values())), None)
    texts: dict[str, list[str]] = {}
    if first is not None:
        texts[first] = [verdict_text(row)]
    seen = set()
    for c in row.cells:
        if not c.passed and c.exercise not in seen and c.exercise in owner:
            seen.add(c.exercise)
            message = " ".join((c.message or "failed").split())  # one line: read back whole
            texts.setdefault(owner[c.exercise], []).append(f"- {c.exercise}: {message}")
    notes = [f"- {' '.join(r.split())}" for r in notes_of(row.reasons)]
    if first is not None and notes:
        texts[first] += [NOTES] + notes
    return {cell: "\n".join(lines) for cell, lines in texts.items()}


def verdict_text(row: GradedSubmission) -> str:
    """The top of the first comment: the score, the status and every cap (recomputed at each
    export)."""
    score = "held for review" if row.score is None else f"{row.score}/4"
    lines = [f"{VERDICT}: {score} (points {row.points:g}/{row.max_points:g}, status {row.status})"]
    return "\n".join(lines + [f"- {r}" for r in row.reasons if _is_cap(r)])


def notes_of(reasons: list[str]) -> list[str]:
    """The reasons that are neither a cap nor an exercise's message: grading notes."""
    return [r for r in reasons if not _is_cap(r) and not r.startswith("exercise ")]


NOTES = "Notes:"
_CAPS = ("late:", "required exercise", "no submission time", "held for review", "extension:")
_RECORDED = re.compile(rf"^{VERDICT}: (held for review|(\d+)/4) \(.*, status (\w+)\)$")


def _is_cap(reason: str) -> bool:
    """A reason the policy gives (recomputed at export), not a note from grading."""
    return reason.startswith(_CAPS) or " regraded by hand: " in reason


def _recorded(comment: str) -> tuple[str, int | None, list[str]]:
    """(status, score, notes) of a verdict comment as ``verdict_text`` wrote it."""
    lines = comment.splitlines()
    match = _RECORDED.match(lines[0]) if lines else None
    if match is None:
        return "graded", None, []
    notes = lines[lines.index(NOTES) + 1:] if NOTES in lines else []
    score = int(match.group(2)) if match.group(2) else None
    return match.group(3), score, [n[2:] for n in notes if n.startswith("- ")]


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
    """The notebook as graded, where formgrader reads it: first the course's verdict (score,
    status, caps, notes: ``VERDICT_ROLE``), then the student's cells, the grader's own removed
    and each test cell shown as the source notebook has it (an instructor's view). A notebook
    that did not run (unreadable) is the verdict alone: formgrader shows why."""
    source = nbformat.read(source_notebook(row.session), as_version=4)
    tests = {c.metadata["nbgrader"]["grade_id"]: c for c in source.cells if is_test_cell(c)}
    nb = nbformat.from_dict(row.executed) if row.executed is not None else \
        nbformat.v4.new_notebook(metadata={})
    kept = [verdict_cell(row)]
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
    path = autograded_path(row, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def verdict_cell(row: GradedSubmission) -> nbformat.NotebookNode:
    """A markdown cell, for the instructor in formgrader: the course's 0–4 verdict."""
    lines = [f"**{VERDICT}: {'held for review' if row.score is None else f'{row.score}/4'}**"
             f" (points {row.points:g}/{row.max_points:g}, status `{row.status}`)", ""]
    lines += [f"- {html.escape(' '.join(r.split()))}" for r in row.reasons]
    cell = nbformat.v4.new_markdown_cell("\n".join(lines), id="course-verdict")
    cell.metadata[ROLE] = VERDICT_ROLE  # the grader's cell: never shown to the student
    return cell


VERDICT_ROLE = "course-verdict"


def _refresh_verdict(row: GradedSubmission, root: Path) -> None:
    """Rewrite the verdict cell of the autograded notebook when the row's verdict changed."""
    path = autograded_path(row, root)
    if not path.is_file():
        return
    nb = nbformat.read(path, as_version=4)
    cell = verdict_cell(row)
    if nb.cells and nb.cells[0].metadata.get(ROLE) == VERDICT_ROLE:
        if nb.cells[0].source == cell.source:
            return
        nb.cells[0] = cell
    else:
        nb.cells.insert(0, cell)
    nbformat.write(nb, path)


def autograded_path(row: GradedSubmission, root: Path | str) -> Path:
    return (Path(root) / AUTOGRADED / row.student / row.session
            / source_notebook(row.session).name)


def read_autograded(row: GradedSubmission, root: Path | str = REPO_ROOT) -> dict | None:
    """The notebook of ``row`` as graded (written by ``record``), or None."""
    path = autograded_path(row, root)
    return nbformat.read(path, as_version=4) if path.is_file() else None


def export(root: Path | str = REPO_ROOT, policy: Policy | None = None) -> list[GradedSubmission]:
    """Every (student, session) of the gradebook, its 0–4 score recomputed from the cells'
    scores (manual ones win) with the course policy. Rewrites each comment from the row, which
    leaves it as it was unless a grade changed."""
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
                _write_comments(gb, row)
                _refresh_verdict(row, root)
        gb.db.commit()
    return rows


def _write_comments(gb: Gradebook, row: GradedSubmission) -> None:
    name = source_notebook(row.session).stem
    texts = comments(row)
    for cell in dict.fromkeys(comment_cells(row.session).values()):
        comment = gb.find_comment(cell, name, row.session, row.student)
        if comment.auto_comment != texts.get(cell):
            comment.auto_comment = texts.get(cell)


def _row_of(sub, student: str, session: str, policy: Policy) -> GradedSubmission:
    """The row of one submission from its grades and its recorded verdict comment. A row
    recorded in error stays in error, with its score and notes, until a cell is graded by hand."""
    order = {gid: n for n, (gid, _) in enumerate(grade_cells(session))}
    grades = sorted((g for nb in sub.notebooks for g in nb.grades),
                    key=lambda g: order.get(g.name, len(order)))
    messages = _messages(sub)
    status, recorded_score, notes = _recorded(_verdict_comment(sub, session))
    cells, regraded = [], []
    for g in grades:
        exercise = policy.exercise_of(g.name)
        score = float(g.score)
        message = "" if score >= g.max_score else messages.get(exercise, "failed")
        cells.append(CellResult(g.name, exercise, score, float(g.max_score), message))
        if g.manual_score is not None:
            regraded.append(f"{g.name} regraded by hand: {score:g}/{g.max_score:g}")
    when = sub.timestamp.replace(tzinfo=dt.timezone.utc) if sub.timestamp else None
    row = GradedSubmission(student, session, "graded", submitted_at=when.isoformat() if when
                           else "", cells=cells, reasons=list(notes))
    row.points = sum(c.points for c in cells)
    row.max_points = sum(c.max_points for c in cells)
    if status == "error" and not regraded:
        row.status, row.score, row.cells = "error", recorded_score, []
        return row
    held = any(g.needs_manual_grade for g in grades)
    if when is None and not held:  # reviewed by hand: the instructor released it
        policy = dataclasses.replace(policy, missing_timestamp="on_time")
    done: dict[str, bool] = {}
    for c in cells:
        done[c.exercise] = done.get(c.exercise, True) and c.passed
    verdict = score_submission(policy, session, row.points, row.max_points, done, when, student)
    row.raw_score, row.score = verdict.raw_score, verdict.score
    row.starred_missing, row.late = verdict.starred_missing, verdict.late
    failed = dict.fromkeys(c.exercise for c in cells if not c.passed)
    row.reasons += [f"exercise {ex}: {messages.get(ex, 'failed')}" for ex in failed]
    row.reasons += list(verdict.reasons) + regraded
    if held:
        row.status, row.score = "review", None
        if not any("held for" in r for r in row.reasons):
            flagged = sum(g.needs_manual_grade for g in grades)
            row.reasons.append(f"held for review: {flagged} cell(s) need a manual grade in "
                               "formgrader")
    return row


def _verdict_comment(sub, session: str) -> str:
    first = next(iter(dict.fromkeys(comment_cells(session).values())), None)
    for nb in sub.notebooks:
        for comment in nb.comments:
            if comment.name == first:
                return comment.auto_comment or ""
    return ""


def _messages(sub) -> dict[str, str]:
    """{exercise: judge message} from the comments (``- exercise: message`` lines)."""
    out = {}
    for nb in sub.notebooks:
        for comment in nb.comments:
            text = (comment.comment or "").split(f"\n{NOTES}\n")[0]
            for line in text.splitlines():
                name, sep, message = line[2:].partition(": ")
                if line.startswith("- ") and sep and " " not in name:
                    out.setdefault(name, message)
    return out


def _utc(when: dt.datetime) -> dt.datetime:
    """A naive UTC time, as nbgrader stores them."""
    return when.astimezone(dt.timezone.utc).replace(tzinfo=None)
