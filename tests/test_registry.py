"""One place per exercise: the checks registry, the notebooks and grading_config.py agree."""

import ast
import importlib

import nbformat
import pytest

from autograder import checks
from autograder.notebook_info import exercises as notebook_exercises
from autograder.paths import session_ids, source_notebook
from autograder.policy import load_policy
from autograder.prepare import is_test_cell, judged_exercise


@pytest.mark.parametrize("session", session_ids())
def test_registry_matches_the_notebook(session):
    assert set(checks.exercises(session)) == set(notebook_exercises(session))


@pytest.mark.parametrize("session", session_ids())
def test_each_exercise_is_judged_in_exactly_one_hidden_cell(session):
    nb = nbformat.read(source_notebook(session), as_version=4)
    judged = [judged_exercise(c) for c in nb.cells if is_test_cell(c)]
    found = [j for j in judged if j is not None]
    assert all(s == session for s, _ in found), found
    names = [name for _, name in found]
    assert sorted(names) == sorted(checks.exercises(session)), names


@pytest.mark.parametrize("session", session_ids())
def test_starred_exercises_are_registered(session):
    starred = set(load_policy().sessions[session].starred)
    assert starred <= set(checks.exercises(session)), starred - set(checks.exercises(session))


@pytest.mark.parametrize("session", session_ids())
def test_kernel_source_holds_probes_and_no_judge(session):
    source = checks.kernel_source(session)
    tree = ast.parse(source)
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    module = checks.modules()[session]
    judges = {fn.__name__ for fn in vars(module).values() if hasattr(fn, "_deepcourse_judge")}
    assert defined and not defined & judges
    assert "autograder.checks" not in source
    namespace = {}
    exec(compile(source, "<probes>", "exec"), namespace)
    assert set(namespace["PROBES"]) == set(checks.exercises(session))


@pytest.mark.parametrize("session", session_ids())
def test_every_exercise_has_two_caught_mistakes(session):
    """Each session's check tests plant at least two mistakes per exercise (MISTAKES)."""
    module = checks.modules()[session]
    tests = importlib.import_module(f"tests.test_checks_{module.__name__.rsplit('.', 1)[1]}")
    counts = {}
    for exercise, *_ in tests.MISTAKES:
        counts[exercise] = counts.get(exercise, 0) + 1
    assert {e: counts.get(e, 0) for e in checks.exercises(session)
            if counts.get(e, 0) < 2} == {}


def test_kernel_source_is_built_safely_from_many_threads():
    """Grading threads ask for the same session's probes at once (an ast race once held rows)."""
    import threading

    checks.kernel_source.cache_clear()
    results, errors = [], []

    def build():
        try:
            results.append([checks.kernel_source(s) for s in session_ids()])
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and all(r == results[0] for r in results)
