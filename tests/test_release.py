"""notebooks/ is generated from solutions/ and never leaks solutions or hidden tests."""

import dataclasses
import shutil

import nbformat

from autograder.paths import NOTEBOOKS_DIR, REPO_ROOT, session_ids, source_notebook
from autograder.policy import load_policy
from autograder.release import check_release, leaks, secret_lines
from autograder.student_notebook import SELF_CHECK_SOURCE, header_text


def test_notebooks_are_fresh_and_clean():
    assert check_release() == []


def test_every_notebook_speaks_to_its_student_first():
    policy = load_policy()
    for sid in session_ids():
        nb = nbformat.read(NOTEBOOKS_DIR / sid / source_notebook(sid).name, as_version=4)
        header = nb.cells[0].source
        session = policy.sessions[sid]
        assert header.startswith(f"> **Your notebook for this session: {session.title}.**")
        assert "do not edit" not in header.lower() and "make release" not in header
        assert "`YOUR CODE HERE`" in header and "visible tests" in header
        assert f"{session.deadline:%A %d %B %Y, %H:%M}" in header, "the session's deadline"
        assert f"0 to {policy.max_score}" in header and "hidden tests" in header
        assert f"at most {policy.late_cap}" in header
        if session.starred:
            assert f"at most {policy.starred_cap}" in header
            assert all(f"`{name}`" in header for name in session.starred)
        # the note for instructors comes last, and in the metadata
        assert "instructors edit that source" in nb.cells[-1].source
        assert f"solutions/{sid}/" in nb.metadata["deepcourse"]["generated"]
        assert nb.cells[-2].source == SELF_CHECK_SOURCE
        assert all(not cell.get("outputs") for cell in nb.cells), "released with outputs"


def test_released_metadata_lists_the_exercises_and_the_starred_ones():
    policy = load_policy()
    for sid in session_ids():
        info = nbformat.read(NOTEBOOKS_DIR / sid / source_notebook(sid).name,
                             as_version=4).metadata["deepcourse"]
        source = nbformat.read(source_notebook(sid), as_version=4)
        tests = [c.metadata["nbgrader"]["grade_id"] for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("grade")]
        assert [t for ex in info["exercises"] for t in ex["tests"]] == tests
        assert {ex["name"] for ex in info["exercises"] if ex["starred"]} == set(
            policy.sessions[sid].starred)
        assert info["session"] == sid
        assert info["deadline"] == policy.sessions[sid].deadline.isoformat()


def test_the_header_follows_grading_config():
    policy = load_policy()
    sid = session_ids()[0]
    later = dataclasses.replace(policy.sessions[sid], starred=("alpha",),
                                deadline=policy.sessions[sid].deadline.replace(day=9, hour=18,
                                                                               minute=30))
    changed = dataclasses.replace(policy, sessions={**policy.sessions, sid: later},
                                  late_cap=0)
    text = header_text(changed, sid)
    assert f"{later.deadline:%A} 09 " in text and "18:30" in text
    assert "`alpha`" in text and "at most 0" in text


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
