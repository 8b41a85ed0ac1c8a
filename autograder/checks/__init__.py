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


class _TimeUp(BaseException):
    """Raised inside student code when a check's time limit runs out."""


def call_with_limit(seconds: float, what: str, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, failing the check if it runs longer than ``seconds``.

    Uses SIGALRM, so it bounds student code called by a check (an endless sampling loop, say)
    when run in the main thread, as in a kernel or under pytest; elsewhere it just calls ``fn``.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return fn(*args, **kwargs)

    def alarm(_signum, _frame):
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args, **kwargs)
    except _TimeUp:
        raise CheckFailed(f"{what} did not finish within {seconds:g} s (an endless loop?)") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
