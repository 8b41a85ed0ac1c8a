"""Hidden checks: the logic of the hidden test cells, one module per session.

Each check takes the student's objects, compares them with a reference (PyTorch where it
can serve, with explicit tolerances) and raises ``CheckFailed`` with a message written for
the student. Hidden cells only call these functions, so the checks can be read, linted and
unit-tested like any other code.
"""


class CheckFailed(AssertionError):
    """A hidden check found a wrong answer; the message says what, for the student."""


def expect(condition: bool, message: str) -> None:
    """Raise CheckFailed(message) unless condition holds (unlike assert, survives python -O)."""
    if not condition:
        raise CheckFailed(message)


def close(actual: float, expected: float, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Float comparison with explicit tolerances (never exact equality)."""
    try:
        actual = float(actual)
    except (TypeError, ValueError):
        return False
    return abs(actual - expected) <= atol + rtol * abs(expected)
