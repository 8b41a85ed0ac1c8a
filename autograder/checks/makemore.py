"""Hidden checks of session 2 (makemore: bigram counts, learned bigram, Bengio MLP).

Every check calls the student's function on inputs of its own (small random names,
probability matrices, parameters) and compares the result with a reference computed here:
plain Python counting for the bigram tables, ``F.cross_entropy`` and autograd for the losses
and the training steps. Nothing depends on what the notebook trained. The vocabulary is the
notebook's: '.' (start and end of a name) at index 0, then a–z at 1–26.

Tolerances: float32 student arithmetic against a float64 reference, compared norm-wise
(max |got - want| <= ATOL + RTOL * max |want|); counts and indices are compared exactly.
"""

from __future__ import annotations

import functools
import math
import random
import string
from collections.abc import Mapping

import torch
import torch.nn.functional as F

from deepcourse.makemore import build_dataset

from autograder.checks import (
    CheckFailed, as_tensor, call, close, compare, expect, generator, tensors_close)

CALL_LIMIT_S = 5  # longest a student's function may run inside a check

RTOL, ATOL = 1e-4, 1e-6  # tensors: float32 student arithmetic against a float64 reference
LOSS_RTOL, LOSS_ATOL = 1e-5, 1e-6  # scalar losses
CHARS = "." + string.ascii_lowercase
STOI = {ch: i for i, ch in enumerate(CHARS)}
ITOS = {i: ch for ch, i in STOI.items()}
V = len(CHARS)  # 27
MLP_KEYS = ("C", "W1", "b1", "W2", "b2")


# --- helpers ----------------------------------------------------------------------------------
_call = functools.partial(call, limit_s=CALL_LIMIT_S)
_gen = generator
_tensor = as_tensor


def _float(x, what) -> float:
    """A Python float from a float or a one-element tensor."""
    if isinstance(x, torch.Tensor):
        expect(x.numel() == 1, f"{what} must be a single number, got a tensor of shape "
               f"{tuple(x.shape)}")
        return x.detach().double().item()
    try:
        return float(x)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what} must be a number, got {type(x).__name__}") from None


_close = functools.partial(tensors_close, rtol=RTOL, atol=ATOL)
_compare = functools.partial(compare, rtol=RTOL, atol=ATOL)


def _random_words(seed: int, n: int, max_len: int = 7) -> list[str]:
    """Short random lowercase names, with repeated letters and one-letter names among them."""
    rng = random.Random(seed)
    words = ["a", "anna", "emma", "zz", "bob"]
    while len(words) < n:
        words.append("".join(rng.choice(string.ascii_lowercase)
                             for _ in range(rng.randint(1, max_len))))
    return words


def _bigrams(words):
    """Every (previous, next) index pair of every word, '.' first and last."""
    for w in words:
        chs = ["."] + list(w) + ["."]
        for a, b in zip(chs, chs[1:]):
            yield STOI[a], STOI[b]


def _ref_counts(words) -> torch.Tensor:
    N = torch.zeros((V, V), dtype=torch.int64)
    for a, b in _bigrams(words):
        N[a, b] += 1
    return N


def _random_probs(seed: int, end_boost: float = 0.0) -> torch.Tensor:
    """A (27, 27) float32 matrix of strictly positive rows summing to 1, far from symmetric."""
    g = _gen(seed)
    P = torch.rand((V, V), generator=g) ** 3 + 0.01
    P[:, 0] += end_boost
    P[0, 0] = 0.0 if end_boost else P[0, 0]  # a sampled name is never empty
    return P / P.sum(1, keepdim=True)


def _is_integer_dtype(t: torch.Tensor) -> bool:
    return not (t.is_floating_point() or t.is_complex() or t.dtype == torch.bool)


# --- Step 1: bigram counts --------------------------------------------------------------------
def check_bigram_counts(build_vocab, bigram_counts) -> None:
    """build_vocab: '.' at 0, then a–z; bigram_counts: every bigram, '.' at both ends."""
    words = _random_words(11, 60) + list(string.ascii_lowercase)  # every letter appears
    vocab = _call("build_vocab(words)", build_vocab, words)
    expect(isinstance(vocab, (tuple, list)) and len(vocab) == 2,
           "build_vocab(words) must return the pair (stoi, itos)")
    stoi, itos = vocab
    expect(isinstance(stoi, Mapping), f"stoi must be a dict (character -> index), got "
           f"{type(stoi).__name__}")
    expect(stoi.get(".") == 0, f"stoi['.'] must be 0: '.' (start and end of a name) is index "
           f"0, got {stoi.get('.')!r}")
    for ch, i in STOI.items():
        expect(stoi.get(ch) == i, f"stoi[{ch!r}] should be {i} ('.' is 0, then 'a' is 1 … 'z' "
               f"is 26, letters in alphabetical order), got {stoi.get(ch)!r}")
    expect(len(stoi) == V, f"stoi should have {V} entries ('.' and a–z), got {len(stoi)}")
    for i, ch in ITOS.items():
        try:
            got = itos[i]
        except Exception:
            got = None
        expect(got == ch, f"itos[{i}] should be {ch!r} (itos inverts stoi), got {got!r}")

    for seed, n in ((3, 40), (4, 7)):
        words = _random_words(seed, n)
        want = _ref_counts(words)
        N = _tensor(_call("bigram_counts(words, stoi)", bigram_counts, words, dict(STOI)),
                    "bigram_counts(words, stoi)")
        expect(tuple(N.shape) == (V, V), f"bigram_counts must return a ({V}, {V}) tensor, got "
               f"shape {tuple(N.shape)}")
        Nd = N.double()
        total, n_bigrams = Nd.sum().item(), want.sum().item()
        expect(total == n_bigrams,
               f"on {len(words)} names with {sum(map(len, words))} letters in all, the counts "
               f"add up to {total:g}, expected {n_bigrams}: a name of n letters gives n + 1 "
               f"bigrams, from '.' to its first letter and from its last letter to '.'")
        expect(torch.equal(Nd[0], want[0].double()),
               "row 0 ('.') must count how names start: N[0, stoi[first letter]] += 1 for each "
               "name ('.' is the start token, index 0)")
        expect(torch.equal(Nd[:, 0], want[:, 0].double()),
               "column 0 ('.') must count how names end: N[stoi[last letter], 0] += 1 for each "
               "name ('.' is the end token, index 0)")
        expect(torch.equal(Nd, want.double()),
               "N[i, j] must count how many times character j follows character i "
               "(row: previous character, column: next one)")


def check_normalize_rows(normalize_rows) -> None:
    """Each row divided by its own sum (keepdim), the input left unchanged."""
    g = _gen(21)
    N = torch.randint(0, 10, (V, V), generator=g)
    N[torch.arange(V), (torch.arange(V) * 7) % V] += 5  # no empty row, far from symmetric
    for what, M in (("an int64 count matrix", N), ("a float matrix", N.float() + 0.5)):
        before = M.clone()
        P = _tensor(_call("normalize_rows(N)", normalize_rows, M), "normalize_rows(N)")
        expect(torch.equal(M, before), "normalize_rows(N) must not modify N: build a new tensor "
               "(N / ..., not N /= ...)")
        expect(P.is_floating_point(), f"normalize_rows must return floats (probabilities), got "
               f"dtype {P.dtype}")
        expect(tuple(P.shape) == (V, V), f"normalize_rows(N) should have N's shape ({V}, {V}), "
               f"got {tuple(P.shape)}")
        want = M.double() / M.double().sum(1, keepdim=True)
        rows = P.double().sum(1)
        expect(torch.allclose(rows, torch.ones(V, dtype=torch.float64), atol=1e-5),
               f"on {what}, the rows of P sum to values between {rows.min().item():.3g} and "
               f"{rows.max().item():.3g}, not 1. Divide each row by its own sum: "
               f"N.sum(1, keepdim=True) has shape ({V}, 1) and broadcasts along each row; "
               f"N.sum(1) has shape ({V},) and would divide the columns instead")
        _compare(P, want, f"normalize_rows on {what}",
                 "P[i, j] = N[i, j] / sum over k of N[i, k]", rtol=1e-5, atol=1e-7)


def _ref_sample(P, g, n):
    out = []
    for _ in range(n):
        ix, name = 0, []
        while True:
            ix = torch.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item()
            if ix == 0:
                break
            name.append(ITOS[ix])
        out.append("".join(name))
    return out


def _names(got, n, what):
    expect(isinstance(got, (list, tuple)), f"{what} must return a list of names, got "
           f"{type(got).__name__}")
    expect(len(got) == n, f"{what} must return {n} names, got {len(got)}")
    expect(all(isinstance(s, str) for s in got), f"{what} must return strings, got "
           f"{[type(s).__name__ for s in got][:3]}…")
    return list(got)


def check_sample(sample) -> None:
    """Sampling from row P[ix] with multinomial and the student's generator, stopping at '.'."""
    # a deterministic chain . -> c -> a -> t -> ., every other character -> '.' (so that
    # common mistakes, such as walking the columns, end quickly instead of looping forever)
    P = torch.zeros((V, V))
    P[:, 0] = 1.0
    for a, b in ((".", "c"), ("c", "a"), ("a", "t"), ("t", ".")):
        P[STOI[a]] = 0.0
        P[STOI[a], STOI[b]] = 1.0
    what = "sample(P, itos, g, 3)"
    got = _names(_call(what, sample, P, dict(ITOS), _gen(0), 3), 3, what)
    expect(not any("." in s for s in got),
           f"on a P whose only name is 'cat', sample returned {got}: stop at '.', and do not "
           f"add it to the name")
    expect(got != ["tac"] * 3, f"on a P whose only name is 'cat', sample returned {got}: sample "
           f"the next character from the row P[ix] (the distribution that follows ix), not "
           f"the column P[:, ix]")
    expect(got == ["cat"] * 3, f"on a P whose only name is 'cat' ('.'→c→a→t→'.'), sample "
           f"returned {got}: start each name at ix = 0 ('.'), then repeatedly draw the next "
           f"index from P[ix] until it is 0")

    P = _random_probs(31, end_boost=0.4)
    n, seed = 25, 2147483647
    want = _ref_sample(P, _gen(seed), n)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(12345)  # the global generator must play no part
        got = _names(_call(f"sample(P, itos, g, {n})", sample, P, dict(ITOS), _gen(seed), n),
                     n, "sample")
    expect(got == want,
           f"with g = torch.Generator().manual_seed({seed}) on a random P, sample returned "
           f"{got[:4]}…, expected {want[:4]}…: draw each character with "
           f"torch.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item(), "
           f"one draw per character, starting from ix = 0 for every name")


def check_nll(nll) -> None:
    """The mean of -log P[prev, next] over every bigram of every word."""
    for seed, dtype in ((41, torch.float32), (42, torch.float64)):
        P = _random_probs(seed).to(dtype)
        words = _random_words(seed, 30)
        pairs = list(_bigrams(words))
        logs = torch.tensor([math.log(P[a, b].item()) for a, b in pairs], dtype=torch.float64)
        want = -logs.mean().item()
        got = _float(_call("nll(P, words, stoi)", nll, P, words, dict(STOI)),
                     "nll(P, words, stoi)")
        if close(got, -logs.sum().item(), LOSS_RTOL, LOSS_ATOL):
            raise CheckFailed(f"nll returned {got:.6g}, the sum of -log P over the bigrams: "
                              f"divide by the number of bigrams ({len(pairs)}) to get the mean")
        if close(got, -want, LOSS_RTOL, LOSS_ATOL):
            raise CheckFailed(f"nll returned {got:.6g}: the negative log-likelihood is "
                              f"-log P (positive), not log P")
        expect(close(got, want, LOSS_RTOL, LOSS_ATOL),
               f"nll on {len(words)} names returned {got:.6g}, expected {want:.6g}: the mean of "
               f"-log P[prev, next] over all {len(pairs)} bigrams, each name with '.' before "
               f"and after it (a mean over bigrams, not over names)")


# --- Step 2: the bigram as a learnable matrix -------------------------------------------------
def check_one_hot(bigram_pairs, one_hot_inputs) -> None:
    """bigram_pairs: the (previous, next) index tensors; one_hot_inputs: float (n, 27) rows."""
    words = _random_words(51, 25)
    ref = list(_bigrams(words))
    got = _call("bigram_pairs(words, stoi)", bigram_pairs, words, dict(STOI))
    expect(isinstance(got, (tuple, list)) and len(got) == 2,
           "bigram_pairs(words, stoi) must return the pair (xs, ys)")
    xs, ys = (_tensor(t, name) for t, name in zip(got, ("xs", "ys")))
    expect(xs.dim() == 1 and ys.dim() == 1 and len(xs) == len(ys),
           f"xs and ys must be 1-D tensors of the same length, got shapes {tuple(xs.shape)} and "
           f"{tuple(ys.shape)}")
    expect(xs.dtype == torch.int64 and ys.dtype == torch.int64,
           f"xs and ys hold indices: they must be int64 (torch.tensor of Python ints), got "
           f"{xs.dtype} and {ys.dtype}")
    expect(len(xs) == len(ref), f"on {len(words)} names with {sum(map(len, words))} letters, "
           f"expected {len(ref)} bigrams ('.' before and after each name), got {len(xs)}")
    want = torch.tensor(ref)
    codes = lambda a, b: torch.bincount(a * V + b, minlength=V * V)  # noqa: E731
    expect(torch.equal(codes(xs, ys), codes(want[:, 0], want[:, 1])),
           "xs[k] must be the index of a character and ys[k] the index of the one after it, "
           "for every bigram of every name")

    for idx in ([3, 0, 5, 1, 5], [25, 2]):  # never index 26: the width must not come from the data
        xs = torch.tensor(idx)
        xenc = _tensor(_call("one_hot_inputs(xs)", one_hot_inputs, xs), "one_hot_inputs(xs)")
        expect(xenc.is_floating_point(), f"one_hot_inputs must return floats, got {xenc.dtype}: "
               f"F.one_hot returns integers, and a matrix product with the float W needs "
               f"floats (F.one_hot(xs, num_classes=27).float())")
        expect(tuple(xenc.shape) == (len(idx), V),
               f"one_hot_inputs on {len(idx)} indices should have shape ({len(idx)}, {V}), got "
               f"{tuple(xenc.shape)}: pass num_classes=27, or the width depends on the largest "
               f"index present")
        expect(torch.equal(xenc.double(), F.one_hot(xs, V).double()),
               "row k of one_hot_inputs(xs) must be 1 at column xs[k] and 0 elsewhere")


def _ref_bigram_loss(W, xs, ys, reg):
    return F.cross_entropy(W.double()[xs], ys) + reg * (W.double() ** 2).mean()


def check_bigram_loss(bigram_loss) -> None:
    """Mean NLL of softmax(one_hot(xs) @ W) at ys, plus reg * mean(W**2); autograd must reach W."""
    g = _gen(61)
    W0 = torch.randn((V, V), generator=g)
    xs = torch.randint(0, V, (120,), generator=g)
    ys = torch.randint(0, V, (120,), generator=g)
    for reg in (0.0, 0.05):
        W = W0.clone().requires_grad_(True)
        what = f"bigram_loss(W, xs, ys, reg={reg})"
        loss = _call(what, bigram_loss, W, xs, ys, reg)
        expect(isinstance(loss, torch.Tensor) and loss.numel() == 1,
               f"{what} must return the loss as a one-element tensor, got "
               f"{type(loss).__name__}")
        expect(loss.requires_grad, f"{what} must stay a tensor connected to W (no .item(), no "
               f"detach) so that loss.backward() computes W.grad")
        Wr = W0.clone().double().requires_grad_(True)
        ref = _ref_bigram_loss(Wr, xs, ys, reg)
        ref.backward()
        got = _float(loss, what)
        nll_sum = F.cross_entropy(W0.double()[xs], ys, reduction="sum").item()
        if close(got, nll_sum + reg * (W0.double() ** 2).mean().item(), LOSS_RTOL, LOSS_ATOL) \
                or close(got, nll_sum, LOSS_RTOL, LOSS_ATOL):
            raise CheckFailed(f"{what} is {got:.6g}, the sum over the {len(xs)} examples: the "
                              f"loss is the mean of -log p[y] (divide by the number of examples)")
        if reg:
            expect(close(got, ref.item(), LOSS_RTOL, LOSS_ATOL),
                   f"{what} is {got:.6g}, expected {ref.item():.6g}: add the penalty "
                   f"reg * (W**2).mean() to the mean negative log-likelihood")
        else:
            expect(close(got, ref.item(), LOSS_RTOL, LOSS_ATOL),
                   f"{what} is {got:.6g}, expected {ref.item():.6g}: logits = xenc @ W, "
                   f"counts = logits.exp(), probs = counts / counts.sum(1, keepdim=True), loss = "
                   f"-probs[torch.arange(n), ys].log().mean()")
        _call(f"loss.backward() on {what}", loss.backward)
        expect(W.grad is not None, f"after {what}.backward(), W.grad is None: compute the loss "
               f"from W itself")
        _compare(W.grad, Wr.grad, f"the gradient of {what} with respect to W")


def _ref_train_bigram(W0, xs, ys, steps, lr, reg):
    W = W0.clone().double().requires_grad_(True)
    losses = []
    for _ in range(steps):
        loss = _ref_bigram_loss(W, xs, ys, reg)
        W.grad = None
        loss.backward()
        with torch.no_grad():
            W -= lr * W.grad
        losses.append(loss.item())
    return W.detach(), losses


def check_train_bigram(train_bigram) -> None:
    """A few full-batch steps: loss before each step, gradient reset, W -= lr * grad in place."""
    g = _gen(71)
    W0 = torch.randn((V, V), generator=g)
    xs = torch.randint(0, V, (200,), generator=g)
    ys = (xs * 5 + torch.randint(0, 3, (200,), generator=g)) % V  # learnable structure
    steps, lr, reg = 3, 5.0, 0.01
    W = W0.clone().requires_grad_(True)
    what = f"train_bigram(W, xs, ys, steps={steps}, lr={lr}, reg={reg})"
    losses = _call(what, train_bigram, W, xs, ys, steps, lr, reg)
    want_W, want_losses = _ref_train_bigram(W0, xs, ys, steps, lr, reg)
    length = f" of length {len(losses)}" if hasattr(losses, "__len__") else ""
    expect(isinstance(losses, (list, tuple)) and len(losses) == steps,
           f"{what} must return the list of the {steps} losses, got "
           f"{type(losses).__name__}{length}")
    got = [_float(v, f"loss {i}") for i, v in enumerate(losses)]
    expect(not torch.equal(W.detach(), W0),
           f"after {what} the caller's W is unchanged: update it in place (W.data -= lr * "
           f"W.grad, or W -= lr * W.grad inside torch.no_grad()), never rebind W to a new tensor")
    expect(close(got[0], want_losses[0], LOSS_RTOL, LOSS_ATOL),
           f"the first loss is {got[0]:.6g}, expected {want_losses[0]:.6g}: record "
           f"bigram_loss(W, xs, ys, reg) computed before the update")
    for i in range(1, steps):
        expect(close(got[i], want_losses[i], LOSS_RTOL, 1e-5),
               f"the loss at step {i} is {got[i]:.6g}, expected {want_losses[i]:.6g}. Did you "
               f"reset W.grad (W.grad = None) before each backward()? Gradients accumulate. "
               f"And the step goes downhill: W -= lr * W.grad")
    _compare(W.detach(), want_W, f"W after {steps} steps",
             "each step: W.grad = None; loss.backward(); W.data -= lr * W.grad")


# --- Step 3: the Bengio et al. MLP ------------------------------------------------------------
def check_split(split) -> None:
    """A seeded shuffle of a copy, then 80% / 10% / 10%; a partition of the words."""
    rng = random.Random(81)
    words = sorted({"".join(rng.choice(string.ascii_lowercase) for _ in range(6))
                    for _ in range(1050)})[:1000]  # sorted, like a file in a fixed order
    n = len(words)
    before = list(words)
    with torch.random.fork_rng(devices=[]):
        state = random.getstate()
        try:
            random.seed(1)
            torch.manual_seed(1)
            first = _call("split(words, seed=42)", split, words, 42)
            expect(words == before, "split must not change the caller's list: shuffle a copy "
                   "(list(words)), not words itself")
            random.seed(2)
            torch.manual_seed(2)
            again = _call("split(words, seed=42)", split, list(words), 42)
            other = _call("split(words, seed=7)", split, list(words), 7)
        finally:
            random.setstate(state)
    for got in (first, again, other):
        expect(isinstance(got, (tuple, list)) and len(got) == 3,
               "split(words, seed) must return three lists (train, dev, test)")
    tr, dev, te = (list(part) for part in first)
    expect(all(isinstance(w, str) for part in (tr, dev, te) for w in part),
           "the three parts must be lists of the words themselves")
    expect(sorted(tr + dev + te) == sorted(words),
           f"train, dev and test must together hold every word exactly once: got "
           f"{len(tr)} + {len(dev)} + {len(te)} words for {n}")
    expect(abs(len(tr) - 0.8 * n) <= 1 and abs(len(dev) - 0.1 * n) <= 1,
           f"on {n} words the split has {len(tr)}/{len(dev)}/{len(te)} words, expected "
           f"{int(0.8 * n)}/{int(0.9 * n) - int(0.8 * n)}/{n - int(0.9 * n)} (80/10/10)")
    expect([list(p) for p in again] == [tr, dev, te],
           "split(words, seed) must give the same split every time for the same seed, whatever "
           "the global random state: shuffle with random.Random(seed), not the global random")
    expect([list(p) for p in other] != [tr, dev, te],
           "split(words, 7) and split(words, 42) gave the same split: the seed must drive the "
           "shuffle")
    head = set(words[: int(0.8 * n)])
    from_head = sum(w in head for w in dev + te) / max(1, len(dev) + len(te))
    expect(from_head > 0.5,
           f"on a list in alphabetical order, only {from_head:.0%} of the dev and test words "
           f"come from the first 80% of the list (about 80% expected): shuffle first, then cut. "
           f"Cutting first keeps the order of the file in the split")


def _ref_dataset(words, block_size):
    return build_dataset(words, STOI, block_size)


def check_contexts(build_dataset) -> None:
    """One (context, next character) example per character and per final '.', contexts reset."""
    for seed, block_size in ((91, 3), (92, 2), (93, 5)):
        words = _random_words(seed, 12)
        want_X, want_Y = _ref_dataset(words, block_size)
        what = f"build_dataset(words, stoi, block_size={block_size})"
        got = _call(what, build_dataset, words, dict(STOI), block_size)
        expect(isinstance(got, (tuple, list)) and len(got) == 2, f"{what} must return (X, Y)")
        X, Y = (_tensor(t, name) for t, name in zip(got, ("X", "Y")))
        expect(X.dtype == torch.int64 and Y.dtype == torch.int64,
               f"X and Y hold indices: they must be int64 (torch.tensor of Python ints), got "
               f"{X.dtype} and {Y.dtype}")
        expect(tuple(Y.shape) == tuple(want_Y.shape),
               f"{what} on {len(words)} names of {sum(map(len, words))} letters: Y has shape "
               f"{tuple(Y.shape)}, expected {tuple(want_Y.shape)} (one example per letter plus "
               f"one for the final '.' of each name)")
        expect(tuple(X.shape) == tuple(want_X.shape),
               f"X has shape {tuple(X.shape)}, expected {tuple(want_X.shape)}: one row of "
               f"{block_size} indices per example")
        if torch.equal(X, want_X) and torch.equal(Y, want_Y):
            continue
        rows = lambda A, B: sorted(map(tuple, torch.cat([A, B[:, None]], 1).tolist()))  # noqa: E731
        expect(rows(X, Y) == rows(want_X, want_Y),
               f"{what} gives other (context, next) pairs than expected. For each name: start "
               f"from the context [0] * {block_size} ('.' repeated), and for each character of "
               f"name + '.': add (context, index), then slide: context = context[1:] + [index]")


def _ref_forward(params, X):
    emb = params["C"][X]  # (B, block, n_embd)
    h = torch.tanh(emb.view(X.shape[0], -1) @ params["W1"] + params["b1"])  # (B, hidden)
    return h @ params["W2"] + params["b2"]  # (B, vocab)


def _mlp_params(seed, n_embd, block_size, n_hidden, requires_grad=False):
    g = _gen(seed)
    fan_in = n_embd * block_size
    p = {
        "C": torch.randn((V, n_embd), generator=g),
        "W1": torch.randn((fan_in, n_hidden), generator=g) / math.sqrt(fan_in),
        "b1": torch.randn(n_hidden, generator=g) * 0.1,
        "W2": torch.randn((n_hidden, V), generator=g) / math.sqrt(n_hidden),
        "b2": torch.randn(V, generator=g) * 0.1,
    }
    return {k: v.requires_grad_(requires_grad) for k, v in p.items()}


def _mlp_batch(seed, n, block_size):
    g = _gen(seed)
    return (torch.randint(0, V, (n, block_size), generator=g),
            torch.randint(0, V, (n,), generator=g))


def check_mlp_forward(mlp_forward) -> None:
    """logits = tanh(C[X].view(B, -1) @ W1 + b1) @ W2 + b2, for any sizes."""
    for seed, n_embd, block_size, n_hidden in ((101, 10, 3, 100), (102, 5, 4, 7)):
        params = _mlp_params(seed, n_embd, block_size, n_hidden)
        X, _ = _mlp_batch(seed, 13, block_size)
        want = _ref_forward({k: v.double() for k, v in params.items()}, X)
        what = (f"mlp_forward on a batch of 13 contexts of {block_size} characters "
                f"(n_embd={n_embd}, n_hidden={n_hidden})")
        logits = _tensor(_call(what, mlp_forward, dict(params), X), what)
        expect(tuple(logits.shape) == tuple(want.shape),
               f"{what} has shape {tuple(logits.shape)}, expected {tuple(want.shape)}: take "
               f"the sizes from the tensors (emb.view(X.shape[0], -1)), do not write 30")
        if _close(logits, torch.tanh(want)):
            raise CheckFailed(f"{what}: the logits went through tanh. The output layer is "
                              f"linear: logits = h @ W2 + b2 (cross-entropy applies the softmax)")
        _compare(logits, want, what, "emb = C[X] (B, block, n_embd); h = tanh(emb.view(B, -1) "
                 "@ W1 + b1) (B, hidden); logits = h @ W2 + b2 (B, 27)")


def check_sgd(get_batch, sgd_step) -> None:
    """get_batch: random rows of X with their Y, drawn with g; sgd_step: one step on the batch."""
    n, bs = 300, 16
    X = torch.arange(n * 3).view(n, 3)
    Y = torch.arange(n)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        b1 = _call("get_batch(X, Y, 16, g)", get_batch, X, Y, bs, _gen(5))
        torch.manual_seed(2)
        g = _gen(5)
        b2 = _call("get_batch(X, Y, 16, g)", get_batch, X, Y, bs, g)
        b3 = _call("get_batch(X, Y, 16, g)", get_batch, X, Y, bs, g)
    for b in (b1, b2, b3):
        expect(isinstance(b, (tuple, list)) and len(b) == 2, "get_batch must return (Xb, Yb)")
    Xb, Yb = (_tensor(t, name) for t, name in zip(b1, ("Xb", "Yb")))
    expect(tuple(Xb.shape) == (bs, 3) and tuple(Yb.shape) == (bs,),
           f"get_batch(X, Y, {bs}, g) with X of shape {tuple(X.shape)} should return shapes "
           f"({bs}, 3) and ({bs},), got {tuple(Xb.shape)} and {tuple(Yb.shape)}")
    expect(torch.equal(Xb, X[Yb]), "row k of Xb must be the row of X whose target is Yb[k]: "
           "draw one set of indices ix and take X[ix] and Y[ix]")
    expect(torch.equal(Xb, _tensor(b2[0], "Xb")),
           "get_batch must draw its indices with the generator it is given (generator=g), so "
           "that the same seed gives the same batch")
    expect(not torch.equal(_tensor(b2[0], "Xb"), _tensor(b3[0], "Xb")),
           "two calls of get_batch with the same generator returned the same batch: draw "
           "fresh random indices each time (torch.randint(0, X.shape[0], (batch_size,), "
           "generator=g))")

    sizes = (6, 3, 20)
    params = _mlp_params(111, *sizes, requires_grad=True)
    ref = {k: v.detach().clone().double().requires_grad_(True) for k, v in params.items()}
    lr = 0.5
    for step in (1, 2):
        Xb, Yb = _mlp_batch(111 + step, 40, 3)
        loss = F.cross_entropy(_ref_forward(ref, Xb), Yb)
        grads = torch.autograd.grad(loss, list(ref.values()))
        with torch.no_grad():
            for p, gr in zip(ref.values(), grads):
                p -= lr * gr
        what = f"sgd_step(params, Xb, Yb, lr={lr}) (step {step})"
        got = _float(_call(what, sgd_step, params, Xb, Yb, lr), f"the loss returned by {what}")
        if close(got, loss.item() * len(Yb), LOSS_RTOL, LOSS_ATOL):
            raise CheckFailed(f"{what} returned {got:.6g}, the sum of the losses of the batch: "
                              f"use the mean (F.cross_entropy's default)")
        expect(close(got, loss.item(), LOSS_RTOL, 1e-5),
               f"{what} returned the loss {got:.6g}, expected {loss.item():.6g}: "
               f"F.cross_entropy(mlp_forward(params, Xb), Yb), computed before the update")
        for k in MLP_KEYS:
            _compare(params[k].detach(), ref[k].detach(), f"params[{k!r}] after step {step}",
                     "Update every parameter (C too) with p.data -= lr * p.grad, after setting "
                     "every p.grad to None before loss.backward() (gradients accumulate)")


def check_evaluate_split(evaluate_split) -> None:
    """The mean cross-entropy over every example of the split, parameters untouched."""
    params = _mlp_params(121, 6, 3, 20, requires_grad=True)
    before = {k: v.detach().clone() for k, v in params.items()}
    X, Y = _mlp_batch(122, 3000, 3)
    what = f"evaluate_split(params, X, Y) on {len(X)} examples"
    got = _float(_call(what, evaluate_split, params, X, Y), what)
    with torch.no_grad():
        logits = _ref_forward({k: v.double() for k, v in params.items()}, X)
        want = F.cross_entropy(logits, Y).item()
        want_sum = F.cross_entropy(logits, Y, reduction="sum").item()
    expect(all(torch.equal(params[k].detach(), before[k]) for k in MLP_KEYS),
           f"{what} changed the parameters: evaluation only measures the loss, it never trains")
    expect(all(params[k].grad is None for k in MLP_KEYS),
           f"{what} left gradients in the parameters: evaluate under torch.no_grad(), without "
           f"backward()")
    if close(got, want_sum, LOSS_RTOL, LOSS_ATOL):
        raise CheckFailed(f"{what} returned {got:.6g}, the sum of the losses: use the mean")
    expect(close(got, want, LOSS_RTOL, 1e-5),
           f"{what} returned {got:.6g}, expected {want:.6g}: the mean cross-entropy over the "
           f"*whole* split passed in (all of X and Y, not a minibatch nor another split)")
