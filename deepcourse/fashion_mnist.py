"""Fashion-MNIST (Zalando's article images) for session 5, see data/fashion_mnist/README.md.

``load_fashion_mnist(split)`` reads the full set (60,000 training and 10,000 test images),
looking in turn in the repository's data/fashion_mnist/full/ and in the folder where Debian's
package ``dataset-fashion-mnist`` installs it; with ``download=True`` it fetches the canonical
files into data/fashion_mnist/full/ when neither has them. ``subset=True`` reads the small
stratified subset committed under data/fashion_mnist/ instead (offline, for tests and
grading). Either way: images (N, 28, 28) uint8 and labels (N,) int64, every file checked
against the sha256 of its content, or a DataError saying where it looked and what to do.
"""

from __future__ import annotations

from pathlib import Path

import torch

from deepcourse.datafiles import DataError, download_any
from deepcourse.env import DATA_DIR
from deepcourse.idx import content_sha256, parse_idx, verified_content

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")  # label k is CLASSES[k]
SPLITS = ("train", "test")
FOLDER = DATA_DIR / "fashion_mnist"
FULL_DIR = FOLDER / "full"  # where `make data` and download=True put the full set
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist
SEARCH = (FULL_DIR, SYSTEM_DIR)  # looked at in this order

# The full set: Zalando's file names; sha256 of each file's decompressed IDX content (the
# Debian package recompresses the files, so their gzip bytes differ from Zalando's).
FULL_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FULL_SHA256 = {
    "train-images-idx3-ubyte.gz":
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz":
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz":
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz":
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
FULL_SIZES = {"train": 60000, "test": 10000}
MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
_GET_FULL = ("Get it with `make data` (as root on Debian or Ubuntu: `apt-get install "
             "dataset-fashion-mnist`), or `load_fashion_mnist(split, download=True)` "
             "(needs the internet).")

# The committed subset, made by data/fashion_mnist/prepare.py from the full set.
SUBSET_FILES = {
    "train": ("fashion2k-train-images-idx3-ubyte.gz", "fashion2k-train-labels-idx1-ubyte.gz"),
    "test": ("fashion2k-test-images-idx3-ubyte.gz", "fashion2k-test-labels-idx1-ubyte.gz"),
}
SUBSET_SHA256 = {
    "fashion2k-train-images-idx3-ubyte.gz":
        "71899ea4cfac52dab7564a8b50e6c8c8a03957414dfeeebbb5c890a2118fa835",
    "fashion2k-train-labels-idx1-ubyte.gz":
        "0396ed7634f14e550f5e2827c14a783c97448ab49ca976cc54b20c922c181fb6",
    "fashion2k-test-images-idx3-ubyte.gz":
        "984e84ea946943237b46c40bddf9c1098c2cc5994f375f0cf17bd248e10b26a0",
    "fashion2k-test-labels-idx1-ubyte.gz":
        "4d3e111b55ebd64f8d0f12edbbb5ed13552ab7a0ef12b29f933d017aa2e61a0b",
}
SUBSET_PER_CLASS = {"train": 200, "test": 50}
_REBUILD = "Rebuild it with `python data/fashion_mnist/prepare.py` (needs the full set)."


def load_fashion_mnist(split: str = "train", subset: bool = False, download: bool = False,
                       folders=None, mirrors=MIRRORS) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of ``split`` ("train" or "test").

    ``subset=False``: the full set, from the first of ``folders`` (default SEARCH) holding the
    split's two files, downloaded from ``mirrors`` into the first folder when none does and
    ``download`` is true. ``subset=True``: the committed subset in ``folders[0]`` (default
    data/fashion_mnist). Raises DataError when the files are missing or corrupt.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if subset:
        folder = Path(folders[0]) if folders else FOLDER
        names, sums = SUBSET_FILES[split], SUBSET_SHA256
        n, how_to_fix = SUBSET_PER_CLASS[split] * len(CLASSES), _REBUILD
    else:
        folder = find_full(split, folders, download, mirrors)
        names, sums, n, how_to_fix = FULL_FILES[split], FULL_SHA256, FULL_SIZES[split], _GET_FULL
    image_name, label_name = names
    raw = {name: verified_content(folder / name, sums[name], how_to_fix,
                                  "Fashion-MNIST file") for name in names}
    images = parse_idx(raw[image_name], folder / image_name, (n, 28, 28))
    labels = parse_idx(raw[label_name], folder / label_name, (n,))
    if int(labels.max()) >= len(CLASSES):
        raise DataError(f"{folder / label_name}: labels must be 0-{len(CLASSES) - 1}")
    return images, labels.long()


def find_full(split: str, folders=None, download: bool = False, mirrors=MIRRORS) -> Path:
    """The first folder holding the full ``split``'s two files (fetched there if allowed)."""
    folders = [Path(f) for f in (folders or SEARCH)]
    for folder in folders:
        if all((folder / name).is_file() for name in FULL_FILES[split]):
            return folder
    if download:
        download_full(folders[0], mirrors, splits=(split,))
        return folders[0]
    looked = ", ".join(str(f) for f in folders)
    raise DataError(f"the Fashion-MNIST {split} files ({' and '.join(FULL_FILES[split])}) are "
                    f"not in any of: {looked}. {_GET_FULL}")


def download_full(folder: Path | str = FULL_DIR, mirrors=MIRRORS, splits=SPLITS) -> list[Path]:
    """Fetch the canonical files of ``splits`` into ``folder`` (skipping good ones), verified."""
    return [download_any(mirrors, name, folder, FULL_SHA256[name], digest=content_sha256)
            for split in splits for name in FULL_FILES[split]]
