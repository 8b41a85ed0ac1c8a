"""The probes and judges of session 2 pass on correct answers and fail on typical mistakes.

The solution notebook is executed once (fast mode). Each mistake or variant then re-executes,
on a copy of that namespace, its own solution cell with the edit applied and every solution
cell after it (they only define functions), so that later functions call the edited ones as
they would in a student's notebook, and the notebook's globals (the dev set...) are there;
then every exercise is probed and judged exactly as shipped.
"""

import pytest

from autograder.checks import exercises
from autograder.checks import makemore as checks
from tests.notebook_exec import failing as failing_exercises
from tests.notebook_exec import MutationNotApplied, code_cells, namespace

SESSION = "02_makemore"


def failing(ns, seed=1234):
    """The exercises whose judged probe fails on ``ns``, with their messages."""
    return failing_exercises(SESSION, ns, seed)


@pytest.fixture(scope="module")
def solution():
    return namespace(SESSION)


def solution_cells():
    """(grade_id, source) of the solution cells, in notebook order."""
    return [(gid, src) for gid, is_test, src in code_cells(SESSION) if gid and not is_test]


def with_edits(base, cell, edits):
    """``base`` with solution cell ``cell`` edited and it and every later solution cell re-run."""
    cells = solution_cells()
    index = next((i for i, (gid, _) in enumerate(cells) if gid == cell), None)
    if index is None:
        raise MutationNotApplied(f"no solution cell {cell!r}")
    ns = dict(base)
    for i, (gid, source) in enumerate(cells[index:]):
        if i == 0:
            for old, new in edits:
                if old not in source:
                    raise MutationNotApplied(f"{old!r} not found in cell {cell!r}")
                source = source.replace(old, new)
        exec(compile(source, f"<{SESSION}:{gid}>", "exec"), ns)
    return ns


@pytest.mark.parametrize("seed", [1234, 7, 2**30 + 5])
def test_solution_passes_every_check(solution, seed):
    assert failing(solution, seed) == {}


def test_notebook_vocabulary_is_the_checks(solution):
    assert solution["stoi"] == checks.STOI
    assert all(solution["itos"][i] == ch for i, ch in checks.ITOS.items())


NO_END = ('chs = ["."] + list(w) + ["."]', 'chs = ["."] + list(w)')
SAMPLE_DRAW = "torch.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item()"
SPLIT_BODY = ("    words = list(words)\n    random.Random(seed).shuffle(words)\n"
              "    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))\n"
              "    return words[:n1], words[n1:n2], words[n2:]\n")
BATCH_DRAW = "    ix = torch.randint(0, X.shape[0], (batch_size,), generator=g)  # (B,)\n"
EVAL_LINE = "        return F.cross_entropy(mlp_forward(params, X), Y).item()\n"

# (exercise that must lose its points, cell, [(old, new)], what the mistake is)
MISTAKES = [
    ("bigram_counts", "vocab_counts", [("stoi = {ch: i + 1 for i, ch in enumerate(chars)}\n"
                                        "    stoi[\".\"] = 0",
                                        "stoi = {ch: i for i, ch in enumerate(chars)}\n"
                                        "    stoi[\".\"] = len(chars)")],
     "'.' placed at the end of the vocabulary"),
    ("bigram_counts", "vocab_counts", [('chs = ["."] + list(w) + ["."]', 'chs = list(w) + ["."]')],
     "no start token"),
    ("bigram_counts", "vocab_counts", [("zip(chs, chs[1:])", "zip(chs, chs[1:-1])")],
     "counts miss the last bigram of each word"),
    ("bigram_counts", "vocab_counts", [("dtype=torch.int32", "dtype=torch.float64")],
     "counts as float64 where the statement says integers"),
    ("trigram_counts", "trigram_counts_fn", [("dtype=torch.int32", "dtype=torch.float32")],
     "trigram counts as floats where the statement says integers"),
    ("bigram_counts", "vocab_counts", [("N[stoi[ch1], stoi[ch2]]", "N[stoi[ch2], stoi[ch1]]")],
     "rows and columns swapped"),
    ("normalize_rows", "normalize", [("N.sum(1, keepdim=True)", "N.sum(1)")],
     "rows normalised without keepdim"),
    ("normalize_rows", "normalize", [("N.sum(1, keepdim=True)", "N.sum(0, keepdim=True)")],
     "columns summing to 1"),
    ("normalize_rows", "normalize", [("N.sum(1, keepdim=True)", "N.sum()")],
     "divided by the sum of the whole matrix"),
    ("normalize_rows", "normalize", [("    return N / N.sum(1, keepdim=True)",
                                      "    N /= N.sum(1, keepdim=True)\n    return N")],
     "normalises the caller's float tensor in place"),
    ("sample", "sampling", [("            if ix == 0:\n                break\n"
                             "            out.append(itos[ix])\n",
                             "            out.append(itos[ix])\n"
                             "            if ix == 0:\n                break\n")],
     "the end token '.' kept in the name"),
    ("sample", "sampling", [("P[ix]", "P[:, ix]")], "samples from the column P[:, ix]"),
    ("sample", "sampling", [("out, ix = [], 0", "out, ix = [], torch.randint(1, 27, (1,), generator=g).item()")],
     "names start from a random letter instead of '.'"),
    ("sample", "sampling", [(", generator=g)", ")")], "the global generator instead of g"),
    ("nll", "nll_fn", [("return -log_likelihood / n", "return -log_likelihood")],
     "sum instead of mean"),
    ("nll", "nll_fn", [("return -log_likelihood / n", "return -log_likelihood / len(words)")],
     "mean over names instead of bigrams"),
    ("nll", "nll_fn", [NO_END], "end token forgotten"),
    ("nll", "nll_fn", [("return -log_likelihood / n", "return log_likelihood / n")],
     "log-likelihood instead of its opposite"),
    ("one_hot", "one_hot_fn", [("F.one_hot(xs, num_classes=num_classes).float()",
                                "F.one_hot(xs, num_classes=num_classes)")],
     "integer one-hot"),
    ("one_hot", "one_hot_fn", [("F.one_hot(xs, num_classes=num_classes).float()",
                                "F.one_hot(xs).float()")],
     "num_classes missing"),
    ("one_hot", "one_hot_fn", [NO_END], "training pairs without the end token"),
    ("bigram_loss", "loss_fn", [(".log().mean()", ".log().sum()")], "sum instead of mean"),
    ("bigram_loss", "loss_fn", [("counts.sum(1, keepdim=True)", "counts.sum(1)")],
     "softmax normalised without keepdim"),
    ("bigram_loss", "loss_fn", [("xenc = one_hot_inputs(xs, W.shape[0])",
                                 "xenc = F.one_hot(xs, W.shape[0])")],
     "integer one-hot fed to matmul"),
    ("bigram_loss", "loss_fn", [("reg * (W ** 2).mean()", "reg * (W ** 2).sum()")],
     "penalty with the sum of squares"),
    ("bigram_loss", "loss_fn", [("return loss + reg * (W ** 2).mean()",
                                 "return (loss + reg * (W ** 2).mean()).item()")],
     "loss returned as a float"),
    ("bigram_loss", "loss_fn", [("return loss + reg * (W ** 2).mean()", "return loss")],
     "penalty forgotten"),
    ("train_bigram", "train_bigram_fn", [("        W.grad = None\n", "")], "gradients never reset"),
    ("train_bigram", "train_bigram_fn", [("W.data -= lr * W.grad", "W.data += lr * W.grad")],
     "gradient ascent"),
    ("train_bigram", "train_bigram_fn", [("W.data -= lr * W.grad",
                                          "W = (W - lr * W.grad).detach().requires_grad_()")],
     "W rebound instead of updated in place"),
    ("split", "split_fn", [(SPLIT_BODY,
                            "    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))\n"
                            "    parts = [list(words[:n1]), list(words[n1:n2]), list(words[n2:])]\n"
                            "    for part in parts:\n        random.Random(seed).shuffle(part)\n"
                            "    return tuple(parts)\n")],
     "split taken before shuffling"),
    ("split", "split_fn", [("random.Random(seed).shuffle(words)", "random.shuffle(words)")],
     "shuffled with the global random, seed ignored"),
    ("split", "split_fn", [("    words = list(words)\n", "")], "shuffles the caller's list"),
    ("contexts", "dataset_fn", [("    for w in words:\n        context = [0] * block_size\n",
                                 "    context = [0] * block_size\n    for w in words:\n")],
     "context not reset between names"),
    ("contexts", "dataset_fn", [('for ch in w + ".":', "for ch in w:")], "end token forgotten"),
    ("contexts", "dataset_fn", [("context = context[1:] + [ix]", "context = [ix] + context[:-1]")],
     "context slid the wrong way"),
    ("mlp_forward", "forward_fn", [('logits = h @ params["W2"] + params["b2"]',
                                    'logits = torch.tanh(h @ params["W2"] + params["b2"])')],
     "tanh on the logits"),
    ("mlp_forward", "forward_fn", [("emb.view(X.shape[0], -1)", "emb.view(-1, 30)")],
     "sizes hardcoded"),
    ("mlp_forward", "forward_fn", [(' + params["b1"]', "")], "hidden bias forgotten"),
    ("mlp_forward", "forward_fn", [("emb.view(X.shape[0], -1)",
                                    "emb.transpose(1, 2).reshape(X.shape[0], -1)")],
     "embeddings concatenated in the wrong order"),
    ("sgd", "sgd_fn", [("    for p in params.values():\n        p.grad = None\n", "")],
     "gradients never reset"),
    ("sgd", "sgd_fn", [("F.cross_entropy(mlp_forward(params, Xb), Yb)",
                        'F.cross_entropy(mlp_forward(params, Xb), Yb, reduction="sum")')],
     "sum instead of mean in the loss"),
    ("sgd", "sgd_fn", [("    for p in params.values():\n        p.data -= lr * p.grad\n",
                        '    for k in ("W1", "b1", "W2", "b2"):\n'
                        "        params[k].data -= lr * params[k].grad\n")],
     "embedding table never updated"),
    ("sgd", "sgd_fn", [(BATCH_DRAW, BATCH_DRAW + BATCH_DRAW.replace("    ix =", "    iy =")),
                       ("return X[ix], Y[ix]", "return X[ix], Y[iy]")],
     "inputs and targets drawn with different indices"),
    ("sgd", "sgd_fn", [(", generator=g)  # (B,)", ")  # (B,)")], "batch drawn without g"),
    ("sgd", "sgd_fn", [("return X[ix], Y[ix]", "return X[:batch_size], Y[:batch_size]")],
     "always the same batch"),
    ("evaluate_split", "evaluate_fn", [("mlp_forward(params, X), Y)",
                                        "mlp_forward(params, X[:64]), Y[:64])")],
     "dev loss measured on one minibatch"),
    ("evaluate_split", "evaluate_fn", [(EVAL_LINE,
                                        "        Xb, Yb = get_batch(X, Y, 64, torch.Generator().manual_seed(0))\n"
                                        "        return F.cross_entropy(mlp_forward(params, Xb), Yb).item()\n")],
     "dev loss measured on one random minibatch"),
    ("evaluate_split", "evaluate_fn", [("mlp_forward(params, X), Y)",
                                        'mlp_forward(params, X), Y, reduction="sum")')],
     "sum instead of mean"),
    ("evaluate_split", "evaluate_fn", [("mlp_forward(params, X), Y)",
                                        "mlp_forward(params, Xdev), Ydev)")],
     "always the global dev set"),
    ("evaluate_split", "evaluate_fn", [(EVAL_LINE, "        pass\n    return sgd_step(params, X, Y, 0.1)\n")],
     "trains on the split it measures"),
    ("trigram_counts", "trigram_counts_fn", [('chs = [".", "."] + list(w) + ["."]',
                                              'chs = ["."] + list(w) + ["."]')],
     "one '.' before each name instead of two"),
    ("trigram_counts", "trigram_counts_fn", [("N3[stoi[ch1], stoi[ch2], stoi[ch3]]",
                                              "N3[stoi[ch2], stoi[ch1], stoi[ch3]]")],
     "the two context characters swapped"),
    ("trigram_counts", "trigram_counts_fn", [('+ list(w) + ["."]', "+ list(w)")],
     "trigrams without the end token"),
    ("trigram_nll", "trigram_nll_fn", [("counts.sum(2, keepdim=True)", "N3.sum(2, keepdim=True)")],
     "alpha left out of the row sums"),
    ("trigram_nll", "trigram_nll_fn", [("counts.sum(2, keepdim=True)", "counts.sum(0, keepdim=True)")],
     "rows normalised along the wrong dimension"),
    ("trigram_nll", "trigram_nll_fn", [("counts = N3.double() + alpha", "counts = N3\n    counts += alpha")],
     "smooths the caller's N3 in place"),
    ("trigram_nll", "trigram_nll_fn", [(".log().mean().item()", ".log().sum().item()")],
     "sum instead of mean over the trigrams"),
    ("trigram_loss", "trigram_loss_fn", [("W[X[:, 0] * W.shape[1] + X[:, 1]]",
                                          "W[X[:, 1] * W.shape[1] + X[:, 0]]")],
     "context row with its characters swapped"),
    ("trigram_loss", "trigram_loss_fn", [("F.cross_entropy(logits, Y)",
                                          'F.cross_entropy(logits, Y, reduction="sum")')],
     "trigram loss summed instead of averaged"),
    ("trigram_loss", "trigram_loss_fn", [("reg * (W ** 2).mean()", "reg * (W ** 2).sum()")],
     "trigram penalty with the sum of squares"),
    ("trigram_loss", "trigram_loss_fn", [("return F.cross_entropy(logits, Y) + reg * (W ** 2).mean()",
                                          "return (F.cross_entropy(logits, Y) + reg * (W ** 2).mean()).item()")],
     "trigram loss returned as a float"),
]


@pytest.mark.parametrize("exercise,cell,edits,what", MISTAKES, ids=[m[3] for m in MISTAKES])
def test_typical_mistake_loses_its_exercise(solution, exercise, cell, edits, what):
    failed = failing(with_edits(solution, cell, edits))
    assert exercise in failed, f"the checks did not catch: {what}"
    assert "not implemented" not in failed[exercise]


def test_every_exercise_has_two_caught_mistakes():
    counts = {}
    for exercise, *_ in MISTAKES:
        counts[exercise] = counts.get(exercise, 0) + 1
    assert set(counts) == set(exercises(SESSION)) and min(counts.values()) >= 2, counts


def test_unanswered_exercises_say_not_implemented(solution):
    def unanswered(*args, **kwargs):
        raise NotImplementedError()

    ns = dict(solution)
    ns.update({name: unanswered for name in (
        "build_vocab", "bigram_counts", "normalize_rows", "sample", "nll", "bigram_pairs",
        "one_hot_inputs", "bigram_loss", "train_bigram", "split", "build_dataset", "mlp_forward",
        "get_batch", "sgd_step", "evaluate_split", "trigram_counts", "trigram_nll",
        "trigram_loss")})
    failed = failing(ns)
    assert set(failed) == set(exercises(SESSION))
    assert all("not implemented yet" in msg for msg in failed.values()), failed


# Correct answers written differently from ours keep every point.
ALTERNATIVES = [
    ("vocab_counts", [("    chars = sorted(set(\"\".join(words)))\n",
                       "    chars = list(\"abcdefghijklmnopqrstuvwxyz\")\n"),
                      ("    itos = {i: ch for ch, i in stoi.items()}\n",
                       "    itos = [\".\"] + chars\n"),
                      ("    N = torch.zeros((len(stoi), len(stoi)), dtype=torch.int32)  # (27, 27)\n"
                       "    for w in words:\n"
                       "        chs = [\".\"] + list(w) + [\".\"]\n"
                       "        for ch1, ch2 in zip(chs, chs[1:]):\n"
                       "            N[stoi[ch1], stoi[ch2]] += 1\n",
                       "    ix = torch.tensor([stoi[c] for w in words for c in \".\" + w])\n"
                       "    iy = torch.tensor([stoi[c] for w in words for c in w + \".\"])\n"
                       "    N = torch.bincount(ix * 27 + iy, minlength=27 * 27).view(27, 27)\n")],
     "vectorised counts with bincount, itos as a list"),
    ("normalize", [("    N = N.float()  # (27, 27)\n    return N / N.sum(1, keepdim=True)  # (27, 27) / (27, 1)\n",
                    "    P = torch.zeros(N.shape, dtype=torch.float64)\n"
                    "    for i in range(N.shape[0]):\n"
                    "        P[i] = N[i].double() / N[i].sum()\n"
                    "    return P\n")],
     "row by row in float64"),
    ("normalize", [("    N = N.float()  # (27, 27)\n", "    N = N / 1.0\n"),
                   ("N.sum(1, keepdim=True)", "N.sum(dim=1)[:, None]")],
     "row sums unsqueezed by indexing"),
    ("sampling", [(SAMPLE_DRAW, "torch.multinomial(P[ix].double(), 1, generator=g).item()")],
     "multinomial without replacement on float64 rows"),
    ("sampling", [("        out, ix = [], 0\n        while True:\n", "        name, ix = \"\", 0\n"
                   "        while True:\n"),
                  ("            out.append(itos[ix])\n        names.append(\"\".join(out))\n",
                   "            name += itos[ix]\n        names.append(name)\n")],
     "name built as a string"),
    ("nll_fn", [("    log_likelihood, n = 0.0, 0\n    for w in words:\n"
                 "        chs = [\".\"] + list(w) + [\".\"]\n"
                 "        for ch1, ch2 in zip(chs, chs[1:]):\n"
                 "            log_likelihood += torch.log(P[stoi[ch1], stoi[ch2]]).item()\n"
                 "            n += 1\n    return -log_likelihood / n\n",
                 "    xs = torch.tensor([stoi[c] for w in words for c in \".\" + w])\n"
                 "    ys = torch.tensor([stoi[c] for w in words for c in w + \".\"])\n"
                 "    return -P.double()[xs, ys].log().mean()\n")],
     "vectorised in float64, returned as a tensor"),
    ("one_hot_fn", [("    return F.one_hot(xs, num_classes=num_classes).float()  # (n, 27)\n",
                     "    xenc = torch.zeros((len(xs), num_classes))\n"
                     "    for k, x in enumerate(xs.tolist()):\n"
                     "        xenc[k, x] = 1.0\n"
                     "    return xenc\n"),
                    ("    return torch.tensor(xs), torch.tensor(ys)",
                     "    return torch.tensor(xs, dtype=torch.long), torch.tensor(ys, dtype=torch.long)")],
     "one-hot rows filled in a loop"),
    ("loss_fn", [("    counts = logits.exp()  # (n, 27) like N\n"
                  "    probs = counts / counts.sum(1, keepdim=True)  # (n, 27) like P: each row sums to 1\n"
                  "    loss = -probs[torch.arange(len(ys)), ys].log().mean()\n",
                  "    loss = F.cross_entropy(logits, ys)\n")],
     "F.cross_entropy instead of the manual NLL"),
    ("loss_fn", [("    xenc = one_hot_inputs(xs, W.shape[0])  # (n, 27)\n"
                  "    logits = xenc @ W  # (n, 27) log-counts\n",
                  "    logits = W[xs]  # (n, 27) row xs[k] of W\n")],
     "W[xs] instead of the one-hot matmul"),
    ("loss_fn", [("    logits = xenc @ W  # (n, 27) log-counts\n",
                  "    logits = xenc.double() @ W.double()\n"),
                 ("reg * (W ** 2).mean()", "reg * W.double().pow(2).sum() / W.numel()")],
     "loss in float64"),
    ("loss_fn", [("    loss = -probs[torch.arange(len(ys)), ys].log().mean()\n",
                  "    loss = 0\n    for k in range(len(ys)):\n"
                  "        loss = loss - probs[k, ys[k]].log() / len(ys)\n")],
     "NLL summed in a loop"),
    ("train_bigram_fn", [("        W.grad = None\n        loss.backward()\n        W.data -= lr * W.grad\n"
                          "        losses.append(loss.item())\n",
                          "        loss.backward()\n        with torch.no_grad():\n"
                          "            W -= lr * W.grad\n        W.grad.zero_()\n"
                          "        losses.append(loss.detach())\n")],
     "update under no_grad, gradient zeroed after the step, tensor losses"),
    ("split_fn", [(SPLIT_BODY,
                   "    perm = torch.randperm(len(words), generator=torch.Generator().manual_seed(seed))\n"
                   "    shuffled = [words[i] for i in perm.tolist()]\n"
                   "    n1, n2 = round(0.8 * len(words)), round(0.9 * len(words))\n"
                   "    return shuffled[:n1], shuffled[n1:n2], shuffled[n2:]\n")],
     "torch.randperm with its own generator, rounded cuts"),
    ("dataset_fn", [("    X, Y = [], []\n    for w in words:\n        context = [0] * block_size\n"
                     "        for ch in w + \".\":\n            ix = stoi[ch]\n"
                     "            X.append(context)\n            Y.append(ix)\n"
                     "            context = context[1:] + [ix]\n"
                     "    return torch.tensor(X), torch.tensor(Y)",
                     "    X, Y = [], []\n    for w in words:\n"
                     "        s = \".\" * block_size + w + \".\"\n"
                     "        for i in range(len(w) + 1):\n"
                     "            X.append([stoi[c] for c in s[i:i + block_size]])\n"
                     "            Y.append(stoi[s[i + block_size]])\n"
                     "    return torch.tensor(X, dtype=torch.long), torch.tensor(Y, dtype=torch.long)")],
     "contexts cut from a padded string"),
    ("forward_fn", [("    h = torch.tanh(emb.view(X.shape[0], -1) @ params[\"W1\"] + params[\"b1\"])  # (B, 100)\n",
                     "    embcat = torch.cat(torch.unbind(emb, 1), 1)  # (B, 30)\n"
                     "    h = (embcat @ params[\"W1\"] + params[\"b1\"]).tanh()\n"),
                    ("    logits = h @ params[\"W2\"] + params[\"b2\"]  # (B, 27)\n",
                     "    logits = F.linear(h, params[\"W2\"].T, params[\"b2\"])\n")],
     "concatenation with cat/unbind, F.linear"),
    ("sgd_fn", [("torch.randint(0, X.shape[0], (batch_size,), generator=g)",
                 "torch.randint(len(X), (batch_size,), generator=g)"),
                ("    loss = F.cross_entropy(mlp_forward(params, Xb), Yb)\n",
                 "    logits = mlp_forward(params, Xb)\n"
                 "    loss = -F.log_softmax(logits, 1)[torch.arange(len(Yb)), Yb].mean()\n"),
                ("    for p in params.values():\n        p.grad = None\n",
                 "    for p in params.values():\n        if p.grad is not None:\n            p.grad.zero_()\n"),
                ("    for p in params.values():\n        p.data -= lr * p.grad\n",
                 "    with torch.no_grad():\n        for p in params.values():\n            p -= lr * p.grad\n"),
                ("    return loss.item()", "    return loss")],
     "manual cross-entropy, zero_(), update under no_grad, tensor loss"),
    ("evaluate_fn", [(EVAL_LINE,
                      "        total = 0.0\n        for i in range(0, len(X), 1000):\n"
                      "            total += F.cross_entropy(mlp_forward(params, X[i:i + 1000]), Y[i:i + 1000],\n"
                      "                                     reduction=\"sum\").item()\n"
                      "        return total / len(X)\n")],
     "loss summed over chunks"),
    ("evaluate_fn", [("    with torch.no_grad():\n" + EVAL_LINE,
                      "    return F.cross_entropy(mlp_forward(params, X).double(), Y)\n")],
     "float64, without no_grad, returned as a tensor"),
    ("trigram_counts_fn", [("    V = len(stoi)\n    N3 = torch.zeros((V, V, V), dtype=torch.int32)  # (27, 27, 27)\n"
                            "    for w in words:\n"
                            "        chs = [\".\", \".\"] + list(w) + [\".\"]\n"
                            "        for ch1, ch2, ch3 in zip(chs, chs[1:], chs[2:]):\n"
                            "            N3[stoi[ch1], stoi[ch2], stoi[ch3]] += 1\n"
                            "    return N3\n",
                            "    X, Y = build_dataset(words, stoi, 2)\n"
                            "    flat = torch.bincount((X[:, 0] * 27 + X[:, 1]) * 27 + Y, minlength=27 ** 3)\n"
                            "    return flat.view(27, 27, 27)\n")],
     "trigram counts from build_dataset and bincount"),
    ("trigram_counts_fn", [("dtype=torch.int32", "dtype=torch.int64")], "trigram counts as int64"),
    ("trigram_nll_fn", [("    counts = N3.double() + alpha  # (27, 27, 27) a new tensor: N3 is left as it is\n"
                         "    P3 = counts / counts.sum(2, keepdim=True)  # (27, 27, 27) each row P3[i, j] sums to 1\n",
                         "    P3 = (N3.float() + alpha) / (N3.float() + alpha).sum(-1, keepdim=True)\n"
                         "    total, n = 0.0, 0\n    for w in words:\n        chs = \"..\" + w + \".\"\n"
                         "        for a, b, c in zip(chs, chs[1:], chs[2:]):\n"
                         "            total -= math.log(P3[stoi[a], stoi[b], stoi[c]].item())\n"
                         "            n += 1\n    return total / n\n")],
     "trigram NLL in a loop, in float32"),
    ("trigram_loss_fn", [("logits = W[X[:, 0] * W.shape[1] + X[:, 1]]",
                          "logits = F.one_hot(27 * X[:, 0] + X[:, 1], 729).float() @ W")],
     "trigram logits by the one-hot product"),
    ("trigram_loss_fn", [("return F.cross_entropy(logits, Y) + reg * (W ** 2).mean()",
                          "logp = logits.double().log_softmax(1)\n"
                          "    return -logp[torch.arange(len(Y)), Y].mean() + reg * W.double().pow(2).sum() / W.numel()")],
     "trigram loss by log_softmax in float64, returned as a tensor"),
]


@pytest.mark.parametrize("cell,edits,what", ALTERNATIVES, ids=[a[2] for a in ALTERNATIVES])
def test_correct_variant_keeps_every_point(solution, cell, edits, what):
    failed = failing(with_edits(solution, cell, edits))
    assert failed == {}, f"a correct answer lost points: {what}: {failed}"
