"""Similarity between the students of a session: winnowed token fingerprints (the MOSS method).

What a student wrote is the code of their solution cells (matched by nbgrader grade id) and of
the code cells they added or changed. ``copydetect`` turns it into fingerprints: Python tokens
with every name replaced by one letter and comments and whitespace dropped, hashed as k-grams
and winnowed, so renamed variables, reordered functions, new comments and cell splits leave
the fingerprints of a copy in place. Every k-gram of the released notebook's code (which holds
the given parts of the solution cells) is boilerplate and never counts.

Pairs are found through an inverted index, fingerprint -> submissions holding it, so the cost
grows with the number of shared fingerprints, not with the number of pairs. A fingerprint held
by ``df`` of the ``n`` submissions weighs ``log(n / df) / log(n / 2)``: 1 when two share it,
falling to 0 when everybody has it; it is dropped when more than ``max(COMMON_FRACTION * n,
COMMON_MIN)`` submissions hold it. A pair's score is the weight of the fingerprints it shares
over the mean number of fingerprints of the two (0 to 1).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from copydetect.utils import filter_code, get_copied_slices, hashed_kgrams, highlight_overlap, winnow
from jinja2 import Environment, FileSystemLoader, select_autoescape

from autograder.intake import Submission, discover
from autograder.paths import NOTEBOOKS_DIR, REPO_ROOT, session_ids, source_notebook

K = 25  # k-gram length in normalized characters (copydetect's noise threshold)
WINDOW = 4  # winnowing window: every match of K + WINDOW - 1 normalized characters is found
COMMON_FRACTION = 0.25  # fingerprints held by more than this share of the class are dropped...
COMMON_MIN = 10  # ...but never those held by this many or fewer
MAX_CODE_CHARS = 200_000  # a longer answer is cut there (and the report says so)
SHOWN_PAIRS = 30  # pairs shown side by side in the report; the CSV has every pair
TEMPLATES = REPO_ROOT / "autograder" / "templates"


@dataclass
class Work:
    """One student's own code in a session, and its fingerprints."""

    student: str
    code: str = ""  # the student's cells, joined, each under a header comment
    problem: str = ""  # why it is not compared ("" when it is)
    note: str = ""  # a fact about how it was read
    hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # per position
    index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # normalized pos
    offsets: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))

    @property
    def fingerprints(self) -> np.ndarray:
        """The distinct fingerprints, sorted."""
        return np.unique(self.hashes)


@dataclass
class Pair:
    a: str
    b: str
    score: float  # shared weight over the mean fingerprint count of the two
    share_a: float  # shared weight over a's fingerprint count
    share_b: float
    shared: int  # fingerprints in common that count (weight > 0)


@dataclass
class SessionResult:
    session: str
    works: list[Work]  # every submission read, compared or not
    pairs: list[Pair]  # every pair of compared works, highest score first
    weights: dict[int, float]  # weight of each fingerprint that at least two share


# ---- what a student wrote ----------------------------------------------------------------

def released_cells(session: str) -> list[str]:
    """Sources of the code cells of the released notebook: every line of them is boilerplate."""
    nb = nbformat.read(NOTEBOOKS_DIR / session / source_notebook(session).name, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def solution_ids(session: str) -> set[str]:
    """grade ids of the solution cells of a session."""
    nb = nbformat.read(source_notebook(session), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def student_code(nb, solutions: set[str], released: list[str]) -> str:
    """The solution cells and the added or changed code cells of a notebook, joined."""
    given = {src.strip() for src in released}
    parts = []
    for number, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        grade_id = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
        if grade_id in solutions:
            label = grade_id
        elif grade_id is None and source.strip() and source.strip() not in given:
            label = "added or changed"
        else:
            continue
        parts.append(f"# ---- cell {number}: {label} ----\n{source.strip()}\n")
    return "\n".join(parts)


def normalize(code: str) -> tuple[str, np.ndarray]:
    """copydetect's token filter, with its offsets after class names repaired.

    ``filter_code`` records, for a class name, the name's length instead of the running count
    of removed characters; the running count is the next row's value minus that length.
    """
    filtered, offsets = filter_code(code, "answer.py", language="python")
    offsets = np.array(offsets, dtype=np.int64).reshape(-1, 2)
    for row in range(1, len(offsets) - 1):
        pos = offsets[row, 0]
        if filtered[pos:pos + 1] == "O" and pos > offsets[row - 1, 0]:
            offsets[row, 1] = offsets[row + 1, 1] - offsets[row, 1]
    return filtered, offsets


def boilerplate_hashes(released: list[str]) -> np.ndarray:
    """Every k-gram hash of the released code (copydetect's boilerplate: window 1)."""
    hashes = [hashed_kgrams(normalize(src.strip() + "\n")[0], K) for src in released]
    return np.unique(np.concatenate(hashes + [np.zeros(0, np.int64)]).astype(np.int64))


def raw_positions(filtered_positions: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Where positions of the normalized code fall in the code as written."""
    if not len(offsets):
        return filtered_positions
    rows = np.clip(np.searchsorted(offsets[:, 0], filtered_positions), 0, len(offsets) - 1)
    return filtered_positions + offsets[:, 1][rows]


def line_key(line: str) -> str:
    """A line without its whitespace and trailing comment: how released lines are recognized."""
    return re.sub(r"\s+|#[^'\"]*$", "", line)


def given_lines(code: str, released_lines: set[str]) -> np.ndarray:
    """Per line of ``code``: True when it is a released line, a comment, blank or a header."""
    return np.array([(key := line_key(line)) in released_lines or not key
                     for line in code.split("\n")], dtype=bool)


def fingerprint(work: Work, boilerplate: np.ndarray, released_lines: set[str]) -> Work:
    """Fill ``work``'s winnowed fingerprints (positions kept for highlighting).

    A k-gram is boilerplate when its hash is one of the released code's k-grams, or when it
    lies entirely on lines of the released notebook (the given parts of a solution cell
    around the student's answer, joined in an order no released cell has).
    """
    filtered, work.offsets = normalize(work.code)
    if len(filtered) < K:
        return work
    hashes, index = winnow(hashed_kgrams(filtered, K).astype(np.int64), WINDOW,
                           remove_duplicates=False)
    index = index.astype(np.int64)
    line_starts = np.r_[0, np.flatnonzero(np.frombuffer(work.code.encode("utf-32-le"),
                                                        np.uint32) == 10) + 1]
    first = np.searchsorted(line_starts, raw_positions(index, work.offsets), "right") - 1
    last = np.searchsorted(line_starts, raw_positions(index + K - 1, work.offsets), "right") - 1
    own_lines = np.r_[0, np.cumsum(~given_lines(work.code, released_lines))]
    on_given_lines = own_lines[last + 1] - own_lines[first] == 0
    own = ~np.isin(hashes, boilerplate) & ~on_given_lines
    work.hashes, work.index = hashes[own].astype(np.int64), index[own]
    return work


def read_work(sub: Submission, solutions: set[str], released: list[str]) -> Work:
    """One submission as a Work, its problem said in words when it cannot be compared."""
    work = Work(sub.student)
    if sub.fatal or sub.notebook is None:
        work.problem = sub.fatal or "no notebook"
        return work
    try:
        nb = nbformat.read(sub.notebook, as_version=4)
        work.code = student_code(nb, solutions, released)
    except Exception as exc:  # a notebook intake accepted but whose cells are odd
        work.problem = f"could not be read ({type(exc).__name__}: {str(exc)[:120]})"
        return work
    if len(work.code) > MAX_CODE_CHARS:
        work.note = f"only the first {MAX_CODE_CHARS:,} characters of {len(work.code):,} compared"
        work.code = work.code[:MAX_CODE_CHARS]
    return work


# ---- pairs ---------------------------------------------------------------------------------

def fingerprint_weights(holders: np.ndarray, n: int) -> np.ndarray:
    """Weight of fingerprints held by ``holders`` of ``n`` submissions (see the module doc)."""
    holders = np.asarray(holders, dtype=np.float64)
    if n <= 2:
        w = np.ones_like(holders)
    else:
        w = np.clip(np.log(n / holders) / math.log(n / 2), 0.0, 1.0)
    w[holders > max(COMMON_FRACTION * n, COMMON_MIN)] = 0.0
    return w


def score_pairs(works: list[Work]) -> tuple[list[Pair], dict[int, float]]:
    """Every pair of works with fingerprints, scored through an inverted index."""
    prints = [w.fingerprints for w in works]
    n = len(works)
    pairs: list[Pair] = []
    if n < 2:
        return pairs, {}
    doc = np.concatenate([np.full(len(p), i, np.int64) for i, p in enumerate(prints)])
    values, inverse, holders = np.unique(np.concatenate(prints), return_inverse=True,
                                         return_counts=True)
    weight = fingerprint_weights(holders, n)
    keep = (holders >= 2) & (weight > 0)
    weights = {int(v): float(x) for v, x in zip(values[keep], weight[keep])}
    sel = keep[inverse]
    fp, doc = inverse[sel], doc[sel]
    order = np.lexsort((doc, fp))
    fp, doc = fp[order], doc[order]
    shared_w = np.zeros(n * n)
    shared_n = np.zeros(n * n)
    if len(fp):
        starts = np.flatnonzero(np.r_[True, fp[1:] != fp[:-1]])
        sizes = np.diff(np.r_[starts, len(fp)])
        for m in np.unique(sizes):  # postings lists of the same length, all at once
            first = starts[sizes == m]
            members = doc[first[:, None] + np.arange(m)]  # (lists, m), doc ids ascending
            iu, ju = np.triu_indices(m, 1)
            flat = (members[:, iu] * n + members[:, ju]).ravel()
            shared_w += np.bincount(flat, np.repeat(weight[fp[first]], len(iu)), n * n)
            shared_n += np.bincount(flat, minlength=n * n)
    shared_w, shared_n = shared_w.reshape(n, n), shared_n.reshape(n, n)
    size = np.array([len(p) for p in prints], dtype=np.float64)
    for i, j in zip(*np.triu_indices(n, 1)):
        w = shared_w[i, j]
        pairs.append(Pair(works[i].student, works[j].student,
                          score=2 * w / (size[i] + size[j]) if size[i] + size[j] else 0.0,
                          share_a=w / size[i] if size[i] else 0.0,
                          share_b=w / size[j] if size[j] else 0.0,
                          shared=int(shared_n[i, j])))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs, weights


def compare_session(session: str, submissions: list[Submission]) -> SessionResult:
    """Read, fingerprint and pair every submission of one session."""
    released = released_cells(session)
    solutions = solution_ids(session)
    boilerplate = boilerplate_hashes(released)
    lines = {line_key(line) for src in released for line in src.splitlines()} - {""}
    works = []
    for sub in submissions:
        if sub.folder is None:  # nothing handed in for this session: nothing to list
            continue
        work = read_work(sub, solutions, released)
        if not work.problem:
            fingerprint(work, boilerplate, lines)
            if not len(work.hashes):
                work.problem = "nothing of their own to compare (only the released code)"
        works.append(work)
    compared = [w for w in works if not w.problem]
    pairs, weights = score_pairs(compared)
    return SessionResult(session, works, pairs, weights)


# ---- report --------------------------------------------------------------------------------

def highlighted(work: Work, other: Work, weights: dict[int, float]) -> str:
    """``work``'s code as HTML, the fingerprints it shares with ``other`` that count marked."""
    counted = np.array([h for h in np.intersect1d(work.fingerprints, other.fingerprints)
                        if weights.get(int(h), 0.0) > 0], dtype=np.int64)
    index = work.index[np.isin(work.hashes, counted)]
    if not len(index):
        return html.escape(work.code)
    slices = get_copied_slices(index, K)
    slices = raw_positions(slices, work.offsets)
    text, _ = highlight_overlap(work.code, slices, "<mark>", "</mark>", escape_html=True)
    return text


def histogram_png(scores: list[float], shown_from: float | None) -> str:
    """A histogram of every pair's score as a base64 PNG (log counts: single pairs show)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    fig = Figure(figsize=(8, 3), dpi=100)
    ax = fig.add_subplot()
    ax.hist(scores, bins=np.linspace(0, 1, 51), color="#4878a8", log=True)
    if shown_from is not None:
        ax.axvline(shown_from, color="#c0392b", linestyle="--", linewidth=1)
        ax.text(shown_from, ax.get_ylim()[1], " pairs shown below", color="#c0392b",
                va="top", fontsize=8)
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(0, 1)
    ax.set_xlabel("pair similarity (0 = nothing in common, 1 = the same code)")
    ax.set_ylabel("pairs (log scale)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def write_csv(result: SessionResult, path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["rank", "student_a", "student_b", "score", "share_a", "share_b",
                      "shared_fingerprints"])
        for rank, p in enumerate(result.pairs, start=1):
            out.writerow([rank, p.a, p.b, f"{p.score:.4f}", f"{p.share_a:.4f}",
                          f"{p.share_b:.4f}", p.shared])
    return path


def render_html(result: SessionResult) -> str:
    """The self-contained HTML report of one session."""
    by_name = {w.student: w for w in result.works}
    shown = [p for p in result.pairs if p.score > 0][:SHOWN_PAIRS]
    details = [(p, highlighted(by_name[p.a], by_name[p.b], result.weights),
                highlighted(by_name[p.b], by_name[p.a], result.weights)) for p in shown]
    more = len([p for p in result.pairs if p.score > 0]) > len(shown)
    cut = shown[-1].score if shown and more else None  # where the pairs shown stop
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2"]))
    return env.get_template("similarity.html.j2").render(
        session=result.session, works=result.works,
        compared=[w for w in result.works if not w.problem],
        skipped=[w for w in result.works if w.problem],
        noted=[w for w in result.works if w.note],
        pair_count=len(result.pairs), details=details,
        histogram=histogram_png([p.score for p in result.pairs], cut) if result.pairs else "",
        k=K, window=WINDOW, guarantee=K + WINDOW - 1, common_fraction=COMMON_FRACTION,
        common_min=COMMON_MIN)


def similarity_report(submissions: Path | str, out: Path | str,
                      sessions: list[str] | None = None) -> list[Path]:
    """Write ``<session>.html`` and ``<session>.csv`` under ``out`` for each session found."""
    found = discover(Path(submissions), session_ids())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for session in sessions or session_ids():
        subs = [s for s in found if s.session == session]
        if not any(s.folder is not None for s in subs):
            continue
        result = compare_session(session, subs)
        (out / f"{session}.html").write_text(render_html(result), encoding="utf-8")
        written += [out / f"{session}.html", write_csv(result, out / f"{session}.csv")]
    return written
