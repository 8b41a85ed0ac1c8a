"""The student's self-check: the last cell of a released notebook lists what passes."""

import os
import re

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.examples import fill
from autograder.paths import NOTEBOOKS_DIR, source_notebook
from deepcourse.selfcheck import CAVEAT, SelfCheckError, checklist, exercise_titles
from tests.notebook_exec import namespace

SESSION = "01_micrograd"


def released(session):
    return NOTEBOOKS_DIR / session / source_notebook(session).name


def run_in_kernel(nb, folder, monkeypatch):
    """Run a whole notebook in a kernel started in ``folder`` (fast mode); the self-check's text."""
    path = folder / "student.ipynb"
    nbformat.write(nb, path)
    monkeypatch.setenv("DEEPCOURSE_FAST", "1")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    NotebookClient(nb, timeout=300, allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    (output,) = nb.cells[-2].outputs
    assert output.output_type == "execute_result", output
    return output.data["text/plain"]


@pytest.mark.slow
def test_checklist_on_a_solved_notebook(tmp_path, monkeypatch):
    text = run_in_kernel(fill(SESSION, None), tmp_path, monkeypatch)
    nb = nbformat.read(released(SESSION), as_version=4)
    exercises, titles = nb.metadata["deepcourse"]["exercises"], exercise_titles(nb)
    for ex in exercises:
        assert f"[x] {titles[ex['tests'][0]]}" in text, text
    total = sum(ex["points"] for ex in exercises)
    assert f"pass for {len(exercises)} of {len(exercises)} exercises ({total} of {total} points)" in text
    assert "4 of 4" in text and text.endswith(CAVEAT)


@pytest.mark.slow
def test_checklist_on_a_blank_notebook_marks_the_required_exercises(tmp_path, monkeypatch):
    session = "03_backprop"
    text = run_in_kernel(nbformat.read(released(session), as_version=4), tmp_path, monkeypatch)
    assert "[x]" not in text, text
    assert "[ ] Exercise 5 — the session-2 MLP with `torch.nn` (*)" in text, text
    assert "[ ] Exercise 7 — `BatchNorm1d` by hand (*)" in text
    assert "[ ] Exercise 1 — backpropagate through every line  " in text, "no star: not required"
    assert "Required (*): 0 of 3 pass" in text
    assert "0 of 4" in text and "hidden tests" in text


def test_checklist_reports_each_exercise_with_its_message():
    """In-process: a planted mistake fails with its visible test's message, an exercise whose
    code never ran is 'not run', the right answers pass."""
    ns = namespace(SESSION, mutations={"value_class": [
        ("Value(self.data + other.data, (self, other), \"+\")",
         "Value(self.data - other.data, (self, other), \"+\")")]},
        stop_before="nn", solutions_only=True)
    ns.pop("MLP", None)
    result = checklist(released(SESSION), namespace=ns)
    status = {item.exercise: item for item in result.items}
    assert status["value_ops"].status == "fail"
    assert "a + b" in status["value_ops"].message, status["value_ops"].message
    assert status["finite_diff"].status == "pass"
    assert status["nn"].status == "not run" and "MLP" in status["nn"].message
    text = str(result)
    assert "[ ] Exercise 1 — forward operations" in text, text
    assert status["finite_diff"].title in text and f"[x] {status['finite_diff'].title}" in text
    assert status["finite_diff"].title.startswith("Exercise ")
    assert re.search(rf"\[x\] {re.escape(status['finite_diff'].title)} +"
                     rf"{status['finite_diff'].points} pts +visible tests pass", text), text


def test_checklist_does_nothing_under_the_grader(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert "skipped" in checklist(released(SESSION), namespace={})


def test_checklist_says_which_notebook_it_needs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    with pytest.raises(SelfCheckError, match="pass its file name"):
        checklist(namespace={})
    plain = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), plain)
    with pytest.raises(SelfCheckError, match="not a released course notebook"):
        checklist(plain, namespace={})
    monkeypatch.setenv("JPY_SESSION_NAME", os.fspath(released(SESSION)))
    assert checklist(namespace={}).title.startswith(f"Self-check of {released(SESSION).name}")


def test_checklist_estimates_the_score_from_the_points_that_pass():
    """The estimate is the policy's: passing points scaled to 0-4, half up, capped at 2 while a
    required (*) exercise fails."""
    from deepcourse.selfcheck import Checklist, Item

    def items(*spec):
        return tuple(Item(f"e{i}", starred, points, status, title=f"Exercise {i} — e")
                     for i, (starred, points, status) in enumerate(spec, 1))

    assert Checklist("t", items((False, 3, "pass"), (False, 5, "fail"))).estimate() == (3, 8, 2)
    assert Checklist("t", items((False, 7, "pass"), (False, 1, "fail"))).estimate() == (7, 8, 4)
    capped = Checklist("t", items((False, 7, "pass"), (True, 1, "fail")))
    assert capped.estimate() == (7, 8, 2)
    assert "2 of 4" in str(capped) and "Exercise 2 — e (*)" in str(capped)
    assert str(capped).endswith(CAVEAT) and "decide the final points" in CAVEAT
