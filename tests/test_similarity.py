"""The similarity report on a planted class of session 01_micrograd.

Three students answer independently, each in their own way; three others hand in disguised
copies of them (names changed, comments rewritten, functions reordered, cells split). The
copies must rank at the top, the independent answers below, and the released notebook handed
in twice must share nothing. Broken and empty submissions are listed, never fatal.
"""

from __future__ import annotations

import csv
import re
import textwrap

import nbformat
import numpy as np
import pytest

from autograder.cli import main
from autograder.paths import NOTEBOOKS_DIR, source_notebook
from autograder.similarity import (COMMON_MIN, fingerprint_weights, normalize, raw_positions,
                                   similarity_report)

SESSION = "01_micrograd"
BLOCK = re.compile(r"^( *)### BEGIN SOLUTION\n.*?^ *### END SOLUTION\n?", re.S | re.M)

# Two answers written from scratch, block by block in notebook order, each in its own style.
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


def solution_cells() -> dict[str, str]:
    nb = nbformat.read(source_notebook(SESSION), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def answered(blocks: dict[str, list[str]] | None) -> dict[str, str]:
    """Each solution cell with its solution blocks replaced by ``blocks`` (None: the reference)."""
    cells = {}
    for grade_id, source in solution_cells().items():
        bodies = iter((blocks or {}).get(grade_id, []))

        def fill(match, bodies=bodies, given=grade_id in (blocks or {})):
            if blocks is None:
                return match.group(0)
            # an exercise this answer does not cover is left as released
            body = textwrap.dedent("        " + next(bodies)) if given else "raise NotImplementedError()"
            return textwrap.indent(body, match.group(1)) + "\n"
        text = BLOCK.sub(fill, source)
        cells[grade_id] = "\n".join(line for line in text.splitlines()
                                    if "### BEGIN SOLUTION" not in line
                                    and "### END SOLUTION" not in line)
    return cells


# ---- disguises -------------------------------------------------------------------------------

def rename(cells: dict[str, str], names: dict[str, str]) -> dict[str, str]:
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    return {k: pattern.sub(lambda m: names[m.group(1)], v) for k, v in cells.items()}


def recomment(cells: dict[str, str]) -> dict[str, str]:
    """Every comment dropped, new ones written, blank lines and spacing changed."""
    out = {}
    for k, src in cells.items():
        lines = []
        for n, line in enumerate(src.splitlines()):
            code = re.sub(r"\s+#.*$", "", line) if not line.lstrip().startswith("#") else ""
            if not code.strip():
                continue
            if n % 4 == 0 and code.strip().startswith(("for", "return", "if")):
                lines.append(re.match(r" *", code).group(0) + "# step: see the course notes")
            lines.append(code.replace(" = ", "  =  ").replace(", ", ","))
        out[k] = "\n".join(lines)
    return out


def reorder(source: str, boundary: str) -> str:
    """Reverse the order of the chunks that start with ``boundary`` (methods or classes)."""
    parts = re.split(f"(?m)^(?={boundary})", source)
    return "\n".join([parts[0].rstrip("\n")] + [p.rstrip("\n") for p in parts[1:]][::-1])


def shuffled_and_split(cells: dict[str, str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Methods of Value reversed, the network's classes reversed and split into three cells."""
    cells = dict(cells)
    cells["value_class"] = reorder(cells["value_class"], "    def ")
    classes = re.split(r"(?m)^(?=class )", reorder(cells["nn_classes"], "class "))
    cells["nn_classes"] = classes[0] + classes[1]
    return cells, [("nn_classes", c) for c in classes[2:]]


# ---- the class on disk -----------------------------------------------------------------------

def released() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS_DIR / SESSION / source_notebook(SESSION).name, as_version=4)


def hand_in(root, student, cells=None, added=(), raw: bytes | None = None):
    folder = root / student / SESSION
    folder.mkdir(parents=True)
    path = folder / source_notebook(SESSION).name
    if raw is not None:
        path.write_bytes(raw)
        return
    nb = released()
    kept = []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cells and grade_id in cells:
            cell.source = cells[grade_id]
        kept.append(cell)
        kept += [nbformat.v4.new_code_cell(src) for after, src in added if after == grade_id]
    nb.cells = kept
    nbformat.write(nb, path)


COPIES = {("bea", "dan"), ("cyd", "eve"), ("fay", "ref")}
INDEPENDENT = {("bea", "cyd"), ("bea", "ref"), ("cyd", "ref")}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    subs, out = root / "submitted", root / "similarity"
    ref, bea, cyd = answered(None), answered(BEA), answered(CYD)
    hand_in(subs, "ref", ref)
    hand_in(subs, "bea", bea)
    hand_in(subs, "cyd", cyd)
    hand_in(subs, "dan", recomment(rename(bea, {
        "res": "output", "back": "chain", "order": "topo_list", "seen": "done",
        "visit": "dfs", "params": "ps", "outs": "results", "total": "acc", "diff": "err",
        "plus": "up", "minus": "down", "neuron": "unit"})))
    eve, eve_added = shuffled_and_split(cyd)
    hand_in(subs, "eve", eve, eve_added)
    fay, fay_added = shuffled_and_split(recomment(rename(ref, {
        "out": "o", "topo": "ordering", "visited": "marked", "stack": "todo",
        "grads": "g", "preds": "outputs"})))
    hand_in(subs, "fay", fay, fay_added)
    hand_in(subs, "gus")  # the released notebook, untouched
    hand_in(subs, "hal")
    hand_in(subs, "ivy", raw=b'{"cells": [ this is not json')
    hand_in(subs, "jo", raw=nbformat.writes(nbformat.v4.new_notebook()).encode())
    (subs / "kim" / SESSION).mkdir(parents=True)  # a folder without a notebook
    paths = similarity_report(subs, out)
    with open(out / f"{SESSION}.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {"paths": paths, "rows": rows,
            "html": (out / f"{SESSION}.html").read_text(encoding="utf-8"),
            "scores": {frozenset((r["student_a"], r["student_b"])): float(r["score"])
                       for r in rows}}


def test_disguised_copies_rank_at_the_top(report):
    top = {tuple(sorted((r["student_a"], r["student_b"]))) for r in report["rows"][:3]}
    assert top == COPIES, report["rows"][:6]


def test_independent_answers_rank_low(report):
    scores = report["scores"]
    weakest_copy = min(scores[frozenset(p)] for p in COPIES)
    strongest_own = max(scores[frozenset(p)] for p in INDEPENDENT)
    assert weakest_copy > 0.5, weakest_copy
    assert strongest_own < weakest_copy / 2, (strongest_own, weakest_copy)


def test_released_notebook_twice_shares_nothing(report):
    assert report["scores"].get(frozenset(("gus", "hal")), 0.0) == 0.0
    assert not any(("gus" in pair or "hal" in pair) and score > 0
                   for pair, score in report["scores"].items())
    assert re.search(r"gus</td><td>nothing of their own", report["html"])


def test_broken_and_empty_submissions_are_listed(report):
    html = report["html"]
    assert re.search(r"ivy</td><td>[^<]*not a readable notebook", html)
    assert re.search(r"jo</td><td>nothing of their own", html)
    assert re.search(r"kim</td><td>expected notebook", html)
    students = {r["student_a"] for r in report["rows"]} | {r["student_b"] for r in report["rows"]}
    assert students == {"ref", "bea", "cyd", "dan", "eve", "fay"}
    assert len(report["rows"]) == 15  # every pair of the six compared students


def test_report_is_self_contained_and_shows_the_matches(report):
    html = report["html"]
    assert "Look at these" in html
    assert 'src="data:image/png;base64,' in html
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)
    first = html.split('id="pair-1"')[1].split('id="pair-2"')[0]
    assert first.count("<mark>") >= 4
    marked = "".join(re.findall(r"<mark>(.*?)</mark>", first, re.S))
    assert "_backward" in marked or "grad" in marked


def test_common_code_weighs_less():
    n = 300
    w = fingerprint_weights(np.array([2, 3, 10, 40, 75, 76, 300]), n)
    assert w[0] == 1.0 and np.all(np.diff(w[:5]) < 0) and w[4] > 0
    assert w[5] == 0.0 and w[6] == 0.0  # held by more than a quarter of the class
    small = fingerprint_weights(np.array([2, COMMON_MIN]), 40)
    assert small[1] > 0  # a small class keeps what a handful share


def test_highlights_map_back_to_the_code_as_written():
    code = "class Counter:\n    total = 0  # start\n    def add(self, amount):\n        return amount\n"
    filtered, offsets = normalize(code)
    assert filtered.startswith("classO:V=0")
    for char, written in (("V", "total"), ("0", "0 "), ("F", "add(")):
        pos = filtered.index(char, filtered.index(":"))
        at = int(raw_positions(np.array([pos]), offsets)[0])
        assert code[at:].startswith(written), (char, code[at:at + 10])


def test_command_line_writes_the_report(tmp_path, capsys):
    hand_in(tmp_path / "in", "one", answered(None))
    hand_in(tmp_path / "in", "two", answered(BEA))
    assert main(["similarity", "--submissions", str(tmp_path / "in"),
                 "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / f"{SESSION}.html").is_file()
    assert (tmp_path / "out" / f"{SESSION}.csv").read_text().count("\n") == 2
    assert main(["similarity", "--submissions", str(tmp_path / "missing"),
                 "--out", str(tmp_path / "out")]) == 2
