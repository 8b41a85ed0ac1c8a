"""Hidden checks of session 1 (micrograd), with PyTorch float64 as the oracle.

The student's ``Value`` keeps karpathy/micrograd's interface: ``Value(data, _children, _op)``
with ``.data``, ``.grad``, ``._prev`` and ``._backward``. To grade each exercise on its own,
local gradients are checked with a reference traversal of the student's graph, and the
student's ``backward()`` with a graph whose local gradients are the reference's.
"""

from __future__ import annotations

import math

import torch

from autograder.checks import CheckFailed, close, expect

RTOL, ATOL = 1e-6, 1e-9  # float64 reference vs Python floats


def _t(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def _reference_backward(root) -> None:
    """Run the student's local ``_backward`` closures in reverse topological order (iterative)."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in node._prev)
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        node._backward()


def _binary_cases():
    """(name, student expression, torch expression, a, b) for every binary operation."""
    return [
        ("a + b", lambda a, b: a + b, 2.0, -3.0),
        ("a * b", lambda a, b: a * b, 2.0, -3.0),
        ("a - b", lambda a, b: a - b, 2.0, -3.0),
        ("a / b", lambda a, b: a / b, 2.0, -4.0),
        ("a + a", lambda a, b: a + a, 1.5, 0.0),
        ("a * a", lambda a, b: a * a, 1.5, 0.0),
        ("a * b + a", lambda a, b: a * b + a, 2.0, -3.0),
        # an upstream gradient other than 1: the chain rule must multiply by out.grad
        ("(a * b) * 3", lambda a, b: (a * b) * 3, 2.0, -3.0),
        ("(a + b) * -2", lambda a, b: (a + b) * -2, 2.0, -3.0),
        ("(a / b) * 5", lambda a, b: (a / b) * 5, 2.0, -4.0),
    ]


def _unary_cases():
    """(name, expression on one operand, x) for powers, negation and constants on either side."""
    return [
        ("a ** 3", lambda a: a ** 3, 1.7),
        ("a ** -1.5", lambda a: a ** -1.5, 2.3),
        ("-a", lambda a: -a, 1.7),
        ("a + 2", lambda a: a + 2, 1.7),
        ("2 + a", lambda a: 2 + a, 1.7),
        ("a * 3", lambda a: a * 3, 1.7),
        ("3 * a", lambda a: 3 * a, 1.7),
        ("a - 2", lambda a: a - 2, 1.7),
        ("2 - a", lambda a: 2 - a, 1.7),
        ("a / 4", lambda a: a / 4, 1.7),
        ("4 / a", lambda a: 4 / a, 1.7),
        ("(a ** 3) * 2", lambda a: (a ** 3) * 2, 1.7),
        ("(-a) * 3", lambda a: (-a) * 3, 1.7),
    ]


def _activation_cases():
    return [
        ("a.exp()", lambda a: a.exp(), torch.exp, 0.8),
        ("a.exp()", lambda a: a.exp(), torch.exp, -1.3),
        ("a.tanh()", lambda a: a.tanh(), torch.tanh, 0.8),
        ("a.tanh()", lambda a: a.tanh(), torch.tanh, -1.3),
        ("a.relu()", lambda a: a.relu(), torch.relu, 0.8),
        ("a.relu()", lambda a: a.relu(), torch.relu, -1.3),
        ("(a * a).tanh()", lambda a: (a * a).tanh(), lambda t: (t * t).tanh(), 0.6),
        ("a.exp() * a", lambda a: a.exp() * a, lambda t: t.exp() * t, 0.6),
        ("a.tanh() * 3", lambda a: a.tanh() * 3, lambda t: t.tanh() * 3, 0.6),
        ("a.relu() * 3", lambda a: a.relu() * 3, lambda t: t.relu() * 3, 0.6),
    ]


def _evaluate(Value, name, expr, *xs):
    """Build the student's expression, with a clear message if it raises or returns a non-Value."""
    nodes = [Value(x) for x in xs]
    try:
        out = expr(*nodes)
    except NotImplementedError:
        raise CheckFailed(f"{name}: not implemented yet") from None
    except Exception as exc:  # a student's bug: report it in words
        raise CheckFailed(f"{name} raised {type(exc).__name__}: {exc}") from None
    expect(isinstance(out, Value), f"{name} must return a Value, got {type(out).__name__}")
    return nodes, out


def _forward_all(Value):
    for name, expr, a, b in _binary_cases():
        _, out = _evaluate(Value, name, expr, a, b)
        want = expr(_t(a), _t(b)).item()
        expect(close(out.data, want, RTOL, ATOL), f"{name} with a={a}, b={b}: "
               f".data is {out.data!r}, expected {want:.6g}")
    for name, expr, a in _unary_cases():
        _, out = _evaluate(Value, name, expr, a)
        want = expr(_t(a)).item()
        expect(close(out.data, want, RTOL, ATOL), f"{name} with a={a}: .data is {out.data!r}, "
               f"expected {want:.6g}")


def check_value_ops(Value) -> None:
    """Forward values of +, *, **, neg, sub, div, with constants on either side."""
    _forward_all(Value)


def _compare_grads(name, nodes, refs):
    for label, node, ref in zip("ab", nodes, refs):
        want = 0.0 if ref.grad is None else ref.grad.item()
        expect(close(node.grad, want, RTOL, ATOL),
               f"d({name})/d{label}: got {node.grad!r}, expected {want:.6g} "
               f"(check the local gradient and that it is accumulated with +=)")


def check_local_grads(Value) -> None:
    """Each operation's ``_backward`` closure propagates the right local gradient."""
    for name, expr, a, b in _binary_cases():
        nodes, out = _evaluate(Value, name, expr, a, b)
        _reference_backward(out)
        refs = [_t(a), _t(b)]
        expr(*refs).backward()
        _compare_grads(name, nodes, refs)
    for name, expr, a in _unary_cases():
        nodes, out = _evaluate(Value, name, expr, a)
        _reference_backward(out)
        ref = _t(a)
        expr(ref).backward()
        _compare_grads(name, nodes, [ref])


def check_activations(Value) -> None:
    """exp, tanh and relu: forward values and local gradients."""
    for name, expr, texpr, a in _activation_cases():
        nodes, out = _evaluate(Value, name, expr, a)
        ref = _t(a)
        tout = texpr(ref)
        expect(close(out.data, tout.item(), RTOL, ATOL),
               f"{name} with a={a}: .data is {out.data!r}, expected {tout.item():.6g}")
        _reference_backward(out)
        tout.backward()
        _compare_grads(f"{name} at a={a}", nodes, [ref])


class _Graph:
    """A graph made of the student's Value nodes wired with the reference local gradients."""

    def __init__(self, Value):
        self.Value = Value

    def leaf(self, x):
        return self.Value(x)

    def add(self, a, b):
        out = self.Value(a.data + b.data, (a, b), "+")

        def _backward():
            a.grad += out.grad
            b.grad += out.grad
        out._backward = _backward
        return out

    def mul(self, a, b):
        out = self.Value(a.data * b.data, (a, b), "*")

        def _backward():
            a.grad += b.data * out.grad
            b.grad += a.data * out.grad
        out._backward = _backward
        return out

    def tanh(self, a):
        t = math.tanh(a.data)
        out = self.Value(t, (a,), "tanh")

        def _backward():
            a.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out


def _run_backward(root, what):
    try:
        root.backward()
    except NotImplementedError:
        raise CheckFailed("backward(): not implemented yet") from None
    except RecursionError:
        raise CheckFailed(f"backward() hit Python's recursion limit on {what}: build the "
                          f"topological order with an explicit stack, not recursion") from None
    except Exception as exc:
        raise CheckFailed(f"backward() raised {type(exc).__name__} on {what}: {exc}") from None


def check_backward(Value) -> None:
    """``backward()``: root gradient 1, reverse topological order, shared nodes visited once."""
    g = _Graph(Value)
    # a diamond: x feeds two paths that meet again, and a node used twice
    x, w = g.leaf(0.5), g.leaf(-1.2)
    h1 = g.tanh(g.mul(x, w))
    h2 = g.mul(x, x)
    y = g.mul(g.add(h1, h2), h1)
    _run_backward(y, "a small graph")
    tx, tw = _t(0.5), _t(-1.2)
    th1 = torch.tanh(tx * tw)
    ty = (th1 + tx * tx) * th1
    ty.backward()
    expect(close(y.grad, 1.0), f"the root's gradient must be 1.0 after backward(), got {y.grad!r}")
    for label, node, ref in (("x", x, tx), ("w", w, tw)):
        expect(close(node.grad, ref.grad.item(), RTOL, ATOL),
               f"backward() on y = (tanh(x*w) + x*x) * tanh(x*w): dy/d{label} is {node.grad!r}, "
               f"expected {ref.grad.item():.6g}. Each node's _backward must run once, after "
               f"every node that uses it (reverse topological order).")
    # a chain deeper than Python's default recursion limit
    depth = 3000
    leaf = g.leaf(1.0)
    node = leaf
    for _ in range(depth):
        node = g.add(node, g.leaf(0.0))
    _run_backward(node, f"a chain of {depth} additions")
    expect(close(leaf.grad, 1.0), f"on a chain of {depth} additions the leaf's gradient is "
           f"{leaf.grad!r}, expected 1.0")


def _layers(model):
    try:
        return [[(list(n.w), n.b) for n in layer.neurons] for layer in model.layers]
    except AttributeError as exc:
        raise CheckFailed(f"MLP must keep .layers, each Layer .neurons, each Neuron .w (a list "
                          f"of Value) and .b: {exc}") from None


def _scalar(out):
    if isinstance(out, (list, tuple)):
        expect(len(out) == 1, f"the last layer has one neuron: expected 1 output, got {len(out)}")
        out = out[0]
    return out


def _torch_forward(weights, x):
    """The reference MLP: tanh on every layer but the last, which is linear."""
    h = torch.tensor(x, dtype=torch.float64)
    for i, (W, b) in enumerate(weights):
        h = W @ h + b
        if i < len(weights) - 1:
            h = torch.tanh(h)
    return h


def _torch_weights(model, requires_grad=False):
    out = []
    for layer in _layers(model):
        W = torch.tensor([[w.data for w in ws] for ws, _ in layer], dtype=torch.float64)
        b = torch.tensor([bb.data for _, bb in layer], dtype=torch.float64)
        out.append((W.requires_grad_(requires_grad), b.requires_grad_(requires_grad)))
    return out


def _build_mlp(MLP, nin, nouts):
    try:
        return MLP(nin, nouts)
    except NotImplementedError:
        raise CheckFailed("MLP: not implemented yet") from None
    except Exception as exc:
        raise CheckFailed(f"MLP({nin}, {nouts}) raised {type(exc).__name__}: {exc}") from None


def check_mlp(Value, Neuron, Layer, MLP) -> None:
    """Neuron/Layer/MLP: structure, parameters(), and the forward pass against torch."""
    nin, nouts = 3, [4, 4, 1]
    model = _build_mlp(MLP, nin, nouts)
    layers = _layers(model)
    expect([len(layer) for layer in layers] == nouts,
           f"MLP({nin}, {nouts}) should have layers of {nouts} neurons, got "
           f"{[len(layer) for layer in layers]}")
    expect(all(len(ws) == fan_in for layer, fan_in in zip(layers, [nin] + nouts[:-1])
               for ws, _ in layer), "each neuron needs one weight per input of its layer")
    params = list(model.parameters())
    expected_ids = {id(p) for layer in layers for ws, b in layer for p in [*ws, b]}
    expect(len(params) == len(expected_ids) and {id(p) for p in params} == expected_ids,
           f"parameters() must return every weight and bias exactly once: "
           f"expected {len(expected_ids)} Values, got {len(params)}")
    # deterministic weights so the check does not depend on the student's initialisation
    k = 0
    for layer in layers:
        for ws, b in layer:
            for p in [*ws, b]:
                p.data = math.sin(1.3 * k + 0.4) * 0.9
                k += 1
    weights = _torch_weights(model)
    for x in ([0.5, -1.0, 2.0], [-0.3, 0.1, 0.7]):
        try:
            out = _scalar(model(x))
        except Exception as exc:
            raise CheckFailed(f"model({x}) raised {type(exc).__name__}: {exc}") from None
        want = _torch_forward(weights, x).item()
        got = getattr(out, "data", out)
        expect(close(got, want, 1e-6, 1e-9),
               f"model({x}) is {got!r}, expected {want:.6g}: each neuron computes "
               f"w·x + b, with tanh on every layer but the last, which is linear")


def check_train_step(MLP, train_step) -> None:
    """One step of gradient descent on the mean squared error, gradients zeroed each step."""
    model = _build_mlp(MLP, 2, [3, 1])
    for k, layer in enumerate(_layers(model)):
        for j, (ws, b) in enumerate(layer):
            for i, w in enumerate(ws):
                w.data = math.cos(k + 2 * j + 3 * i) * 0.7
            b.data = 0.1 * (j - k)
    xs = [[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [0.2, 0.2]]
    ys = [1.0, -1.0, -1.0, 1.0]
    lr = 0.1
    weights = _torch_weights(model, requires_grad=True)
    for step in (1, 2, 3):
        # reference step on the same weights
        preds = torch.stack([_torch_forward(weights, x).squeeze() for x in xs])
        loss = ((preds - torch.tensor(ys, dtype=torch.float64)) ** 2).mean()
        grads = torch.autograd.grad(loss, [t for pair in weights for t in pair])
        with torch.no_grad():
            weights = [(W - lr * gW, b - lr * gb) for (W, b), gW, gb
                       in zip(weights, grads[0::2], grads[1::2])]
        weights = [(W.requires_grad_(True), b.requires_grad_(True)) for W, b in weights]
        try:
            got_loss = train_step(model, xs, ys, lr)
        except NotImplementedError:
            raise CheckFailed("train_step: not implemented yet") from None
        except Exception as exc:
            raise CheckFailed(f"train_step raised {type(exc).__name__}: {exc}") from None
        got_loss = getattr(got_loss, "data", got_loss)
        expect(close(got_loss, loss.item(), 1e-6, 1e-9),
               f"step {step}: train_step returned loss {got_loss!r}, expected {loss.item():.6g} "
               f"(the mean of (prediction - target)**2 over the batch, before the update)")
        got = _torch_weights(model)
        for (W, b), (rW, rb) in zip(got, weights):
            ok = torch.allclose(W, rW.detach(), rtol=1e-6, atol=1e-9) and torch.allclose(
                b, rb.detach(), rtol=1e-6, atol=1e-9)
            expect(ok, f"after step {step} the parameters differ from p.data -= lr * p.grad. "
                       f"Did you reset every p.grad to 0 before backward()?")


def check_numerical_grad(numerical_grad) -> None:
    """Central finite differences (f(x+h) - f(x-h)) / 2h, one input at a time."""
    def f(xs):
        return xs[0] ** 3 + xs[0] * xs[1] - 2.0 * xs[1] ** 2

    def central(xs, i, h):
        up, down = list(xs), list(xs)
        up[i] += h
        down[i] -= h
        return (f(up) - f(down)) / (2 * h)

    for xs, h in (([2.0, -1.0], 0.1), ([0.5, 0.3], 1e-4)):
        before = list(xs)
        try:
            got = list(numerical_grad(f, xs, h))
        except NotImplementedError:
            raise CheckFailed("numerical_grad: not implemented yet") from None
        except Exception as exc:
            raise CheckFailed(f"numerical_grad raised {type(exc).__name__}: {exc}") from None
        expect(xs == before, "numerical_grad must not change the list it is given")
        expect(len(got) == len(xs), f"expected {len(xs)} partial derivatives, got {len(got)}")
        for i, g in enumerate(got):
            want = central(xs, i, h)
            expect(close(g, want, 1e-7, 1e-9),
                   f"df/dx{i} at x={xs} with h={h}: got {g!r}, expected {want:.8g} "
                   f"from the central difference (f(x+h) - f(x-h)) / (2h)")
