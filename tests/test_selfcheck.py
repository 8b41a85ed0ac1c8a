"""The student's self-check: the last cell of a released notebook lists what passes."""

import os

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.examples import fill
from autograder.paths import NOTEBOOKS_DIR, source_notebook
from deepcourse.selfcheck import CAVEAT, SelfCheckError, checklist
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
    exercises = nbformat.read(released(SESSION), as_version=4).metadata["deepcourse"]["exercises"]
    for ex in exercises:
        assert f"[x] {ex['name']}" in text, text
    assert f"pass for {len(exercises)} of {len(exercises)} exercises" in text
    assert text.endswith(CAVEAT)


@pytest.mark.slow
def test_checklist_on_a_blank_notebook_marks_the_required_exercises(tmp_path, monkeypatch):
    session = "03_backprop"
    text = run_in_kernel(nbformat.read(released(session), as_version=4), tmp_path, monkeypatch)
    assert "[x]" not in text, text
    assert "[ ] mlp_torch (*)" in text and "[ ] batchnorm (*)" in text
    assert "[ ] manual_backprop " in text, "exercises not required carry no star"
    assert "Required (*): 0 of 3 pass" in text
    assert "hidden tests" in text


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
    assert "[ ] value_ops" in str(result) and "[x] finite_diff" in str(result)


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
