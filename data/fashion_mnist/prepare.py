"""Get the full Fashion-MNIST set, and build the committed subset (data/fashion_mnist/fashion2k-*.gz).

``python data/fashion_mnist/prepare.py --full`` finds the full set (data/fashion_mnist/full/,
then /usr/share/datasets/fashion-mnist/ of Debian's ``dataset-fashion-mnist``) or downloads
it into data/fashion_mnist/full/, and verifies it (``make data`` runs this).

``python data/fashion_mnist/prepare.py`` (idempotent) writes the subset from the full set: for
each class, SUBSET_PER_CLASS images drawn without replacement by ``random.Random("<split>-<k>")``
among that class's images of the same split, then the split shuffled by
``random.Random("<split>")``, written as gzipped IDX files (no name, mtime 0).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

import torch  # noqa: E402

from deepcourse import fashion_mnist as fm  # noqa: E402
from deepcourse.idx import gzip_bytes, idx_bytes  # noqa: E402


def subset_indices(labels: torch.Tensor, split: str) -> list[int]:
    """Indices into the full ``split``: SUBSET_PER_CLASS per class, in a seeded order."""
    chosen = []
    for k in range(len(fm.CLASSES)):
        of_class = (labels == k).nonzero().flatten().tolist()
        chosen += random.Random(f"{split}-{k}").sample(of_class, fm.SUBSET_PER_CLASS[split])
    random.Random(split).shuffle(chosen)
    return chosen


def write_subset(folder: Path = HERE, full_folders=None) -> dict[str, str]:
    """Write the four subset files into ``folder``; {file name: sha256 of its IDX content}."""
    import hashlib

    sums = {}
    for split in fm.SPLITS:
        images, labels = fm.load_fashion_mnist(split, folders=full_folders)
        keep = torch.tensor(subset_indices(labels, split))
        image_name, label_name = fm.SUBSET_FILES[split]
        for name, array in ((image_name, images[keep]), (label_name, labels[keep].to(torch.uint8))):
            raw = idx_bytes(array)
            (folder / name).write_bytes(gzip_bytes(raw))
            sums[name] = hashlib.sha256(raw).hexdigest()
    return sums


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help="find or download the full set and verify it (make data)")
    args = parser.parse_args()
    if args.full:
        for split in fm.SPLITS:
            folder = fm.find_full(split, download=True)
            images, _ = fm.load_fashion_mnist(split, folders=[folder])
            print(f"ok {split}: {len(images)} images in {folder}")
        return
    for name, digest in write_subset().items():
        print(f"wrote {HERE / name} (IDX content sha256 {digest})")


if __name__ == "__main__":
    main()
