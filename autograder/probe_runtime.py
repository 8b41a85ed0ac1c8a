"""Kernel side of judged grading: run an exercise's probe and send what it observed.

This module runs inside the student's kernel. It holds no reference, tolerance or verdict:
whatever a student does to it can only change what is *observed*, never how it is judged
(that happens in the grader, see ``autograder.checks``). The grader installs the session's
probes with ``install(source)`` in a first cell, then each hidden test cell is replaced by
``run(exercise, seed)``, which calls the probe on the notebook's globals and displays exactly
one message of type ``MIME``, whatever the student's code raises (``BaseException`` included),
with the ``display`` taken when the probes were installed:

    {"exercise": name, "seed": seed, "obs": <observations>}      the probe ran to its end
    {"exercise": name, "seed": seed, "error": {type, what, message}}  the student's code failed

Observations are JSON values; tensors and arrays travel as raw bytes with their dtype and
shape (``encode``), never pickled.
"""

from __future__ import annotations

import base64
import math
import signal
import sys
import threading
import types
import zlib

MIME = "application/vnd.deepcourse.observation+json"
MODULE = "deepcourse_probes"  # the module that holds the session's probes inside the kernel
DTYPES = ("float64", "float32", "int64", "int32", "uint8", "bool")  # what arrays travel as
MAX_TEXT = 300  # characters of a student's error message that are kept


class StudentError(Exception):
    """The student's code cannot be probed: the message says why, in words."""

    def __init__(self, message: str, what: str = "", kind: str = "StudentError"):
        super().__init__(message)
        self.what, self.kind = what, kind


class _TimeUp(BaseException):
    """Raised inside student code when a probe's time limit runs out."""


def exercise_seed(seed: int, exercise: str) -> int:
    """The seed of one exercise: the submission's seed mixed with the exercise's name."""
    return (seed ^ zlib.crc32(exercise.encode())) % 2**31


def call(what: str, fn, *args, limit_s: float = 10, **kwargs):
    """``fn(*args, **kwargs)`` for the student's ``fn``, bounded in time.

    Any exception ends the probe as a ``StudentError`` that names ``what`` was called. The
    limit uses SIGALRM, so it applies in the main thread (a kernel, pytest); elsewhere ``fn``
    simply runs.
    """
    try:
        if threading.current_thread() is not threading.main_thread():
            return fn(*args, **kwargs)

        def alarm(_signum, _frame):
            raise _TimeUp

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, limit_s)
        try:
            return fn(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    except _TimeUp:
        raise StudentError(f"did not finish within {limit_s:g} s (an endless loop?)", what,
                           "timeout") from None
    except StudentError:
        raise
    except BaseException as exc:  # the student's bug (or SystemExit...): observed, then judged
        raise StudentError(str(exc), what, type(exc).__name__) from None


def need(ns: dict, *names: str):
    """The notebook's objects ``names``, or a StudentError naming the first one missing."""
    missing = [n for n in names if n not in ns]
    if missing:
        raise StudentError(f"{missing[0]} is not defined: run the cell that defines it",
                           "", "NameError")
    values = tuple(ns[n] for n in names)
    return values[0] if len(values) == 1 else values


def encode(value, _depth: int = 0):
    """A JSON-able copy of an observation; tensors and arrays as {"__array__": [dtype, shape, b64]}."""
    if _depth > 32:
        raise StudentError("an observation is nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else {"__float__": repr(float(value))}
    if isinstance(value, dict):
        return {str(k): encode(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v, _depth + 1) for v in value]
    array = _as_numpy(value)
    if array is not None:
        return {"__array__": [array.dtype.name, list(array.shape),
                              base64.b64encode(array.tobytes()).decode("ascii")]}
    return {"__type__": type(value).__name__}  # the judge says what was expected instead


def _as_numpy(value):
    """A C-contiguous numpy array of one of DTYPES, or None if ``value`` is no array."""
    np = sys.modules.get("numpy")
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        value = value.detach().to("cpu")
        if value.dtype in (torch.float16, torch.bfloat16):
            value = value.float()
        elif value.is_complex():
            return None
        value = value.contiguous().numpy()
    if np is None or not isinstance(value, np.ndarray):
        return None
    if value.dtype.name not in DTYPES:
        kind = value.dtype.kind
        target = {"f": "float64", "i": "int64", "u": "int64", "b": "bool"}.get(kind)
        if target is None:
            return None
        value = value.astype(target)
    return np.ascontiguousarray(value)


def observe(probe, ns: dict, seed: int) -> dict:
    """Run ``probe(ns, seed)``: {"obs": encoded observations} or {"error": {...}}."""
    try:
        return {"obs": encode(probe(ns, seed))}
    except StudentError as exc:
        return {"error": {"type": exc.kind, "what": exc.what, "message": _text(exc)}}
    except BaseException as exc:  # tripped over the student's objects, or their SystemExit...
        return {"error": {"type": _text(type(exc).__name__), "what": "",
                          "message": _text(exc)}}


def _text(value) -> str:
    """``str(value)`` cut to MAX_TEXT, or a placeholder when the student's ``__str__`` fails."""
    try:
        return str(value)[:MAX_TEXT]
    except BaseException:
        return "(a message that could not be read)"


def install(source: str) -> types.ModuleType:
    """Make the session's probes (their source, as the grader ships it) importable as MODULE.

    Runs before any student code, and keeps IPython's ``display`` as it is then as the one
    ``send`` of every probe cell, so that a notebook that replaces ``display`` or the
    module's attributes (by mistake or not) does not silence its own probes.
    """
    global _send
    from IPython.display import display

    module = types.ModuleType(MODULE)
    exec(compile(source, f"<{MODULE}>", "exec"), module.__dict__)
    sys.modules[MODULE] = module
    _send = display
    return module


_send = None  # IPython's display, as install() found it before any student code ran


def run(exercise: str, seed: int) -> None:
    """Probe ``exercise`` on the notebook's globals and display the observation (grader cells)."""
    from IPython import get_ipython

    send = _send  # taken before the probe runs: student code cannot swap it half-way
    try:
        result = observe(sys.modules[MODULE].PROBES[exercise], get_ipython().user_ns, seed)
    except BaseException as exc:  # the probes themselves were replaced or removed
        result = {"error": {"type": "StudentError", "what": "",
                            "message": f"the probes could not run ({_text(type(exc).__name__)})"}}
    send({MIME: {"exercise": exercise, "seed": seed, **result},
          "text/plain": f"(observations of {exercise!r} sent to the grader)"}, raw=True)
