"""Hidden checks as probes and judges: one module per session, one entry per exercise.

An exercise is declared once, in its session's module (``SESSION = "01_micrograd"``), by two
functions side by side::

    @probe("value_ops")            # runs in the student's kernel: calls the student's objects
    def probe_value_ops(ns, seed): # on inputs made from ``seed``, returns plain observations
        ...

    @judge("value_ops")            # runs in the grader only: recomputes the inputs from the
    def judge_value_ops(obs, seed):  # same seed, compares with a reference, raises Fail(msg)
        ...

Functions marked ``@kernel`` (input generators, small helpers) serve both sides. What reaches
the kernel is ``kernel_source(session)``: the module's imports and its ``@kernel`` and
``@probe`` functions, nothing else — no judge, reference, tolerance or secret. docs/authoring.md
walks through adding an exercise.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import json
import pkgutil
import threading
from dataclasses import dataclass
from types import ModuleType

from autograder.probe_runtime import exercise_seed, observe

_KERNEL, _PROBE, _JUDGE = "_deepcourse_kernel", "_deepcourse_probe", "_deepcourse_judge"
# grading threads share these caches; building an entry (imports, ast) is not thread-safe
_BUILD = threading.RLock()


def _built_once(fn):
    """``functools.lru_cache``, with every first computation under one lock."""
    cached = functools.lru_cache(maxsize=None)(fn)

    @functools.wraps(fn)
    def wrapper(*args):
        with _BUILD:
            return cached(*args)
    wrapper.cache_clear = cached.cache_clear
    return wrapper


class Fail(AssertionError):
    """A judge found a wrong answer; the message says what, for the student."""


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str = ""  # for the student; "" when passed


@dataclass(frozen=True)
class Exercise:
    session: str
    name: str
    probe: object  # (ns, seed) -> observations, shipped to the kernel
    judge: object  # (obs, seed) -> None or raise Fail, grader only


# --- declaring --------------------------------------------------------------------------------

def kernel(fn):
    """Ship ``fn`` to the kernel too (an input generator or helper of the probes)."""
    setattr(fn, _KERNEL, True)
    return fn


def probe(name: str):
    """Declare the probe of exercise ``name``: ``fn(ns, seed) -> observations``."""
    def mark(fn):
        setattr(fn, _PROBE, name)
        return fn
    return mark


def judge(name: str):
    """Declare the judge of exercise ``name``: ``fn(obs, seed)``, raising Fail when wrong."""
    def mark(fn):
        setattr(fn, _JUDGE, name)
        return fn
    return mark


# --- finding ----------------------------------------------------------------------------------

@_built_once
def modules() -> dict[str, ModuleType]:
    """Every session's checks module, by session id."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        session = getattr(module, "SESSION", None)
        if session is not None:
            found[session] = module
    return found


@_built_once
def exercises(session: str) -> dict[str, Exercise]:
    """The registered exercises of a session, by name ({} for a session without checks)."""
    module = modules().get(session)
    if module is None:
        return {}
    probes, judges = {}, {}
    for value in vars(module).values():
        if hasattr(value, _PROBE):
            probes[getattr(value, _PROBE)] = value
        if hasattr(value, _JUDGE):
            judges[getattr(value, _JUDGE)] = value
    if set(probes) != set(judges):
        raise RuntimeError(f"{module.__name__}: exercises without a probe or a judge: "
                           f"{sorted(set(probes) ^ set(judges))}")
    return {name: Exercise(session, name, probes[name], judges[name]) for name in probes}


@_built_once
def kernel_source(session: str) -> str:
    """The code shipped to a kernel: imports, ``@kernel`` and ``@probe`` functions, PROBES."""
    module = modules().get(session)
    if module is None:
        return "PROBES = {}\n"
    tree = ast.parse(inspect.getsource(module))
    kept = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith(__name__)):
                kept.append(node)
        elif isinstance(node, ast.FunctionDef) and _shipped(getattr(module, node.name, None)):
            node.decorator_list = []
            kept.append(node)
    probes = ", ".join(f"{getattr(fn, _PROBE)!r}: {fn.__name__}"
                       for fn in vars(module).values() if hasattr(fn, _PROBE))
    body = ast.unparse(ast.Module(body=kept, type_ignores=[]))
    return f"{body}\nPROBES = {{{probes}}}\n"


def _shipped(fn) -> bool:
    return hasattr(fn, _KERNEL) or hasattr(fn, _PROBE)


# --- judging ----------------------------------------------------------------------------------

def verdict(exercise: Exercise, message: dict, seed: int) -> Verdict:
    """Judge one decoded probe message ({"obs": ...} or {"error": ...}) for ``seed``."""
    from autograder.observations import Malformed, decode, error_message

    try:
        if "error" in message:
            return Verdict(False, error_message(message["error"]))
        exercise.judge(decode(message["obs"]), seed)
    except Fail as exc:
        return Verdict(False, str(exc)[:500])
    except Malformed as exc:
        return Verdict(False, f"malformed observation ({exc}): no points")
    except Exception as exc:  # hostile data made the judge trip: fail closed
        return Verdict(False, f"malformed observation ({type(exc).__name__}): no points")
    return Verdict(True)


def run_in_process(session: str, name: str, ns: dict, seed: int = 1234) -> Verdict:
    """Probe and judge ``name`` on ``ns`` here, exactly as shipped and sent (tests, validate)."""
    probes = _shipped_probes(session)
    seed = exercise_seed(seed, name)
    wire = json.loads(json.dumps(observe(probes[name], ns, seed), allow_nan=False))
    return verdict(exercises(session)[name], wire, seed)


@_built_once
def _shipped_probes(session: str) -> dict:
    namespace: dict = {"__name__": "deepcourse_probes"}
    exec(compile(kernel_source(session), "<deepcourse_probes>", "exec"), namespace)
    return namespace["PROBES"]


# --- helpers for judges -----------------------------------------------------------------------

def expect(condition: bool, message: str) -> None:
    """Raise Fail(message) unless condition holds (unlike assert, survives python -O)."""
    if not condition:
        raise Fail(message)


def close(actual, expected: float, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Float comparison with explicit tolerances (never exact equality); False for non-numbers."""
    if isinstance(actual, bool) or not isinstance(actual, (int, float)):
        return False
    return abs(float(actual) - expected) <= atol + rtol * abs(expected)


def number(obs, what: str) -> float:
    """An observed scalar as a float, or Fail saying the student's code gave something else."""
    import torch

    if isinstance(obs, torch.Tensor) and obs.numel() == 1:
        obs = obs.item()
    if isinstance(obs, bool) or not isinstance(obs, (int, float)):
        raise Fail(f"{what} must be a number, got {kind(obs)}")
    return float(obs)


def as_tensor(x, what: str, dtype=None):
    """An observed tensor (in ``dtype`` if given), or Fail if the student's code gave no tensor."""
    import torch

    expect(isinstance(x, torch.Tensor), f"{what} must be a torch tensor, got {kind(x)}")
    return x if dtype is None else x.to(dtype)


def kind(x) -> str:
    """What an observed value is, in words for the student (a student's object by its type)."""
    return repr(x) if type(x).__name__ == "Opaque" else type(x).__name__


def maxdiff(got, want) -> float:
    return (got.double() - want.double()).abs().max().item() if got.numel() else 0.0


def tensors_close(got, want, rtol: float, atol: float) -> bool:
    """Norm-wise closeness: finite, and max |got - want| <= atol + rtol * max |want|."""
    import torch

    scale = want.double().abs().max().item() if want.numel() else 0.0
    return bool(torch.isfinite(got).all()) and maxdiff(got, want) <= atol + rtol * scale


def compare(got, want, what: str, hint: str = "", *, rtol: float, atol: float) -> None:
    """Fail unless ``got`` is a tensor of ``want``'s shape and close to it (no values revealed)."""
    got = as_tensor(got, what)
    expect(tuple(got.shape) == tuple(want.shape),
           f"{what} has shape {tuple(got.shape)}, expected {tuple(want.shape)}. {hint}".strip())
    expect(tensors_close(got, want, rtol, atol), f"{what} is not what it should be. {hint}".strip())
