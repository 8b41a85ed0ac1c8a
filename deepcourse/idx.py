"""IDX files (the format of MNIST and Fashion-MNIST): gzip, content checksums, parsing, writing.

An IDX array of unsigned bytes is a 4-byte magic 0x0000080D (D = number of dimensions), D
big-endian 32-bit sizes, then the values in C order. The data sets ship them gzipped; a gzip
written by another tool may differ in its bytes (header, file name, compression), never in its
content, so checksums here are of the decompressed content.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import struct
from pathlib import Path

import torch

from deepcourse.datafiles import DataError


def gunzip(path: Path | str, how_to_fix: str) -> bytes:
    """The decompressed content of ``path``, or a DataError saying what to do."""
    path = Path(path)
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"data file {path} is not a readable gzip file ({exc}). "
                        f"{how_to_fix}") from None


def content_sha256(path: Path | str) -> str:
    """sha256 of a gzipped file's decompressed content (DataError when it is no gzip)."""
    return hashlib.sha256(gunzip(path, "")).hexdigest()


def verified_content(path: Path | str, expected_sha256: str, how_to_fix: str,
                     what: str = "data file") -> bytes:
    """The decompressed content of ``path`` if its sha256 is the expected one, else DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} not found: looked for {path}. {how_to_fix}")
    raw = gunzip(path, how_to_fix)
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected_sha256:
        raise DataError(f"data file {path} is corrupt or out of date (content sha256 "
                        f"{actual[:12]}…, expected {expected_sha256[:12]}…). {how_to_fix}")
    return raw


def parse_idx(raw: bytes, path: Path | str, shape: tuple[int, ...]) -> torch.Tensor:
    """The uint8 tensor of ``shape`` held by the IDX content ``raw`` (read from ``path``)."""
    ndim = len(shape)
    header = 4 + 4 * ndim
    if len(raw) < header or struct.unpack(">I", raw[:4])[0] != 0x0800 + ndim:
        raise DataError(f"{path} is not an IDX file of {ndim}-dimensional unsigned bytes")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    if dims != tuple(shape) or len(raw) != header + math.prod(shape):
        raise DataError(f"{path}: expected an array of shape {tuple(shape)}, found {dims} "
                        f"with {len(raw) - header} bytes of data")
    return torch.frombuffer(bytearray(raw[header:]), dtype=torch.uint8).reshape(shape)


def idx_bytes(array: torch.Tensor) -> bytes:
    """The IDX content of a uint8 tensor (any number of dimensions)."""
    if array.dtype != torch.uint8:
        raise ValueError(f"IDX arrays here are unsigned bytes, got {array.dtype}")
    header = struct.pack(f">I{array.dim()}I", 0x0800 + array.dim(), *array.shape)
    return header + array.contiguous().numpy().tobytes()


def gzip_bytes(raw: bytes) -> bytes:
    """gzip with no file name and mtime 0, so that the same content gives the same file."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(raw)
    return buf.getvalue()
