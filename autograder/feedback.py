"""One self-contained HTML feedback page per submission, rendered by nbconvert.

The page opens with the 0–4 score, every cap with its reason and each exercise as passed or
failed with the judge's message; then come the student's own cells with the outputs of the
graded run. Test cells show the text of the released notebook only: a hidden test cell is
replaced by its verdict, never by its code or its outputs (which are the grader's).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from autograder.paths import NOTEBOOKS_DIR, TEMPLATES_DIR, source_notebook
from autograder.prepare import ROLE, is_test_cell
from autograder.results import CellResult, GradedSubmission, write_text_atomic


def summary_markdown(row: GradedSubmission, title: str = "") -> str:
    """The top of the page: score, caps and notes, then one line per exercise."""
    esc = html.escape
    score = "held for review by your instructor" if row.score is None else f"{row.score} / 4"
    when = course_time(row.submitted_at, row.session)
    lines = [f"# {esc(row.session)}{' — ' + esc(title) if title else ''}", "",
             f"## Score: {score}", "",
             f"Points on the tests: {row.points:g} / {row.max_points:g}"
             + (f" · submitted {esc(when)}" if when else ""), ""]
    notes = [r for r in row.reasons if not r.startswith("exercise ")]
    caps = [r for r in notes if _capped(r, row)]
    others = [_cap_without_effect(r, row) for r in notes if r not in caps]
    if caps:
        lines += ["**Caps applied to your score**", ""] + [f"- {esc(r)}" for r in caps] + [""]
    if others:
        lines += ["**Notes**", ""] + [f"- {esc(r)}" for r in others] + [""]
    exercises: dict[str, list[CellResult]] = {}
    for cell in row.cells:
        exercises.setdefault(cell.exercise, []).append(cell)
    if exercises:
        lines += ["| exercise | points | result |", "|---|---|---|"]
        for name, cells in exercises.items():
            got, full = sum(c.points for c in cells), sum(c.max_points for c in cells)
            failed = next((c.message or "failed" for c in cells if not c.passed), "")
            result = "passed" if not failed else "**failed**: " + esc(failed)
            result = result.replace("|", "&#124;").replace("\n", " ")
            lines.append(f"| {esc(name)} | {got:g} / {full:g} | {result} |")
        lines.append("")
    lines += ["Below: your notebook as the grader ran it, with its outputs. Hidden tests are "
              "not shown; their verdict stands in their place."]
    return "\n".join(lines)


_CAP = re.compile(r" -> score capped at (\d+)$")


def _capped(reason: str, row: GradedSubmission) -> bool:
    """A cap that lowered this row's score (a cap at or above the points' score changed
    nothing)."""
    cap = _CAP.search(reason)
    return bool(cap) and row.score is not None and row.raw_score > int(cap.group(1))


def _cap_without_effect(reason: str, row: GradedSubmission) -> str:
    cap = _CAP.search(reason)
    if cap is None:
        return reason
    return (reason[:cap.start()] + f" (cap at {cap.group(1)}: no effect, your points gave "
            f"{row.raw_score})")


def course_time(iso: str, session: str) -> str:
    """An ISO time shown in the course's time zone, as the deadlines are (``""`` stays)."""
    from autograder.policy import load_policy

    if not iso:
        return ""
    policy = load_policy()
    zone = (policy.sessions[session] if session in policy.sessions
            else next(iter(policy.sessions.values()))).deadline.tzinfo
    when = dt.datetime.fromisoformat(iso)
    return f"{when.astimezone(zone):%Y-%m-%d %H:%M:%S %Z}"


def student_view(row: GradedSubmission, graded: dict | None) -> nbformat.NotebookNode:
    """The page's notebook: the summary, then the graded cells without anything hidden."""
    nb = nbformat.v4.new_notebook()
    # fixed ids (nbformat draws random ones): the same row gives the same page, byte for byte
    nb.cells = [nbformat.v4.new_markdown_cell(summary_markdown(row, _title(row)), id="summary")]
    if graded is None:
        return nb
    graded = nbformat.from_dict(graded)
    nb.metadata = {k: v for k, v in graded.metadata.items() if k in ("kernelspec", "language_info")}
    released = _released_tests(row.session)
    results = {c.grade_id: c for c in row.cells}
    for cell in graded.cells:
        if cell.metadata.get(ROLE):
            continue  # the grader's own cells
        gid = _grade_id_of(cell)
        cell.metadata = {}
        if gid is not None and (gid in released or gid in results):
            public = released.get(gid)
            if public is None or "judged(" in public.source or gid not in _visible(row.session):
                nb.cells.append(nbformat.v4.new_markdown_cell(_verdict(gid, results.get(gid)),
                                                              id=f"verdict-{gid}"[:64]))
                continue
            cell.source = public.source  # the released text, whatever was restored
        nb.cells.append(cell)
    return nb


def page(row: GradedSubmission, graded: dict | None = None) -> str:
    """The HTML page of one submission: images embedded, nothing fetched, no script runs
    (a student's markdown may hold any HTML: the page's content policy disarms it)."""
    exporter = HTMLExporter(template_name="feedback", extra_template_basedirs=[str(TEMPLATES_DIR)],
                            embed_images=True)
    body, _ = exporter.from_notebook_node(student_view(row, graded))
    body = _REMOTE_SCRIPT.sub("", body)  # require.js and MathJax from a CDN: the page stays offline
    return body.replace("<head>", f"<head>\n{CSP}", 1)


_REMOTE_SCRIPT = re.compile(r"<script[^>]*\ssrc=\"https?://[^\"]*\"[^>]*>\s*</script>", re.I)


CSP = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
       'style-src \'unsafe-inline\'; img-src data:; font-src data:">')


def write_pages(rows: list[GradedSubmission], folder: Path | str,
                graded_of=lambda row: row.executed) -> list[Path]:
    """``folder/<student>/<session>.html`` for every row; ``graded_of(row)`` gives the notebook
    as graded (default: the one kept on the row)."""
    written = []
    for row in rows:
        if row.session == "-":
            continue
        path = Path(folder) / row.student / f"{row.session}.html"
        written.append(write_text_atomic(path, page(row, graded_of(row))))
    return written


def _title(row: GradedSubmission) -> str:
    from autograder.policy import load_policy

    session = load_policy().sessions.get(row.session)
    return session.title if session else ""


def _grade_id_of(cell) -> str | None:
    meta = cell.metadata.get("nbgrader", {})
    return meta.get("grade_id") if is_test_cell(cell) else None


def _released_tests(session: str) -> dict:
    path = NOTEBOOKS_DIR / session / source_notebook(session).name
    nb = nbformat.read(path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if is_test_cell(c)}


def _visible(session: str) -> set[str]:
    """Grade ids of the test cells whose code students have (no hidden region in the source)."""
    nb = nbformat.read(source_notebook(session), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if is_test_cell(c) and "BEGIN HIDDEN TESTS" not in c.source
            and "judged(" not in c.source}


def _verdict(grade_id: str, result: CellResult | None) -> str:
    if result is None:
        return f"> **Hidden tests `{html.escape(grade_id)}`**: not run"
    state = "passed" if result.passed else "failed: " + html.escape(result.message or "")
    return (f"> **Hidden tests `{html.escape(grade_id)}`** "
            f"({result.points:g} / {result.max_points:g}): {state}")
