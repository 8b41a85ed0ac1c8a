"""The similarity report.

A small planted class of session 01_micrograd: three students answer independently, each in
their own way; three others hand in disguised copies of them (names changed, comments
rewritten, functions reordered, cells split). The copies must rank at the top, the
independent answers below, and the released notebook handed in twice must share nothing.
Broken and empty submissions are listed, never fatal. Then the synthetic class of every
session (``tests/similarity_class.py``): 30 students, 6 disguised copies, every planted pair
near the top; and the report is the same, byte for byte, whatever Python's hash seed.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import textwrap

import nbformat
import numpy as np
import pytest

from autograder.cli import main
from autograder.intake import discover
from autograder.paths import REPO_ROOT, session_ids, source_notebook
from autograder.similarity import (COMMON_MIN, beyond_chance, compare_session,
                                   fingerprint_weights, line_key, normalize, raw_positions,
                                   released_cells, similarity_report)
from tests import similarity_class
from tests.similarity_class import BEA, CYD

SESSION = "01_micrograd"
BLOCK = re.compile(r"^( *)### BEGIN SOLUTION\n.*?^ *### END SOLUTION\n?", re.S | re.M)

def solution_cells() -> dict[str, str]:
    nb = nbformat.read(source_notebook(SESSION), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def answered(blocks: dict[str, list[str]] | None) -> dict[str, str]:
    """Each solution cell with its solution blocks replaced by ``blocks`` (None: the reference)."""
    cells = {}
    for grade_id, source in solution_cells().items():
        bodies = iter((blocks or {}).get(grade_id, []))

        def fill(match, bodies=bodies, given=grade_id in (blocks or {})):
            if blocks is None:
                return match.group(0)
            # an exercise this answer does not cover is left as released
            body = textwrap.dedent("        " + next(bodies)) if given else "raise NotImplementedError()"
            return textwrap.indent(body, match.group(1)) + "\n"
        text = BLOCK.sub(fill, source)
        cells[grade_id] = "\n".join(line for line in text.splitlines()
                                    if "### BEGIN SOLUTION" not in line
                                    and "### END SOLUTION" not in line)
    return cells


# ---- disguises -------------------------------------------------------------------------------

def rename(cells: dict[str, str], names: dict[str, str]) -> dict[str, str]:
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    return {k: pattern.sub(lambda m: names[m.group(1)], v) for k, v in cells.items()}


def recomment(cells: dict[str, str]) -> dict[str, str]:
    """Every comment dropped, new ones written, blank lines and spacing changed."""
    out = {}
    for k, src in cells.items():
        lines = []
        for n, line in enumerate(src.splitlines()):
            code = re.sub(r"\s+#.*$", "", line) if not line.lstrip().startswith("#") else ""
            if not code.strip():
                continue
            if n % 4 == 0 and code.strip().startswith(("for", "return", "if")):
                lines.append(re.match(r" *", code).group(0) + "# step: see the course notes")
            lines.append(code.replace(" = ", "  =  ").replace(", ", ","))
        out[k] = "\n".join(lines)
    return out


def reorder(source: str, boundary: str) -> str:
    """Reverse the order of the chunks that start with ``boundary`` (methods or classes)."""
    parts = re.split(f"(?m)^(?={boundary})", source)
    return "\n".join([parts[0].rstrip("\n")] + [p.rstrip("\n") for p in parts[1:]][::-1])


def shuffled_and_split(cells: dict[str, str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Methods of Value reversed, the network's classes reversed and split into three cells."""
    cells = dict(cells)
    cells["value_class"] = reorder(cells["value_class"], "    def ")
    classes = re.split(r"(?m)^(?=class )", reorder(cells["nn_classes"], "class "))
    cells["nn_classes"] = classes[0] + classes[1]
    return cells, [("nn_classes", c) for c in classes[2:]]


def hand_in(root, student, cells=None, added=(), raw: bytes | None = None):
    similarity_class.hand_in(root, SESSION, student, cells, added, raw)


COPIES = {("bea", "dan"), ("cyd", "eve"), ("fay", "ref")}
INDEPENDENT = {("bea", "cyd"), ("bea", "ref"), ("cyd", "ref")}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    subs, out = root / "submitted", root / "similarity"
    ref, bea, cyd = answered(None), answered(BEA), answered(CYD)
    hand_in(subs, "ref", ref)
    hand_in(subs, "bea", bea)
    hand_in(subs, "cyd", cyd)
    hand_in(subs, "dan", recomment(rename(bea, {
        "res": "output", "back": "chain", "order": "topo_list", "seen": "done",
        "visit": "dfs", "params": "ps", "outs": "results", "total": "acc", "diff": "err",
        "plus": "up", "minus": "down", "neuron": "unit"})))
    eve, eve_added = shuffled_and_split(cyd)
    hand_in(subs, "eve", eve, eve_added)
    fay, fay_added = shuffled_and_split(recomment(rename(ref, {
        "out": "o", "topo": "ordering", "visited": "marked", "stack": "todo",
        "grads": "g", "preds": "outputs"})))
    hand_in(subs, "fay", fay, fay_added)
    hand_in(subs, "gus")  # the released notebook, untouched
    hand_in(subs, "hal")
    hand_in(subs, "ivy", raw=b'{"cells": [ this is not json')
    hand_in(subs, "jo", raw=nbformat.writes(nbformat.v4.new_notebook()).encode())
    (subs / "kim" / SESSION).mkdir(parents=True)  # a folder without a notebook
    paths = similarity_report(subs, out)
    with open(out / f"{SESSION}.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {"paths": paths, "rows": rows,
            "html": (out / f"{SESSION}.html").read_text(encoding="utf-8"),
            "scores": {frozenset((r["student_a"], r["student_b"])): float(r["score"])
                       for r in rows}}


def test_disguised_copies_rank_at_the_top(report):
    top = {tuple(sorted((r["student_a"], r["student_b"]))) for r in report["rows"][:3]}
    assert top == COPIES, report["rows"][:6]


def test_independent_answers_rank_low(report):
    scores = report["scores"]
    weakest_copy = min(scores[frozenset(p)] for p in COPIES)
    strongest_own = max(scores[frozenset(p)] for p in INDEPENDENT)
    assert weakest_copy > 0.5, weakest_copy
    assert strongest_own < weakest_copy / 2, (strongest_own, weakest_copy)


def test_released_notebook_twice_shares_nothing(report):
    assert report["scores"].get(frozenset(("gus", "hal")), 0.0) == 0.0
    assert not any(("gus" in pair or "hal" in pair) and score > 0
                   for pair, score in report["scores"].items())
    assert re.search(r"gus</td><td>nothing of their own", report["html"])


def test_broken_and_empty_submissions_are_listed(report):
    html = report["html"]
    assert re.search(r"ivy</td><td>[^<]*not a readable notebook", html)
    assert re.search(r"jo</td><td>nothing of their own", html)
    assert re.search(r"kim</td><td>expected notebook", html)
    students = {r["student_a"] for r in report["rows"]} | {r["student_b"] for r in report["rows"]}
    assert students == {"ref", "bea", "cyd", "dan", "eve", "fay"}
    assert len(report["rows"]) == 15  # every pair of the six compared students


def test_report_is_self_contained_and_shows_the_matches(report):
    html = report["html"]
    assert "Look at these" in html
    assert 'src="data:image/png;base64,' in html
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)
    first = html.split('id="pair-1"')[1].split('id="pair-2"')[0]
    assert first.count("<mark>") >= 4
    marked = "".join(re.findall(r"<mark>(.*?)</mark>", first, re.S))
    assert "_backward" in marked or "grad" in marked


def test_common_code_weighs_less():
    n = 300
    w = fingerprint_weights(np.array([2, 3, 10, 40, 75, 76, 300]), n)
    assert w[0] == 1.0 and np.all(np.diff(w[:5]) < 0) and w[4] > 0
    assert w[5] == 0.0 and w[6] == 0.0  # held by more than a quarter of the class
    small = fingerprint_weights(np.array([2, COMMON_MIN]), 40)
    assert small[1] > 0  # a small class keeps what a handful share


def test_highlights_map_back_to_the_code_as_written():
    code = "class Counter:\n    total = 0  # start\n    def add(self, amount):\n        return amount\n"
    filtered, offsets = normalize(code)
    assert filtered.startswith("classO:V=0")
    for char, written in (("V", "total"), ("0", "0 "), ("F", "add(")):
        pos = filtered.index(char, filtered.index(":"))
        at = int(raw_positions(np.array([pos]), offsets)[0])
        assert code[at:].startswith(written), (char, code[at:at + 10])


def test_command_line_writes_the_report(tmp_path, capsys):
    hand_in(tmp_path / "in", "one", answered(None))
    hand_in(tmp_path / "in", "two", answered(BEA))
    assert main(["similarity", "--submissions", str(tmp_path / "in"),
                 "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / f"{SESSION}.html").is_file()
    assert (tmp_path / "out" / f"{SESSION}.csv").read_text().count("\n") == 2
    assert main(["similarity", "--submissions", str(tmp_path / "missing"),
                 "--out", str(tmp_path / "out")]) == 2


def test_released_code_is_never_highlighted(report):
    released = {line_key(line) for src in released_cells(SESSION)
                for line in src.splitlines()} - {""}
    marked = re.findall(r"<mark>(.*?)</mark>", report["html"], re.S)
    assert marked
    for text in marked:
        for line in text.split("\n"):
            assert line_key(html_text(line)) not in released, line


def html_text(fragment: str) -> str:
    return (fragment.replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"')
            .replace("&#39;", "'").replace("&quot;", '"').replace("&amp;", "&"))


def test_fragments_are_aligned_and_linked_both_ways(report):
    html = report["html"]
    first = html.split('id="pair-1"')[1].split('id="pair-2"')[0]
    rows = re.findall(r'<tr id="(p1-f\d+)"', first)
    assert len(rows) >= 2
    ids = set(re.findall(r'id="([^"]+)"', html))
    for target in re.findall(r'href="#([^"]+)"', first):
        assert target in ids, target
    for row in rows:  # each fragment's row links to its place in both codes, and back
        cells = first.split(f'<tr id="{row}"')[1].split("</tr>")[0]
        a_id, b_id = re.findall(r'href="#([^"]+)"', cells)
        assert f'id="{a_id}" href="#{row}"' in first
        assert b_id.endswith("-b") and f'id="{b_id}" href="#p1-f' in first


def test_beyond_chance_is_zero_at_chance_and_one_for_everything():
    n = 12
    size = np.array([10.0, 10.0])
    # each of the 10 fingerprints of either is held by 5 others besides its holder
    held = np.array([50.0, 50.0])
    everything = beyond_chance(np.full((2, 2), 10.0), size, held, n)
    assert everything[0, 1] == pytest.approx(1.0)
    # two students sharing 4: (50 - 4) / 10 = 4.6 expected, a little beyond chance
    assert 0 < beyond_chance(np.full((2, 2), 5.0), size, held, n)[0, 1] < 0.1
    assert beyond_chance(np.full((2, 2), 4.0), size, held, n)[0, 1] < 0


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Every session's synthetic class (seed 0), compared."""
    out = {}
    for session in similarity_class.SESSIONS:
        root = tmp_path_factory.mktemp(session)
        planted = similarity_class.build(root, session, seed=0)
        subs = [s for s in discover(root, session_ids()) if s.session == session]
        out[session] = planted, compare_session(session, subs)
    return out


@pytest.mark.parametrize("session", similarity_class.SESSIONS)
def test_planted_copies_rank_near_the_top_in_every_session(synthetic, session):
    planted, result = synthetic[session]
    assert len(result.works) >= 30 and len(planted) >= 9  # 6 disguised copies of 3 students
    rank = {frozenset((p.a, p.b)): k for k, p in enumerate(result.pairs, start=1)}
    ranks = sorted(rank[p] for p in planted)
    assert ranks[-1] <= 2 * len(planted), ranks


def test_synthetic_class_is_not_one_answer_renamed(synthetic):
    """Independent students share templates, but not everything: the bulk stays below the
    copies, and many independent pairs share a good part of their code."""
    planted, result = synthetic["04_gpt"]
    others = [p for p in result.pairs if frozenset((p.a, p.b)) not in planted]
    assert max(max(p.share_a, p.share_b) for p in others) > 0.5
    assert np.median([p.share_a for p in others]) < 0.6


def test_report_is_byte_identical_whatever_the_hash_seed(tmp_path):
    similarity_class.build(tmp_path / "in", "04_gpt", seed=0)
    runs = {seed: subprocess.Popen(
        [sys.executable, "-m", "autograder", "similarity", "--submissions", str(tmp_path / "in"),
         "--out", str(tmp_path / seed), "--session", "04_gpt"], cwd=REPO_ROOT,
        env={**os.environ, "PYTHONHASHSEED": seed}, stdout=subprocess.DEVNULL)
        for seed in ("1", "2")}
    assert all(run.wait() == 0 for run in runs.values())
    outputs = [[(tmp_path / seed / f"04_gpt.{ext}").read_bytes() for ext in ("csv", "html")]
               for seed in runs]
    assert outputs[0][0] == outputs[1][0]
    assert outputs[0][1] == outputs[1][1]
