"""Probes send evidence, never claims (docs/authoring.md, "Evidence, not claims").

Every probe of every session runs on its solution, exactly as shipped to a kernel and encoded
on the wire, and what it observes is walked: no leaf may be a boolean (a scalar or an array of
dtype bool) and no field may be named for a verdict or a summary the kernel computed. The
probes' source is read too, so that a field sent only on some paths (a wrong answer's) counts.
"""

from __future__ import annotations

import ast
import inspect
import json
import re

import pytest

from autograder.checks import _shipped_probes, exercises, kernel_source, modules
from autograder.probe_runtime import exercise_seed, observe
from tests.notebook_exec import namespace

# Words that name a verdict, a comparison, a statistic, a count or a mode: what the judge must
# compute in the grader from raw outputs, never read from the kernel.
CLAIM_WORDS = frozenset("""
    mean avg std var variance cov covariance median stats statistic statistics
    equal equals eq same identical differs differ different diff changed unchanged
    count calls called n num len length size sizes
    ok passed pass failed fail correct valid match matches close allclose
    is has with without enabled training mode type kind kinds none
""".split())



# Raw state of the student's objects under the names torch or the statement gives it (a
# batchnorm buffer, a schedule's attribute): evidence, whatever the words in the name.
STATE_NAMES = frozenset({"running_mean", "running_var", "posterior_variance"})


def words(name: str) -> set[str]:
    """The lower-case words of a field name (snake_case, camelCase, digits and spaces split),
    less upper-case symbols such as the N of ``N_after`` (a matrix, not a count)."""
    if name in STATE_NAMES:
        return set()
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return {w.lower() for w in re.split(r"[^A-Za-z]+", spaced) if w and not w.isupper()}


def claims(value, path: str = "obs") -> list[str]:
    """Every claim-like leaf or field of an encoded observation, by its path."""
    found = []
    if isinstance(value, bool):
        found.append(f"{path}: a boolean")
    elif isinstance(value, dict):
        if "__array__" in value:
            if value["__array__"][0] == "bool":
                found.append(f"{path}: an array of booleans")
            return found
        for key, item in value.items():
            if words(key) & CLAIM_WORDS:
                found.append(f"{path}.{key}: named {sorted(words(key) & CLAIM_WORDS)}")
            found += claims(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += claims(item, f"{path}[{i}]")
    return found


def source_claims(session: str) -> list[str]:
    """Claim-like field names written as keys in the shipped probes and their helpers."""
    found = []
    functions = [node for node in ast.parse(kernel_source(session)).body
                 if isinstance(node, ast.FunctionDef)]
    for node in (inner for fn in functions for inner in ast.walk(fn)):
        keys = []
        if isinstance(node, ast.Dict):
            keys = node.keys
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            keys = [node.slice]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "update":
            keys = [ast.Constant(k.arg) for k in node.keywords if k.arg]
        for key in keys:
            if isinstance(key, ast.Constant) and isinstance(key.value, str) \
                    and words(key.value) & CLAIM_WORDS:
                found.append(f"field {key.value!r} in the probes' source")
    return found


def observations(session: str) -> dict[str, object]:
    """What each probe sends on the session's solution, as it travels; the full notebook is run
    only when the solution cells alone do not define what a probe needs."""
    probes = _shipped_probes(session)
    ns, full, out = namespace(session, solutions_only=True), None, {}
    for name in exercises(session):
        seed = exercise_seed(1234, name)
        message = observe(probes[name], ns, seed)
        if "error" in message:
            full = full if full is not None else namespace(session)
            message = observe(probes[name], full, seed)
        out[name] = json.loads(json.dumps(message, allow_nan=False))
    return out


SESSIONS = sorted(modules())


@pytest.mark.parametrize("session", SESSIONS)
def test_probes_send_evidence_not_claims(session):
    found = source_claims(session)
    for name, message in observations(session).items():
        assert "obs" in message, f"{name}: the probe observed nothing on the solution: {message}"
        found += [f"{name}: {claim}" for claim in claims(message["obs"])]
    assert not found, "\n".join(found)


# --- the rule catches what it should --------------------------------------------------------

@pytest.mark.parametrize("planted", [
    {"out": [1.0, 2.0], "ok": True},
    {"cases": [{"y": [0.5], "same_seed_equal": 1}]},
    {"stats": {"lossMean": 0.3}},
    {"y": {"__array__": ["bool", [2], "AQA="]}},
    {"nCalls": 3},
    {"n": 3},
    {"Mean": [0.1]},
    {"seen": [[False, True]]},
    {"training_after": [0, 1]},
])
def test_a_planted_claim_is_found(planted):
    assert claims(json.loads(json.dumps(planted)))


def test_raw_outputs_are_not_claims():
    raw = {"out": {"__array__": ["float32", [1], "AACAPw=="]}, "losses": [0.1, 0.2],
           "params": {"W1": [[0.5]]}, "cases": [{"value": 1.0, "grad": None}], "letter": "b"}
    assert claims(raw) == []


def test_a_claim_in_a_probe_source_is_found(monkeypatch):
    planted = 'def probe_x(ns, seed):\n    seen = {"y": 1}\n    seen["is_training"] = 0\n    return seen\n'
    monkeypatch.setattr("tests.test_evidence_rule.kernel_source", lambda session: planted)
    assert source_claims("any") == ["field 'is_training' in the probes' source"]


def test_every_session_with_checks_is_walked():
    assert {"01_micrograd", "02_makemore", "05_convnets"} <= set(SESSIONS)
    assert all(inspect.isfunction(ex.probe) for s in SESSIONS for ex in exercises(s).values())
