"""The names data set loads, and a missing or corrupt file says where it looked and what to do."""

import pytest

from deepcourse.datafiles import DataError, sha256
from deepcourse.names import NAMES_COUNT, NAMES_PATH, NAMES_SHA256, load_words


def test_committed_file_matches_its_checksum_and_count():
    assert sha256(NAMES_PATH) == NAMES_SHA256
    words = load_words()
    assert len(words) == NAMES_COUNT == len(set(words))
    assert all(w.isascii() and w.isalpha() and w.islower() for w in words)
    assert words[:3] == ["james", "john", "robert"]  # census rank order


def test_missing_file_names_the_path_and_the_fix(tmp_path):
    path = tmp_path / "names.txt"
    with pytest.raises(DataError, match="looked for .*names.txt.*prepare.py"):
        load_words(path)


def test_corrupt_default_file_is_refused(monkeypatch, tmp_path):
    bad = tmp_path / "names.txt"
    bad.write_text("alice\nbob\n")
    monkeypatch.setattr("deepcourse.names.NAMES_PATH", bad)
    with pytest.raises(DataError, match="corrupt or out of date.*prepare.py"):
        load_words(bad)


def test_non_name_lines_are_refused(tmp_path):
    bad = tmp_path / "names.txt"
    bad.write_text("alice\nBob-2\n")
    with pytest.raises(DataError, match="'Bob-2' is not a lowercase"):
        load_words(bad)
