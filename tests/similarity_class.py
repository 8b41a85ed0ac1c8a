"""A synthetic class for the similarity report, built from the solution notebooks.

``build`` writes one session's class: 24 independent students and 6 disguised copies (two of
each of 3 of them), 9 planted pairs among 435. Independent students answer each solution
block from a template drawn per block: the reference answer, the reference rewritten by one
of three sets of rewrites that keep the meaning (method ↔ function calls, ``+=`` ↔ ``= … +``,
a computed argument or result named first, ``x ** 2`` ↔ ``x * x``, loop ↔ comprehension,
``dim=`` passed by position, a constant on the other side of ``*``, float literals,
``.shape[i]`` ↔ ``.size(i)``), and in session 1 two answers written by hand. A short block may
read the same in several templates, as in a real class. A student adds one more rewrite of
their own to some blocks, a print to a few, and leaves a block unanswered now and then; three
students leave most blocks unanswered. Templates are shared by many students, so independent
pairs share a good part of their code; what sets a copy apart is that it shares everything.

A disguised copy takes another student's answers and always renames the local names, drops
the comments, writes new ones and changes spacing; a heavy one also reverses the order of the
functions and methods, splits cells (or merges them), flips loops and comprehensions and adds
dead statements. The code is read, never run.
"""

from __future__ import annotations

import ast
import functools
import random
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.paths import NOTEBOOKS_DIR, source_notebook

BLOCK = re.compile(r"^( *)### BEGIN SOLUTION\n(.*?)^ *### END SOLUTION\n?", re.S | re.M)
UNANSWERED = "# YOUR CODE HERE\nraise NotImplementedError()"
SESSIONS = ("01_micrograd", "02_makemore", "03_backprop", "04_gpt", "05_convnets",
            "06_diffusion")

# ---- rewrites that keep the meaning -----------------------------------------------------

METHODS = {"softmax", "log_softmax", "tanh", "exp", "log", "sum", "mean", "relu", "sigmoid",
           "sqrt", "abs", "argmax", "transpose", "matmul", "clamp", "var", "std", "flatten"}
DIM_TAKERS = {"softmax", "log_softmax", "sum", "mean", "argmax", "cat", "stack", "var", "std",
              "cumsum", "max", "min", "unsqueeze"}


class CallStyle(ast.NodeTransformer):
    """``torch.f(x, …)`` / ``F.f(x, …)`` ↔ ``x.f(…)``."""

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if not isinstance(f, ast.Attribute) or f.attr not in METHODS:
            return node
        if isinstance(f.value, ast.Name) and f.value.id in ("torch", "F") and node.args:
            return ast.Call(ast.Attribute(node.args[0], f.attr, ast.Load()), node.args[1:],
                            node.keywords)
        if not (isinstance(f.value, ast.Name) and f.value.id in ("torch", "F", "np", "math")):
            return ast.Call(ast.Attribute(ast.Name("torch", ast.Load()), f.attr, ast.Load()),
                            [f.value] + node.args, node.keywords)
        return node


class AugAssign(ast.NodeTransformer):
    """``x += e`` ↔ ``x = x + e``."""

    def visit_AugAssign(self, node):
        load = ast.parse(ast.unparse(node.target), mode="eval").body
        return ast.Assign([node.target], ast.BinOp(load, node.op, node.value), lineno=0)

    def visit_Assign(self, node):
        v = node.value
        if (len(node.targets) == 1 and isinstance(v, ast.BinOp)
                and ast.dump(v.left) == ast.dump(node.targets[0]).replace("Store", "Load")):
            return ast.AugAssign(node.targets[0], v.op, v.right)
        return node


class NamedResult(ast.NodeTransformer):
    """``return e`` → ``result = e; return result`` for a computed ``e``."""

    def visit_Return(self, node):
        if isinstance(node.value, (ast.Call, ast.BinOp, ast.ListComp, ast.Tuple)):
            name = ast.Name("result", ast.Store())
            return [ast.Assign([name], node.value, lineno=0),
                    ast.Return(ast.Name("result", ast.Load()))]
        return node


class Square(ast.NodeTransformer):
    """``e ** 2`` ↔ ``e * e`` for a name or attribute ``e``."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        simple = (ast.Name, ast.Attribute)
        if (isinstance(node.op, ast.Pow) and isinstance(node.left, simple)
                and isinstance(node.right, ast.Constant) and node.right.value == 2):
            return ast.BinOp(node.left, ast.Mult(), node.left)
        if (isinstance(node.op, ast.Mult) and isinstance(node.left, simple)
                and ast.dump(node.left) == ast.dump(node.right)):
            return ast.BinOp(node.left, ast.Pow(), ast.Constant(2))
        return node


class Comprehension(ast.NodeTransformer):
    """``out = []; for …: out.append(e)`` ↔ ``out = [e for …]``."""

    def _body(self, body):
        out, i = [], 0
        while i < len(body):
            s, nxt = body[i], body[i + 1] if i + 1 < len(body) else None
            if (isinstance(s, ast.Assign) and isinstance(s.value, ast.List) and not s.value.elts
                    and isinstance(s.targets[0], ast.Name) and isinstance(nxt, ast.For)
                    and not nxt.orelse and len(nxt.body) == 1
                    and isinstance(nxt.body[0], ast.Expr)
                    and isinstance(call := nxt.body[0].value, ast.Call)
                    and isinstance(call.func, ast.Attribute) and call.func.attr == "append"
                    and isinstance(call.func.value, ast.Name)
                    and call.func.value.id == s.targets[0].id and len(call.args) == 1):
                comp = ast.ListComp(call.args[0], [ast.comprehension(nxt.target, nxt.iter, [], 0)])
                out.append(ast.Assign(s.targets, comp, lineno=0))
                i += 2
                continue
            if (isinstance(s, ast.Assign) and isinstance(s.value, ast.ListComp)
                    and isinstance(s.targets[0], ast.Name) and len(s.value.generators) == 1
                    and not s.value.generators[0].ifs):
                gen, name = s.value.generators[0], s.targets[0].id
                append = ast.Expr(ast.Call(ast.Attribute(ast.Name(name, ast.Load()), "append",
                                                         ast.Load()), [s.value.elt], []))
                out += [ast.Assign(s.targets, ast.List([], ast.Load()), lineno=0),
                        ast.For(gen.target, gen.iter, [append], [], lineno=0)]
                i += 1
                continue
            out.append(self.visit(s))
            i += 1
        return out

    def generic_visit(self, node):
        for name in ("body", "orelse"):
            if isinstance(getattr(node, name, None), list):
                setattr(node, name, self._body(getattr(node, name)))
        return node


class DimByPosition(ast.NodeTransformer):
    """``x.sum(dim=1)`` → ``x.sum(1)`` where ``dim`` is the only other argument."""

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        dims = [k for k in node.keywords if k.arg == "dim"]
        method = isinstance(f, ast.Attribute) and not (isinstance(f.value, ast.Name)
                                                       and f.value.id in ("torch", "F"))
        if (isinstance(f, ast.Attribute) and f.attr in DIM_TAKERS and dims
                and len(node.args) == (0 if method else 1)):
            node.args = node.args + [dims[0].value]
            node.keywords = [k for k in node.keywords if k.arg != "dim"]
        return node


class ConstantFirst(ast.NodeTransformer):
    """``e * 2`` ↔ ``2 * e``."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Mult) and (isinstance(node.left, ast.Constant)
                                              != isinstance(node.right, ast.Constant)):
            node.left, node.right = node.right, node.left
        return node


class Hoist(ast.NodeTransformer):
    """``y = f(g(x), …)`` → ``t = g(x); y = f(t, …)``: a computed first argument named first."""

    def visit_Assign(self, node):
        v = node.value
        if (isinstance(v, ast.Call) and v.args
                and isinstance(v.args[0], (ast.Call, ast.BinOp, ast.Subscript))):
            first = ast.Assign([ast.Name("tmp", ast.Store())], v.args[0], lineno=0)
            v.args = [ast.Name("tmp", ast.Load())] + v.args[1:]
            return [first, node]
        return node


class FloatLiterals(ast.NodeTransformer):
    """Integer constants in arithmetic written as floats: ``2 * h`` → ``2.0 * h``."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        for side in ("left", "right"):
            c = getattr(node, side)
            if isinstance(c, ast.Constant) and type(c.value) is int and not isinstance(
                    node.op, (ast.Pow, ast.FloorDiv, ast.Mod)):
                setattr(node, side, ast.Constant(float(c.value)))
        return node


class SizeCall(ast.NodeTransformer):
    """``x.shape[i]`` ↔ ``x.size(i)``."""

    def visit_Subscript(self, node):
        self.generic_visit(node)
        if (isinstance(node.value, ast.Attribute) and node.value.attr == "shape"
                and isinstance(node.slice, (ast.Constant, ast.UnaryOp))):
            return ast.Call(ast.Attribute(node.value.value, "size", ast.Load()), [node.slice], [])
        return node


REWRITES = (CallStyle, AugAssign, DimByPosition, Hoist, NamedResult, Square, Comprehension,
            ConstantFirst, FloatLiterals, SizeCall)
TEMPLATES = ((), (CallStyle, AugAssign, DimByPosition, Hoist),
             (NamedResult, Square, Comprehension, ConstantFirst, FloatLiterals, SizeCall),
             (CallStyle, Hoist, NamedResult, Comprehension, FloatLiterals))


@functools.lru_cache(maxsize=None)
def rewritten(body: str, rewrites: tuple) -> str:
    """A dedented block with ``rewrites`` applied (the block itself when none)."""
    if not rewrites:
        return body
    tree = ast.parse(body)
    for rewrite in rewrites:
        tree = ast.fix_missing_locations(rewrite().visit(tree))
    return ast.unparse(tree) + "\n"


# ---- answers written by hand (session 1): two more templates, unlike the reference ------

# Two answers written from scratch, block by block in notebook order, each in its own style
# (the exercises they do not cover fall back on a set of rewrites).
BEA = {
    "value_class": [
        """res = Value(self.data + other.data, _children=(self, other), _op="+")
        def back():
            self.grad += 1.0 * res.grad
            other.grad += 1.0 * res.grad
        res._backward = back
        return res""",
        """res = Value(self.data * other.data, _children=(self, other), _op="*")
        def back():
            self.grad = self.grad + res.grad * other.data
            other.grad = other.grad + res.grad * self.data
        res._backward = back
        return res""",
        """res = Value(math.pow(self.data, k), _children=(self,), _op="pow")
        def back():
            self.grad = self.grad + res.grad * k * math.pow(self.data, k - 1)
        res._backward = back
        return res""",
        "return Value(-1.0) * self",
        "return self + other * -1",
        "return self * (other ** -1.0)",
        "return Value(other) + self",
        "return Value(other) * self",
        "return Value(other) - self",
        "return Value(other) / self",
        """e = math.exp(self.data)
        res = Value(e, _children=(self,), _op="exp")
        def back():
            self.grad = self.grad + e * res.grad
        res._backward = back
        return res""",
        """x = self.data
        t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
        res = Value(t, _children=(self,), _op="tanh")
        def back():
            self.grad = self.grad + (1 - t * t) * res.grad
        res._backward = back
        return res""",
        """res = Value(max(0.0, self.data), _children=(self,), _op="ReLU")
        def back():
            if res.data > 0:
                self.grad = self.grad + res.grad
        res._backward = back
        return res""",
        """order = []
        seen = set()
        def visit(v):
            if v in seen:
                return
            seen.add(v)
            for child in v._prev:
                visit(child)
            order.append(v)
        visit(self)
        self.grad = 1.0
        for v in order[::-1]:
            v._backward()""",
    ],
    "numerical_grad": [
        """out = []
        for i, x in enumerate(xs):
            plus = xs[:i] + [x + h] + xs[i + 1:]
            minus = xs[:i] + [x - h] + xs[i + 1:]
            out.append((f(plus) - f(minus)) / (2 * h))
        return out""",
    ],
    "nn_classes": [
        """total = self.b
        for w, xi in zip(self.w, x):
            total = total + w * xi
        if self.nonlin:
            return total.tanh()
        return total""",
        "return [*self.w, self.b]",
        """outs = []
        for neuron in self.neurons:
            outs.append(neuron(x))
        if len(outs) == 1:
            return outs[0]
        return outs""",
        """params = []
        for neuron in self.neurons:
            params.extend(neuron.parameters())
        return params""",
        """self.layers = []
        for i in range(len(nouts)):
            last = i == len(nouts) - 1
            self.layers.append(Layer(sizes[i], sizes[i + 1], nonlin=not last))""",
        """out = x
        for layer in self.layers:
            out = layer(out)
        return out""",
        """params = []
        for layer in self.layers:
            params += layer.parameters()
        return params""",
    ],
    "train_step": [
        """loss = Value(0.0)
        for x, y in zip(xs, ys):
            diff = model(x) - y
            loss = loss + diff * diff
        loss = loss / len(xs)
        for p in model.parameters():
            p.grad = 0
        loss.backward()
        for p in model.parameters():
            p.data = p.data - lr * p.grad
        return loss""",
    ],
}

CYD = {
    "value_class": [
        """result = Value(self.data + other.data, (self, other), "+")
        def grad_fn():
            for node in (self, other):
                node.grad += result.grad
        result._backward = grad_fn
        return result""",
        """a, b = self.data, other.data
        result = Value(a * b, (self, other), "*")
        def grad_fn():
            self.grad += b * result.grad
            other.grad += a * result.grad
        result._backward = grad_fn
        return result""",
        """base = self.data
        result = Value(base ** k, (self,), "pow")
        def grad_fn():
            self.grad += result.grad * (k * base ** (k - 1))
        result._backward = grad_fn
        return result""",
        "return -1 * self",
        "return self + -1 * other",
        "return self * (other if isinstance(other, Value) else Value(other)) ** -1",
        "return self.__add__(other)",
        "return self.__mul__(other)",
        "return (-self).__add__(other)",
        "return (self ** -1).__mul__(other)",
        """value = math.exp(self.data)
        result = Value(value, (self,), "exp")
        result._backward = lambda: setattr(self, "grad", self.grad + value * result.grad)
        return result""",
        """th = math.tanh(self.data)
        result = Value(th, (self,), "tanh")
        result._backward = lambda: setattr(self, "grad", self.grad + (1 - th ** 2) * result.grad)
        return result""",
        """positive = self.data > 0
        result = Value(self.data * positive, (self,), "relu")
        result._backward = lambda: setattr(self, "grad", self.grad + positive * result.grad)
        return result""",
        """nodes, frontier = {self}, [self]
        while frontier:
            current = frontier.pop()
            for child in current._prev:
                if child not in nodes:
                    nodes.add(child)
                    frontier.append(child)
        parents = {n: 0 for n in nodes}
        for n in nodes:
            for child in n._prev:
                parents[child] += 1
        ready = [self]
        self.grad = 1.0
        while ready:
            n = ready.pop()
            n._backward()
            for child in n._prev:
                parents[child] -= 1
                if parents[child] == 0:
                    ready.append(child)""",
    ],
    "numerical_grad": [
        """def shifted(i, delta):
            return [v + delta if j == i else v for j, v in enumerate(xs)]
        return [(f(shifted(i, h)) - f(shifted(i, -h))) / (2 * h) for i in range(len(xs))]""",
    ],
    "nn_classes": [
        """z = sum(w * v for w, v in zip(self.w, x)) + self.b
        return z.tanh() if self.nonlin else z""",
        "return list(self.w) + [self.b]",
        """ys = list(map(lambda n: n(x), self.neurons))
        return ys if len(ys) > 1 else ys[0]""",
        "return sum((n.parameters() for n in self.neurons), [])",
        """n = len(nouts)
        self.layers = [Layer(a, b, nonlin=(j != n - 1))
                       for j, (a, b) in enumerate(zip(sizes, sizes[1:]))]""",
        """for layer in self.layers:
            x = layer(x)
        return x""",
        "return sum((layer.parameters() for layer in self.layers), [])",
    ],
    "train_step": [
        """total = sum(((model(x) - y) ** 2 for x, y in zip(xs, ys)), Value(0.0))
        loss = total * (1.0 / len(ys))
        params = model.parameters()
        for q in params:
            q.grad = 0.0
        loss.backward()
        for q in params:
            q.data += -lr * q.grad
        return loss""",
    ],
}

HANDWRITTEN = {"01_micrograd": (BEA, CYD)}


# ---- a student: one body per solution block, cells assembled from them ---------------------

@dataclass
class Student:
    name: str
    bodies: dict[str, list[str]]  # grade id -> dedented body of each block
    split: bool = False  # classes and functions after the first in added cells
    merged: bool = False  # each solution cell holds the next one's code too
    spacing: bool = False  # comments rewritten, spacing changed
    reordered: bool = False
    renames: dict[str, str] = field(default_factory=dict)
    copy_of: str = ""


def solution_cells(session: str) -> dict[str, str]:
    nb = nbformat.read(source_notebook(session), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def reference_bodies(session: str) -> dict[str, list[str]]:
    return {gid: [textwrap.dedent(m.group(2)) for m in BLOCK.finditer(src)]
            for gid, src in solution_cells(session).items()}


def templates(session: str) -> list:
    """Each template: rewrites of the reference, or answers by hand and the rewrites elsewhere."""
    return list(TEMPLATES) + [(hand, TEMPLATES[1 + n % 3])
                              for n, hand in enumerate(HANDWRITTEN.get(session, ()))]


def template_body(template, gid: str, number: int, body: str) -> str:
    if template and isinstance(template[0], dict):
        hand, template = template
        if gid in hand:
            return textwrap.dedent("        " + hand[gid][number]).rstrip() + "\n"
    return rewritten(body, template)


def independent(name: str, session: str, reference: dict[str, list[str]],
                rng: random.Random, skip: float = 0.05) -> Student:
    """A student who writes each block from a template drawn for it, with a touch of their
    own now and then (one more rewrite, a print), and leaves a block out now and then."""
    bodies = {}
    for gid, blocks in reference.items():
        bodies[gid] = []
        for number, body in enumerate(blocks):
            if rng.random() < skip:
                bodies[gid].append(UNANSWERED)
                continue
            body = template_body(rng.choice(templates(session)), gid, number, body)
            if rng.random() < 0.3:
                body = rewritten(body, (rng.choice(REWRITES),))
            if rng.random() < 0.15:
                names = sorted(set(re.findall(r"\b([a-z_]\w*) =", body))) or ["None"]
                body += f"print({rng.choice(names)!s})\n"
            bodies[gid].append(body)
    return Student(name, bodies)


DEAD = ("_unused = None", "pass", "assert True", "debug = False", "_ = len([])",
        "checked = 0")


def disguised(name: str, source: Student, rng: random.Random, heavy: bool) -> Student:
    """A copy of ``source``: names and comments always changed, the rest when ``heavy``."""
    bodies = {}
    for gid, blocks in source.bodies.items():
        bodies[gid] = []
        for body in blocks:
            if body != UNANSWERED and heavy:
                body = rewritten(body, (Comprehension,))
                lines = body.splitlines()
                if rng.random() < 0.3:
                    at = rng.randint(0, len(lines))
                    if at == len(lines) or not lines[at].startswith(
                            (" ", "\t", "else", "elif", "except", "finally")):
                        lines.insert(at, rng.choice(DEAD))
                body = "\n".join(lines) + "\n"
            bodies[gid].append(body)
    locals_ = {node.id for blocks in bodies.values() for b in blocks if b != UNANSWERED
               for node in ast.walk(ast.parse(b))
               if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)} - {"_"}
    renames = {n: f"{n}_{rng.choice(['v', 'tmp', 'my', 'val'])}" for n in sorted(locals_)}
    split = heavy and rng.random() < 0.5
    return Student(name, bodies, split=split, merged=heavy and not split,
                   spacing=True, reordered=heavy, renames=renames, copy_of=source.name)


# ---- the notebook on disk --------------------------------------------------------------------

def filled(source: str, bodies: list[str]) -> str:
    it = iter(bodies)
    return BLOCK.sub(lambda m: textwrap.indent(next(it), m.group(1)), source)


def rename(code: str, renames: dict[str, str]) -> str:
    """Local names renamed on indented lines (module-level names are used by later cells);
    attributes and keyword arguments keep theirs."""
    if not renames:
        return code
    pattern = re.compile(r"(?<![.\w])(" + "|".join(map(re.escape, renames)) + r")\b")

    def sub(m):
        before, after = m.string[:m.start()].rstrip(), m.string[m.end():]
        keyword = (before.endswith(("(", ",")) and before.count("(") > before.count(")")
                   and re.match(r"\s*=[^=]", after))
        return m.group(0) if keyword else renames[m.group(1)]
    return "\n".join(pattern.sub(sub, line) if line.startswith((" ", "\t"))
                     and '"""' not in line else line for line in code.splitlines())


def respaced(code: str, rng: random.Random) -> str:
    """Comments dropped and new ones written, blank lines and spacing changed."""
    out = []
    for line in code.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        if "'" not in line and '"' not in line:
            line = re.sub(r"\s+#.*$", "", line).replace(" = ", "  =  ").replace(", ", ",")
        if rng.random() < 0.2:
            out.append(re.match(r"\s*", line).group(0) + "# my own note on this step")
        out.append(line)
        if rng.random() < 0.15:
            out.append("")
    return "\n".join(out)


def reordered(code: str) -> str:
    """Top-level classes and functions in reverse order, and the methods of each class."""
    def reverse(text: str, boundary: str) -> str:
        parts = re.split(f"(?m)^(?={boundary})", text)
        return "\n".join([parts[0].rstrip("\n")] + [p.rstrip("\n") for p in parts[1:]][::-1])
    return reverse("\n".join(reverse(p, "    def ") for p in
                             re.split(r"(?m)^(?=class |def )", code)), "(?:class |def )")


def cells_of(student: Student, session: str, rng: random.Random) -> tuple[dict, list]:
    """Solution cell sources by grade id, and added cells as (after grade id, source)."""
    cells, added = {}, []
    for gid, source in solution_cells(session).items():
        code = filled(source, student.bodies[gid])
        code = rename(code, student.renames)
        if student.reordered:
            code = reordered(code)
        if student.spacing:
            code = respaced(code, rng)
        if student.split:
            parts = re.split(r"(?m)^(?=class |def )", code)
            if len(parts) > 2:
                code = parts[0] + parts[1]
                added += [(gid, p) for p in parts[2:]]
        cells[gid] = code
    if student.merged:  # every other cell's code moves up into the one before
        ids = list(cells)
        for first, second in zip(ids[::2], ids[1::2]):
            cells[first] += "\n\n" + cells.pop(second)
    return cells, added


def hand_in(root: Path, session: str, student: str, cells: dict | None = None,
            added=(), raw: bytes | None = None) -> None:
    """Write ``student``'s notebook: the released one with ``cells`` replaced by grade id."""
    name = source_notebook(session).name
    folder = root / student / session
    folder.mkdir(parents=True)
    if raw is not None:
        (folder / name).write_bytes(raw)
        return
    nb = nbformat.read(NOTEBOOKS_DIR / session / name, as_version=4)
    kept = []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cells and grade_id in cells:
            cell.source = cells[grade_id]
        kept.append(cell)
        kept += [nbformat.v4.new_code_cell(src) for after, src in added if after == grade_id]
    nb.cells = kept
    nbformat.write(nb, folder / name)


LOW_EFFORT = 3  # students who leave most blocks unanswered (never the ones copied)


def build(root: Path, session: str, seed: int = 0, students: int = 24,
          sources: int = 3) -> set[frozenset[str]]:
    """Write a class of ``students`` independent students and two disguised copies of each of
    ``sources`` of them under ``root``; return the planted pairs (a source and its copies,
    and the two copies of one source)."""
    rng = random.Random(f"{session}:{seed}")
    reference = reference_bodies(session)
    class_ = [independent(f"s{n:02d}", session, reference, rng,
                          skip=0.7 if n >= students - LOW_EFFORT else 0.05)
              for n in range(students)]
    planted = set()
    for k, source in enumerate(rng.sample(class_[:students - LOW_EFFORT], sources)):
        light = disguised(f"c{k}a", source, rng, heavy=k == 0)
        heavy = disguised(f"c{k}b", source, rng, heavy=True)
        class_ += [light, heavy]
        planted |= {frozenset((source.name, light.name)), frozenset((source.name, heavy.name)),
                    frozenset((light.name, heavy.name))}
    for student in class_:
        cells, added = cells_of(student, session, rng)
        hand_in(root, session, student.name, cells, added)
    return planted
