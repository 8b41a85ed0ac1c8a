"""Checked access to data files: checksums, clear errors, and downloads for students."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path


class DataError(RuntimeError):
    """A data file is missing or corrupt; the message says where we looked and how to fix it."""


def sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(path: Path | str, expected_sha256: str, how_to_build: str) -> Path:
    """``path`` if it exists with the expected checksum, else a DataError saying what to do."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file not found: looked for {path}. {how_to_build}")
    actual = sha256(path)
    if actual != expected_sha256:
        raise DataError(f"data file {path} is corrupt or out of date (sha256 {actual[:12]}…, "
                        f"expected {expected_sha256[:12]}…). {how_to_build}")
    return path


def download(url: str, dest: Path | str, expected_sha256: str, timeout: float = 60,
             digest=sha256) -> Path:
    """Fetch ``url`` into ``dest`` (atomically), verifying its checksum; skip if already there.

    ``digest(path)`` computes the checksum compared with ``expected_sha256`` (by default the
    file's sha256; ``deepcourse.idx.content_sha256`` checks a gzip's content instead).
    """
    dest = Path(dest)
    if dest.is_file() and _digest_or_none(digest, dest) == expected_sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out)
        actual = _digest_or_none(digest, tmp)
        if actual != expected_sha256:
            raise DataError(f"download of {url} has sha256 {actual}, expected {expected_sha256}")
        os.replace(tmp, dest)
    except OSError as exc:
        raise DataError(f"could not download {url} to {dest}: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest


def _digest_or_none(digest, path) -> str | None:
    try:
        return digest(path)
    except DataError:  # not even readable as what the digest expects (an HTML error page...)
        return None


def download_any(mirrors, name: str, folder: Path | str, expected_sha256: str,
                 digest=sha256) -> Path:
    """``folder/name`` fetched from the first of ``mirrors`` (base URLs) giving the checksum."""
    errors = []
    for base in mirrors:
        try:
            return download(base.rstrip("/") + "/" + name, Path(folder) / name,
                            expected_sha256, digest=digest)
        except DataError as exc:
            errors.append(str(exc))
    raise DataError(f"could not get {name} into {folder} from any mirror: " + " | ".join(errors))
