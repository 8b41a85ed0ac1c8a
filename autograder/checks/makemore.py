"""Probes and judges of session 2 (makemore: bigram counts, learned bigram, Bengio MLP).

Every probe calls the student's functions on inputs made from the exercise's seed (random
names, probability matrices, parameters); every judge recomputes those inputs and compares
with a reference computed in the grader: plain Python counting for the bigram tables,
``F.cross_entropy`` and autograd in float64 for the losses and the training steps,
``deepcourse.makemore.build_dataset`` for the contexts. Nothing depends on what the notebook
trained. The vocabulary is the notebook's: '.' (start and end of a name) at index 0, then a–z
at 1–26.

Tolerances: float32 student arithmetic against a float64 reference, compared norm-wise
(max |got - want| <= ATOL + RTOL * max |want|); counts and indices are compared exactly.
"""

from __future__ import annotations

import itertools
import math
import random
import string
from collections.abc import Mapping

import torch
import torch.nn.functional as F

from autograder.checks import (
    Fail, as_tensor, close, compare, expect, judge, kind, kernel, number, probe, tensors_close)
from autograder.probe_runtime import StudentError, call, need

SESSION = "02_makemore"

RTOL, ATOL = 1e-4, 1e-6  # tensors: float32 student arithmetic against a float64 reference
LOSS_RTOL, LOSS_ATOL = 1e-5, 1e-6  # scalar losses
CHARS = "." + string.ascii_lowercase
STOI = {ch: i for i, ch in enumerate(CHARS)}
ITOS = {i: ch for ch, i in STOI.items()}
V = len(CHARS)  # 27
MLP_KEYS = ("C", "W1", "b1", "W2", "b2")


# --- both sides: inputs made from a seed ------------------------------------------------------

@kernel
def vocab():
    """(stoi, itos) of the course: '.' at 0, then a–z at 1–26."""
    chars = "." + string.ascii_lowercase
    return {ch: i for i, ch in enumerate(chars)}, dict(enumerate(chars))


@kernel
def gen(seed):
    """A seeded CPU torch.Generator."""
    return torch.Generator().manual_seed(seed)


@kernel
def random_words(seed, n, max_len=7):
    """``n`` short random lowercase names, with one-letter names and repeated letters among them."""
    rng = random.Random(seed)
    words = ["a", "anna", "zz", rng.choice(string.ascii_lowercase) * 3]
    while len(words) < n:
        words.append("".join(rng.choice(string.ascii_lowercase)
                             for _ in range(rng.randint(1, max_len))))
    rng.shuffle(words)
    return words


@kernel
def random_probs(seed, end_boost=0.0):
    """A (27, 27) float32 matrix of positive rows summing to 1, far from symmetric."""
    P = torch.rand((27, 27), generator=gen(seed)) ** 3 + 0.01  # (27, 27)
    if end_boost:
        P[:, 0] += end_boost  # names end soon
        P[0, 0] = 0.0  # a sampled name is never empty
    return P / P.sum(1, keepdim=True)


@kernel
def bounded(what, fn, *args):
    """The student's ``fn(*args)``, at most 5 seconds."""
    return call(what, fn, *args, limit_s=5)


@kernel
def scalar(x, what):
    """An observable number: a tensor as it is (the judge checks it has one element), else float."""
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu")
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return x
    return bounded(f"float({what})", float, x)


@kernel
def mapping_items(table):
    """The first 100 (key, value) pairs of a dict the student built."""
    if not isinstance(table, Mapping):
        raise StudentError(f"stoi must be a dict (character -> index), got {type(table).__name__}")
    return [list(kv) for kv in itertools.islice(table.items(), 100)]


@kernel
def loss_and_grad(loss, W, what):
    """{"value": the loss as returned, "grad": W.grad after loss.backward(), or None when the
    loss is no one-element tensor connected to W}."""
    if not isinstance(loss, torch.Tensor):
        return {"value": loss, "grad": None}
    if loss.requires_grad and loss.numel() == 1:
        bounded(f"loss.backward() on {what}", loss.backward)
    return {"value": loss.detach(), "grad": W.grad}


@kernel
def lookup(table, key):
    """``table[key]``, or None when the student's table has no such key."""
    try:
        return table[key]
    except Exception:
        return None


@kernel
def pair(value, what, names):
    """The two results ``names`` of a function that must return a pair."""
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise StudentError(f"{what} must return the pair ({', '.join(names)}), got "
                           f"{type(value).__name__}")
    return list(value)


# --- grader side: helpers of the judges -------------------------------------------------------

def _loss_value(x, what) -> float:
    """A judged scalar: a number or a one-element tensor (Fail otherwise)."""
    if isinstance(x, torch.Tensor):
        expect(x.numel() == 1, f"{what} must be a single number, got a tensor of shape "
               f"{tuple(x.shape)}")
    return number(x, what)


def _integers(counts, what):
    expect(not counts.is_floating_point() and counts.dtype != torch.bool,
           f"{what} returns {str(counts.dtype).replace('torch.', '')} values: counts are a tensor "
           f"of integers (start from torch.zeros(..., dtype=torch.int32))")


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


def _integer(t: torch.Tensor) -> bool:
    return not (t.is_floating_point() or t.is_complex() or t.dtype == torch.bool)


def _names(got, n, what) -> list[str]:
    expect(isinstance(got, list), f"{what} must return a list of names, got {type(got).__name__}")
    expect(len(got) == n, f"{what} must return {n} names, got {len(got)}")
    expect(all(isinstance(s, str) for s in got),
           f"{what} must return strings (the names), got other values")
    return got


# --- Exercise 1: vocabulary and bigram counts -------------------------------------------------

@kernel
def counts_cases(seed):
    rng = random.Random(seed)
    return [random_words(seed + 1, rng.randint(30, 50)), random_words(seed + 2, rng.randint(5, 9))]


@probe("bigram_counts")
def probe_bigram_counts(ns, seed):
    build_vocab, bigram_counts = need(ns, "build_vocab", "bigram_counts")
    words = random_words(seed, 40) + list(string.ascii_lowercase)  # every letter appears
    stoi, itos = pair(bounded("build_vocab(words)", build_vocab, words), "build_vocab(words)",
                      ("stoi", "itos"))
    seen = {"stoi_items": bounded("stoi.items()", mapping_items, stoi),
            "itos": [lookup(itos, i) for i in range(27)]}
    seen["counts"] = [bounded("bigram_counts(words, stoi)", bigram_counts, words, vocab()[0])
                      for words in counts_cases(seed)]
    return seen


@judge("bigram_counts")
def judge_bigram_counts(obs, seed):
    items = obs["stoi_items"]
    expect(isinstance(items, list) and all(isinstance(kv, list) and len(kv) == 2 for kv in items),
           "malformed observation")
    got = {k: v for k, v in items if isinstance(k, str)}
    for ch, i in STOI.items():
        expect(type(got.get(ch)) is int and got[ch] == i,
               f"stoi[{ch!r}] is {got.get(ch)!r}: '.' is 0, then 'a' is 1 … 'z' is 26, letters in "
               f"alphabetical order")
    expect(len(items) == V, f"stoi should have {V} entries ('.' and a–z), got "
           f"{len(items)}{' or more' if len(items) >= 100 else ''}")
    for i, ch in ITOS.items():
        expect(isinstance(obs["itos"][i], str) and obs["itos"][i] == ch, f"itos[{i}] is {obs['itos'][i]!r}: itos inverts stoi")

    cases = counts_cases(seed)
    expect(isinstance(obs["counts"], list) and len(obs["counts"]) == len(cases),
           "malformed observation")
    for words, N in zip(cases, obs["counts"]):
        what = f"bigram_counts on {len(words)} random names"
        N = as_tensor(N, what)
        want = _ref_counts(words).double()
        expect(tuple(N.shape) == (V, V), f"bigram_counts must return a ({V}, {V}) tensor, got "
               f"shape {tuple(N.shape)}")
        _integers(N, "bigram_counts")
        Nd = N.double()
        total = Nd.sum().item()
        expect(total == want.sum().item(),
               f"on {len(words)} names with {sum(map(len, words))} letters in all, your counts "
               f"add up to {total:g}: a name of n letters gives n + 1 bigrams, from '.' to its "
               f"first letter and from its last letter to '.'")
        expect(torch.equal(Nd[0], want[0]),
               "row 0 ('.') must count how names start: N[0, stoi[first letter]] += 1 for each "
               "name ('.' is the start token, index 0)")
        expect(torch.equal(Nd[:, 0], want[:, 0]),
               "column 0 ('.') must count how names end: N[stoi[last letter], 0] += 1 for each "
               "name ('.' is the end token, index 0)")
        expect(torch.equal(Nd, want),
               "N[i, j] must count how many times character j follows character i "
               "(row: previous character, column: next one)")


# --- Exercise 2: from counts to probabilities -------------------------------------------------

@kernel
def count_matrices(seed):
    """An int64 count matrix without empty rows, and a float one."""
    N = torch.randint(0, 10, (27, 27), generator=gen(seed))  # (27, 27)
    shift = 1 + seed % 26
    N[torch.arange(27), (torch.arange(27) * shift + seed % 27) % 27] += 5  # no empty row
    return [("an int64 count matrix", N), ("a float matrix", N.float() + 0.5)]


@probe("normalize_rows")
def probe_normalize_rows(ns, seed):
    normalize_rows = need(ns, "normalize_rows")
    out = []
    for _, M in count_matrices(seed):
        P = bounded("normalize_rows(N)", normalize_rows, M)
        out.append({"P": P, "N_after": M})
    return {"cases": out}


@judge("normalize_rows")
def judge_normalize_rows(obs, seed):
    cases = count_matrices(seed)
    expect(isinstance(obs["cases"], list) and len(obs["cases"]) == len(cases),
           "malformed observation")
    for (what, M), seen in zip(cases, obs["cases"]):
        after = as_tensor(seen["N_after"], "N")
        expect(after.shape == M.shape and torch.equal(after.double(), M.double()),
               f"normalize_rows(N) modified N (on {what}): build a new tensor (N / ..., not "
               f"N /= ...; N.float() is N itself when N already holds floats)")
        P = as_tensor(seen["P"], f"normalize_rows on {what}")
        expect(P.is_floating_point(), f"normalize_rows must return floats (probabilities), got "
               f"dtype {P.dtype}")
        expect(tuple(P.shape) == (V, V), f"normalize_rows(N) should have N's shape ({V}, {V}), "
               f"got {tuple(P.shape)}")
        rows = P.double().sum(1)  # (27,)
        expect(bool(torch.allclose(rows, torch.ones(V, dtype=torch.float64), atol=1e-5)),
               f"on {what}, the rows of P sum to values between {rows.min().item():.3g} and "
               f"{rows.max().item():.3g}, not 1. Divide each row by its own sum: "
               f"N.sum(1, keepdim=True) has shape ({V}, 1) and broadcasts along each row; "
               f"N.sum(1) has shape ({V},) and would divide the columns instead")
        want = M.double() / M.double().sum(1, keepdim=True)
        compare(P, want, f"normalize_rows on {what}",
                "P[i, j] = N[i, j] / sum over k of N[i, k]", rtol=1e-5, atol=1e-7)


# --- Exercise 3: sampling names ---------------------------------------------------------------

@kernel
def sample_inputs(seed):
    """A name of distinct letters, the chain P that can only write it, a random P, n, a seed."""
    rng = random.Random(seed)
    name = "".join(rng.sample(string.ascii_lowercase, rng.randint(3, 5)))
    chain = torch.zeros((27, 27))  # (27, 27) every row ends the name, but those of the chain
    chain[:, 0] = 1.0
    stoi = vocab()[0]
    path = "." + name + "."
    for a, b in zip(path, path[1:]):
        chain[stoi[a]] = 0.0
        chain[stoi[a], stoi[b]] = 1.0
    return name, chain, random_probs(seed + 1, end_boost=0.4), rng.randint(20, 30), \
        rng.randrange(2**31)


@probe("sample")
def probe_sample(ns, seed):
    sample = need(ns, "sample")
    _, chain, P, n, g_seed = sample_inputs(seed)
    itos = vocab()[1]
    out = {"chain": bounded("sample(P, itos, g, 3)", sample, chain, dict(itos), gen(g_seed), 3)}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(g_seed + 1)  # the global generator must play no part
        out["random"] = bounded(f"sample(P, itos, g, {n})", sample, P, dict(itos), gen(g_seed), n)
    return out


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


@judge("sample")
def judge_sample(obs, seed):
    name, _, P, n, g_seed = sample_inputs(seed)
    got = _names(obs["chain"], 3, "sample(P, itos, g, 3)")
    where = f"on a P whose only name is {name!r} ('.' → {' → '.join(name)} → '.')"
    expect(not any("." in s for s in got),
           f"{where}, sample returned {got}: stop at '.', and do not add it to the name")
    expect(got != [name[::-1]] * 3,
           f"{where}, sample returned {got}: sample the next character from the row P[ix] "
           f"(the distribution that follows ix), not the column P[:, ix]")
    expect(got == [name] * 3,
           f"{where}, sample returned {got}: start each name at ix = 0 ('.'), then repeatedly "
           f"draw the next index from P[ix] until it is 0")
    got = _names(obs["random"], n, f"sample(P, itos, g, {n})")
    expect(got == _ref_sample(P, gen(g_seed), n),
           f"with a seeded generator g on a random P, sample returned {got[:3]}…, which are not "
           f"the names that g draws: draw each character with torch.multinomial(P[ix], "
           f"num_samples=1, replacement=True, generator=g).item(), one draw per character, "
           f"starting from ix = 0 for every name (and never the global generator)")


# --- Exercise 4: the negative log-likelihood --------------------------------------------------

@kernel
def nll_cases(seed):
    rng = random.Random(seed)
    return [(random_probs(seed + k).to(dtype), random_words(seed + k, rng.randint(20, 40)))
            for k, dtype in enumerate((torch.float32, torch.float64))]


@probe("nll")
def probe_nll(ns, seed):
    nll = need(ns, "nll")
    return {"values": [scalar(bounded("nll(P, words, stoi)", nll, P, words, vocab()[0]),
                              "nll(P, words, stoi)")
                       for P, words in nll_cases(seed)]}


@judge("nll")
def judge_nll(obs, seed):
    cases = nll_cases(seed)
    expect(isinstance(obs["values"], list) and len(obs["values"]) == len(cases),
           "malformed observation")
    for (P, words), value in zip(cases, obs["values"]):
        pairs = list(_bigrams(words))
        logs = torch.tensor([math.log(P[a, b].item()) for a, b in pairs], dtype=torch.float64)
        want = -logs.mean().item()
        got = _loss_value(value, "nll(P, words, stoi)")
        if close(got, -logs.sum().item(), LOSS_RTOL, LOSS_ATOL):
            raise Fail(f"nll returned {got:.6g}, the sum of -log P over the bigrams: divide by "
                       f"the number of bigrams ({len(pairs)}) to get the mean")
        if close(got, -want, LOSS_RTOL, LOSS_ATOL):
            raise Fail(f"nll returned {got:.6g}: the negative log-likelihood is -log P "
                       f"(positive), not log P")
        expect(close(got, want, LOSS_RTOL, LOSS_ATOL),
               f"nll on {len(words)} random names ({P.dtype}) returned {got:.6g}, which is wrong: "
               f"the mean of -log P[prev, next] over all {len(pairs)} bigrams, each name with "
               f"'.' before and after it (a mean over bigrams, not over names)")


# --- Exercise 5: the training set and one-hot inputs ------------------------------------------

@kernel
def one_hot_cases(seed):
    """Words, and index lists that never hold 26 (the width must not come from the data)."""
    rng = random.Random(seed)
    idx = [[rng.randrange(26) for _ in range(rng.randint(4, 8))] for _ in range(2)]
    return random_words(seed, rng.randint(20, 30)), idx


@probe("one_hot")
def probe_one_hot(ns, seed):
    bigram_pairs, one_hot_inputs = need(ns, "bigram_pairs", "one_hot_inputs")
    words, idx = one_hot_cases(seed)
    xs, ys = pair(bounded("bigram_pairs(words, stoi)", bigram_pairs, words, vocab()[0]),
                  "bigram_pairs(words, stoi)", ("xs", "ys"))
    encoded = [bounded("one_hot_inputs(xs)", one_hot_inputs, torch.tensor(i)) for i in idx]
    return {"xs": xs, "ys": ys, "encoded": encoded}


@judge("one_hot")
def judge_one_hot(obs, seed):
    words, idx = one_hot_cases(seed)
    xs, ys = as_tensor(obs["xs"], "xs"), as_tensor(obs["ys"], "ys")
    expect(xs.dim() == 1 and ys.dim() == 1 and len(xs) == len(ys),
           f"xs and ys must be 1-D tensors of the same length, got shapes {tuple(xs.shape)} and "
           f"{tuple(ys.shape)}")
    expect(xs.dtype == torch.int64 and ys.dtype == torch.int64,
           f"xs and ys hold indices: they must be int64 (torch.tensor of Python ints), got "
           f"{xs.dtype} and {ys.dtype}")
    ref = torch.tensor(list(_bigrams(words)))  # (n, 2)
    expect(len(xs) == len(ref), f"on {len(words)} names with {sum(map(len, words))} letters, "
           f"you gave {len(xs)} bigrams: a name of n letters gives n + 1 ('.' before and after)")
    expect(bool(((xs >= 0) & (xs < V) & (ys >= 0) & (ys < V)).all()),
           f"xs and ys must be indices between 0 and {V - 1}")

    def codes(a, b):
        return torch.bincount(a * V + b, minlength=V * V)

    expect(torch.equal(codes(xs, ys), codes(ref[:, 0], ref[:, 1])),
           "xs[k] must be the index of a character and ys[k] the index of the one after it, "
           "for every bigram of every name")
    expect(isinstance(obs["encoded"], list) and len(obs["encoded"]) == len(idx),
           "malformed observation")
    for i, xenc in zip(idx, obs["encoded"]):
        xenc = as_tensor(xenc, "one_hot_inputs(xs)")
        expect(xenc.is_floating_point(), f"one_hot_inputs must return floats, got {xenc.dtype}: "
               f"F.one_hot returns integers, and a matrix product with the float W needs "
               f"floats (F.one_hot(xs, num_classes=27).float())")
        expect(tuple(xenc.shape) == (len(i), V),
               f"one_hot_inputs on {len(i)} indices should have shape ({len(i)}, {V}), got "
               f"{tuple(xenc.shape)}: pass num_classes=27, or the width depends on the largest "
               f"index present")
        expect(torch.equal(xenc.double(), F.one_hot(torch.tensor(i), V).double()),
               "row k of one_hot_inputs(xs) must be 1 at column xs[k] and 0 elsewhere")


# --- Exercise 6: the loss ---------------------------------------------------------------------

@kernel
def loss_inputs(seed):
    g = gen(seed)
    W0 = torch.randn((27, 27), generator=g)  # (27, 27)
    n = 100 + seed % 50
    xs = torch.randint(0, 27, (n,), generator=g)  # (n,)
    ys = torch.randint(0, 27, (n,), generator=g)  # (n,)
    return W0, xs, ys, [0.0, round(0.01 + (seed % 97) / 1000, 3)]


@probe("bigram_loss")
def probe_bigram_loss(ns, seed):
    bigram_loss = need(ns, "bigram_loss")
    W0, xs, ys, regs = loss_inputs(seed)
    out = []
    for reg in regs:
        W = W0.clone().requires_grad_(True)
        what = f"bigram_loss(W, xs, ys, reg={reg})"
        loss = bounded(what, bigram_loss, W, xs, ys, reg)
        out.append(loss_and_grad(loss, W, what))
    return {"cases": out}


def _ref_bigram_loss(W, xs, ys, reg):
    return F.cross_entropy(W.double()[xs], ys) + reg * (W.double() ** 2).mean()


@judge("bigram_loss")
def judge_bigram_loss(obs, seed):
    W0, xs, ys, regs = loss_inputs(seed)
    expect(isinstance(obs["cases"], list) and len(obs["cases"]) == len(regs),
           "malformed observation")
    for reg, seen in zip(regs, obs["cases"]):
        what = f"bigram_loss(W, xs, ys, reg={reg})"
        expect(isinstance(seen["value"], torch.Tensor) and seen["value"].numel() == 1,
               f"{what} must return the loss as a one-element tensor, got {kind(seen['value'])}")
        expect(seen["grad"] is not None, f"{what} must stay a tensor connected to W (no "
               f".item(), no detach) so that loss.backward() computes W.grad")
        Wr = W0.clone().double().requires_grad_(True)
        ref = _ref_bigram_loss(Wr, xs, ys, reg)
        ref.backward()
        got = _loss_value(seen["value"], what)
        nll_sum = F.cross_entropy(W0.double()[xs], ys, reduction="sum").item()
        if close(got, nll_sum + reg * (W0.double() ** 2).mean().item(), LOSS_RTOL, LOSS_ATOL) \
                or close(got, nll_sum, LOSS_RTOL, LOSS_ATOL):
            raise Fail(f"{what} is {got:.6g}, the sum over the {len(xs)} examples: the loss is "
                       f"the mean of -log p[y] (divide by the number of examples)")
        if reg:
            expect(close(got, ref.item(), LOSS_RTOL, LOSS_ATOL),
                   f"{what} is {got:.6g}, which is wrong: add the penalty reg * (W**2).mean() "
                   f"to the mean negative log-likelihood")
        else:
            expect(close(got, ref.item(), LOSS_RTOL, LOSS_ATOL),
                   f"{what} is {got:.6g}, which is wrong: logits = xenc @ W, counts = "
                   f"logits.exp(), probs = counts / counts.sum(1, keepdim=True), loss = "
                   f"-probs[torch.arange(n), ys].log().mean()")
        expect(seen["grad"] is not None, f"after {what}.backward(), W.grad is None: compute the "
               f"loss from W itself")
        compare(seen["grad"], Wr.grad, f"the gradient of {what} with respect to W",
                rtol=RTOL, atol=ATOL)


# --- Exercise 7: gradient descent -------------------------------------------------------------

@kernel
def train_inputs(seed):
    g = gen(seed)
    W0 = torch.randn((27, 27), generator=g)  # (27, 27)
    xs = torch.randint(0, 27, (200,), generator=g)  # (200,)
    ys = (xs * (2 + seed % 5) + torch.randint(0, 3, (200,), generator=g)) % 27  # learnable
    return W0, xs, ys, 3, 5.0, 0.01  # steps, lr, reg


@probe("train_bigram")
def probe_train_bigram(ns, seed):
    train_bigram = need(ns, "train_bigram")
    W0, xs, ys, steps, lr, reg = train_inputs(seed)
    W = W0.clone().requires_grad_(True)
    what = f"train_bigram(W, xs, ys, steps={steps}, lr={lr}, reg={reg})"
    losses = bounded(what, train_bigram, W, xs, ys, steps, lr, reg)
    if isinstance(losses, (list, tuple)):
        losses = [scalar(v, "a loss") for v in losses]
    return {"losses": losses, "W_after": W.detach()}


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


@judge("train_bigram")
def judge_train_bigram(obs, seed):
    W0, xs, ys, steps, lr, reg = train_inputs(seed)
    what = f"train_bigram(W, xs, ys, steps={steps}, lr={lr}, reg={reg})"
    losses = obs["losses"]
    expect(isinstance(losses, list) and len(losses) == steps,
           f"{what} must return the list of the {steps} losses, got {kind(losses)}"
           + (f" of length {len(losses)}" if isinstance(losses, list) else ""))
    got = [_loss_value(v, f"loss {i}") for i, v in enumerate(losses)]
    W_after = as_tensor(obs["W_after"], "W")
    expect(W_after.shape == W0.shape and not torch.equal(W_after.double(), W0.double()),
           f"after {what} the caller's W is unchanged: update it in place (W.data -= lr * "
           f"W.grad, or W -= lr * W.grad inside torch.no_grad()), never rebind W to a new tensor")
    want_W, want_losses = _ref_train_bigram(W0, xs, ys, steps, lr, reg)
    expect(close(got[0], want_losses[0], LOSS_RTOL, LOSS_ATOL),
           f"the first loss is {got[0]:.6g}, which is wrong: record bigram_loss(W, xs, ys, reg) "
           f"computed before the update")
    for i in range(1, steps):
        expect(close(got[i], want_losses[i], LOSS_RTOL, 1e-5),
               f"the loss at step {i} is {got[i]:.6g}, which is wrong. Did you reset W.grad "
               f"(W.grad = None) before each backward()? Gradients accumulate. And the step goes "
               f"downhill: W -= lr * W.grad")
    compare(W_after, want_W, f"W after {steps} steps",
            "each step: W.grad = None; loss.backward(); W.data -= lr * W.grad",
            rtol=RTOL, atol=ATOL)


# --- Exercise 8: train / dev / test split -----------------------------------------------------

@kernel
def split_inputs(seed):
    """About 1000 distinct words in alphabetical order (like a file), and two split seeds."""
    rng = random.Random(seed)
    n = rng.randint(900, 1100)
    words = sorted({"".join(rng.choice(string.ascii_lowercase) for _ in range(6))
                    for _ in range(n + 50)})[:n]
    first = rng.randrange(1000)
    return words, first, first + 1 + rng.randrange(1000)


@probe("split")
def probe_split(ns, seed):
    split = need(ns, "split")
    words, s1, s2 = split_inputs(seed)
    given = list(words)
    state = random.getstate()
    try:
        with torch.random.fork_rng(devices=[]):
            random.seed(seed)
            torch.manual_seed(seed)
            first = bounded(f"split(words, seed={s1})", split, given, s1)
            random.seed(seed + 1)  # another global state: the split must not change
            torch.manual_seed(seed + 1)
            again = bounded(f"split(words, seed={s1})", split, list(words), s1)
            other = bounded(f"split(words, seed={s2})", split, list(words), s2)
    finally:
        random.setstate(state)
    parts = [[list(p) for p in got] if isinstance(got, (tuple, list)) and len(got) == 3 else None
             for got in (first, again, other)]
    return {"words_after": given, "first": parts[0], "again": parts[1], "other": parts[2]}


@judge("split")
def judge_split(obs, seed):
    words, s1, s2 = split_inputs(seed)
    n = len(words)
    expect(obs["words_after"] == words, "split must not change the caller's list: shuffle a copy "
           "(list(words)), not words itself")
    for key in ("first", "again", "other"):
        expect(isinstance(obs[key], list), "split(words, seed) must return three lists "
               "(train, dev, test)")
    tr, dev, te = obs["first"]
    expect(all(isinstance(w, str) for part in (tr, dev, te) for w in part),
           "the three parts must be lists of the words themselves")
    expect(sorted(tr + dev + te) == words,
           f"train, dev and test must together hold every word exactly once: got "
           f"{len(tr)} + {len(dev)} + {len(te)} words for {n}")
    expect(abs(len(tr) - 0.8 * n) <= 1 and abs(len(dev) - 0.1 * n) <= 1,
           f"on {n} words the split has {len(tr)}/{len(dev)}/{len(te)} words: cut at 80% and "
           f"90% (int(0.8 * n), int(0.9 * n))")
    expect(obs["again"] == [tr, dev, te],
           "split(words, seed) must give the same split every time for the same seed, whatever "
           "the global random state: shuffle with random.Random(seed), not the global random")
    expect(obs["other"] != [tr, dev, te],
           f"split(words, {s1}) and split(words, {s2}) gave the same split: the seed must drive "
           f"the shuffle")
    head = set(words[: int(0.8 * n)])
    from_head = sum(w in head for w in dev + te) / max(1, len(dev) + len(te))
    expect(from_head > 0.5,
           f"on a list in alphabetical order, only {from_head:.0%} of the dev and test words "
           f"come from the first 80% of the list (about 80% expected): shuffle first, then cut. "
           f"Cutting first keeps the order of the file in the split")


# --- Exercise 9: contexts and targets ---------------------------------------------------------

@kernel
def context_cases(seed):
    rng = random.Random(seed)
    return [(random_words(seed + k, rng.randint(8, 14)), block) for k, block in
            enumerate((3, rng.choice((1, 2)), rng.choice((4, 5))))]


@probe("contexts")
def probe_contexts(ns, seed):
    build_dataset = need(ns, "build_dataset")
    out = []
    for words, block_size in context_cases(seed):
        what = f"build_dataset(words, stoi, block_size={block_size})"
        out.append(pair(bounded(what, build_dataset, words, vocab()[0], block_size), what,
                        ("X", "Y")))
    return {"cases": out}


@judge("contexts")
def judge_contexts(obs, seed):
    from deepcourse.makemore import build_dataset

    cases = context_cases(seed)
    expect(isinstance(obs["cases"], list) and len(obs["cases"]) == len(cases),
           "malformed observation")
    for (words, block_size), (X, Y) in zip(cases, obs["cases"]):
        want_X, want_Y = build_dataset(words, STOI, block_size)
        what = f"build_dataset(words, stoi, block_size={block_size})"
        X, Y = as_tensor(X, "X"), as_tensor(Y, "Y")
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

        def rows(A, B):
            return sorted(map(tuple, torch.cat([A, B[:, None]], 1).tolist()))

        expect(rows(X, Y) == rows(want_X, want_Y),
               f"{what} gives other (context, next) pairs than expected. For each name: start "
               f"from the context [0] * {block_size} ('.' repeated), and for each character of "
               f"name + '.': add (context, index), then slide: context = context[1:] + [index]")


# --- Exercise 10: the forward pass ------------------------------------------------------------

@kernel
def mlp_params(seed, n_embd, block_size, n_hidden, requires_grad=False):
    """MLP parameters (float32) of the given sizes, drawn from ``seed``."""
    g = gen(seed)
    fan_in = n_embd * block_size
    p = {
        "C": torch.randn((27, n_embd), generator=g),  # (27, n_embd)
        "W1": torch.randn((fan_in, n_hidden), generator=g) / math.sqrt(fan_in),
        "b1": torch.randn(n_hidden, generator=g) * 0.1,
        "W2": torch.randn((n_hidden, 27), generator=g) / math.sqrt(n_hidden),
        "b2": torch.randn(27, generator=g) * 0.1,
    }
    return {k: v.requires_grad_(requires_grad) for k, v in p.items()}


@kernel
def mlp_batch(seed, n, block_size):
    g = gen(seed)
    return (torch.randint(0, 27, (n, block_size), generator=g),  # (n, block_size)
            torch.randint(0, 27, (n,), generator=g))  # (n,)


@kernel
def forward_cases(seed):
    """(n_embd, block_size, n_hidden): the notebook's sizes and other ones."""
    rng = random.Random(seed)
    return [(10, 3, 100), (rng.randint(3, 6), rng.randint(2, 5), rng.randint(5, 12))]


@probe("mlp_forward")
def probe_mlp_forward(ns, seed):
    mlp_forward = need(ns, "mlp_forward")
    out = []
    for k, (n_embd, block_size, n_hidden) in enumerate(forward_cases(seed)):
        params = mlp_params(seed + k, n_embd, block_size, n_hidden)
        X, _ = mlp_batch(seed + k, 13, block_size)
        out.append(bounded("mlp_forward(params, X)", mlp_forward, dict(params), X))
    return {"logits": out}


def _ref_forward(params, X):
    emb = params["C"][X]  # (B, block, n_embd)
    h = torch.tanh(emb.view(X.shape[0], -1) @ params["W1"] + params["b1"])  # (B, hidden)
    return h @ params["W2"] + params["b2"]  # (B, vocab)


def _double(params):
    return {k: v.detach().double() for k, v in params.items()}


@judge("mlp_forward")
def judge_mlp_forward(obs, seed):
    cases = forward_cases(seed)
    expect(isinstance(obs["logits"], list) and len(obs["logits"]) == len(cases),
           "malformed observation")
    for k, ((n_embd, block_size, n_hidden), logits) in enumerate(zip(cases, obs["logits"])):
        X, _ = mlp_batch(seed + k, 13, block_size)
        want = _ref_forward(_double(mlp_params(seed + k, n_embd, block_size, n_hidden)), X)
        what = (f"mlp_forward on a batch of 13 contexts of {block_size} characters "
                f"(n_embd={n_embd}, n_hidden={n_hidden})")
        logits = as_tensor(logits, what)
        expect(tuple(logits.shape) == tuple(want.shape),
               f"{what} has shape {tuple(logits.shape)}, expected {tuple(want.shape)}: take "
               f"the sizes from the tensors (emb.view(X.shape[0], -1)), do not write 30")
        if tensors_close(logits, torch.tanh(want), RTOL, ATOL):
            raise Fail(f"{what}: the logits went through tanh. The output layer is linear: "
                       f"logits = h @ W2 + b2 (cross-entropy applies the softmax)")
        compare(logits, want, what, "emb = C[X] (B, block, n_embd); h = tanh(emb.view(B, -1) "
                "@ W1 + b1) (B, hidden); logits = h @ W2 + b2 (B, 27)", rtol=RTOL, atol=ATOL)


# --- Exercise 11: minibatch gradient descent --------------------------------------------------

@kernel
def batch_inputs(seed):
    """X whose row i is 3 * Y[i] + (0, 1, 2), Y a random permutation; batch size; g's seed."""
    rng = random.Random(seed)
    n = rng.randint(200, 400)
    Y = torch.randperm(n, generator=gen(seed))  # (n,)
    X = 3 * Y[:, None] + torch.arange(3)  # (n, 3)
    return X, Y, rng.randint(12, 20), rng.randrange(2**31)


@kernel
def sgd_inputs(seed):
    """Parameters (6, 3, 20), two batches of 40, the learning rate."""
    return mlp_params(seed, 6, 3, 20, True), [mlp_batch(seed + s, 40, 3) for s in (1, 2)], 0.5


@probe("sgd")
def probe_sgd(ns, seed):
    get_batch, sgd_step = need(ns, "get_batch", "sgd_step")
    X, Y, bs, g_seed = batch_inputs(seed)
    what = f"get_batch(X, Y, {bs}, g)"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        b1 = pair(bounded(what, get_batch, X, Y, bs, gen(g_seed)), what, ("Xb", "Yb"))
        torch.manual_seed(seed + 1)  # another global state: the batch must not change
        g = gen(g_seed)
        b2 = pair(bounded(what, get_batch, X, Y, bs, g), what, ("Xb", "Yb"))
        b3 = pair(bounded(what, get_batch, X, Y, bs, g), what, ("Xb", "Yb"))
    params, batches, lr = sgd_inputs(seed)
    steps = []
    for step, (Xb, Yb) in enumerate(batches, 1):
        loss = bounded(f"sgd_step(params, Xb, Yb, lr={lr}) (step {step})", sgd_step, params, Xb,
                       Yb, lr)
        steps.append({"loss": scalar(loss, "the loss of sgd_step"),
                      "params": {k: params[k].detach().clone() for k in params}})
    return {"batches": [b1, b2, b3], "steps": steps}


@judge("sgd")
def judge_sgd(obs, seed):
    X, Y, bs, _ = batch_inputs(seed)
    batches = obs["batches"]
    expect(isinstance(batches, list) and len(batches) == 3, "malformed observation")
    (Xb, Yb), (Xb2, _), (Xb3, _) = [[as_tensor(t, name) for t, name in zip(b, ("Xb", "Yb"))]
                                    for b in batches]
    expect(tuple(Xb.shape) == (bs, 3) and tuple(Yb.shape) == (bs,),
           f"get_batch(X, Y, {bs}, g) with X of shape {tuple(X.shape)} should return shapes "
           f"({bs}, 3) and ({bs},), got {tuple(Xb.shape)} and {tuple(Yb.shape)}")
    expect(torch.equal(Xb.long(), 3 * Yb.long()[:, None] + torch.arange(3)),
           "row k of Xb must be the row of X whose target is Yb[k]: draw one set of indices ix "
           "and take X[ix] and Y[ix]")
    expect(Xb2.shape == Xb.shape and torch.equal(Xb, Xb2),
           "get_batch must draw its indices with the generator it is given (generator=g), so "
           "that the same seed gives the same batch whatever the global random state")
    expect(Xb3.shape != Xb2.shape or not torch.equal(Xb2, Xb3),
           "two calls of get_batch with the same generator returned the same batch: draw "
           "fresh random indices each time (torch.randint(0, X.shape[0], (batch_size,), "
           "generator=g))")

    params, sgd_batches, lr = sgd_inputs(seed)
    ref = {k: v.detach().clone().double().requires_grad_(True) for k, v in params.items()}
    steps = obs["steps"]
    expect(isinstance(steps, list) and len(steps) == len(sgd_batches), "malformed observation")
    for step, ((Xb, Yb), seen) in enumerate(zip(sgd_batches, steps), 1):
        loss = F.cross_entropy(_ref_forward(ref, Xb), Yb)
        grads = torch.autograd.grad(loss, list(ref.values()))
        with torch.no_grad():
            for p, gr in zip(ref.values(), grads):
                p -= lr * gr
        what = f"sgd_step(params, Xb, Yb, lr={lr}) (step {step})"
        got = _loss_value(seen["loss"], f"the loss returned by {what}")
        if close(got, loss.item() * len(Yb), LOSS_RTOL, LOSS_ATOL):
            raise Fail(f"{what} returned {got:.6g}, the sum of the losses of the batch: use the "
                       f"mean (F.cross_entropy's default)")
        expect(close(got, loss.item(), LOSS_RTOL, 1e-5),
               f"{what} returned the loss {got:.6g}, which is wrong: "
               f"F.cross_entropy(mlp_forward(params, Xb), Yb), computed before the update")
        expect(isinstance(seen["params"], dict), "malformed observation")
        for k in MLP_KEYS:
            compare(seen["params"].get(k), ref[k].detach(), f"params[{k!r}] after step {step}",
                    "Update every parameter (C too) with p.data -= lr * p.grad, after setting "
                    "every p.grad to None before loss.backward() (gradients accumulate)",
                    rtol=RTOL, atol=ATOL)


# --- Exercise 12: the loss of a whole split ---------------------------------------------------

@kernel
def evaluate_inputs(seed):
    rng = random.Random(seed)
    return mlp_params(seed, 6, 3, 20, True), mlp_batch(seed + 1, rng.randint(2500, 3500), 3)


@probe("evaluate_split")
def probe_evaluate_split(ns, seed):
    evaluate_split = need(ns, "evaluate_split")
    params, (X, Y) = evaluate_inputs(seed)
    what = f"evaluate_split(params, X, Y) on {len(X)} examples"
    loss = scalar(bounded(what, evaluate_split, params, X, Y), what)
    keys = ("C", "W1", "b1", "W2", "b2")
    return {"loss": loss, "params": {k: params[k].detach() for k in keys},
            "grads": [params[k].grad for k in keys]}


@judge("evaluate_split")
def judge_evaluate_split(obs, seed):
    params, (X, Y) = evaluate_inputs(seed)
    what = f"evaluate_split(params, X, Y) on {len(X)} examples"
    got = _loss_value(obs["loss"], what)
    expect(isinstance(obs["params"], dict), "malformed observation")
    for k in MLP_KEYS:
        after = as_tensor(obs["params"].get(k), f"params[{k!r}]")
        expect(after.shape == params[k].shape
               and torch.equal(after.double(), params[k].detach().double()),
               f"{what} changed the parameters: evaluation only measures the loss, it never "
               f"trains")
    expect(isinstance(obs["grads"], list) and len(obs["grads"]) == len(MLP_KEYS)
           and all(g is None for g in obs["grads"]),
           f"{what} left gradients in the parameters: evaluate under torch.no_grad(), without "
           f"backward()")
    logits = _ref_forward(_double(params), X)
    want = F.cross_entropy(logits, Y).item()
    if close(got, F.cross_entropy(logits, Y, reduction="sum").item(), LOSS_RTOL, LOSS_ATOL):
        raise Fail(f"{what} returned {got:.6g}, the sum of the losses: use the mean")
    expect(close(got, want, LOSS_RTOL, 1e-5),
           f"{what} returned {got:.6g}, which is wrong: the mean cross-entropy over the *whole* "
           f"split passed in (all of X and Y, not a minibatch nor another split)")


# --- Exercise 13: trigram counts --------------------------------------------------------------

@probe("trigram_counts")
def probe_trigram_counts(ns, seed):
    trigram_counts = need(ns, "trigram_counts")
    return {"counts": [bounded("trigram_counts(words, stoi)", trigram_counts, words, vocab()[0])
                       for words in counts_cases(seed)]}


def _trigrams(words):
    """Every (i, j, k) index triple of every word, '..' before and '.' after it."""
    for w in words:
        chs = ".." + w + "."
        for a, b, c in zip(chs, chs[1:], chs[2:]):
            yield STOI[a], STOI[b], STOI[c]


def _ref_trigram_counts(words) -> torch.Tensor:
    N3 = torch.zeros((V, V, V), dtype=torch.float64)
    for ijk in _trigrams(words):
        N3[ijk] += 1
    return N3


@judge("trigram_counts")
def judge_trigram_counts(obs, seed):
    cases = counts_cases(seed)
    expect(isinstance(obs["counts"], list) and len(obs["counts"]) == len(cases),
           "malformed observation")
    for words, N3 in zip(cases, obs["counts"]):
        N3 = as_tensor(N3, f"trigram_counts on {len(words)} random names")
        expect(tuple(N3.shape) == (V, V, V), f"trigram_counts must return a ({V}, {V}, {V}) "
               f"tensor, got shape {tuple(N3.shape)}")
        _integers(N3, "trigram_counts")
        want = _ref_trigram_counts(words)
        got = N3.double()
        total = got.sum().item()
        expect(total == want.sum().item(),
               f"on {len(words)} names with {sum(map(len, words))} letters in all, your counts "
               f"add up to {total:g}: a name of n letters gives n + 1 trigrams, with '.' twice "
               f"before it and once after it")
        expect(torch.equal(got[0, 0], want[0, 0]),
               "N3[0, 0] must count how names start: each name begins with the context "
               "('.', '.'), so N3[0, 0, stoi[first letter]] += 1 for each name")
        expect(torch.equal(got, want),
               "N3[i, j, k] must count how many times character k follows the pair (i, j) "
               "(first index: two characters back, second: the previous one, third: the next)")


# --- Exercise 14: the smoothed trigram and its NLL --------------------------------------------

@kernel
def trigram_nll_cases(seed):
    """(counts with many zeros, words, alpha): float counts, then int64 counts."""
    rng = random.Random(seed)
    g = gen(seed)
    N3 = torch.randint(0, 3, (27, 27, 27), generator=g) ** 2  # (27, 27, 27) a third are 0
    return [(N3.double() * 0.5, random_words(seed + 1, rng.randint(15, 30)),
             round(rng.uniform(1.0, 3.0), 3)),
            (N3, random_words(seed + 2, rng.randint(15, 30)), round(rng.uniform(0.05, 0.5), 3))]


@probe("trigram_nll")
def probe_trigram_nll(ns, seed):
    trigram_nll = need(ns, "trigram_nll")
    out = []
    for N3, words, alpha in trigram_nll_cases(seed):
        what = f"trigram_nll(N3, words, stoi, alpha={alpha})"
        value = bounded(what, trigram_nll, N3, words, vocab()[0], alpha)
        out.append({"value": scalar(value, what), "N3_after": N3})
    return {"cases": out}


@judge("trigram_nll")
def judge_trigram_nll(obs, seed):
    cases = trigram_nll_cases(seed)
    expect(isinstance(obs["cases"], list) and len(obs["cases"]) == len(cases),
           "malformed observation")
    for (N3, words, alpha), seen in zip(cases, obs["cases"]):
        what = f"trigram_nll(N3, words, stoi, alpha={alpha}) on {len(words)} random names"
        after = as_tensor(seen["N3_after"], "N3")
        expect(after.shape == N3.shape and torch.equal(after.double(), N3.double()),
               f"{what} modified N3: smooth a new tensor (N3 + alpha, not N3 += alpha)")
        counts = N3.double() + alpha  # (27, 27, 27)
        P3 = counts / counts.sum(2, keepdim=True)
        logs = torch.stack([P3[ijk].log() for ijk in _trigrams(words)])  # (n,)
        got = _loss_value(seen["value"], what)
        if close(got, -logs.sum().item(), LOSS_RTOL, LOSS_ATOL):
            raise Fail(f"{what} returned {got:.6g}, the sum of -log P over the trigrams: divide "
                       f"by the number of trigrams ({len(logs)}) to get the mean")
        expect(close(got, -logs.mean().item(), LOSS_RTOL, LOSS_ATOL),
               f"{what} returned {got:.6g}, which is wrong: add alpha to every count, divide "
               f"each row N3[i, j] + alpha by its own sum (the last dimension, keepdim=True), "
               f"then take the mean of -log P[i, j, k] over every trigram ('.' twice before "
               f"each name, once after)")


# --- Exercise 15: the learned trigram ---------------------------------------------------------

@kernel
def trigram_loss_inputs(seed):
    g = gen(seed)
    W0 = torch.randn((729, 27), generator=g)  # (729, 27)
    n = 150 + seed % 100
    X = torch.randint(0, 27, (n, 2), generator=g)  # (n, 2)
    Y = torch.randint(0, 27, (n,), generator=g)  # (n,)
    return W0, X, Y, [0.0, round(0.05 + (seed % 89) / 100, 3)]


@probe("trigram_loss")
def probe_trigram_loss(ns, seed):
    trigram_loss = need(ns, "trigram_loss")
    W0, X, Y, regs = trigram_loss_inputs(seed)
    out = []
    for reg in regs:
        W = W0.clone().requires_grad_(True)
        what = f"trigram_loss(W, X, Y, reg={reg})"
        loss = bounded(what, trigram_loss, W, X, Y, reg)
        out.append(loss_and_grad(loss, W, what))
    return {"cases": out}


@judge("trigram_loss")
def judge_trigram_loss(obs, seed):
    W0, X, Y, regs = trigram_loss_inputs(seed)
    expect(isinstance(obs["cases"], list) and len(obs["cases"]) == len(regs),
           "malformed observation")
    rows = X[:, 0] * V + X[:, 1]  # (n,)
    for reg, seen in zip(regs, obs["cases"]):
        what = f"trigram_loss(W, X, Y, reg={reg}) on {len(Y)} examples"
        expect(isinstance(seen["value"], torch.Tensor) and seen["value"].numel() == 1,
               f"{what} must return the loss as a one-element tensor, got {kind(seen['value'])}")
        expect(seen["grad"] is not None, f"{what} must stay a tensor connected to W (no "
               f".item(), no detach) so that loss.backward() computes W.grad")
        Wr = W0.clone().double().requires_grad_(True)
        ref = F.cross_entropy(Wr[rows], Y) + reg * (Wr ** 2).mean()
        ref.backward()
        got = _loss_value(seen["value"], what)
        if close(got, F.cross_entropy(W0.double()[rows], Y, reduction="sum").item()
                 + reg * (W0.double() ** 2).mean().item(), LOSS_RTOL, LOSS_ATOL):
            raise Fail(f"{what} is {got:.6g}, the sum over the examples: the loss is the mean "
                       f"of -log p[y]")
        expect(close(got, ref.item(), LOSS_RTOL, LOSS_ATOL),
               f"{what} is {got:.6g}, which is wrong: the logits of example k are the row "
               f"W[27 * X[k, 0] + X[k, 1]] (the first character of the context counts 27 "
               f"times), the loss their mean cross-entropy at Y plus reg * (W**2).mean()")
        expect(seen["grad"] is not None, f"after {what}.backward(), W.grad is None: compute the "
               f"loss from W itself")
        compare(seen["grad"], Wr.grad, f"the gradient of {what} with respect to W",
                rtol=RTOL, atol=ATOL)
