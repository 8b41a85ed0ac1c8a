"""A feedback page shows the score, caps, verdicts and the student's own run, and nothing hidden."""

import html
import re
from html.parser import HTMLParser

import nbformat
import pytest

from autograder import checks, gradebook
from autograder.feedback import page, write_pages
from autograder.paths import source_notebook

pytestmark = pytest.mark.slow
SESSION = "01_micrograd"


@pytest.fixture(scope="module")
def pages(graded_class, tmp_path_factory):
    out = tmp_path_factory.mktemp("feedback")
    write_pages(graded_class["rows"], out)
    return {p.parent.name: p.read_text(encoding="utf-8") for p in out.glob(f"*/{SESSION}.html")}


def text_of(page_html):
    return html.unescape(re.sub(r"<[^>]+>", "", page_html))


def hidden_test_lines():
    """Every line of the hidden-test regions of the source notebook, and the checks' code."""
    nb = nbformat.read(source_notebook(SESSION), as_version=4)
    lines = set()
    for cell in nb.cells:
        for body in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S):
            lines |= {line.strip() for line in body.splitlines() if len(line.strip()) > 8}
    lines |= {line.strip() for line in checks.kernel_source(SESSION).splitlines()
              if len(line.strip()) > 30 and not line.strip().startswith(("#", '"""'))}
    return lines


def test_every_row_gets_one_page(graded_class, pages):
    assert set(pages) == {r.student for r in graded_class["rows"]}


def test_score_comes_first_then_caps_then_each_exercise(pages):
    bob = text_of(pages["bob"])
    assert bob.index("Score: 2 / 4") < bob.index("value_ops") < bob.index("import math")
    assert "finite_diff" in bob and "not implemented yet" in bob
    dave = text_of(pages["dave"])
    assert "Score: 1 / 4" in dave and "late: submitted" in dave and "capped at 1" in dave
    assert "held for review" in text_of(pages["frank"])
    assert "not a readable notebook" in text_of(pages["erin"])


def test_page_shows_the_students_code_and_its_graded_outputs(pages):
    alice = text_of(pages["alice"])
    assert "cfg = setup(seed=1337)" in alice  # the student's own cell
    assert "Setup(seed=1337" in alice  # ... and the output of the graded run
    assert "Hidden tests value_ops__hidden" in alice and "(2 / 2): passed" in alice


@pytest.mark.parametrize("student", ["alice", "bob", "carol"])
def test_page_holds_no_hidden_test_code_nor_grader_code(pages, student):
    text = text_of(pages[student])
    leaked = [line for line in hidden_test_lines() if line in text]
    assert leaked == []
    assert "probe_runtime" not in pages[student] and "judged(" not in pages[student]


def test_page_is_self_contained_and_runs_no_script(pages):
    assert 'src="http' not in pages["alice"]
    assert "Content-Security-Policy" in pages["alice"]


def test_missing_or_ungraded_row_still_gets_a_page(graded_class):
    erin = next(r for r in graded_class["rows"] if r.student == "erin")
    assert "Score: 0 / 4" in text_of(page(erin, None))


def test_pages_from_the_gradebook_reuse_the_graded_notebooks(graded_class, tmp_path):
    root = tmp_path / "course"
    gradebook.record(graded_class["rows"], root)
    rows = gradebook.export(root)
    written = write_pages(rows, tmp_path / "fb", lambda row: gradebook.read_autograded(row, root))
    bob = text_of((tmp_path / "fb" / "bob" / f"{SESSION}.html").read_text())
    assert len(written) == len(rows) and "Score: 2 / 4" in bob and "import math" in bob
    assert "judged(" not in bob


def test_html_in_the_students_code_is_shown_as_text():
    """Code cells are escaped by the highlighter (the page does not sanitise them again); any
    other HTML of the student's is disarmed by the page's content policy (no script runs)."""
    from autograder.feedback import CSP
    from autograder.results import GradedSubmission

    code = "x = '<script>alert(1)</script><img src=x onerror=alert(2)>'"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    row = GradedSubmission("alice", SESSION, "graded", submitted_at="2025-02-05T12:00:00+00:00")
    body = page(row, nb)
    assert code in text_of(body)

    class Elements(HTMLParser):
        def __init__(self):
            super().__init__()
            self.found = []

        def handle_starttag(self, tag, attrs):
            self.found.append((tag, dict(attrs)))

    parser = Elements()
    parser.feed(body)
    assert not [a for _, attrs in parser.found for a in attrs if a.startswith("on")]
    assert not [tag for tag, attrs in parser.found if tag == "img"]
    assert CSP in body and "default-src 'none'" in CSP and "script-src" not in CSP
