"""The Fashion-MNIST loader: the committed subset, the search order, checksums and messages.

The full set is not needed: folders of small IDX files made on the spot stand in for it, their
content checksums replacing the real ones; downloads use file:// URLs.
"""

import gzip
import hashlib
import importlib.util
import shutil

import pytest
import torch

from deepcourse import fashion_mnist as fm
from deepcourse.datafiles import DataError
from deepcourse.fashion_mnist import load_fashion_mnist
from deepcourse.idx import gzip_bytes, idx_bytes


@pytest.mark.parametrize("split,per_class", [("train", 200), ("test", 50)])
def test_committed_subset_is_stratified(split, per_class):
    images, labels = load_fashion_mnist(split, subset=True)
    assert images.shape == (10 * per_class, 28, 28) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64
    assert torch.bincount(labels, minlength=10).tolist() == [per_class] * 10
    assert images.float().mean() > 40 and images.max() == 255  # real garments, not zeros
    # shuffled: no long run of one class, so a prefix of the subset is stratified too
    assert torch.bincount(labels[:100], minlength=10).min() >= 3


def test_subset_train_and_test_do_not_overlap():
    train, _ = load_fashion_mnist("train", subset=True)
    test, _ = load_fashion_mnist("test", subset=True)
    seen = {bytes(img.flatten().tolist()) for img in train}
    assert not any(bytes(img.flatten().tolist()) in seen for img in test)


def test_unknown_split_is_a_value_error():
    with pytest.raises(ValueError, match="split"):
        load_fashion_mnist("validation", subset=True)


def _copy_subset(tmp_path):
    for names in fm.SUBSET_FILES.values():
        for name in names:
            shutil.copyfile(fm.FOLDER / name, tmp_path / name)
    return tmp_path


def test_corrupt_subset_content_is_detected(tmp_path):
    root = _copy_subset(tmp_path)
    path = root / fm.SUBSET_FILES["train"][0]
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[5000] ^= 0xFF  # one pixel changed
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError) as err:
        load_fashion_mnist("train", subset=True, folders=[root])
    message = str(err.value)
    assert str(path) in message and "corrupt" in message and "prepare.py" in message


def test_missing_subset_file_says_where_it_looked(tmp_path):
    root = _copy_subset(tmp_path)
    missing = root / fm.SUBSET_FILES["test"][1]
    missing.unlink()
    with pytest.raises(DataError) as err:
        load_fashion_mnist("test", subset=True, folders=[root])
    assert str(missing) in str(err.value) and "prepare.py" in str(err.value)


def _fake_full(folder, n=20, gz=gzip_bytes):
    """Tiny full-set look-alikes with Zalando's names; returns {name: content sha256}."""
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for split, offset in (("train", 0), ("test", 3)):
        images_name, labels_name = fm.FULL_FILES[split]
        images = torch.arange(n * 784).reshape(n, 28, 28).add(offset).remainder(256).to(torch.uint8)
        labels = torch.arange(n).remainder(10).to(torch.uint8)
        for name, array in ((images_name, images), (labels_name, labels)):
            raw = idx_bytes(array)
            (folder / name).write_bytes(gz(raw))
            sums[name] = hashlib.sha256(raw).hexdigest()
    return sums


@pytest.fixture
def fake_sums(tmp_path, monkeypatch):
    sums = _fake_full(tmp_path / "zalando")
    monkeypatch.setattr(fm, "FULL_SHA256", sums)
    monkeypatch.setattr(fm, "FULL_SIZES", {"train": 20, "test": 20})
    return sums


def test_full_set_is_searched_in_order(tmp_path, fake_sums):
    repo, system = tmp_path / "repo", tmp_path / "system"
    _fake_full(system, gz=gzip.compress)  # another gzip, same content: accepted
    images, labels = load_fashion_mnist("test", folders=[repo, system])
    assert images.shape == (20, 28, 28) and labels.tolist() == [i % 10 for i in range(20)]
    assert fm.find_full("test", [repo, system]) == system
    _fake_full(repo)
    assert fm.find_full("test", [repo, system]) == repo


def test_nothing_found_says_where_it_looked_and_how_to_get_it(tmp_path, fake_sums):
    folders = [tmp_path / "repo", tmp_path / "system"]
    with pytest.raises(DataError) as err:
        load_fashion_mnist("train", folders=folders)
    message = str(err.value)
    assert all(str(f) in message for f in folders)
    assert "make data" in message and "apt-get install dataset-fashion-mnist" in message
    assert "download=True" in message


def test_corrupt_full_file_is_refused_not_skipped(tmp_path, fake_sums):
    repo, system = tmp_path / "repo", tmp_path / "system"
    _fake_full(repo)
    _fake_full(system)
    bad = repo / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip_bytes(idx_bytes(torch.full((20,), 3, dtype=torch.uint8))))
    with pytest.raises(DataError) as err:
        load_fashion_mnist("test", folders=[repo, system])
    assert str(bad) in str(err.value) and "corrupt" in str(err.value)


def test_full_set_downloads_checked_by_content(tmp_path, fake_sums):
    dest = tmp_path / "full"
    mirrors = ("file:///nonexistent/mirror/", (tmp_path / "zalando").as_uri() + "/")
    images, labels = load_fashion_mnist("test", download=True, folders=[dest, tmp_path / "x"],
                                        mirrors=mirrors)
    assert images.shape == (20, 28, 28) and labels[:3].tolist() == [0, 1, 2]
    assert sorted(p.name for p in dest.iterdir()) == sorted(fm.FULL_FILES["test"])


def test_download_with_a_wrong_checksum_is_refused(tmp_path, fake_sums, monkeypatch):
    monkeypatch.setitem(fm.FULL_SHA256, "t10k-images-idx3-ubyte.gz", "0" * 64)
    dest = tmp_path / "full"
    with pytest.raises(DataError, match="from any mirror") as err:
        load_fashion_mnist("test", download=True, folders=[dest],
                           mirrors=((tmp_path / "zalando").as_uri() + "/",))
    assert "sha256" in str(err.value)
    assert not (dest / "t10k-images-idx3-ubyte.gz").exists()


def test_download_of_an_error_page_is_refused(tmp_path, fake_sums):
    (tmp_path / "zalando" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"<html>404</html>")
    with pytest.raises(DataError, match="t10k-labels"):
        load_fashion_mnist("test", download=True, folders=[tmp_path / "full"],
                           mirrors=((tmp_path / "zalando").as_uri() + "/",))


def _prepare():
    spec = importlib.util.spec_from_file_location("fm_prepare", fm.FOLDER / "prepare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_subset_indices_are_stratified_and_seeded():
    prepare = _prepare()
    labels = torch.arange(600).remainder(10)
    chosen = prepare.subset_indices(labels, "test")
    assert len(chosen) == len(set(chosen)) == 500
    assert torch.bincount(labels[chosen], minlength=10).tolist() == [50] * 10
    assert chosen == prepare.subset_indices(labels, "test")


@pytest.mark.skipif(not all((fm.SYSTEM_DIR / n).is_file() for ns in fm.FULL_FILES.values() for n in ns),
                    reason="the full set (apt-get install dataset-fashion-mnist) is not here")
def test_prepare_rebuilds_the_committed_subset_from_the_full_set(tmp_path):
    sums = _prepare().write_subset(tmp_path, full_folders=[fm.SYSTEM_DIR])
    assert sums == fm.SUBSET_SHA256
