"""notebooks/ is generated from solutions/ and never leaks solutions or hidden tests."""

import shutil

import nbformat

from autograder.paths import NOTEBOOKS_DIR, REPO_ROOT, session_ids, source_notebook
from autograder.release import check_release, leaks, secret_lines


def test_notebooks_are_fresh_and_clean():
    assert check_release() == []


def test_every_session_is_released_with_a_generated_header():
    for sid in session_ids():
        nb = nbformat.read(NOTEBOOKS_DIR / sid / source_notebook(sid).name, as_version=4)
        assert "Generated student notebook" in nb.cells[0].source
        assert all(not cell.get("outputs") for cell in nb.cells), "released with outputs"


def test_source_notebooks_are_committed_without_outputs():
    for sid in session_ids():
        nb = nbformat.read(source_notebook(sid), as_version=4)
        assert all(not cell.get("outputs") and cell.get("execution_count") is None
                   for cell in nb.cells if cell.cell_type == "code"), sid


def test_leak_check_catches_a_solution_in_the_release(tmp_path):
    sid = session_ids()[0]
    source = source_notebook(sid)
    assert len(secret_lines(source)) > 10
    planted = REPO_ROOT / "build" / "leaktest" / source.name
    planted.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, planted)
    try:
        problems = leaks(source, planted)
    finally:
        shutil.rmtree(planted.parent)
    assert any("BEGIN HIDDEN TESTS" in p for p in problems)
    assert any("solution or hidden-test code" in p for p in problems)


def test_stale_release_is_reported(monkeypatch):
    copy = REPO_ROOT / "build" / "stale-notebooks"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(NOTEBOOKS_DIR, copy)
    monkeypatch.setattr("autograder.release.NOTEBOOKS_DIR", copy)
    sid = session_ids()[0]
    path = copy / sid / source_notebook(sid).name
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source += "\nhand edit"
    nbformat.write(nb, path)
    try:
        problems = check_release()
    finally:
        shutil.rmtree(copy)
    assert any("stale" in p and sid in p for p in problems), problems
