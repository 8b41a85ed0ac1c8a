"""Similarity between the students of a session: winnowed token fingerprints (the MOSS method).

What a student wrote is the code of their solution cells (matched by nbgrader grade id) and of
the code cells they added or changed. Each run of their own lines (released lines and cell
boundaries end a run; comments and blank lines do not) is normalized by ``copydetect``'s
filter (Python tokens, every name one letter, comments and whitespace dropped), cut into
k-grams, hashed with a hash that is the same in every run and winnowed. Renamed variables,
new comments and spacing, reordered functions and split or merged cells leave the
fingerprints of a copy in place, and released code is never part of one.

Every pair is scored from the fingerprints two or more students share (an incidence matrix
times its transpose). The ranking score asks how much more of each other's code two students
share than a student drawn at random from the class would (``beyond_chance``), so that code
many students wrote the same way (a common approach, a short exercise) neither hides a copy
nor makes independent students look alike. Beside it: plain containment in both directions,
and a rarity-weighted similarity (a fingerprint held by ``df`` of ``n`` weighs
``log(n / df) / log(n / 2)``, 0 above ``max(COMMON_FRACTION * n, COMMON_MIN)`` holders).
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
from copydetect.utils import filter_code, winnow
from jinja2 import Environment, FileSystemLoader, select_autoescape

from autograder.intake import Submission, discover
from autograder.paths import NOTEBOOKS_DIR, TEMPLATES_DIR, session_ids, source_notebook

K = 25  # k-gram length in normalized characters (copydetect's noise threshold)
WINDOW = 4  # winnowing window: every match of K + WINDOW - 1 normalized characters is found
COMMON_FRACTION = 0.25  # held by more of the class: weight 0 in the rarity-weighted score...
COMMON_MIN = 10  # ...but never those held by this many or fewer
MAX_CODE_CHARS = 200_000  # a longer answer is cut there (and the report says so)
SHOWN_PAIRS = 30  # pairs shown side by side in the report; the CSV has every pair
LABELLED_PAIRS = 10  # listed pairs whose rank the histogram writes beside their tick
BLOCK_COLUMNS = 4096  # shared fingerprints per block of the incidence matrix
HEADER = "# ---- cell "  # starts the line above each cell's code in Work.code


@dataclass
class Work:
    """One student's own code in a session, and its fingerprints."""

    student: str
    code: str = ""  # the student's cells, joined, each under a header comment
    problem: str = ""  # why it is not compared ("" when it is)
    note: str = ""  # a fact about how it was read
    hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    spans: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))  # in code

    @property
    def fingerprints(self) -> np.ndarray:
        """The distinct fingerprints, sorted."""
        return np.unique(self.hashes)


@dataclass
class Pair:
    a: str
    b: str
    score: float  # the ranking score: containment beyond the class's shared code (see below)
    share_a: float  # share of a's fingerprints that b holds too
    share_b: float
    weighted: float  # shared fingerprints weighted by rarity over the mean count of the two
    shared: int  # fingerprints in common


@dataclass
class SessionResult:
    session: str
    works: list[Work]  # every submission read, compared or not
    pairs: list[Pair]  # every pair of compared works, highest score first
    holders: dict[int, int]  # how many submissions hold each fingerprint that two or more share


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
        parts.append(f"{HEADER}{number}: {label} ----\n{source.strip()}\n")
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


_BASE = np.uint64(0x100000001B3)  # odd: the polynomial hash of a k-gram, modulo 2**64


def kgram_hashes(text: str, k: int = K) -> np.ndarray:
    """A 64-bit hash of every ``k``-character substring of ``text``, the same in every run.

    copydetect hashes with Python's ``hash()``, salted per process (``PYTHONHASHSEED``), so
    its winnowing kept other fingerprints and ranked pairs differently from run to run. Here:
    a polynomial hash of the code points, modulo 2**64, mixed by splitmix64's finalizer so
    that winnowing's minimum is taken over well-spread values.
    """
    codes = np.frombuffer(text.encode("utf-32-le"), np.uint32).astype(np.uint64)
    n = len(codes) - k + 1
    if n <= 0:
        return np.zeros(0, np.int64)
    h = np.zeros(n, np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            h = h * _BASE + codes[j:j + n]
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h.view(np.int64)


def boilerplate_hashes(released: list[str]) -> np.ndarray:
    """Every k-gram hash of the released code (copydetect's boilerplate: window 1)."""
    hashes = [kgram_hashes(normalize(src.strip() + "\n")[0]) for src in released]
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


def own_runs(code: str, released_lines: set[str]) -> list[tuple[int, int]]:
    """Character spans of ``code`` that hold runs of the student's own lines.

    A released line or a cell header ends a run; blank and comment lines do not, so new
    comments leave a run whole.
    """
    runs, start, end, pos = [], None, 0, 0
    for line in code.split("\n"):
        key = line_key(line)
        if key in released_lines or line.startswith(HEADER):
            if start is not None:
                runs.append((start, end))
            start = None
        elif key:
            start = pos if start is None else start
            end = pos + len(line)
        pos += len(line) + 1
    if start is not None:
        runs.append((start, end))
    return runs


def fingerprint(work: Work, boilerplate: np.ndarray, released_lines: set[str]) -> Work:
    """Fill ``work``'s winnowed fingerprints and the span of code each one covers.

    Each run of the student's own lines is fingerprinted alone (``own_runs``): no k-gram
    straddles a released line or a cell boundary, so the order of functions and cells and
    the released code around an answer change nothing, and released code is never part of a
    match. A run shorter than a k-gram is one fingerprint of its own. A k-gram of the released
    notebook's code is boilerplate wherever it appears.
    """
    hashes, spans = [], []
    for start, end in own_runs(work.code, released_lines):
        filtered, offsets = normalize(work.code[start:end])
        if not filtered:
            continue
        k = min(K, len(filtered))
        run_hashes = kgram_hashes(filtered, k)
        if k == K:
            run_hashes, index = winnow(run_hashes, WINDOW, remove_duplicates=False)
        else:
            index = np.zeros(1, np.int64)
        index = np.asarray(index, np.int64)
        hashes.append(run_hashes)
        spans.append(start + np.c_[raw_positions(index, offsets),
                                   raw_positions(index + k - 1, offsets) + 1])
    if hashes:
        hashes, spans = np.concatenate(hashes), np.concatenate(spans)
        own = ~np.isin(hashes, boilerplate)
        work.hashes, work.spans = hashes[own], spans[own]
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


def beyond_chance(shared: np.ndarray, size: np.ndarray, held: np.ndarray, n: int) -> np.ndarray:
    """Per pair (i, j): how much more of i's fingerprints j holds than chance says, 0 to 1.

    ``held[i]`` sums, over i's fingerprints, how many other submissions hold each. Were j any
    other student, they would hold ``(held[i] - shared) / (n - 2)`` of i's fingerprints (the
    pair's own shared ones set aside); the score is the share of what i holds beyond that
    count that j holds: ``(shared - expected) / (size[i] - expected)``, 0 when j holds no more
    than a student drawn at random, 1 when j holds all of it, below 0 (down to -1) when less.
    """
    expected = (held[:, None] - shared) / (n - 2) if n > 2 else np.zeros_like(shared)
    room = size[:, None] - expected
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(np.where(room > 0, (shared - expected) / room, 0.0), -1.0, 1.0)


def score_pairs(works: list[Work]) -> tuple[list[Pair], dict[int, int]]:
    """Every pair of works, scored from the fingerprints two or more of them share.

    The counts of shared fingerprints come from an incidence matrix (works by shared
    fingerprints) multiplied by its transpose, a block of fingerprints at a time.
    """
    prints = [w.fingerprints for w in works]
    n = len(works)
    if n < 2:
        return [], {}
    doc = np.concatenate([np.full(len(p), i, np.int64) for i, p in enumerate(prints)])
    values, inverse, holders = np.unique(np.concatenate(prints), return_inverse=True,
                                         return_counts=True)
    weight = fingerprint_weights(holders, n)
    common = np.flatnonzero(holders >= 2)
    column = np.full(len(values), -1)
    column[common] = np.arange(len(common))
    in_common = column[inverse] >= 0
    rows, cols = doc[in_common], column[inverse[in_common]]
    shared, shared_w = np.zeros((n, n)), np.zeros((n, n))
    for lo in range(0, len(common), BLOCK_COLUMNS):
        hi = min(lo + BLOCK_COLUMNS, len(common))
        here = (cols >= lo) & (cols < hi)
        x = np.zeros((n, hi - lo))
        x[rows[here], cols[here] - lo] = 1.0
        shared += x @ x.T
        shared_w += (x * weight[common[lo:hi]]) @ x.T
    size = np.array([len(p) for p in prints], dtype=np.float64)
    held = np.bincount(doc, weights=holders[inverse] - 1.0, minlength=n)
    beyond = beyond_chance(shared, size, held, n)
    pairs = []
    for i, j in zip(*np.triu_indices(n, 1)):
        pairs.append(Pair(works[i].student, works[j].student,
                          score=float((beyond[i, j] + beyond[j, i]) / 2),
                          share_a=shared[i, j] / size[i] if size[i] else 0.0,
                          share_b=shared[i, j] / size[j] if size[j] else 0.0,
                          weighted=2 * shared_w[i, j] / (size[i] + size[j]),
                          shared=int(shared[i, j])))
    pairs.sort(key=lambda p: (-round(p.score, 12), p.a, p.b))
    return pairs, {int(values[c]): int(holders[c]) for c in common}


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
    pairs, holders = score_pairs(compared)
    return SessionResult(session, works, pairs, holders)


# ---- report --------------------------------------------------------------------------------

@dataclass
class Fragment:
    """A stretch of code matched in both students' code: character spans in each."""

    a: tuple[int, int]
    b: tuple[int, int]
    fingerprints: int  # shared fingerprints that tie the two spans
    common: bool  # most of them are held by more than a quarter of the class


def stretches(work: Work, hashes: np.ndarray) -> list[tuple[int, int, set[int]]]:
    """``work``'s fingerprints among ``hashes``, each widened to whole lines (a fingerprint lies
    in a run of the student's own lines, and so do they), joined where they overlap or touch."""
    found = np.isin(work.hashes, hashes)
    order = np.argsort(work.spans[found, 0], kind="stable")
    out: list[tuple[int, int, set[int]]] = []
    for (start, end), h in zip(work.spans[found][order], work.hashes[found][order]):
        start = work.code.rfind("\n", 0, start) + 1
        end = work.code.find("\n", end - 1) % (len(work.code) + 1)
        if out and start <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], int(end)), out[-1][2] | {int(h)})
        else:
            out.append((int(start), int(end), {int(h)}))
    return out


def fragments(a: Work, b: Work, holders: dict[int, int], n: int) -> list[Fragment]:
    """The stretches of ``a`` that ``b`` shares, each with the stretch of ``b`` it matches best."""
    both = np.intersect1d(a.fingerprints, b.fingerprints)
    theirs = stretches(b, both)
    out = []
    for start, end, hashes in stretches(a, both):
        best = max(theirs, key=lambda t: (len(hashes & t[2]), -t[0]))
        tied = hashes & best[2]
        common = sum(holders.get(h, 0) > COMMON_FRACTION * n for h in tied) > len(tied) / 2
        out.append(Fragment((start, end), (best[0], best[1]), len(tied), common))
    return out


def line_of(code: str, pos: int) -> int:
    return code.count("\n", 0, pos) + 1


def marked(code: str, spans: list[tuple[int, int, str, str]]) -> str:
    """``code`` as HTML, each span ``(start, end, element id, link target)`` marked and linked;
    overlapping spans are cut where the previous one ends."""
    out, pos = [], 0
    for start, end, ident, target in sorted(spans):
        start = max(start, pos)
        if start >= end:
            continue
        out += [html.escape(code[pos:start]), f'<a class="frag" id="{ident}" href="#{target}">'
                f'<mark>{html.escape(code[start:end])}</mark></a>']
        pos = end
    return "".join(out + [html.escape(code[pos:])])


def pair_view(number: int, pair: Pair, a: Work, b: Work, holders: dict[int, int],
              n: int) -> dict:
    """What the report shows of one pair: both codes marked, and the fragments side by side."""
    frags = fragments(a, b, holders, n)
    rows, left, right, b_ids = [], [], [], {}
    for k, f in enumerate(frags, start=1):
        row = f"p{number}-f{k}"
        if f.b not in b_ids:  # several stretches of a may match one of b: marked once
            b_ids[f.b] = f"{row}-b"
            right.append((*f.b, f"{row}-b", row))
        rows.append({"id": row, "a_id": f"{row}-a", "b_id": b_ids[f.b],
                     "common": f.common, "fingerprints": f.fingerprints,
                     "a_lines": (line_of(a.code, f.a[0]), line_of(a.code, f.a[1] - 1)),
                     "b_lines": (line_of(b.code, f.b[0]), line_of(b.code, f.b[1] - 1)),
                     "a_code": a.code[f.a[0]:f.a[1]], "b_code": b.code[f.b[0]:f.b[1]]})
        left.append((*f.a, f"{row}-a", row))
    return {"number": number, "pair": pair, "fragments": rows,
            "left": marked(a.code, left), "right": marked(b.code, right)}


def histogram_png(scores: list[float], listed: list[float]) -> str:
    """A histogram of every pair's score as a base64 PNG (log counts: single pairs show), each
    listed pair marked by its rank under the axis."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    low = min(0.0, math.floor(min(scores) * 10) / 10)  # scores lie in [-1, 1]
    fig = Figure(figsize=(9, 3.4), dpi=100)
    ax = fig.add_subplot()
    ax.hist(scores, bins=np.linspace(low, 1, 1 + round((1 - low) * 50)), color="#4878a8",
            log=True)
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(low, 1)
    ax.set_ylim(0.5, None)
    for rank, score in enumerate(listed, start=1):  # a tick under the axis; numbers for the top
        ax.annotate(str(rank) if rank <= LABELLED_PAIRS else "", xy=(score, 0.5),
                    xytext=(score, -0.13 - 0.07 * ((rank - 1) % 3)),
                    textcoords=("data", "axes fraction"), ha="center", fontsize=7,
                    color="#c0392b", arrowprops={"arrowstyle": "-", "color": "#c0392b",
                                                 "linewidth": 0.6})
    ax.set_xlabel(f"pair score: shared code beyond what the class shares (0 = chance, 1 = all "
                  f"of it); red: the {len(listed)} pairs listed below, by rank", labelpad=30)
    ax.set_ylabel("pairs (log scale)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def write_csv(result: SessionResult, path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["rank", "student_a", "student_b", "score", "share_a", "share_b",
                      "weighted", "shared_fingerprints"])
        for rank, p in enumerate(result.pairs, start=1):
            out.writerow([rank, p.a, p.b, f"{p.score:.4f}", f"{p.share_a:.4f}",
                          f"{p.share_b:.4f}", f"{p.weighted:.4f}", p.shared])
    return path


def render_html(result: SessionResult) -> str:
    """The self-contained HTML report of one session."""
    by_name = {w.student: w for w in result.works}
    compared = [w for w in result.works if not w.problem]
    shown = [p for p in result.pairs if p.shared][:SHOWN_PAIRS]
    views = [pair_view(k, p, by_name[p.a], by_name[p.b], result.holders, len(compared))
             for k, p in enumerate(shown, start=1)]
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["j2"]))
    return env.get_template("similarity.html.j2").render(
        session=result.session, works=result.works, compared=compared,
        skipped=[w for w in result.works if w.problem],
        noted=[w for w in result.works if w.note],
        pair_count=len(result.pairs), views=views,
        histogram=histogram_png([p.score for p in result.pairs], [p.score for p in shown])
        if result.pairs else "",
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
