"""Hostile cases on sessions 1, 2 and 5: judges decide on evidence, never on claims (tests/hostile.py).

Each case is a submission built from the session's release or solution that an earlier judge
over-rewarded; its Expect says the points it deserves and no more.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.notebook_info import grade_cells, total_points
from autograder.paths import source_notebook
from autograder.policy import load_policy
from tests.hostile import Case, Expect, blank, replace, solved

S1, S2, S5 = "01_micrograd", "02_makemore", "05_convnets"


def earned(session: str, exercises: set[str], keep: bool) -> float:
    """The points of ``exercises`` (keep=True) or of every other exercise (keep=False)."""
    return sum(p for gid, p in grade_cells(session) if (gid.split("__")[0] in exercises) == keep)


def losing(session: str, *exercises: str) -> Expect:
    """The solution less ``exercises``: their points lost, the starred cap if one is starred."""
    policy = load_policy()
    left = earned(session, set(exercises), keep=False)
    score = policy.raw_score(left, total_points(session))
    if set(exercises) & set(policy.sessions[session].starred):
        score = min(score, policy.starred_cap)
    return Expect(score, points=(left, left), deserved_points=left)


def only(session: str, *exercises: str) -> Expect:
    """A release with ``exercises`` answered and nothing else (none of them starred)."""
    points = earned(session, set(exercises), keep=True)
    policy = load_policy()
    score = policy.raw_score(points, total_points(session))
    if policy.sessions[session].starred:
        score = min(score, policy.starred_cap)
    return Expect(score, points=(points, points), deserved_points=points)


def writes(session: str, nb):
    def build(folder: Path):
        nbformat.write(nb(), folder / source_notebook(session).name)
    return build


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def answered(session: str, grade_id: str, source: str):
    """The session's release with one solution cell answered by ``source``."""
    def make():
        nb = blank(session)
        _cell(nb, grade_id).source = source
        return nb
    return make


def mutated(session: str, grade_id: str, *edits: tuple[str, str]):
    """The session's solution with ``edits`` (old, new) made in one solution cell."""
    def make():
        nb = solved(session)
        for old, new in edits:
            nb = replace(nb, grade_id, old, new)
        return nb
    return make


# --- session 1: gradients without backward closures ------------------------------------------

FORWARD_ONLY_VALUE = '''
class Value:
    """Forward only: each value carries d(value)/d(leaf) for its leaves and writes them into the
    leaves' .grad as if it were the root. No _backward closure, no graph."""

    def __init__(self, data, _children=(), _op="", _partials=None):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = ()
        self._op = _op
        self._partials = {id(self): (self, 1.0)} if _partials is None else _partials
        for leaf, d in self._partials.values():
            if leaf is not self:
                leaf.grad = d

    def _make(self, data, pairs):
        partials = {}
        for node, local in pairs:
            for key, (leaf, d) in node._partials.items():
                partials[key] = (leaf, partials.get(key, (leaf, 0.0))[1] + local * d)
        return Value(data, (), "", partials)

    def __add__(self, o):
        o = o if isinstance(o, Value) else Value(o)
        return self._make(self.data + o.data, [(self, 1.0), (o, 1.0)])

    def __mul__(self, o):
        o = o if isinstance(o, Value) else Value(o)
        return self._make(self.data * o.data, [(self, o.data), (o, self.data)])

    def __pow__(self, k):
        return self._make(self.data ** k, [(self, k * self.data ** (k - 1))])

    def __neg__(self): return self * -1
    def __sub__(self, o): return self + (-o)
    def __truediv__(self, o): return self * o ** -1
    def __radd__(self, o): return self + o
    def __rmul__(self, o): return self * o
    def __rsub__(self, o): return o + (-self)
    def __rtruediv__(self, o): return o * self ** -1

    def exp(self):
        e = math.exp(self.data)
        return self._make(e, [(self, e)])

    def tanh(self):
        t = math.tanh(self.data)
        return self._make(t, [(self, 1 - t * t)])

    def relu(self):
        return self._make(max(self.data, 0.0), [(self, 1.0 if self.data > 0 else 0.0)])

    def backward(self):
        pass
'''


# --- session 5: a "convnet" that is one linear layer, and one-deviation architectures ----------

LINEAR_WITH_DECOYS = '''class ConvNet(nn.Module):
    """One linear layer; the layers of the table are built and never used."""

    def __init__(self, image_size=28, n_classes=10, width=16, p_drop=0.3):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.bn2, self.drop = nn.BatchNorm2d(2 * width), nn.Dropout(p_drop)
        self.fc = nn.Linear(image_size * image_size, n_classes)

    def forward(self, x):
        return self.fc(x.flatten(1))


def train_epoch('''


def convnet_replaced(source: str):
    """The session-5 solution with its ConvNet class replaced by ``source``."""
    def make():
        nb = solved(S5)
        cell = _cell(nb, "convnet")
        start, end = cell.source.index("class ConvNet"), cell.source.index("def train_epoch(")
        cell.source = cell.source[:start] + source + cell.source[end + len("def train_epoch("):]
        return nb
    return make


def cases(submissions_root: Path, canary: Path, port: int) -> list[Case]:
    return [
        Case("forward_only_value", S1, writes(S1, answered(S1, "value_class", FORWARD_ONLY_VALUE)),
             only(S1, "value_ops"),
             "a Value without backward closures that writes forward-mode derivatives into the "
             "leaves' .grad (earned local_grads and activations: 9 of 26 points where 3 are due)"),
        Case("convnet_linear_decoys", S5, writes(S5, convnet_replaced(LINEAR_WITH_DECOYS)),
             losing(S5, "convnet"), "the starred ConvNet is one nn.Linear, with Conv2d, "
             "BatchNorm2d and Dropout built and never used (kept 4/4)"),
        Case("convnet_avgpool", S5, writes(S5, mutated(S5, "convnet", (
            "nn.MaxPool2d(2),  # (B, 2w, s/4, s/4)", "nn.AvgPool2d(2),  # (B, 2w, s/4, s/4)"))),
             losing(S5, "convnet"), "average-pooling in the second block (kept 4/4)"),
        Case("convnet_64_hidden", S5, writes(S5, mutated(S5, "convnet", (
            "side * side, 128)", "side * side, 64)"), ("nn.Linear(128, n_classes)",
                                                       "nn.Linear(64, n_classes)"))),
             losing(S5, "convnet"), "64 hidden units instead of 128 (kept 4/4)"),
        Case("convnet_no_second_batchnorm", S5, writes(S5, mutated(S5, "convnet", (
            "nn.BatchNorm2d(2 * width), ", ""))),
             losing(S5, "convnet"), "no BatchNorm2d in the second block (kept 4/4)"),
        Case("convnet_ignores_p_drop", S5, writes(S5, mutated(S5, "convnet", (
            "nn.Dropout(p_drop)", "nn.Dropout(0.3)"))),
             losing(S5, "convnet"), "dropout fixed at 0.3 whatever p_drop says (kept 4/4)"),
        Case("confusion_floats", S5, writes(S5, mutated(S5, "confusion", (
            ".view(n_classes, n_classes)", ".view(n_classes, n_classes).float()"))),
             losing(S5, "confusion"), "a confusion matrix of floats where the statement says "
             "int64 (kept 4/4)"),
        Case("trigram_counts_floats", S2, writes(S2, mutated(S2, "trigram_counts_fn", (
            "dtype=torch.int32", "dtype=torch.float32"))),
             losing(S2, "trigram_counts"), "trigram counts as floats where the statement says "
             "integers (kept 4/4)"),
    ]
