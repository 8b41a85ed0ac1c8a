"""Intake reads only regular files of the submission, with one name, never past a bound."""

import os
import stat

import nbformat
import pytest

from autograder import intake
from autograder.examples import fill
from autograder.paths import source_notebook

S1 = "01_micrograd"
NAME = source_notebook(S1).name


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "subs" / "alice" / S1
    path.mkdir(parents=True)
    return path


@pytest.fixture
def host_file(tmp_path):
    """A root-only file outside the submissions folder."""
    path = tmp_path / "host-secret.txt"
    path.write_text("2025-02-05 12:00:00 UTC HOST-SECRET")
    path.chmod(0o600)
    return path


def _solved(path):
    nbformat.write(fill(S1, None), path)


def test_a_plain_submission_is_accepted(folder):
    _solved(folder / NAME)
    (folder / "timestamp.txt").write_text("2025-02-05 12:00:00 UTC\n")
    sub = intake.inspect("alice", S1, folder)
    assert (sub.fatal, sub.notes, sub.notebook) == ("", [], folder / NAME)
    assert sub.submitted_at.isoformat() == "2025-02-05T12:00:00+00:00"


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo", "device"])
def test_a_notebook_that_is_not_a_plain_file_is_refused_unread(folder, tmp_path, kind):
    target = tmp_path / "elsewhere.ipynb"
    _solved(target)
    path = folder / NAME
    if kind == "symlink":
        path.symlink_to(target)
    elif kind == "hardlink":
        os.link(target, path)
    elif kind == "fifo":
        os.mkfifo(path)  # an open() without O_NONBLOCK would wait forever
    else:
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(1, 5))  # /dev/zero: endless
    sub = intake.inspect("alice", S1, folder)
    assert sub.notebook is None and "only a regular file is graded" in sub.fatal, sub


def test_a_linked_notebook_under_another_name_is_not_graded_either(folder, tmp_path):
    target = tmp_path / "elsewhere.ipynb"
    _solved(target)
    (folder / "mine.ipynb").symlink_to(target)
    sub = intake.inspect("alice", S1, folder)
    assert sub.notebook is None and "not found" in sub.fatal
    assert any("symbolic link" in n for n in sub.notes)


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo"])
def test_a_timestamp_that_is_not_a_plain_file_is_not_read(folder, host_file, kind):
    _solved(folder / NAME)
    path = folder / "timestamp.txt"
    {"symlink": lambda: path.symlink_to(host_file), "hardlink": lambda: os.link(host_file, path),
     "fifo": lambda: os.mkfifo(path)}[kind]()
    sub = intake.inspect("alice", S1, folder)
    assert sub.submitted_at is None and sub.notebook is not None
    assert "not read" in " ".join(sub.notes) and "HOST-SECRET" not in " ".join(sub.notes)


def test_a_huge_or_odd_timestamp_is_read_only_so_far_and_quoted_safely(folder):
    _solved(folder / NAME)
    (folder / "timestamp.txt").write_bytes(b"\x00\xff\x1b[2J" + b"9" * 2**20)
    sub = intake.inspect("alice", S1, folder)
    assert sub.submitted_at is None
    (note,) = sub.notes
    assert note.isprintable() and len(note) < 200 and "could not be read" in note


def test_read_bytes_stops_at_its_bound(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"x" * 10_000)
    assert len(intake.read_bytes(path, 100)) == 101


def test_linked_student_and_session_folders_are_not_followed(tmp_path):
    root = tmp_path / "subs"
    real = tmp_path / "elsewhere" / S1
    real.mkdir(parents=True)
    _solved(real / NAME)
    (root / "bob").mkdir(parents=True)
    (root / "bob" / S1).symlink_to(real)
    (root / "carol").symlink_to(real.parent)
    found = {(s.student, s.session): s for s in intake.discover(root, [S1])}
    assert "symbolic link" in found[("bob", S1)].fatal
    assert "symbolic link" in found[("carol", "-")].fatal
    assert all(s.notebook is None for s in found.values())
