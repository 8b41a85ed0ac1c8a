"""Grader side of the observation format: strict decoding of what a probe sent.

A kernel is hostile, so everything it sends is checked before use: the message's shape, the
size of every array (its bytes must match its dtype and shape), the nesting depth and the
total size. Arrays become CPU torch tensors, rebuilt from raw bytes (never unpickled).
"""

from __future__ import annotations

import base64
import binascii
import math

import numpy as np
import torch

from autograder.probe_runtime import DTYPES, MAX_TEXT
from autograder.safe_text import safe

MAX_ARRAY_BYTES = 16 * 2**20  # all arrays of one observation together
MAX_DEPTH = 32


class Malformed(ValueError):
    """An observation that does not follow the format: it earns nothing."""


def decode(value, _budget: list[int] | None = None, _depth: int = 0):
    """The observation with arrays as tensors and non-finite floats restored."""
    budget = _budget if _budget is not None else [MAX_ARRAY_BYTES]
    if _depth > MAX_DEPTH:
        raise Malformed("nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [decode(v, budget, _depth + 1) for v in value]
    if not isinstance(value, dict):
        raise Malformed(f"unexpected {type(value).__name__}")
    if set(value) == {"__array__"}:
        return _array(value["__array__"], budget)
    if set(value) == {"__float__"}:
        text = value["__float__"]
        if text not in ("nan", "inf", "-inf"):
            raise Malformed("bad special float")
        return float(text)
    if set(value) == {"__type__"}:
        return Opaque(safe(value["__type__"], 80) or "?")
    return {str(k): decode(v, budget, _depth + 1) for k, v in value.items()}


class Opaque:
    """A value the probe could not encode (a student's object): only its type name is known."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name}>"


def _array(spec, budget: list[int]) -> torch.Tensor:
    if not (isinstance(spec, list) and len(spec) == 3):
        raise Malformed("bad array")
    dtype, shape, data = spec
    if dtype not in DTYPES or not isinstance(shape, list) or not isinstance(data, str):
        raise Malformed("bad array header")
    if len(shape) > 8 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                 for n in shape):
        raise Malformed("bad array shape")
    expected = math.prod(shape) * np.dtype(dtype).itemsize
    if expected > budget[0] or len(data) > 4 * (budget[0] // 3 + 1):
        raise Malformed("arrays too large")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise Malformed("bad array data") from None
    if len(raw) != expected:
        raise Malformed("array data does not match its shape")
    budget[0] -= expected
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    return torch.from_numpy(array)


def error_message(error) -> str:
    """The student's message for a probe that ended in an error (student text quoted, cut)."""
    if not isinstance(error, dict):
        raise Malformed("bad error")
    kind, what, text = (safe(error.get(k), n) for k, n in
                        (("type", 60), ("what", 120), ("message", MAX_TEXT)))
    where = f"{what}: " if what else ""
    if kind == "NotImplementedError":
        return f"{where}not implemented yet"
    if kind == "timeout":
        return f"{where}did not finish in time (an endless loop?)"
    if kind in ("StudentError", "NameError"):  # written by the probe, about the student's code
        return f"{where}{text}"
    return f"{where}your code raised {kind}: “{text}”"

