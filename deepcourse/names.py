"""The first-names data set of sessions 2 and 3 (see data/names/README.md)."""

from __future__ import annotations

from pathlib import Path

from deepcourse.datafiles import DataError, verified
from deepcourse.env import DATA_DIR

NAMES_PATH = DATA_DIR / "names" / "names.txt"
NAMES_SHA256 = "05c64edf4dcb96a481586bcc1f0ec0d6cef4c24f000a255981b823f18ec2b442"
NAMES_COUNT = 5163
_REBUILD = "Rebuild it with `python data/names/prepare.py` (needs PyPI)."


def load_words(path: Path | str = NAMES_PATH) -> list[str]:
    """Every name, lowercase a–z, in the file's stable order. Raises DataError if it is off."""
    path = Path(path)
    if path == NAMES_PATH:
        verified(path, NAMES_SHA256, _REBUILD)
    elif not path.is_file():
        raise DataError(f"names file not found: looked for {path}. {_REBUILD}")
    words = path.read_text(encoding="ascii").split()
    bad = next((w for w in words if not (w.isascii() and w.isalpha() and w.islower())), None)
    if bad is not None:
        raise DataError(f"{path}: {bad!r} is not a lowercase a–z name. {_REBUILD}")
    return words
