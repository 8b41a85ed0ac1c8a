"""Given code and visible tests that answer an exercise, found in a source notebook.

Students see every cell that is neither a solution block nor a hidden test: the given code
(cells without solution blocks, and the skeleton around the blocks) and the visible tests.
None of it may hold an exercise's answer. Two rules, both with ``autograder.overlap.covered``
(names, comments and layout set aside):

- given code or a visible test that reproduces at least ``SHARE`` of any solution block of
  ``MIN_TOKENS`` tokens or more in runs of ``GIVEN_WINDOW`` tokens re-implements that answer;
- a visible test that reproduces ``SHARE`` of its own exercise's block in shorter runs
  (``OWN_WINDOW`` tokens: a formula) restates the answer instead of checking properties.

Runs made of local names and punctuation alone (``N = N ( N , N , N )``) match any call with
as many arguments and are not counted.

Run ``python -m autograder.giveaways`` (part of ``make check-release``).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.overlap import covered, tokens
from autograder.paths import REPO_ROOT, session_ids, source_notebook

SHARE = 0.5
MIN_TOKENS = 20
GIVEN_WINDOW = 10
OWN_WINDOW = 4
_REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)


@dataclass(frozen=True)
class Block:
    cell: int
    grade_id: str
    code: str


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _solution_blocks(cell) -> list[str]:
    return [body for kind, body in _REGION.findall(cell.source + "\n") if kind == "SOLUTION"]


def _is_test(cell) -> bool:
    return bool(_meta(cell).get("grade")) and not _meta(cell).get("solution")


def giveaways(source: Path) -> list[str]:
    """Every given cell or visible test of ``source`` that answers one of its exercises."""
    nb = nbformat.read(source, as_version=4)
    blocks = [Block(i, _meta(cell).get("grade_id", f"cell {i}"), body)
              for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
              for body in _solution_blocks(cell) if len(tokens(body)) >= MIN_TOKENS]
    rel = source.relative_to(REPO_ROOT) if source.is_relative_to(REPO_ROOT) else source
    found: dict[tuple[str, str, str], float] = {}  # (cell, rule, answer) -> largest share

    def report(name: str, rule: str, block: Block, share: float) -> None:
        if share >= SHARE:
            key = (name, rule, block.grade_id)
            found[key] = max(share, found.get(key, 0.0))

    own: list[Block] = []  # the blocks since the previous test cell: this exercise's answer
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        name = _meta(cell).get("grade_id") or f"cell {i}"
        if _is_test(cell) and "BEGIN HIDDEN TESTS" in cell.source:
            own = []
            continue
        given = _REGION.sub("", cell.source + "\n")
        for block in blocks:
            if block.cell != i:
                report(name, "given", block, covered(block.code, given, GIVEN_WINDOW,
                                                     bare_runs=False))
        if _is_test(cell):
            for block in own:
                report(name, "own", block, covered(block.code, cell.source, OWN_WINDOW,
                                                   bare_runs=False))
            own = []
        own += [b for b in blocks if b.cell == i]
    return [f"{rel}: {name} re-implements the answer of {answer} ({share:.0%} of it)"
            if rule == "given" else
            f"{rel}: visible test {name} restates the answer of {answer} ({share:.0%} of it): "
            "test properties (shapes, invariances, a known small case) instead"
            for (name, rule, answer), share in found.items()]


def check_all() -> list[str]:
    """Problems of every session's source notebook."""
    return [p for session in session_ids() for p in giveaways(source_notebook(session))]


def main() -> int:
    problems = check_all()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
