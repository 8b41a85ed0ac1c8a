"""Probes fail closed: whatever the student's code raises, a probe cell sends exactly one
message, through the ``display`` taken before any student code ran."""

import types

import IPython
import IPython.display
import pytest

from autograder import probe_runtime
from autograder.probe_runtime import MIME, observe


class Custom(BaseException):
    pass


@pytest.mark.parametrize("error", [SystemExit(3), KeyboardInterrupt(), Custom("mine"),
                                   GeneratorExit()])
def test_observe_reports_every_base_exception(error):
    def probe(ns, seed):
        raise error
    result = observe(probe, {}, 1)
    assert set(result) == {"error"} and result["error"]["type"] == type(error).__name__


def test_a_base_exception_inside_a_called_function_names_what_was_called():
    def student():
        raise SystemExit("bye")
    result = observe(lambda ns, seed: probe_runtime.call("EpsNet()", student), {}, 1)
    assert result["error"]["what"] == "EpsNet()" and result["error"]["type"] == "SystemExit"


def test_an_unprintable_exception_is_still_reported():
    class Odd(Exception):
        def __str__(self):
            raise Custom("no")
    result = observe(lambda ns, seed: (_ for _ in ()).throw(Odd()), {}, 1)
    assert result["error"]["type"] == "Odd"


@pytest.fixture
def kernel(monkeypatch):
    """install() in a fake kernel whose display records what is sent."""
    sent = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: sent.append(a[0]))
    shell = types.SimpleNamespace(user_ns={})
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    module = probe_runtime.install("PROBES = {}\n")
    yield module, shell.user_ns, sent
    import sys
    sys.modules.pop(probe_runtime.MODULE, None)


def test_one_message_even_when_the_student_raises_a_base_exception(kernel, monkeypatch):
    module, ns, sent = kernel
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: None)  # the student's
    module.send = lambda *a, **k: None  # and the old channel, replaced too

    def forging_probe(ns, seed):
        raise Custom("after forging")
    module.PROBES["eps_model"] = forging_probe
    probe_runtime.run("eps_model", 7)
    (message,) = sent
    assert message[MIME]["exercise"] == "eps_model" and message[MIME]["seed"] == 7
    assert message[MIME]["error"]["type"] == "Custom"


def test_one_message_when_the_probes_were_removed(kernel):
    module, ns, sent = kernel
    del module.PROBES
    probe_runtime.run("eps_model", 7)
    (message,) = sent
    assert "could not run" in message[MIME]["error"]["message"]
