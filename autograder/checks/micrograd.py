"""Probes and judges of session 1 (micrograd), with PyTorch float64 as the oracle.

The student's ``Value`` keeps karpathy/micrograd's interface: ``Value(data, _children, _op)``
with ``.data``, ``.grad``, ``._prev`` and ``._backward``. To grade each exercise on its own,
local gradients are probed with a reference traversal of the student's graph, and the
student's ``backward()`` with a graph whose local gradients are the reference's. Every
operation is also used twice on the same input, so that a gradient assigned with ``=``
instead of accumulated with ``+=`` shows.
"""

from __future__ import annotations

import math
import random

import torch

from autograder.checks import Fail, close, expect, judge, kernel, number, probe
from autograder.probe_runtime import StudentError, call, need

SESSION = "01_micrograd"
RTOL, ATOL = 1e-6, 1e-9  # float64 reference vs Python floats


# --- inputs and expressions (both sides) -----------------------------------------------------

@kernel
def operand(rng, low=0.5, high=2.5):
    """A number away from 0 and from 1 in absolute value, of random sign."""
    return rng.choice((-1, 1)) * rng.uniform(low, high)


@kernel
def binary_cases(seed):
    """(name, expression on two operands, a, b): every operation, constants on both sides,
    upstream gradients other than 1, and every operation used twice on the same input."""
    rng = random.Random(seed)
    exprs = [
        ("a + b", lambda a, b: a + b), ("a * b", lambda a, b: a * b),
        ("a - b", lambda a, b: a - b), ("a / b", lambda a, b: a / b),
        ("-a", lambda a, b: -a), ("a + 2", lambda a, b: a + 2), ("2 + a", lambda a, b: 2 + a),
        ("a * 3", lambda a, b: a * 3), ("3 * a", lambda a, b: 3 * a),
        ("a - 2", lambda a, b: a - 2), ("2 - a", lambda a, b: 2 - a),
        ("a / 4", lambda a, b: a / 4), ("4 / a", lambda a, b: 4 / a),
        ("a + a", lambda a, b: a + a), ("a * a", lambda a, b: a * a),
        ("a * b + a * b", lambda a, b: a * b + a * b),
        ("(a * b) * 3", lambda a, b: (a * b) * 3), ("(a + b) * -2", lambda a, b: (a + b) * -2),
        ("(a / b) * 5", lambda a, b: (a / b) * 5), ("a * b + a", lambda a, b: a * b + a),
    ]
    return [(name, expr, operand(rng), operand(rng)) for name, expr in exprs]


@kernel
def power_cases(seed):
    """(name, expression, a) for powers, on a positive base."""
    rng = random.Random(seed + 1)
    k = rng.choice((2, 3, 4))
    exprs = [
        (f"a ** {k}", lambda a: a ** k), ("a ** -1.5", lambda a: a ** -1.5),
        ("a ** 0.5", lambda a: a ** 0.5),
        (f"a ** {k} + a ** 2", lambda a: a ** k + a ** 2),
        (f"(a ** {k}) * 2", lambda a: (a ** k) * 2),
    ]
    return [(name, expr, rng.uniform(0.5, 2.5)) for name, expr in exprs]


@kernel
def activation_cases(seed):
    """(name, expression, a) for exp, tanh and relu on both sides of 0, each also used twice."""
    rng = random.Random(seed + 2)
    exprs = [
        ("a.exp()", lambda a: a.exp()), ("a.tanh()", lambda a: a.tanh()),
        ("a.relu()", lambda a: a.relu()),
        ("a.exp() + a.exp()", lambda a: a.exp() + a.exp()),
        ("a.tanh() + a.tanh()", lambda a: a.tanh() + a.tanh()),
        ("a.relu() + a.relu()", lambda a: a.relu() + a.relu()),
        ("(a * a).tanh()", lambda a: (a * a).tanh()), ("a.exp() * a", lambda a: a.exp() * a),
        ("a.tanh() * 3", lambda a: a.tanh() * 3), ("a.relu() * 3", lambda a: a.relu() * 3),
    ]
    cases = []
    for sign in (1, -1):
        cases += [(name, expr, sign * rng.uniform(0.2, 1.5)) for name, expr in exprs]
    return cases


@kernel
def reference_backward(root, leaves=(), start=(), upstream=1.0):
    """Run the student's local ``_backward`` closures in reverse topological order (iterative).

    Every node of the graph starts at grad 0, the ``leaves`` at ``start`` and the root at
    ``upstream``; the leaves' gradients are read before and after, so that only what the
    closures add to them counts (a value that wrote gradients while it was built shows).
    Returns [grads before, grads after] of the leaves.
    """
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev)
    for node in order:
        node.grad = 0.0
    for leaf, g in zip(leaves, start):
        leaf.grad = g
    root.grad = upstream
    before = [leaf.grad for leaf in leaves]
    for node in reversed(order):
        node._backward()
    return [before, [leaf.grad for leaf in leaves]]


@kernel
def gradient_start(rng, n):
    """(the leaves' gradients before backward, the root's gradient): away from 0 and 1."""
    return [rng.uniform(-1, 1) for _ in range(n)], operand(rng)


@kernel
def evaluate(Value, name, expr, xs):
    """Build the student's expression on Values of ``xs``; the leaves and the output."""
    nodes = [Value(x) for x in xs]
    out = call(name, expr, *nodes)
    if not isinstance(out, Value):
        raise StudentError(f"must return a Value, got {type(out).__name__}", name)
    return nodes, out


@kernel
def probe_cases(Value, cases, with_grads, seed=0):
    """For each case: [output data], and with_grads [output data, leaves' gradients before and
    after the traversal from seeded starting gradients]."""
    rng = random.Random(seed + 5)
    rows = []
    for name, expr, *xs in cases:
        nodes, out = evaluate(Value, name, expr, xs)
        row = [out.data]
        if with_grads:
            start, upstream = gradient_start(rng, len(nodes))
            row += call(f"the _backward closures of {name}", reference_backward, out, nodes,
                        start, upstream)
        rows.append(row)
    return rows


def _torch(x):
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def _judge_cases(cases, rows, with_grads, hint, seed=0):
    """Compare each observed row with torch float64 on the same expression; with_grads, each
    leaf's gradient must go from its starting value to start + upstream * d(out)/d(leaf)."""
    expect(isinstance(rows, list) and len(rows) == len(cases), "malformed observation")
    rng = random.Random(seed + 5)
    for (name, expr, *xs), row in zip(cases, rows):
        leaves = [_torch(x) for x in xs]
        out = expr(*leaves)
        at = ", ".join(f"{label}={x:.4g}" for label, x in zip("ab", xs))
        got = number(row[0], f"{name} with {at}: .data")
        expect(close(got, out.item(), RTOL, ATOL),
               f"{name} with {at}: .data is {got:.6g}, which is not the value of {name}")
        if with_grads:
            start, upstream = gradient_start(rng, len(xs))
            expect(len(row) == 3 and len(row[1]) == len(row[2]) == len(xs), "malformed observation")
            out.backward()
            for label, leaf, g0, before, after in zip("ab", leaves, start, row[1], row[2]):
                expect(close(number(before, f"the gradient of {label}"), g0, RTOL, ATOL),
                       f"{name}: the gradient of {label} changed before backpropagation "
                       f"reached it: gradients come from the _backward closures only")
                want = g0 + upstream * (0.0 if leaf.grad is None else leaf.grad.item())
                got = number(after, f"the gradient of {label} in {name}")
                expect(close(got, want, RTOL, ATOL),
                       f"d({name})/d{label} at {at}, with out.grad = {upstream:.3g}, is wrong "
                       f"(or not added to {label}.grad). {hint}")


# --- Exercise 1: forward operations ----------------------------------------------------------

@probe("value_ops")
def probe_value_ops(ns, seed):
    Value = need(ns, "Value")
    return {"binary": probe_cases(Value, binary_cases(seed), False),
            "power": probe_cases(Value, power_cases(seed), False)}


@judge("value_ops")
def judge_value_ops(obs, seed):
    _judge_cases(binary_cases(seed), obs["binary"], False, "")
    _judge_cases(power_cases(seed), obs["power"], False, "")


# --- Exercise 2: local gradients -------------------------------------------------------------

GRAD_HINT = ("Check the local derivative, that it is multiplied by out.grad (the chain rule) "
             "and accumulated with += (a value used twice gets both contributions).")


@probe("local_grads")
def probe_local_grads(ns, seed):
    Value = need(ns, "Value")
    return {"binary": probe_cases(Value, binary_cases(seed), True, seed),
            "power": probe_cases(Value, power_cases(seed), True, seed + 1)}


@judge("local_grads")
def judge_local_grads(obs, seed):
    _judge_cases(binary_cases(seed), obs["binary"], True, GRAD_HINT, seed)
    _judge_cases(power_cases(seed), obs["power"], True, GRAD_HINT, seed + 1)


# --- Exercise 3: activations -----------------------------------------------------------------

@probe("activations")
def probe_activations(ns, seed):
    return {"cases": probe_cases(need(ns, "Value"), activation_cases(seed), True, seed)}


@judge("activations")
def judge_activations(obs, seed):
    _judge_cases(activation_cases(seed), obs["cases"], True,
                 "The local derivatives of exp and tanh are written with the output "
                 "(e^a and 1 - t²); relu passes the gradient only where a > 0. " + GRAD_HINT, seed)


# --- Exercise 4: backward() ------------------------------------------------------------------

@kernel
def wired(Value, op, *args):
    """A node made of the student's Value, wired with the reference local gradient of ``op``."""
    if op == "add":
        a, b = args
        out = Value(a.data + b.data, (a, b), "+")

        def _backward():
            a.grad += out.grad
            b.grad += out.grad
    elif op == "mul":
        a, b = args
        out = Value(a.data * b.data, (a, b), "*")

        def _backward():
            a.grad += b.data * out.grad
            b.grad += a.data * out.grad
    else:
        (a,) = args
        t = math.tanh(a.data)
        out = Value(t, (a,), "tanh")

        def _backward():
            a.grad += (1 - t * t) * out.grad
    out._backward = _backward
    return out


@kernel
def backward_inputs(seed):
    rng = random.Random(seed)
    return rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5), rng.randint(2000, 3000)


@kernel
def chain_factors(seed, depth):
    """The factors of a chain of products deeper than Python's recursion limit: the leaf's
    gradient is their product, which depends on the seed."""
    rng = random.Random(seed + 3)
    return [rng.uniform(0.999, 1.001) for _ in range(depth)]


@probe("backward")
def probe_backward(ns, seed):
    Value = need(ns, "Value")
    x0, w0, depth = backward_inputs(seed)
    # a diamond: x feeds two paths that meet again, and a node used twice
    x, w = Value(x0), Value(w0)
    h1 = wired(Value, "tanh", wired(Value, "mul", x, w))
    y = wired(Value, "mul", wired(Value, "add", h1, wired(Value, "mul", x, x)), h1)
    call("backward() on a small graph", y.backward)
    # a chain deeper than Python's default recursion limit
    leaf = node = Value(1.0)
    for c in chain_factors(seed, depth):
        node = wired(Value, "mul", node, Value(c))
    call(f"backward() on a chain of {depth} products", node.backward)
    return {"root": y.grad, "x": x.grad, "w": w.grad, "chain_leaf": leaf.grad}


@judge("backward")
def judge_backward(obs, seed):
    x0, w0, depth = backward_inputs(seed)
    x, w = _torch(x0), _torch(w0)
    h1 = torch.tanh(x * w)
    ((h1 + x * x) * h1).backward()
    root = number(obs["root"], "the root's gradient")
    expect(close(root, 1.0), f"the root's gradient must be 1.0 after backward(), got {root!r}")
    for label, ref in (("x", x), ("w", w)):
        got = number(obs[label], f"dy/d{label}")
        expect(close(got, ref.grad.item(), RTOL, ATOL),
               f"backward() on y = (tanh(x*w) + x*x) * tanh(x*w) at x={x0:.4g}, w={w0:.4g}: "
               f"dy/d{label} is {got:.6g}, which is wrong. Each node's _backward must run once, "
               f"after every node that uses it (reverse topological order).")
    leaf = number(obs["chain_leaf"], "the leaf's gradient")
    expect(close(leaf, math.prod(chain_factors(seed, depth)), 1e-9, 1e-12),
           f"on a chain of {depth} products the leaf's gradient is {leaf!r}, which is wrong "
           f"(build the order with an explicit stack, not recursion)")


# --- Exercise 5: finite differences ----------------------------------------------------------

@kernel
def finite_diff_cases(seed):
    rng = random.Random(seed)
    return [([rng.uniform(-2, 2), rng.uniform(-2, 2)], h) for h in (0.1, 1e-4)]


@kernel
def cubic(xs):
    return xs[0] ** 3 + xs[0] * xs[1] - 2.0 * xs[1] ** 2


@probe("finite_diff")
def probe_finite_diff(ns, seed):
    numerical_grad = need(ns, "numerical_grad")
    out = []
    for xs, h in finite_diff_cases(seed):
        given = list(xs)
        got = call("numerical_grad(f, xs, h)", numerical_grad, cubic, given, h)
        out.append({"grad": [float(g) for g in call("list(numerical_grad(...))", list, got)],
                    "xs_after": given})
    return {"cases": out}


@judge("finite_diff")
def judge_finite_diff(obs, seed):
    cases = finite_diff_cases(seed)
    expect(len(obs["cases"]) == len(cases), "malformed observation")
    for (xs, h), seen in zip(cases, obs["cases"]):
        expect(seen["xs_after"] == xs, "numerical_grad must not change the list it is given")
        expect(len(seen["grad"]) == len(xs),
               f"expected {len(xs)} partial derivatives, got {len(seen['grad'])}")
        for i, g in enumerate(seen["grad"]):
            up, down = list(xs), list(xs)
            up[i] += h
            down[i] -= h
            want = (cubic(up) - cubic(down)) / (2 * h)
            expect(close(number(g, f"df/dx{i}"), want, 1e-7, 1e-9),
                   f"df/dx{i} at x=[{xs[0]:.4g}, {xs[1]:.4g}] with h={h}: got {g:.8g}, which is "
                   f"not the central difference (f(x+h) - f(x-h)) / (2h)")


# --- Exercise 6: Neuron, Layer, MLP ----------------------------------------------------------

@kernel
def structure(model):
    """[[(weights, bias) of each neuron] of each layer], or StudentError naming what is missing."""
    try:
        return [[(list(n.w), n.b) for n in layer.neurons] for layer in model.layers]
    except (AttributeError, TypeError) as exc:
        raise StudentError(f"MLP must keep .layers, each Layer .neurons, each Neuron .w (a list "
                           f"of Value) and .b: {exc}") from None


@kernel
def parameter_values(seed, n):
    """The values every weight and bias gets, in structure order (each neuron's w, then b)."""
    rng = random.Random(seed)
    return [rng.uniform(-1, 1) for _ in range(n)]


@kernel
def set_parameters(layers, seed):
    """Set every weight and bias from ``seed``, so that no check depends on the student's init."""
    params = [p for layer in layers for ws, b in layer for p in [*ws, b]]
    for p, value in zip(params, parameter_values(seed, len(params))):
        p.data = value
    return params


@kernel
def mlp_inputs(seed, nin, n):
    rng = random.Random(seed + 7)
    return [[rng.uniform(-2, 2) for _ in range(nin)] for _ in range(n)]


@kernel
def scalar_data(out):
    """The number a model returned: a Value, a one-element list of Value, or a number."""
    if isinstance(out, (list, tuple)):
        if len(out) != 1:
            raise StudentError(f"the last layer has one neuron: expected 1 output, got {len(out)}")
        out = out[0]
    return getattr(out, "data", out)


@probe("nn")
def probe_nn(ns, seed):
    MLP = need(ns, "MLP")
    model = call("MLP(3, [4, 4, 1])", MLP, 3, [4, 4, 1])
    layers = structure(model)
    set_parameters(layers, seed)
    params = call("model.parameters()", lambda: [p.data for p in model.parameters()])
    outputs = [scalar_data(call(f"model({x})", model, x)) for x in mlp_inputs(seed, 3, 3)]
    return {"neurons": [[[w.data for w in ws] + [b.data] for ws, b in layer] for layer in layers],
            "parameters": params, "outputs": outputs}


def _forward(weights, x):
    """The reference MLP: tanh on every layer but the last, which is linear."""
    h = torch.tensor(x, dtype=torch.float64)
    for i, (W, b) in enumerate(weights):
        h = W @ h + b
        if i < len(weights) - 1:
            h = torch.tanh(h)
    return h


def _weights(values, nin, nouts, requires_grad=False):
    """The (W, b) of each layer from values in structure order (each neuron's weights, then b)."""
    out, k = [], 0
    for fan_in, n in zip([nin, *nouts[:-1]], nouts):
        block = torch.tensor(values[k:k + n * (fan_in + 1)], dtype=torch.float64)
        block = block.view(n, fan_in + 1)
        k += n * (fan_in + 1)
        out.append((block[:, :-1].clone().requires_grad_(requires_grad),
                    block[:, -1].clone().requires_grad_(requires_grad)))
    return out


@judge("nn")
def judge_nn(obs, seed):
    nin, nouts = 3, [4, 4, 1]
    want_sizes = [[fan_in] * n for fan_in, n in zip([nin, *nouts[:-1]], nouts)]
    sizes = [[len(neuron) - 1 for neuron in layer] for layer in obs["neurons"]]
    expect(sizes == want_sizes,
           f"MLP({nin}, {nouts}) should have layers of {nouts} neurons with one weight per "
           f"input of their layer, got {[len(s) for s in sizes]} neurons with {sizes} weights")
    n = sum(n * (fan_in + 1) for fan_in, n in zip([nin, *nouts[:-1]], nouts))
    values = sorted(parameter_values(seed, n))
    got = sorted(number(v, "a parameter's .data") for v in obs["parameters"])
    expect(len(got) == n and all(close(a, b) for a, b in zip(got, values)),
           f"parameters() must return every weight and bias exactly once: expected {n} "
           f"Values, got {len(got)}")
    weights = _weights(parameter_values(seed, n), nin, nouts)
    for x, got in zip(mlp_inputs(seed, nin, 3), obs["outputs"], strict=True):
        got = number(got, f"model({x})")
        expect(close(got, _forward(weights, x).item(), 1e-6, 1e-9),
               f"model([{', '.join(f'{v:.3g}' for v in x)}]) is {got:.6g}, which is wrong: each "
               f"neuron computes w·x + b, with tanh on every layer but the last, which is linear")


# --- Exercise 7: one step of gradient descent ------------------------------------------------

@kernel
def train_inputs(seed):
    rng = random.Random(seed + 11)
    xs = [[rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)] for _ in range(4)]
    return xs, [rng.choice((-1.0, 1.0)) for _ in xs], 0.1


@probe("train_step")
def probe_train_step(ns, seed):
    MLP, train_step = need(ns, "MLP", "train_step")
    model = call("MLP(2, [3, 1])", MLP, 2, [3, 1])
    params = set_parameters(structure(model), seed)
    xs, ys, lr = train_inputs(seed)
    losses, after = [], []
    for _ in range(3):
        loss = call("train_step(model, xs, ys, lr)", train_step, model, xs, ys, lr)
        losses.append(getattr(loss, "data", loss))
        after.append([p.data for p in params])
    return {"losses": losses, "params": after}


@judge("train_step")
def judge_train_step(obs, seed):
    nin, nouts = 2, [3, 1]
    n = sum(n * (fan_in + 1) for fan_in, n in zip([nin, *nouts[:-1]], nouts))
    weights = _weights(parameter_values(seed, n), nin, nouts, requires_grad=True)
    xs, ys, lr = train_inputs(seed)
    expect(len(obs["losses"]) == len(obs["params"]) == 3, "malformed observation")
    for step, (got_loss, got_params) in enumerate(zip(obs["losses"], obs["params"]), 1):
        preds = torch.stack([_forward(weights, x).squeeze() for x in xs])
        loss = ((preds - torch.tensor(ys, dtype=torch.float64)) ** 2).mean()
        grads = torch.autograd.grad(loss, [t for pair in weights for t in pair])
        with torch.no_grad():
            weights = [((W - lr * gW).requires_grad_(True), (b - lr * gb).requires_grad_(True))
                       for (W, b), gW, gb in zip(weights, grads[0::2], grads[1::2])]
        got = number(got_loss, f"the loss train_step returned at step {step}")
        expect(close(got, loss.item(), 1e-6, 1e-9),
               f"step {step}: train_step returned loss {got:.6g}, which is not the mean of "
               f"(prediction - target)**2 over the batch before the update")
        flat = torch.cat([torch.cat([W.detach(), b.detach().unsqueeze(1)], 1).flatten()
                          for W, b in weights])
        values = torch.tensor([number(v, "a parameter") for v in got_params], dtype=torch.float64)
        if values.shape != flat.shape or not torch.allclose(values, flat, rtol=1e-6, atol=1e-9):
            raise Fail(f"after step {step} the parameters differ from p.data -= lr * p.grad. "
                       f"Did you reset every p.grad to 0 before backward()?")


# --- Exercise 6: forward mode with dual numbers ----------------------------------------------

@kernel
def dual_cases(seed):
    """(a, a', b, b') pairs for the dual-number operations."""
    rng = random.Random(seed)
    return [(operand(rng), rng.uniform(-2, 2), operand(rng), rng.uniform(-2, 2)) for _ in range(3)]


@kernel
def graded_functions(seed):
    """(name, f, point): functions of 3 to 6 inputs built from +, -, *, tanh and constants."""
    rng = random.Random(seed + 3)
    c1, c2 = rng.uniform(0.5, 2), rng.uniform(0.5, 2)

    def ring(v):
        return sum(((v[i] * v[(i + 1) % len(v)] * c1).tanh() for i in range(len(v))), 0.0)

    cases = [
        ("f(v) = tanh(v0·v1 + c·v2)·v0 − c'·v1",
         lambda v: (v[0] * v[1] + v[2] * c1).tanh() * v[0] - v[1] * c2, 3),
        ("f(v) = Σ tanh(c·v_i·v_(i+1))", ring, rng.randint(4, 6)),
        ("f(v) = (2 − v0)·v1·v1 + tanh(v2)", lambda v: (2 - v[0]) * v[1] * v[1] + v[2].tanh(), 3),
    ]
    return [(name, f, [rng.uniform(-1.5, 1.5) for _ in range(n)]) for name, f, n in cases]


@probe("forward_mode")
def probe_forward_mode(ns, seed):
    Dual, forward_grad = need(ns, "Dual", "forward_grad")
    ops = []
    for a, da, b, db in dual_cases(seed):
        x, y = Dual(a, da), Dual(b, db)
        for name, fn in (("x + y", lambda: x + y), ("x * y", lambda: x * y),
                         ("x.tanh()", lambda: x.tanh()), ("3 * x + 1", lambda: 3 * x + 1)):
            out = call(f"{name} for Dual numbers", fn)
            ops.append([getattr(out, "val", None), getattr(out, "dot", None)])
    grads = [[float(g) for g in call(f"forward_grad({name})", forward_grad, f, list(xs))]
             for name, f, xs in graded_functions(seed)]
    return {"ops": ops, "grads": grads}


@judge("forward_mode")
def judge_forward_mode(obs, seed):
    want = []
    for a, da, b, db in dual_cases(seed):
        t = math.tanh(a)
        want += [("x + y", a + b, da + db), ("x * y", a * b, da * b + a * db),
                 ("x.tanh()", t, (1 - t * t) * da), ("3 * x + 1", 3 * a + 1, 3 * da)]
    expect(len(obs["ops"]) == len(want), "malformed observation")
    for (name, val, dot), (got_val, got_dot) in zip(want, obs["ops"]):
        expect(close(number(got_val, f"{name}: .val"), val, RTOL, ATOL),
               f"{name}: .val is {got_val!r}, which is wrong")
        expect(close(number(got_dot, f"{name}: .dot"), dot, RTOL, ATOL),
               f"{name}: .dot is {got_dot:.6g}, which is wrong (sum rule a' + b', product rule "
               f"a'b + ab', tanh: (1 - tanh² a)·a')")
    functions = graded_functions(seed)
    expect(len(obs["grads"]) == len(functions), "malformed observation")
    for (name, f, xs), got in zip(functions, obs["grads"]):
        leaves = [_torch(x) for x in xs]
        f(leaves).backward()
        expect(len(got) == len(xs), f"forward_grad({name}) gave {len(got)} partial derivatives "
                                    f"for {len(xs)} inputs")
        for i, (g, leaf) in enumerate(zip(got, leaves)):
            expect(close(number(g, "a partial derivative"), leaf.grad.item(), RTOL, ATOL),
                   f"forward_grad({name}) at a random point: ∂f/∂v{i} is {g:.6g}, which is "
                   f"wrong. Pass i starts input i with tangent 1 and every other with 0.")


# --- Exercise 9: the max-margin loss ---------------------------------------------------------

@kernel
def hinge_inputs(seed):
    rng = random.Random(seed)
    scores = [rng.uniform(-2.5, 2.5) for _ in range(8)]
    return scores, [rng.choice((-1.0, 1.0)) for _ in scores], \
        [rng.uniform(-1.5, 1.5) for _ in range(5)], rng.uniform(0.01, 0.2)


@probe("hinge_loss")
def probe_hinge_loss(ns, seed):
    Value, hinge_loss = need(ns, "Value", "hinge_loss")
    scores, ys, params, alpha = hinge_inputs(seed)
    s, p = [Value(x) for x in scores], [Value(x) for x in params]
    loss = call("hinge_loss(scores, ys, params, alpha)", hinge_loss, s, list(ys), p, alpha)
    if not isinstance(loss, Value):
        raise StudentError(f"hinge_loss must return a Value, got {type(loss).__name__}")
    start, upstream = gradient_start(random.Random(seed + 5), len(s) + len(p))
    before, after = call("the _backward closures of the loss", reference_backward, loss, s + p,
                         start, upstream)
    return {"loss": loss.data, "grads_before": before, "grads_after": after}


@judge("hinge_loss")
def judge_hinge_loss(obs, seed):
    scores, ys, params, alpha = hinge_inputs(seed)
    s, p = _torch(scores), _torch(params)
    loss = torch.relu(1 - torch.tensor(ys, dtype=torch.float64) * s).mean() + alpha * (p * p).sum()
    loss.backward()
    got = number(obs["loss"], "the loss")
    expect(close(got, loss.item(), RTOL, ATOL),
           f"hinge_loss of 8 scores with alpha={alpha:.3g} is {got:.6g}, which is wrong: the mean "
           f"over the batch of max(0, 1 - y·s), plus alpha times the sum of the squared parameters")
    start, upstream = gradient_start(random.Random(seed + 5), len(scores) + len(params))
    before = torch.tensor([number(g, "a gradient") for g in obs["grads_before"]], dtype=torch.float64)
    after = torch.tensor([number(g, "a gradient") for g in obs["grads_after"]], dtype=torch.float64)
    start = torch.tensor(start, dtype=torch.float64)
    expect(before.shape == start.shape and torch.allclose(before, start, RTOL, ATOL),
           "the gradients of the inputs changed before backpropagation reached them: "
           "gradients come from the _backward closures only")
    want = start + upstream * torch.cat([s.grad, p.grad])
    expect(after.shape == want.shape and torch.allclose(after, want, RTOL, ATOL),
           "the gradients of the scores or parameters through hinge_loss are wrong: build the "
           "loss from Value operations (relu for max(0, ·)) so that backward() reaches every input")
