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


def call(what: str, fn, *args, limit_s: float = 10, **kwargs):
    """Call a student's function within ``limit_s``; its exceptions become a message in words."""
    try:
        return call_with_limit(limit_s, what, fn, *args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(f"{what}: not implemented yet") from None
    except CheckFailed:
        raise
    except Exception as exc:  # a student's bug: report it in words
        raise CheckFailed(f"{what} raised {type(exc).__name__}: {exc}") from None


def generator(seed: int):
    """A seeded CPU torch.Generator."""
    import torch

    return torch.Generator().manual_seed(seed)


def as_tensor(x, what: str, dtype=None):
    """``x`` detached on the CPU (in ``dtype`` if given), or CheckFailed if it is no tensor."""
    import torch

    expect(isinstance(x, torch.Tensor), f"{what} must be a torch tensor, got {type(x).__name__}")
    x = x.detach().to("cpu")
    return x if dtype is None else x.to(dtype)


def maxdiff(got, want) -> float:
    return (got.double() - want.double()).abs().max().item() if got.numel() else 0.0


def tensors_close(got, want, rtol: float, atol: float) -> bool:
    """Norm-wise closeness: finite, and max |got - want| <= atol + rtol * max |want|."""
    import torch

    scale = want.double().abs().max().item() if want.numel() else 0.0
    return bool(torch.isfinite(got).all()) and maxdiff(got, want) <= atol + rtol * scale


def compare(got, want, what: str, hint: str = "", *, rtol: float, atol: float) -> None:
    """CheckFailed unless ``got`` is a tensor of ``want``'s shape and close to it."""
    got = as_tensor(got, what)
    expect(tuple(got.shape) == tuple(want.shape),
           f"{what} has shape {tuple(got.shape)}, expected {tuple(want.shape)}. {hint}".strip())
    expect(tensors_close(got, want, rtol, atol),
           f"{what} differs from the reference (max difference {maxdiff(got, want):.3g}, "
           f"values up to {want.double().abs().max().item():.3g}). {hint}".strip())
