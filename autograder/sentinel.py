"""In-kernel side of fail-closed grading: tamper detection and authenticated pass reports.

The grader runs ``arm(key, tokens)`` in a first cell that is kept out of IPython's history,
before any student code. ``arm`` imports the hidden checks and records what they rely on.
The grader appends ``passed(grade_id, token)`` to every test cell: it runs only when the cell's
tests all succeeded, re-checks the recorded state, and displays a report authenticated with
``key`` (HMAC-SHA256). The grader gives an exercise points only for a valid report saying
"passed" with nothing tampered. Student code never sees ``key`` or the tokens by ordinary
means; what extraordinary means could still do is written down in docs/grading-security.md.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import importlib
import json
import math
import pkgutil
import sys

MIME = "application/vnd.deepcourse.check+json"

# (module, attribute) pairs whose identity the tests rely on
_WATCHED = [
    ("builtins", name) for name in (
        "__import__", "abs", "all", "any", "bool", "callable", "float", "getattr", "hasattr",
        "id", "int", "isinstance", "issubclass", "len", "list", "max", "min", "print", "range",
        "repr", "round", "set", "sorted", "str", "sum", "tuple", "type", "zip", "exec", "eval",
        "compile", "open", "AssertionError", "Exception", "NotImplementedError")
] + [
    ("math", "isclose"), ("math", "isfinite"), ("math", "isnan"),
    ("torch", "allclose"), ("torch", "isclose"), ("torch", "equal"), ("torch", "all"),
    ("torch", "testing.assert_close"), ("torch", "Tensor.allclose"), ("torch", "Tensor.all"),
    ("torch", "Tensor.item"), ("torch", "Tensor.__eq__"), ("torch", "Tensor.__bool__"),
    ("numpy", "allclose"), ("numpy", "isclose"), ("numpy", "array_equal"),
    ("numpy", "testing.assert_allclose"),
    ("hmac", "new"), ("hmac", "compare_digest"), ("json", "dumps"),
]


def _resolve(module: str, dotted: str):
    obj = sys.modules.get(module)
    if obj is None:
        return "<not imported>"
    for part in dotted.split("."):
        obj = getattr(obj, part, "<missing>")
    return obj


def preload() -> None:
    """Import every hidden-check module (the sandbox does this before hiding their files)."""
    import autograder.checks as checks

    for info in pkgutil.iter_modules(checks.__path__):
        importlib.import_module(f"autograder.checks.{info.name}")


def _checks_modules() -> dict[str, object]:
    """The sentinel and the loaded check modules, by name."""
    return {name: mod for name, mod in sys.modules.items()
            if name == __name__ or name == "autograder.checks"
            or name.startswith("autograder.checks.")}


def _identity(value) -> object:
    """What must not change about an object: itself, a function's code, a class's attributes."""
    if isinstance(value, type):
        return tuple((k, id(v), id(getattr(v, "__code__", None))) for k, v in vars(value).items())
    code = getattr(value, "__code__", None)
    return (id(value), id(code), id(getattr(value, "__defaults__", None)),
            id(getattr(value, "__kwdefaults__", None)))


def _fingerprint(mod) -> dict[str, object]:
    """The identity of every global of a module."""
    return {k: _identity(v) for k, v in vars(mod).items() if k != "_reporter"}


def _ipython_state():
    try:
        ip = get_ipython()  # noqa: F821 (defined inside IPython)
    except NameError:
        return {}
    t = ip.input_transformer_manager
    return {
        "input_transformers_cleanup": [id(f) for f in t.cleanup_transforms],
        "input_transformers_post": [id(f) for f in ip.input_transformers_post],
        "line_transforms": [id(f) for f in t.line_transforms],
        "token_transformers": [id(f) for f in t.token_transformers],
        "ast_transformers": [id(f) for f in ip.ast_transformers],
        "events": {name: [id(f) for f in cbs] for name, cbs in ip.events.callbacks.items()},
        "run_cell": id(type(ip).run_cell), "run_cell_inst": id(ip.__dict__.get("run_cell")),
        "run_ast_nodes": id(type(ip).run_ast_nodes),
        "custom_exceptions": repr(ip.custom_exceptions),
        "showtraceback": id(ip.__dict__.get("showtraceback")),
        "display_pub": id(ip.display_pub),
        "display_pub_publish": id(getattr(type(ip.display_pub), "publish", None)),
        "display_pub_publish_inst": id(ip.display_pub.__dict__.get("publish")),
    }


def _snapshot():
    return {
        "watched": {f"{m}.{a}": id(_resolve(m, a)) for m, a in _WATCHED},
        "checks": {name: _fingerprint(mod) for name, mod in _checks_modules().items()},
        "modules": {name: id(sys.modules.get(name)) for name in
                    ("builtins", "math", "torch", "numpy", "hmac", "json", "autograder.checks")},
        "ipython": _ipython_state(),
        "trace": (id(sys.gettrace()), id(sys.getprofile())),
    }


def _diff(before, after, prefix=""):
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(set(before) | set(after))
        return [d for k in keys for d in _diff(before.get(k), after.get(k), f"{prefix}{k}.")]
    return [] if before == after else [prefix.rstrip(".")]


def _make_reporter(key: bytes, tokens: dict[str, str], baseline):
    """Closures holding the key: nothing is kept as a module attribute."""
    used: set[str] = set()
    # trusted references, taken before student code runs
    new, dumps = hmac.new, json.dumps
    from IPython.display import display

    def publish(report: dict) -> None:
        display({MIME: report, "text/plain": "(graded)"}, raw=True)

    def sign(payload: dict) -> dict:
        body = dumps(payload, sort_keys=True)
        return {"payload": body, "mac": new(key, body.encode(), hashlib.sha256).hexdigest()}

    def verify() -> list[str]:
        return _diff(baseline, _snapshot())

    def passed(grade_id: str, token: str) -> None:
        ok = tokens.get(grade_id) == token and grade_id not in used
        if ok:
            used.add(grade_id)
        tampered = verify()
        report = sign({"grade_id": grade_id, "passed": bool(ok and not tampered),
                       "token_ok": bool(ok), "tampered": tampered[:20]})
        publish(report)

    def check_integrity(label: str) -> None:
        publish(sign({"grade_id": label, "passed": False, "token_ok": True,
                       "tampered": verify()[:20]}))

    return passed, check_integrity


_reporter = None  # set by arm(); the closures hold the secrets


def arm(key: str, tokens: dict[str, str]) -> None:
    """Called once by the grader, before student code: import the checks and take the baseline."""
    global _reporter
    if _reporter is not None:
        raise RuntimeError("the grading sentinel is already armed")
    preload()
    # libraries the tests use, and matplotlib, whose inline backend registers IPython events
    for module in ("torch", "numpy", "numpy.testing", "math", "matplotlib.pyplot"):
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    if "matplotlib.pyplot" in sys.modules:  # resolving the backend registers its IPython hooks
        sys.modules["matplotlib.pyplot"].close(sys.modules["matplotlib.pyplot"].figure())
    _reporter = _make_reporter(key.encode(), dict(tokens), _snapshot())


def passed(grade_id: str, token: str) -> None:
    """Report that the test cell ``grade_id`` ran to its end (appended by the grader)."""
    if _reporter is None:
        return
    _reporter[0](grade_id, token)


def integrity(label: str = "final") -> None:
    """Report the tamper state alone (the grader runs this after the last cell)."""
    if _reporter is not None:
        _reporter[1](label)


def verify_report(key: str, report: dict) -> dict | None:
    """Grader side: the payload of an authentic report, or None."""
    try:
        body, mac = report["payload"], report["mac"]
        want = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()
        if not (isinstance(mac, str) and hmac.compare_digest(mac, want)):
            return None
        payload = json.loads(body)
        return payload if isinstance(payload, dict) else None
    except (KeyError, TypeError, ValueError):
        return None


__all__ = ["MIME", "arm", "integrity", "passed", "verify_report"]
_ = (builtins, math)  # imported so that their state is recorded before student code
