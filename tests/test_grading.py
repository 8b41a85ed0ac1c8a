"""The grader grades: every solution scores 4, every blank release 0, and the caps apply.

These tests execute notebooks through the real nbgrader autograde pipeline (marked slow).
"""

import nbformat
import pytest

from autograder.examples import EXAMPLES, fill, solution_notebook, timestamp, write_examples
from autograder.grade import grade_folder
from autograder.paths import session_ids, source_notebook
from autograder.results import COLUMNS, read_csv

pytestmark = pytest.mark.slow
EXPECTED = {ex.student: ex for ex in EXAMPLES}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    printed = []
    rows = grade_folder(write_examples(out / "submissions"), out / "grades.csv",
                        feedback=out / "feedback", echo=printed.append)
    return {(r.student, r.session): r for r in rows}, out / "grades.csv", "\n".join(printed)


@pytest.mark.parametrize("session", session_ids())
def test_solution_scores_4_with_full_points(demo, session):
    row = demo[0][("alice", session)]
    assert (row.score, row.status, row.reasons) == (4, "graded", []), row.reasons
    assert row.points == row.max_points > 0


@pytest.mark.parametrize("session", session_ids())
def test_blank_release_scores_0(demo, session):
    row = demo[0][("carol", session)]
    assert (row.score, row.points) == (0, 0)
    assert any("not implemented yet" in r for r in row.reasons)


@pytest.mark.parametrize("session", session_ids())
def test_partial_scores_between(demo, session):
    row = demo[0][("bob", session)]
    assert 0 < row.points < row.max_points, row.reasons


@pytest.mark.parametrize("session", session_ids())
def test_late_complete_is_capped_at_1(demo, session):
    row = demo[0][("dave", session)]
    assert (row.raw_score, row.score, row.late) == (4, 1, True)
    assert any(r.startswith("late:") for r in row.reasons)


@pytest.mark.parametrize("session", session_ids())
def test_broken_json_gets_its_row_and_reason(demo, session):
    row = demo[0][("erin", session)]
    assert (row.score, row.status) == (0, "error")
    assert "not a readable notebook" in "; ".join(row.reasons)


def test_expected_demo_scores_for_session_1(demo):
    scores = {s: demo[0][(s, "01_micrograd")].score for s in EXPECTED}
    assert scores == {s: ex.expected_score for s, ex in EXPECTED.items()}


def test_csv_and_table(demo):
    rows, csv_path, printed = demo
    written = read_csv(csv_path)
    assert list(written[0]) == COLUMNS
    assert len(written) == len(rows) == len(EXAMPLES) * len(session_ids())
    assert "alice" in printed and "score" in printed.splitlines()[0]


def test_feedback_files_say_what_failed_without_test_code(demo):
    folder = demo[1].parent / "feedback"
    bob = (folder / "bob" / "01_micrograd.md").read_text()
    assert bob.startswith("# 01_micrograd — micrograd: 2 / 4")
    assert "| nn | 0 / 3 | MLP(3, [4, 4, 1]): not implemented yet |" in bob
    assert "| value_ops | 3 / 3 | passed |" in bob
    dave = (folder / "dave" / "01_micrograd.md").read_text()
    assert "- late: submitted" in dave
    every = " ".join(p.read_text() for p in folder.rglob("*.md"))
    assert "judge_" not in every and "HIDDEN" not in every and "def " not in every


def _submit(root, student, session, nb):
    folder = root / student / session
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / source_notebook(session).name)
    (folder / "timestamp.txt").write_text(timestamp(session, late=False) + "\n")


def _mutated_solution(session, grade_id, old, new):
    nb = fill(session, None)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    return nb


@pytest.fixture(scope="module")
def micrograd_batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("mutants")
    s = "01_micrograd"
    _submit(root, "tanhbug", s, _mutated_solution(
        s, "value_class", "self.grad += (1 - t ** 2) * out.grad",
        "self.grad += (1 - self.data ** 2) * out.grad"))
    _submit(root, "noreset", s, _mutated_solution(
        s, "train_step", "        p.grad = 0.0\n", "        pass\n"))
    # a correct answer whose code writes warnings to stderr inside the test cells
    _submit(root, "warns", s, _mutated_solution(
        s, "value_class", "        out = Value(self.data + other.data, (self, other), \"+\")\n",
        "        import warnings, sys\n        warnings.warn('harmless', UserWarning)\n"
        "        print('noise', file=sys.stderr)\n"
        "        out = Value(self.data + other.data, (self, other), \"+\")\n"))
    # a correct answer under another file name
    _submit(root, "renamed", s, fill(s, None))
    (root / "renamed" / s / source_notebook(s).name).rename(
        root / "renamed" / s / "my_micrograd_final.ipynb")
    rows = grade_folder(root, root / "grades.csv", echo=lambda *_: None)
    return {r.student: r for r in rows}


def _lost(row):
    return {c.exercise for c in row.cells if not c.passed}


def test_wrong_tanh_gradient_loses_activations(micrograd_batch):
    row = micrograd_batch["tanhbug"]
    # the visible backward test and the training step use tanh too; nothing else may be lost
    assert "activations" in _lost(row) <= {"activations", "backward", "train_step"}, row.reasons
    assert row.points >= 12
    assert any(r.startswith("exercise activations:") and "tanh" in r for r in row.reasons)


def test_gradients_never_reset_lose_train_step(micrograd_batch):
    assert "train_step" in _lost(micrograd_batch["noreset"])


def test_stderr_noise_costs_nothing(micrograd_batch):
    row = micrograd_batch["warns"]
    assert row.score == 4 and row.points == row.max_points, row.reasons


def test_renamed_notebook_is_graded_and_noted(micrograd_batch):
    row = micrograd_batch["renamed"]
    assert row.score == 4
    assert any("graded as 'micrograd.ipynb'" in r for r in row.reasons)


def test_feedback_never_shows_hidden_test_code(micrograd_batch, demo):
    text = " ".join("; ".join(r.reasons) for r in micrograd_batch.values())
    text += " ".join("; ".join(r.reasons) for r in demo[0].values())
    assert "judge_" not in text and "BEGIN HIDDEN" not in text and "def " not in text


def test_solution_notebook_has_no_outputs_to_trust():
    nb = solution_notebook(session_ids()[0])
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
