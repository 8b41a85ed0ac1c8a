"""The hidden checks of session 1 pass on correct answers and fail on typical mistakes."""

import pytest

from autograder.checks import exercises
from tests.notebook_exec import failing as failing_exercises
from tests.notebook_exec import namespace

SESSION = "01_micrograd"


def failing(ns):
    """The exercises whose judged probe fails on ``ns``, with their messages."""
    return failing_exercises(SESSION, ns)


@pytest.fixture(scope="module")
def solution():
    return namespace(SESSION, solutions_only=True)


def test_solution_passes_every_check(solution):
    assert failing(solution) == {}


# (exercise that must lose its points, cell, [(old, new)], what the mistake is)
MISTAKES = [
    ("value_ops", "value_class", [("return self + (-other)", "return other + (-self)")],
     "subtraction with its operands swapped"),
    ("value_ops", "value_class", [("return other * self ** -1", "return self * other ** -1")],
     "reflected division computes self / other"),
    ("value_ops", "value_class", [("    def __radd__(self, other):  # other + self\n"
                                   "        ### BEGIN SOLUTION\n        return self + other\n",
                                   "    def __radd__(self, other):  # other + self\n"
                                   "        ### BEGIN SOLUTION\n        return NotImplemented\n")],
     "missing __radd__ (2 + a fails)"),
    ("local_grads", "value_class", [("            self.grad += other.data * out.grad",
                                     "            self.grad = other.data * out.grad")],
     "= instead of += in the backward closure of *"),
    ("local_grads", "value_class", [("            self.grad += out.grad\n            other.grad += out.grad",
                                     "            self.grad = out.grad\n            other.grad = out.grad")],
     "= instead of += in the backward closure of +"),
    ("local_grads", "value_class", [("self.grad += k * self.data ** (k - 1) * out.grad",
                                     "self.grad += k * self.data ** k * out.grad")],
     "power rule with the wrong exponent"),
    ("local_grads", "value_class", [("self.grad += other.data * out.grad",
                                     "self.grad += other.data")],
     "chain rule forgets out.grad"),
    ("local_grads", "value_class", [("self.grad += k * self.data ** (k - 1) * out.grad",
                                     "self.grad = k * self.data ** (k - 1) * out.grad")],
     "= instead of += in the backward closure of **"),
    ("activations", "value_class", [("self.grad += (1.0 if self.data > 0 else 0.0) * out.grad",
                                     "self.grad = (1.0 if self.data > 0 else 0.0) * out.grad")],
     "= instead of += in the backward closure of relu"),
    ("activations", "value_class", [("self.grad += out.data * out.grad",
                                     "self.grad = out.data * out.grad")],
     "= instead of += in the backward closure of exp"),
    ("activations", "value_class", [("self.grad += (1 - t ** 2) * out.grad",
                                     "self.grad = (1 - t ** 2) * out.grad")],
     "= instead of += in the backward closure of tanh"),
    ("activations", "value_class", [("self.grad += (1 - t ** 2) * out.grad",
                                     "self.grad += (1 - self.data ** 2) * out.grad")],
     "tanh derivative from the input instead of the output"),
    ("activations", "value_class", [("self.grad += out.data * out.grad",
                                     "self.grad += self.data * out.grad")],
     "exp derivative written as the input"),
    ("activations", "value_class", [("(1.0 if self.data > 0 else 0.0) * out.grad", "out.grad")],
     "relu passes the gradient for negative inputs"),
    ("backward", "value_class", [("        self.grad = 1.0\n        for node in reversed(topo):",
                                  "        for node in reversed(topo):")],
     "the root gradient is never set to 1"),
    ("backward", "value_class", [("        for node in reversed(topo):", "        for node in topo:")],
     "topological order not reversed"),
    ("backward", "value_class", [("            elif node not in visited:", "            else:")],
     "shared nodes visited more than once"),
    ("backward", "value_class", [(
        "        topo, visited, stack = [], set(), [(self, False)]\n"
        "        while stack:\n"
        "            node, children_done = stack.pop()\n"
        "            if children_done:\n"
        "                topo.append(node)\n"
        "            elif node not in visited:\n"
        "                visited.add(node)\n"
        "                stack.append((node, True))\n"
        "                stack.extend((child, False) for child in node._prev)\n",
        "        topo, visited = [], set()\n"
        "        def build(v):\n"
        "            if v not in visited:\n"
        "                visited.add(v)\n"
        "                for child in v._prev:\n"
        "                    build(child)\n"
        "                topo.append(v)\n"
        "        build(self)\n")],
     "recursive topological sort (fails past the recursion limit)"),
    ("finite_diff", "numerical_grad", [("(f(up) - f(down)) / (2 * h)", "(f(up) - f(xs)) / h")],
     "one-sided difference"),
    ("finite_diff", "numerical_grad", [("(f(up) - f(down)) / (2 * h)", "(f(up) - f(down)) / h")],
     "central difference divided by h instead of 2h"),
    ("finite_diff", "numerical_grad", [("up, down = list(xs), list(xs)", "up, down = xs, list(xs)")],
     "mutates the caller's list"),
    ("nn", "nn_classes", [("nonlin=i < len(nouts) - 1", "nonlin=True")],
     "tanh on the output layer too"),
    ("nn", "nn_classes", [("return self.w + [self.b]", "return self.w")],
     "parameters() forgets the bias"),
    ("nn", "nn_classes", [("sum((wi * xi for wi, xi in zip(self.w, x)), self.b)",
                           "sum((wi * xi for wi, xi in zip(self.w, x)))")],
     "neuron without its bias"),
    ("forward_mode", "dual", [("self.dot * other.val + self.val * other.dot",
                               "self.dot * other.dot")], "product rule multiplies the tangents"),
    ("forward_mode", "dual", [("return Dual(t, (1 - t * t) * self.dot)", "return Dual(t, 1 - t * t)")],
     "tanh forgets the incoming tangent"),
    ("forward_mode", "dual", [("Dual(x, 1.0 if j == i else 0.0)", "Dual(x, 1.0)")],
     "every input starts with tangent 1 (gives the sum of the partials)"),
    ("hinge_loss", "hinge_loss", [("(1 + -yj * sj).relu()", "(1 + -yj * sj)")],
     "hinge without max(0, ·)"),
    ("hinge_loss", "hinge_loss", [(") / len(ys)", ")")], "sum instead of mean over the batch"),
    ("hinge_loss", "hinge_loss", [("sum(p * p for p in params)", "sum(p for p in params)")],
     "L2 penalty without the square"),
    ("train_step", "train_step", [("    for p in model.parameters():\n        p.grad = 0.0\n", "")],
     "gradients never reset"),
    ("train_step", "train_step", [("p.data -= lr * p.grad", "p.data += lr * p.grad")],
     "gradient ascent"),
    ("train_step", "train_step", [(" / len(ys)", "")], "sum instead of mean"),
]


@pytest.mark.parametrize("exercise,cell,edits,what", MISTAKES, ids=[m[3] for m in MISTAKES])
def test_typical_mistake_loses_its_exercise(exercise, cell, edits, what):
    ns = namespace(SESSION, {cell: edits}, solutions_only=True)
    assert exercise in failing(ns), f"the checks did not catch: {what}"


def test_every_exercise_has_two_caught_mistakes():
    counts = {}
    for exercise, *_ in MISTAKES:
        counts[exercise] = counts.get(exercise, 0) + 1
    assert set(counts) == set(exercises(SESSION)) and min(counts.values()) >= 2, counts


# Correct answers written differently from ours keep every point.
ALTERNATIVES = [
    ("value_class", [("return self + (-other)",
                      "other = other if isinstance(other, Value) else Value(other)\n"
                      "        out = Value(self.data - other.data, (self, other), '-')\n"
                      "        def _backward():\n"
                      "            self.grad += out.grad\n"
                      "            other.grad -= out.grad\n"
                      "        out._backward = _backward\n"
                      "        return out")],
     "subtraction with its own closure"),
    ("value_class", [("        t = math.tanh(self.data)\n",
                      "        t = (math.exp(2 * self.data) - 1) / (math.exp(2 * self.data) + 1)\n")],
     "tanh through exp"),
    ("value_class", [("return self * other ** -1", "return self * (other ** -1.0)"),
                     ("return other * self ** -1", "return Value(other) / self")],
     "division written with float exponents and Value(other)"),
    ("value_class", [(
        "        topo, visited, stack = [], set(), [(self, False)]\n"
        "        while stack:\n"
        "            node, children_done = stack.pop()\n"
        "            if children_done:\n"
        "                topo.append(node)\n"
        "            elif node not in visited:\n"
        "                visited.add(node)\n"
        "                stack.append((node, True))\n"
        "                stack.extend((child, False) for child in node._prev)\n"
        "        self.grad = 1.0\n"
        "        for node in reversed(topo):\n"
        "            node._backward()\n",
        # Kahn's algorithm: count the users of each node, release a node once all are done
        "        users, seen, todo = {}, {id(self)}, [self]\n"
        "        while todo:\n"
        "            n = todo.pop()\n"
        "            for c in n._prev:\n"
        "                users[id(c)] = users.get(id(c), 0) + 1\n"
        "                if id(c) not in seen:\n"
        "                    seen.add(id(c))\n"
        "                    todo.append(c)\n"
        "        self.grad = 1\n"
        "        ready = [self]\n"
        "        while ready:\n"
        "            n = ready.pop()\n"
        "            n._backward()\n"
        "            for c in set(n._prev):\n"
        "                users[id(c)] -= sum(1 for x in n._prev if x is c)\n"
        "                if users[id(c)] == 0:\n"
        "                    ready.append(c)\n")],
     "backward by Kahn's algorithm"),
    ("numerical_grad", [("    grads = []\n    for i in range(len(xs)):\n"
                         "        up, down = list(xs), list(xs)\n        up[i] += h\n"
                         "        down[i] -= h\n        grads.append((f(up) - f(down)) / (2 * h))\n"
                         "    return grads\n",
                         "    e = lambda i, s: [x + s * h * (j == i) for j, x in enumerate(xs)]\n"
                         "    return [(f(e(i, 1)) - f(e(i, -1))) / h / 2 for i in range(len(xs))]\n")],
     "finite differences as a comprehension"),
    ("nn_classes", [("        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)\n",
                     "        act = self.b\n        for wi, xi in zip(self.w, x):\n"
                     "            act = act + wi * xi\n"),
                    ("        return [p for layer in self.layers for p in layer.parameters()]",
                     "        params = []\n        for layer in reversed(self.layers):\n"
                     "            params += layer.parameters()\n        return params")],
     "neuron as a loop, parameters in another order"),
    ("dual", [("    grads = []\n    for i in range(len(xs)):\n        duals = [Dual(x, 1.0 if j == i else 0.0) for j, x in enumerate(xs)]\n        grads.append(f(duals).dot)\n    return grads\n",
               "    n = len(xs)\n    return [f([Dual(xs[j], float(i == j)) for j in range(n)]).dot for i in range(n)]\n")],
     "forward_grad as a comprehension"),
    ("hinge_loss", [("    data_loss = sum((1 + -yj * sj).relu() for sj, yj in zip(scores, ys)) / len(ys)\n"
                     "    reg_loss = alpha * sum(p * p for p in params)\n    return data_loss + reg_loss\n",
                     "    total = Value(0.0)\n    for sj, yj in zip(scores, ys):\n"
                     "        total = total + (-(sj * yj) + 1).relu() * (1.0 / len(ys))\n"
                     "    for p in params:\n        total = total + alpha * p ** 2\n    return total\n")],
     "hinge loss accumulated in a loop, p ** 2"),
    ("value_class", [("            self.grad += other.data * out.grad\n            other.grad += self.data * out.grad",
                      "            self.grad = self.grad + out.grad * other.data\n"
                      "            other.grad = out.grad * self.data + other.grad")],
     "product closure accumulating with grad = grad + ..."),
    ("train_step", [("    for p in model.parameters():\n        p.grad = 0.0\n", ""),
                    ("    loss = sum((p - y) ** 2 for p, y in zip(preds, ys)) / len(ys)\n",
                     "    for p in model.parameters():\n        p.grad = 0\n"
                     "    loss = Value(0.0)\n    for p, y in zip(preds, ys):\n"
                     "        loss = loss + (p - y) * (p - y) * (1.0 / len(ys))\n"),
                    ("    return loss\n", "    return loss.data\n")],
     "loss accumulated in a loop, returned as a float"),
]


@pytest.mark.parametrize("cell,edits,what", ALTERNATIVES, ids=[a[2] for a in ALTERNATIVES])
def test_correct_variant_keeps_every_point(cell, edits, what):
    ns = namespace(SESSION, {cell: edits}, solutions_only=True)
    assert failing(ns) == {}, f"a correct answer lost points: {what}"


def test_gradients_written_without_backward_closures_earn_nothing():
    """A Value that writes forward-mode derivatives into its leaves while it is built (no
    _backward closure, no graph) has right forward values and no gradients of its own."""
    from tests.hostile_judges_s01_s02_s05 import FORWARD_ONLY_VALUE

    ns = namespace(SESSION, solutions_only=True)
    exec(FORWARD_ONLY_VALUE, ns)
    lost = failing(ns)
    assert {"local_grads", "activations", "hinge_loss"} <= set(lost) and "value_ops" not in lost
