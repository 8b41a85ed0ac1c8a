"""Probes and judges of session 4 (GPT from scratch), with PyTorch as the oracle.

The statements fix the names and shapes of every module's parameters (``key``, ``query``,
``value``, ``proj``, ``ln1``...), so probes set them from the seed before observing and judges
recompute the outputs from the same numbers. A module that composes other pieces (``Block``,
``GPTLanguageModel``) is probed with its parts replaced by fixed layers, so that each exercise
is judged on its own wiring; the real composition is probed for causality (outputs at positions
up to t must not change when later tokens change). ``generate`` and ``estimate_loss`` are
probed with recording stand-ins for the model: each context or batch it is given, and what
the student's code made of the stand-in's outputs (tokens drawn, mean losses), which the judge
replays. Probes return raw outputs only; every count, statistic and comparison is the judge's.
"""

from __future__ import annotations

import math
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.checks import Fail, as_tensor, compare, expect, judge, kernel, number, probe
from autograder.checks import tensors_close
from autograder.probe_runtime import StudentError, call, need
from deepcourse.shakespeare import load_text

SESSION = "04_gpt"
RTOL, ATOL = 1e-4, 1e-5  # float32 computations in another order


# --- shared helpers (both sides) --------------------------------------------------------------

@kernel
def gen(seed):
    return torch.Generator().manual_seed(seed)


@kernel
def plain_tensor(value):
    """A copy of a tensor, out of the graph (observations carry none); anything else as it is."""
    return value.detach().clone() if isinstance(value, torch.Tensor) else value


@kernel
def pair(out, what):
    """The two values a student's function returns, or a StudentError saying it returned else."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise StudentError(f"{what} must return a pair, got {type(out).__name__}")
    return out


@kernel
def set_param(module, path, value, what):
    """Copy ``value`` into the parameter ``module.<path>`` (e.g. "key.weight"), shape checked."""
    obj = module
    for name in path.split("."):
        obj = getattr(obj, name, None)
    if not isinstance(obj, torch.Tensor) or tuple(obj.shape) != tuple(value.shape):
        shape = tuple(obj.shape) if isinstance(obj, torch.Tensor) else None
        raise StudentError(f"{what}.{path} must be a tensor of shape {tuple(value.shape)}, found "
                           f"{shape if shape is not None else 'none'}")
    with torch.no_grad():
        obj.copy_(value)


@kernel
def no_bias(module, name, what):
    if getattr(getattr(module, name, None), "bias", None) is not None:
        raise StudentError(f"{what}.{name} must be an nn.Linear without bias (bias=False)")


@kernel
def future_changed(x, t0, seed):
    """``x`` (B, T, C) with every position after t0 replaced by other random values."""
    out = x.clone()
    out[:, t0 + 1:] = torch.randn(out[:, t0 + 1:].shape, generator=gen(seed + 99))
    return out


@kernel
def fixed_layer(weight, causal):
    """A stand-in sub-layer: tanh((causal running mean of x, or x) @ weight^T)."""
    class Fixed(nn.Module):
        def forward(self, x):  # (B, T, C)
            if causal:
                steps = torch.arange(1, x.shape[1] + 1, dtype=x.dtype).view(1, -1, 1)
                x = x.cumsum(1) / steps
            return torch.tanh(x @ weight.T)  # (B, T, C)
    return Fixed()


def attention(x, wq, wk, wv, scale, causal=True, dim=-1):
    """Reference single-head attention (B, T, C) -> (B, T, h), with switchable mistakes."""
    q, k, v = x @ wq.T, x @ wk.T, x @ wv.T  # (B, T, h)
    wei = q @ k.transpose(-2, -1) * scale  # (B, T, T)
    if causal:
        T = x.shape[1]
        wei = wei.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
    return F.softmax(wei, dim=dim) @ v


def close_to(got, want):
    return isinstance(got, torch.Tensor) and got.shape == want.shape and tensors_close(
        got, want, RTOL, ATOL)


def expect_causal(out, out_pert, t0, what):
    out, out_pert = as_tensor(out, what), as_tensor(out_pert, what)
    expect(out.shape == out_pert.shape, f"{what}: outputs of different shapes for inputs of one shape")
    expect(tensors_close(out_pert[:, :t0 + 1], out[:, :t0 + 1], RTOL, ATOL),
           f"{what}: the output at positions 0..{t0} changed when only the tokens after position "
           f"{t0} changed: the causal mask is missing or lets the future leak in "
           f"(masked_fill(tril[:T, :T] == 0, -inf) before the softmax).")


# --- Exercise 1: encode / decode ---------------------------------------------------------------

@kernel
def vocabulary():
    return sorted(set(load_text()))


@kernel
def encoding_cases(seed):
    rng = random.Random(seed)
    chars = vocabulary()
    strings = ["".join(rng.choice(chars) for _ in range(rng.randint(1, 30))) for _ in range(5)]
    return strings + ["".join(rng.sample(chars, len(chars)))]


@probe("encoding")
def probe_encoding(ns, seed):
    encode, decode = need(ns, "encode", "decode")
    chars = vocabulary()
    encoded, decoded = [], []
    for s in encoding_cases(seed):
        ids = call(f"encode({s[:12]!r}...)", encode, s)
        encoded.append([int(i) for i in call("list(encode(s))", list, ids)])
        decoded.append(call("decode(ids)", decode, [chars.index(c) for c in s]))
    s = encoding_cases(seed)[0]
    tensor_decoded = call("decode(a tensor)", decode, torch.tensor([chars.index(c) for c in s]))
    return {"encoded": encoded, "decoded": decoded, "tensor_decoded": tensor_decoded}


@judge("encoding")
def judge_encoding(obs, seed):
    chars = vocabulary()
    cases = encoding_cases(seed)
    expect(len(obs["encoded"]) == len(cases) == len(obs["decoded"]), "malformed observation")
    for s, ids, text in zip(cases, obs["encoded"], obs["decoded"]):
        expect(ids == [chars.index(c) for c in s],
               f"encode({s[:20]!r}) is wrong: character chars[i] must become the integer i "
               f"(chars is the sorted vocabulary), one integer per character")
        expect(text == s, f"decode gives {str(text)[:20]!r} for the integers of {s[:20]!r}: "
               f"integer i must become chars[i], joined without separator")
    expect(obs["tensor_decoded"] == cases[0], "decode must also accept a 1-D tensor of integers")


# --- Exercise 2: get_batch ----------------------------------------------------------------------

@kernel
def batch_data(seed):
    data = torch.randperm(200, generator=gen(seed)) + 1000  # (200,) distinct values
    return data, 8, 16  # data, block_size, batch_size


@probe("get_batch")
def probe_get_batch(ns, seed):
    get_batch = need(ns, "get_batch")
    data, block_size, batch_size = batch_data(seed)
    torch.manual_seed(seed)
    rows = [pair(call("get_batch(data, 8, 16)", get_batch, data, block_size, batch_size),
                 "get_batch") for _ in range(4)]
    short = pair(call("get_batch(data[:9], 8, 5)", get_batch, data[:block_size + 1], block_size, 5),
                 "get_batch")
    return {"batches": [list(r) for r in rows], "short": list(short)}


def _check_batch(x, y, data, block_size, batch_size, case):
    x, y = as_tensor(x, f"x {case}"), as_tensor(y, f"y {case}")
    expect(tuple(x.shape) == tuple(y.shape) == (batch_size, block_size),
           f"{case}: x and y must have shape (batch_size, block_size) = ({batch_size}, "
           f"{block_size}), got {tuple(x.shape)} and {tuple(y.shape)}")
    expect(not x.is_floating_point() and not y.is_floating_point(),
           f"{case}: x and y hold token indices (integers), got {x.dtype}")
    where = {int(v): i for i, v in enumerate(data)}
    starts = []
    for row_x, row_y in zip(x.long(), y.long()):
        i = where.get(int(row_x[0]))
        expect(i is not None and i + block_size < len(data)
               and torch.equal(row_x, data[i:i + block_size]),
               f"{case}: each row of x must be block_size consecutive values data[i : i + "
               f"block_size], with i <= len(data) - block_size - 1")
        expect(torch.equal(row_y, data[i + 1:i + block_size + 1]),
               f"{case}: the targets must be the inputs shifted by one: y = data[i + 1 : i + "
               f"block_size + 1] for x = data[i : i + block_size]")
        starts.append(i)
    return starts


@judge("get_batch")
def judge_get_batch(obs, seed):
    data, block_size, batch_size = batch_data(seed)
    expect(len(obs["batches"]) == 4, "malformed observation")
    starts = []
    for x, y in obs["batches"]:
        starts += _check_batch(x, y, data, block_size, batch_size, "get_batch(data, 8, 16)")
    expect(len(set(starts)) >= 20, "the 64 chunks of 4 calls start at few places: draw the "
           "starting points at random with torch.randint, a new draw at each call")
    x, y = obs["short"]
    _check_batch(x, y, data[:block_size + 1], block_size, 5, "with len(data) = block_size + 1")


# --- Exercise 3: the bigram model ---------------------------------------------------------------

@kernel
def bigram_case(seed):
    g = gen(seed)
    V = 13
    table = torch.randn(V, V, generator=g) * 1.5  # (V, V)
    idx = torch.randint(V, (3, 5), generator=g)  # (B, T)
    targets = torch.randint(V, (3, 5), generator=g)  # (B, T)
    perm = torch.randperm(V, generator=g)  # the next token of each token, for generation
    return V, table, idx, targets, perm


@probe("bigram")
def probe_bigram(ns, seed):
    Model = need(ns, "BigramLanguageModel")
    V, table, idx, targets, perm = bigram_case(seed)
    model = call(f"BigramLanguageModel({V})", Model, V)
    set_param(model, "token_embedding_table.weight", table, "BigramLanguageModel")
    logits, loss = pair(call("model(idx, targets)", model, idx, targets), "forward")
    logits_alone, loss_alone = pair(call("model(idx)", model, idx), "forward")
    set_param(model, "token_embedding_table.weight", F.one_hot(perm, V).float() * 40,
              "BigramLanguageModel")
    torch.manual_seed(seed)
    generated = call("model.generate(idx, 6)", model.generate, idx[:, :2].clone(), 6)
    return {"logits": logits, "loss": loss, "logits_alone": logits_alone,
            "loss_alone": plain_tensor(loss_alone), "generated": generated}


def _judge_logits_and_loss(obs, want, targets, V, what, hint):
    B, T = targets.shape
    logits = as_tensor(obs["logits"], f"the logits of {what}(idx, targets)")
    expect(logits.numel() == B * T * V, f"{what}(idx, targets): the logits must have shape "
           f"(B, T, vocab_size) = ({B}, {T}, {V}), got {tuple(logits.shape)}")
    compare(logits.reshape(B, T, V), want, f"the logits of {what}(idx, targets)", hint,
            rtol=RTOL, atol=ATOL)
    compare(obs["logits_alone"], want, f"the logits of {what}(idx)",
            "without targets the logits keep the shape (B, T, vocab_size)", rtol=RTOL, atol=ATOL)
    loss = number(obs["loss"], f"the loss of {what}(idx, targets)")
    ref = F.cross_entropy(want.reshape(B * T, V), targets.reshape(B * T)).item()
    expect(math.isclose(loss, ref, rel_tol=1e-4, abs_tol=1e-5),
           f"the loss of {what}(idx, targets) is {loss:.4f}, which is not the mean cross-entropy "
           f"over the B*T positions: F.cross_entropy(logits.view(B*T, V), targets.view(B*T))")
    expect(obs["loss_alone"] is None, f"{what}(idx) without targets must return loss None")


@judge("bigram")
def judge_bigram(obs, seed):
    V, table, idx, targets, perm = bigram_case(seed)
    _judge_logits_and_loss(obs, table[idx], targets, V, "model",
                           "the logits of token c are row c of token_embedding_table")
    out = as_tensor(obs["generated"], "model.generate(idx, 6)")
    expect(tuple(out.shape) == (3, 8), f"generate(idx of shape (3, 2), 6) must return shape "
           f"(3, 8), got {tuple(out.shape)}")
    expect(torch.equal(out[:, :2].long(), idx[:, :2]), "generate must keep the given context "
           "at the start of what it returns")
    expect(torch.equal(out[:, 2:].long(), perm[out[:, 1:-1].long()]),
           "each new token must be drawn from the softmax of the logits of the LAST position "
           "(logits[:, -1, :]), then appended")


# --- Exercise 4: warm-ups -----------------------------------------------------------------------

@kernel
def shape_cases(seed):
    """(broadcast pairs, matmul pairs, linear inputs): compatible and incompatible shapes."""
    rng = random.Random(seed)

    def shape(n):
        return tuple(rng.choice((2, 3, 4)) for _ in range(n))

    def compatible(a):
        b = [rng.choice((d, d, 1)) for d in a[rng.randint(0, len(a)):]]
        return tuple(b)

    broadcast = []
    for _ in range(12):
        a = shape(rng.randint(0, 4))
        b = compatible(a) if rng.random() < 0.6 else shape(rng.randint(1, 4))
        broadcast.append((a, b) if rng.random() < 0.5 else (b, a))
    broadcast += [((2, 1, 4), (3, 1)), ((5, 4), (3, 4)), ((1,), (3, 1, 2))]
    matmul = []
    for _ in range(10):
        batch = shape(rng.randint(0, 2))
        n, m, p = shape(3)
        a = batch + (n, m)
        b = compatible(batch) + (m if rng.random() < 0.7 else m + 1, p)
        matmul.append((a, b) if rng.random() < 0.5 else (b[:-2] + a[-2:], a[:-2] + b[-2:]))
    matmul += [((2, 1, 4, 3), (5, 3, 6)), ((3, 4, 2), (2, 2, 5))]
    g = gen(seed)
    linear = (torch.randn(2, 3, 5, generator=g), torch.randn(4, 5, generator=g),
              torch.randn(4, generator=g))
    return broadcast, matmul, linear


@kernel
def as_shape(value):
    return None if value is None else [int(d) for d in value]


@probe("warmups")
def probe_warmups(ns, seed):
    broadcast_shape, matmul_shape, linear_forward = need(
        ns, "broadcast_shape", "matmul_shape", "linear_forward")
    broadcast, matmul, (x, weight, bias) = shape_cases(seed)
    return {
        "broadcast": [as_shape(call(f"broadcast_shape({a}, {b})", broadcast_shape, a, b))
                      for a, b in broadcast],
        "matmul": [as_shape(call(f"matmul_shape({a}, {b})", matmul_shape, a, b))
                   for a, b in matmul],
        "linear": call("linear_forward(x, weight, bias)", linear_forward, x, weight, bias),
    }


def _broadcast(a, b):
    try:
        return list(torch.broadcast_shapes(a, b))
    except RuntimeError:
        return None


def _matmul(a, b):
    try:
        return list(torch.matmul(torch.empty(a, device="meta"), torch.empty(b, device="meta")).shape)
    except RuntimeError:
        return None


@judge("warmups")
def judge_warmups(obs, seed):
    broadcast, matmul, (x, weight, bias) = shape_cases(seed)
    expect(len(obs["broadcast"]) == len(broadcast) and len(obs["matmul"]) == len(matmul),
           "malformed observation")
    for (a, b), got in zip(broadcast, obs["broadcast"]):
        want = _broadcast(a, b)
        expect(got == want, f"broadcast_shape({a}, {b}) returned {got}: compare the sizes from "
               f"the last dimension; equal, or one of them 1, or missing; else None")
    for (a, b), got in zip(matmul, obs["matmul"]):
        want = _matmul(a, b)
        expect(got == want, f"matmul_shape({a}, {b}) returned {got}: (n, m) @ (m, p) -> (n, p) "
               f"on the last two dimensions, the others broadcast; else None")
    compare(obs["linear"], F.linear(x, weight, bias), "linear_forward(x, weight, bias)",
            "y = x A^T + b: x @ weight.transpose(-2, -1) + bias", rtol=RTOL, atol=ATOL)


# --- Exercise 5: averaging the past ---------------------------------------------------------------

AVERAGES = ("average_loops", "average_tril", "average_softmax")


@kernel
def averaging_input(seed):
    return torch.randn(2, 7, 3, generator=gen(seed))  # (B, T, C)


@probe("averaging")
def probe_averaging(ns, seed):
    x = averaging_input(seed)
    return {name: call(f"{name}(x)", need(ns, name), x.clone())
            for name in ("average_loops", "average_tril", "average_softmax")}


@judge("averaging")
def judge_averaging(obs, seed):
    x = averaging_input(seed)
    want = x.cumsum(1) / torch.arange(1, x.shape[1] + 1).view(1, -1, 1)
    hints = {"average_loops": "xbow[b, t] = x[b, :t + 1].mean(0)",
             "average_tril": "wei = tril(ones(T, T)) with rows divided by their sums, then wei @ x",
             "average_softmax": "-inf above the diagonal, then a softmax over the last dimension"}
    for name in AVERAGES:
        compare(obs[name], want, f"{name}(x)", f"position t is the mean of positions 0..t: "
                f"{hints[name]}.", rtol=RTOL, atol=ATOL)


# --- Exercise 6: Head ----------------------------------------------------------------------------

@kernel
def head_case(seed):
    g = gen(seed)
    C, h, block_size = 16, 4, 8
    wk, wq, wv = (torch.randn(h, C, generator=g) * 0.5 for _ in range(3))  # (h, C)
    x = torch.randn(2, 6, C, generator=g)  # (B, T, C), T < block_size
    x_full = torch.randn(2, block_size, C, generator=g)  # (B, block_size, C)
    t0 = 1 + seed % 3
    return C, h, block_size, wk, wq, wv, x, x_full, t0


@kernel
def make_head(Head, seed, dropout):
    C, h, block_size, wk, wq, wv, *_ = head_case(seed)
    head = call(f"Head({C}, {h}, {block_size}, {dropout})", Head, C, h, block_size, dropout)
    for name, w in (("key", wk), ("query", wq), ("value", wv)):
        set_param(head, f"{name}.weight", w, "Head")
        no_bias(head, name, "Head")
    return head


@probe("head")
def probe_head(ns, seed):
    Head = need(ns, "Head")
    *_, x, x_full, t0 = head_case(seed)
    head = make_head(Head, seed, 0.0)
    obs = {"out": call("head(x)", head, x), "out_full": call("head(x)", head, x_full),
           "out_pert": call("head(x)", head, future_changed(x, t0, seed))}
    dropped = make_head(Head, seed, 0.5)
    dropped.train()
    torch.manual_seed(seed)
    obs["train"] = call("head(x) in training mode", dropped, x_full)
    dropped.eval()
    obs["eval"] = call("head(x) in eval mode", dropped, x_full)
    return {k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in obs.items()}


def _judge_attention_output(got, x, wq, wk, wv, h, what, causal_check=None):
    C = x.shape[-1]
    want = attention(x, wq, wk, wv, h ** -0.5)
    got = as_tensor(got, what)
    expect(tuple(got.shape) == tuple(want.shape),
           f"{what} has shape {tuple(got.shape)}, expected (B, T, head_size) = {tuple(want.shape)}")
    if close_to(got, want):
        return
    mistakes = [
        (attention(x, wq, wk, wv, C ** -0.5), "the affinities are scaled by n_embd ** -0.5: the "
         "scale is head_size ** -0.5 (the size of the keys)"),
        (attention(x, wq, wk, wv, 1.0), "the affinities are not scaled: multiply q @ k^T by "
         "head_size ** -0.5"),
        (attention(x, wq, wk, wv, h ** -0.5, dim=-2), "the softmax runs over the wrong "
         "dimension: over the last one (dim=-1), so that each row of weights sums to 1"),
        (attention(x, wq, wk, wv, h ** -0.5, causal=False), "there is no causal mask: a token "
         "sees the future"),
    ]
    for wrong, message in mistakes:
        expect(not close_to(got, wrong), f"{what}: {message}.")
    if causal_check is not None:
        causal_check()
    raise Fail(f"{what} is not softmax(mask(q k^T * head_size ** -0.5), dim=-1) @ v, with k, q, "
               f"v from self.key, self.query and self.value.")


@judge("head")
def judge_head(obs, seed):
    C, h, block_size, wk, wq, wv, x, x_full, t0 = head_case(seed)
    def causal():
        expect_causal(obs["out"], obs["out_pert"], t0, "Head")

    _judge_attention_output(obs["out"], x, wq, wk, wv, h, "Head(16, 4, 8, 0.0)(x) with T = 6",
                            causal)
    causal()
    _judge_attention_output(obs["out_full"], x_full, wq, wk, wv, h,
                            "Head(16, 4, 8, 0.0)(x) with T = block_size")
    want = attention(x_full, wq, wk, wv, h ** -0.5)
    compare(obs["eval"], want, "Head(16, 4, 8, 0.5) in eval mode",
            "dropout must be off in eval mode: use nn.Dropout", rtol=RTOL, atol=ATOL)
    train = as_tensor(obs["train"], "Head(16, 4, 8, 0.5) in training mode")
    expect(train.shape == want.shape and not tensors_close(train, want, RTOL, ATOL),
           "Head(16, 4, 8, 0.5) in training mode gives the output without dropout: apply "
           "self.dropout to the attention weights")
    expect(_dropped_weights(train, x_full, wq, wk, wv, h, 0.5),
           "Head(16, 4, 8, 0.5) in training mode: the dropout is not on the attention weights. "
           "Apply self.dropout to wei after the softmax, before wei @ v (not to the output).")


def _dropped_weights(got, x, wq, wk, wv, h, p):
    """Whether each output row is (m * w) @ v / (1 - p) for the row's attention weights w and
    some mask m of zeros and ones: dropout on the attention weights, whatever drew the mask."""
    q, k, v = x @ wq.T, x @ wk.T, x @ wv.T  # (B, T, h)
    T = x.shape[1]
    wei = (q @ k.transpose(-2, -1) * h ** -0.5).masked_fill(
        torch.tril(torch.ones(T, T)) == 0, float("-inf")).softmax(-1)  # (B, T, T)
    for b in range(x.shape[0]):
        for t in range(T):
            masks = torch.tensor([[(m >> s) & 1 for s in range(t + 1)] for m in range(2 ** (t + 1))],
                                 dtype=x.dtype)  # (2^(t+1), t+1)
            rows = (masks * wei[b, t, :t + 1]) @ v[b, :t + 1] / (1 - p)  # (2^(t+1), h)
            scale = rows.abs().max().item()
            if (rows - got[b, t]).abs().amax(1).min().item() > ATOL + RTOL * scale:
                return False
    return True


# --- Exercise 7: MultiHeadAttention ------------------------------------------------------------

@kernel
def mha_case(seed):
    g = gen(seed)
    nh, C, h, block_size = 4, 16, 4, 8
    wq, wk, wv = (torch.randn(nh, h, C, generator=g) * 0.5 for _ in range(3))  # (nh, h, C)
    wp = torch.randn(C, nh * h, generator=g) * 0.3  # (C, nh * h)
    bp = torch.randn(C, generator=g) * 0.1  # (C,)
    x = torch.randn(2, block_size, C, generator=g)  # (B, T, C)
    return nh, C, h, block_size, wq, wk, wv, wp, bp, x, 2 + seed % 4


@kernel
def make_mha(MHA, seed, dropout):
    """The student's MultiHeadAttention with every weight set from the seed, in any layout the
    statement allows (self.heads of Head, batched key/query/value, or nanoGPT's c_attn)."""
    nh, C, h, block_size, wq, wk, wv, wp, bp, x, t0 = mha_case(seed)
    mha = call(f"MultiHeadAttention({nh}, {C}, {h}, {block_size}, {dropout})", MHA, nh, C, h,
               block_size, dropout)
    heads = getattr(mha, "heads", None)
    if heads is not None:
        heads = list(heads)
        if len(heads) != nh:
            raise StudentError(f"MultiHeadAttention({nh}, ...).heads holds {len(heads)} heads")
        for i, head in enumerate(heads):
            for name, w in (("key", wk), ("query", wq), ("value", wv)):
                set_param(head, f"{name}.weight", w[i], f"MultiHeadAttention.heads[{i}]")
    elif all(hasattr(mha, name) for name in ("key", "query", "value")):
        for name, w in (("key", wk), ("query", wq), ("value", wv)):
            set_param(mha, f"{name}.weight", w.reshape(nh * h, C), "MultiHeadAttention")
            no_bias(mha, name, "MultiHeadAttention")
    elif hasattr(mha, "c_attn"):  # nanoGPT's layout: q, k, v of every head in one linear
        qkv = torch.cat([w.reshape(nh * h, C) for w in (wq, wk, wv)])  # (3 nh h, C)
        set_param(mha, "c_attn.weight", qkv, "MultiHeadAttention")
        if getattr(mha.c_attn, "bias", None) is not None:
            set_param(mha, "c_attn.bias", torch.zeros(3 * nh * h), "MultiHeadAttention")
    else:
        raise StudentError("MultiHeadAttention must keep its heads in self.heads (an "
                           "nn.ModuleList of Head), or be batched with self.key, self.query "
                           "and self.value, each nn.Linear(n_embd, num_heads * head_size)")
    proj = "proj" if hasattr(mha, "proj") or not hasattr(mha, "c_proj") else "c_proj"
    set_param(mha, f"{proj}.weight", wp, "MultiHeadAttention")
    set_param(mha, f"{proj}.bias", bp, "MultiHeadAttention")
    return mha


@probe("multihead")
def probe_multihead(ns, seed):
    MHA = need(ns, "MultiHeadAttention")
    *_, x, t0 = mha_case(seed)
    mha = make_mha(MHA, seed, 0.0)
    obs = {"out": call("mha(x)", mha, x).detach(),
           "out_pert": call("mha(x)", mha, future_changed(x, t0, seed)).detach()}
    dropped = make_mha(MHA, seed, 0.5)
    dropped.train()
    torch.manual_seed(seed)
    obs["train"] = call("mha(x) in training mode", dropped, x).detach()
    dropped.eval()
    obs["eval"] = call("mha(x) in eval mode", dropped, x).detach()
    return obs


@judge("multihead")
def judge_multihead(obs, seed):
    nh, C, h, block_size, wq, wk, wv, wp, bp, x, t0 = mha_case(seed)
    heads = torch.cat([attention(x, wq[i], wk[i], wv[i], h ** -0.5) for i in range(nh)], dim=-1)
    want = heads @ wp.T + bp  # (B, T, C)
    got = as_tensor(obs["out"], "MultiHeadAttention(4, 16, 4, 8, 0.0)(x)")
    expect(tuple(got.shape) == tuple(want.shape), f"MultiHeadAttention(4, 16, 4, 8, 0.0)(x) has "
           f"shape {tuple(got.shape)}, expected (B, T, n_embd) = {tuple(want.shape)}")
    expect(not close_to(got, heads), "MultiHeadAttention: the output projection self.proj is "
           "missing (apply it to the concatenated heads)")
    compare(got, want, "MultiHeadAttention(4, 16, 4, 8, 0.0)(x)",
            "Concatenate the heads' outputs on the LAST dimension, (B, T, num_heads * head_size), "
            "head i at columns i*head_size:(i+1)*head_size (in a batched version: transpose "
            "(B, nh, T, hs) back to (B, T, nh, hs) before the view), then self.proj. Each head "
            "is its own module with its own weights.", rtol=RTOL, atol=ATOL)
    expect_causal(obs["out"], obs["out_pert"], t0, "MultiHeadAttention")
    compare(obs["eval"], want, "MultiHeadAttention(4, 16, 4, 8, 0.5)(x) in eval mode",
            "dropout must be off in eval mode: use nn.Dropout", rtol=RTOL, atol=ATOL)
    train = as_tensor(obs["train"], "MultiHeadAttention(4, 16, 4, 8, 0.5)(x) in training mode")
    expect(tuple(train.shape) == tuple(want.shape), "malformed observation")
    zeros = (train == 0).double().mean().item()  # the projection has a bias: never 0 undropped
    expect(0.3 <= zeros <= 0.7, "MultiHeadAttention(4, 16, 4, 8, 0.5) in training mode: no "
           "dropout after the projection. out = self.dropout(self.proj(concatenated heads)).")


# --- Exercise 8: FeedForward --------------------------------------------------------------------

@kernel
def ff_case(seed):
    g = gen(seed)
    C = 16
    w1, b1 = torch.randn(4 * C, C, generator=g) * 0.3, torch.randn(4 * C, generator=g) * 0.3
    w2, b2 = torch.randn(C, 4 * C, generator=g) * 0.2, torch.randn(C, generator=g) * 0.1
    return C, w1, b1, w2, b2, torch.randn(2, 5, C, generator=g)


@kernel
def make_ff(FeedForward, seed, dropout):
    C, w1, b1, w2, b2, _ = ff_case(seed)
    ff = call(f"FeedForward({C}, {dropout})", FeedForward, C, dropout)
    linears = [m for m in ff.modules() if isinstance(m, nn.Linear)]
    shapes = [tuple(m.weight.shape) for m in linears]
    if shapes != [(4 * C, C), (C, 4 * C)] or any(m.bias is None for m in linears):
        raise StudentError(f"FeedForward({C}, ...) must hold two nn.Linear with bias, n_embd -> "
                           f"4 * n_embd then 4 * n_embd -> n_embd (weights {(4 * C, C)} and "
                           f"{(C, 4 * C)}); found weights {shapes}")
    for lin, w, b in zip(linears, (w1, w2), (b1, b2)):
        set_param(lin, "weight", w, "FeedForward")
        set_param(lin, "bias", b, "FeedForward")
    return ff


@probe("feedforward")
def probe_feedforward(ns, seed):
    FeedForward = need(ns, "FeedForward")
    x = ff_case(seed)[-1]
    ff = make_ff(FeedForward, seed, 0.0)
    dropped = make_ff(FeedForward, seed, 0.5)
    dropped.train()
    torch.manual_seed(seed)
    train = call("ffwd(x) in training mode", dropped, x).detach()
    dropped.eval()
    return {"out": call("ffwd(x)", ff, x).detach(), "train": train,
            "eval": call("ffwd(x) in eval mode", dropped, x).detach()}


@judge("feedforward")
def judge_feedforward(obs, seed):
    C, w1, b1, w2, b2, x = ff_case(seed)
    want = torch.relu(x @ w1.T + b1) @ w2.T + b2
    hint = "linear n_embd -> 4 * n_embd, ReLU, linear 4 * n_embd -> n_embd, dropout"
    compare(obs["out"], want, "FeedForward(16, 0.0)(x)", hint, rtol=RTOL, atol=ATOL)
    compare(obs["eval"], want, "FeedForward(16, 0.5)(x) in eval mode",
            "dropout must be off in eval mode: use nn.Dropout", rtol=RTOL, atol=ATOL)
    train = as_tensor(obs["train"], "FeedForward(16, 0.5)(x) in training mode")
    expect(train.shape == want.shape and not tensors_close(train, want, RTOL, ATOL),
           "FeedForward(16, 0.5) in training mode gives the output without dropout: end "
           "self.net with nn.Dropout(dropout)")


# --- Exercise 9: Block --------------------------------------------------------------------------

@kernel
def block_case(seed):
    g = gen(seed)
    C, nh, block_size = 16, 4, 8
    w_sa, w_ff = (torch.randn(C, C, generator=g) * 0.4 for _ in range(2))
    norms = [(1 + 0.3 * torch.randn(C, generator=g), 0.3 * torch.randn(C, generator=g))
             for _ in range(2)]
    x = torch.randn(2, block_size, C, generator=g) * 2 + 0.5  # (B, T, C)
    return C, nh, block_size, w_sa, w_ff, norms, x, 2 + seed % 4


@probe("block")
def probe_block(ns, seed):
    Block = need(ns, "Block")
    C, nh, block_size, w_sa, w_ff, norms, x, t0 = block_case(seed)
    block = call(f"Block({C}, {nh}, {block_size}, 0.0)", Block, C, nh, block_size, 0.0)
    for name in ("sa", "ffwd", "ln1", "ln2"):
        if not isinstance(getattr(block, name, None), nn.Module):
            raise StudentError(f"Block must keep the module self.{name}")
    obs = {"real": call("block(x)", block, x).detach(),
           "real_pert": call("block(x)", block, future_changed(x, t0, seed)).detach()}
    block.sa, block.ffwd = fixed_layer(w_sa, True), fixed_layer(w_ff, False)
    for name, (w, b) in zip(("ln1", "ln2"), norms):
        set_param(block, f"{name}.weight", w, "Block")
        set_param(block, f"{name}.bias", b, "Block")
    obs["out"] = call("block(x) with sa and ffwd replaced by fixed layers", block, x).detach()
    return obs


@judge("block")
def judge_block(obs, seed):
    C, nh, block_size, w_sa, w_ff, norms, x, t0 = block_case(seed)
    sa, ffwd = fixed_layer(w_sa, True), fixed_layer(w_ff, False)
    (w1, b1), (w2, b2) = norms

    def ln1(z):
        return F.layer_norm(z, (C,), w1, b1, 1e-5)

    def ln2(z):
        return F.layer_norm(z, (C,), w2, b2, 1e-5)

    x1 = x + sa(ln1(x))
    want = x1 + ffwd(ln2(x1))
    got = as_tensor(obs["out"], "Block(16, 4, 8, 0.0)(x)")
    x1_post = ln1(x + sa(x))
    expect(not close_to(got, ln2(x1_post + ffwd(x1_post))),
           "Block normalises after the residual sum (post-norm): normalise the input of each "
           "sub-layer instead, x = x + sa(ln1(x)), then x = x + ffwd(ln2(x))")
    compare(got, want, "Block(16, 4, 8, 0.0)(x), with sa and ffwd replaced by fixed layers",
            "Pre-norm residuals: x = x + self.sa(self.ln1(x)), then x = x + "
            "self.ffwd(self.ln2(x)).", rtol=RTOL, atol=ATOL)
    real = as_tensor(obs["real"], "Block(16, 4, 8, 0.0)(x)")
    expect(tuple(real.shape) == tuple(x.shape), f"Block(16, 4, 8, 0.0)(x) must keep the shape "
           f"(B, T, n_embd) = {tuple(x.shape)}, got {tuple(real.shape)}")
    expect_causal(obs["real"], obs["real_pert"], t0, "Block")


# --- Exercise 10: GPTLanguageModel.forward ------------------------------------------------------

@kernel
def gpt_case(seed):
    g = gen(seed)
    V, C, nh, nl, block_size = 11, 16, 4, 2, 8
    params = {
        "token_embedding_table.weight": torch.randn(V, C, generator=g),
        "position_embedding_table.weight": torch.randn(block_size, C, generator=g),
        "ln_f.weight": 1 + 0.3 * torch.randn(C, generator=g),
        "ln_f.bias": 0.3 * torch.randn(C, generator=g),
        "lm_head.weight": torch.randn(V, C, generator=g) * 0.5,
        "lm_head.bias": torch.randn(V, generator=g) * 0.1,
    }
    layers = [torch.randn(C, C, generator=g) * 0.4 for _ in range(nl)]
    idx = torch.randint(V, (3, 6), generator=g)  # (B, T), T < block_size
    targets = torch.randint(V, (3, 6), generator=g)
    idx_full = torch.randint(V, (2, block_size), generator=g)
    t0 = 2 + seed % 4
    idx_pert = idx_full.clone()
    idx_pert[:, t0 + 1:] = (idx_pert[:, t0 + 1:] + 1 + torch.randint(V - 1, (1,), generator=g)) % V
    return V, C, nh, nl, block_size, params, layers, idx, targets, idx_full, idx_pert, t0


@probe("gpt")
def probe_gpt(ns, seed):
    GPT = need(ns, "GPTLanguageModel")
    V, C, nh, nl, block_size, params, layers, idx, targets, idx_full, idx_pert, t0 = gpt_case(seed)
    model = call(f"GPTLanguageModel({V}, {C}, {nh}, {nl}, {block_size}, 0.0)", GPT, V, C, nh, nl,
                 block_size, 0.0)
    module_types = [type(m).__name__ for m in model.modules()][:1000]
    model.eval()
    real = pair(call("model(idx)", model, idx_full), "forward")[0]
    real_pert = pair(call("model(idx)", model, idx_pert), "forward")[0]
    if not isinstance(getattr(model, "blocks", None), nn.Module):
        raise StudentError("GPTLanguageModel must keep its blocks in self.blocks")
    model.blocks = nn.Sequential(*[fixed_layer(w, True) for w in layers])
    for path, value in params.items():
        set_param(model, path, value, "GPTLanguageModel")
    logits, loss = pair(call("model(idx, targets)", model, idx, targets), "forward")
    logits_alone, loss_alone = pair(call("model(idx)", model, idx), "forward")
    return {"module_types": module_types, "real": real, "real_pert": real_pert,
            "logits": logits, "loss": loss, "logits_alone": logits_alone,
            "loss_alone": plain_tensor(loss_alone)}


@judge("gpt")
def judge_gpt(obs, seed):
    V, C, nh, nl, block_size, p, layers, idx, targets, idx_full, idx_pert, t0 = gpt_case(seed)
    types = obs["module_types"]
    expect(isinstance(types, list), "malformed observation")
    n_blocks = sum(name == "Block" for name in types)
    expect(n_blocks == nl, f"GPTLanguageModel(..., n_layer={nl}, ...) holds {n_blocks} Block "
           f"modules, expected {nl} in self.blocks")
    T = idx.shape[1]
    tok = p["token_embedding_table.weight"][idx]
    pos = p["position_embedding_table.weight"][:T]
    x = tok + pos
    for w in layers:
        x = fixed_layer(w, True)(x)
    x = F.layer_norm(x, (C,), p["ln_f.weight"], p["ln_f.bias"], 1e-5)
    want = x @ p["lm_head.weight"].T + p["lm_head.bias"]  # (B, T, V)
    _judge_logits_and_loss(obs, want, targets, V, "model",
                           "x = token embeddings + position embeddings of 0..T-1, the blocks, "
                           "ln_f, then lm_head")
    real = as_tensor(obs["real"], "the logits of model(idx)")
    expect(tuple(real.shape) == (2, block_size, V), f"model(idx) for idx of shape (2, "
           f"{block_size}) must give logits of shape (2, {block_size}, {V}), got "
           f"{tuple(real.shape)}")
    expect_causal(obs["real"], obs["real_pert"], t0, "GPTLanguageModel")


# --- Exercise 11: generate ------------------------------------------------------------------------

@kernel
def generate_case(seed):
    """A vocabulary, block_size, the stand-in model's logit tables, a start (B, T0), steps."""
    g = gen(seed)
    V = 11
    last = torch.randn(V, V, generator=g) * 1.5  # next-token logits of each token
    first = torch.randn(V, V, generator=g)  # added: those of the context's first token
    start = torch.randint(V, (2, 5), generator=g)  # (B, T0)
    return V, 8, last, first, start, 14


@kernel
def stand_in_logits(idx, last, first):
    """Logits (B, T, V) at each position: of its token and of the context's first token."""
    return last[idx] + first[idx[:, :1]]


@kernel
def recording_forward(seen, next_logits):
    """A forward that records each context and returns logits from ``next_logits(idx)``."""
    def forward(idx, targets=None):
        seen.append(idx.detach().clone())
        return next_logits(idx), None
    return forward


@probe("generate")
def probe_generate(ns, seed):
    GPT = need(ns, "GPTLanguageModel")
    V, block_size, last, first, start, steps = generate_case(seed)
    model = call(f"GPTLanguageModel({V}, 16, 4, 1, {block_size}, 0.0)", GPT, V, 16, 4, 1,
                 block_size, 0.0)
    seen = []
    model.forward = recording_forward(seen, lambda idx: stand_in_logits(idx, last, first))
    torch.manual_seed(seed)
    out = call(f"model.generate(idx, {steps})", model.generate, start.clone(), steps)
    return {"out": out, "contexts": seen[:steps + 1]}


def reference_generate(seed, dtype):
    """What generate gives with the stand-in model, the global generator seeded with ``seed``."""
    V, block_size, last, first, start, steps = generate_case(seed)
    idx = start
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(steps):
            logits = stand_in_logits(idx[:, -block_size:], last, first)[:, -1, :].to(dtype)
            idx = torch.cat([idx, torch.multinomial(F.softmax(logits, dim=-1), 1)], dim=1)
    return idx


@judge("generate")
def judge_generate(obs, seed):
    V, block_size, last, first, start, steps = generate_case(seed)
    B, T0 = start.shape
    out = as_tensor(obs["out"], f"model.generate(idx, {steps})")
    expect(tuple(out.shape) == (B, T0 + steps) and not out.is_floating_point(),
           f"generate(idx of shape {(B, T0)}, {steps}) must return integers of shape "
           f"{(B, T0 + steps)}, got {out.dtype} of shape {tuple(out.shape)}")
    out = out.long()
    expect(torch.equal(out[:, :T0], start), "generate must keep the given context at the start")
    contexts = obs["contexts"]
    expect(isinstance(contexts, list), "malformed observation")
    expect(len(contexts) == steps, f"generate(idx, {steps}) called the model "
           f"{'more' if len(contexts) > steps else 'fewer'} times than {steps}: once per new token")
    for k, context in enumerate(contexts):
        context = as_tensor(context, "the context given to the model")
        length = T0 + k
        expect(context.dim() == 2 and context.shape[1] <= block_size,
               f"generate gave the model a context of {context.shape[-1]} tokens, more than "
               f"block_size = {block_size}: crop it to idx[:, -self.block_size:] (the position "
               f"table has block_size rows)")
        expect(torch.equal(context.long(), out[:, max(0, length - block_size):length]),
               "the context given to the model must be the last block_size tokens generated "
               "so far, idx[:, -self.block_size:]")
    if any(torch.equal(out, reference_generate(seed, dtype)) for dtype in (torch.float32, torch.float64)):
        return
    argmax = all(torch.equal(out[:, T0 + k], stand_in_logits(
        out[:, max(0, T0 + k - block_size):T0 + k], last, first)[:, -1].argmax(-1))
        for k in range(steps))
    expect(not argmax, "generate always chose the most likely token: draw the next token with "
           "torch.multinomial(probs, num_samples=1), not argmax")
    raise Fail("the tokens generate drew are not those of its model's distribution: at each "
               "step, probs = softmax(logits[:, -1, :], dim=-1) (the LAST position), then "
               "torch.multinomial(probs, num_samples=1), appended; nothing else drawn from "
               "the random generator")


# --- Exercise 12: estimate_loss -----------------------------------------------------------------

@kernel
def estimate_case(seed):
    """Two splits of distinct values (a batch tells its split), eval_iters, block and batch size."""
    g = gen(seed)
    splits = {"train": torch.randperm(60, generator=g) + 100,
              "val": torch.randperm(60, generator=g) + 300}
    return splits, random.Random(seed).choice((4, 6, 8)), 8, 3


@kernel
def stand_in_loss(idx, targets):
    """The stand-in model's loss of a batch, in eval mode without gradients (float32)."""
    return (idx.float().mean() + 0.5 * targets.float().mean()) / 100


@kernel
def loss_recorder(seen):
    """A stand-in model that records each batch; its loss is ``stand_in_loss``, plus 7 when its
    dropout is on (training mode) and 13 when gradients are on, so the losses show the modes."""
    class Recorder(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(()))
            self.drop = nn.Dropout(0.5)

        def forward(self, idx, targets=None):
            seen.append([idx.detach().clone(), targets.detach().clone()])
            loss = self.w * stand_in_loss(idx, targets)
            if self.drop.training:
                loss = loss + 7
            if torch.is_grad_enabled():
                loss = loss + 13
            return torch.zeros(*idx.shape, 3), loss
    return Recorder()


@probe("estimate_loss")
def probe_estimate_loss(ns, seed):
    estimate_loss = need(ns, "estimate_loss")
    splits, eval_iters, block_size, batch_size = estimate_case(seed)
    seen = []
    model = loss_recorder(seen)
    model.train()
    torch.manual_seed(seed)
    out = call(f"estimate_loss(model, splits, {block_size}, {batch_size}, {eval_iters})",
               estimate_loss, model, {k: v.clone() for k, v in splits.items()}, block_size,
               batch_size, eval_iters)
    if not isinstance(out, dict):
        raise StudentError(f"estimate_loss must return a dict, got {type(out).__name__}")
    batches = seen[:4 * eval_iters]
    probe_batch = splits["train"][:block_size].repeat(batch_size, 1)  # (B, T)
    with torch.no_grad():  # the mode estimate_loss left the model in shows in this loss
        after = model(probe_batch, probe_batch + 1)[1]
    return {"losses": {str(k): v for k, v in out.items()}, "batches": batches,
            "loss_after": plain_tensor(after)}


@judge("estimate_loss")
def judge_estimate_loss(obs, seed):
    splits, eval_iters, block_size, batch_size = estimate_case(seed)
    batches = obs["batches"]
    expect(isinstance(batches, list) and all(isinstance(b, list) and len(b) == 2 for b in batches),
           "malformed observation")
    expect(len(batches) == 2 * eval_iters, f"estimate_loss with eval_iters={eval_iters} and 2 "
           f"splits called the model {'more' if len(batches) > 2 * eval_iters else 'fewer'} "
           f"times than {2 * eval_iters}")
    by_split = {name: [] for name in splits}
    for x, y in batches:
        x, y = as_tensor(x, "a batch"), as_tensor(y, "a batch")
        name = next((n for n, data in splits.items() if x.numel() and bool((x.long().flatten()[0] == data).any())), None)
        expect(name is not None, "estimate_loss gave the model a batch of no split: use "
               "get_batch(data, block_size, batch_size) on each split's data")
        _check_batch(x, y, splits[name], block_size, batch_size,
                     f"the batches estimate_loss gave the model (split {name!r})")
        by_split[name].append(stand_in_loss(x.long(), y.long()).item())
    losses = obs["losses"]
    expect(isinstance(losses, dict) and set(losses) == set(splits), f"estimate_loss must "
           f"return one loss per split {sorted(splits)}, got keys {sorted(map(str, losses))[:5]}")
    for name, values in by_split.items():
        expect(len(values) == eval_iters, f"estimate_loss drew {len(values)} batches of the "
               f"{name!r} split, expected eval_iters = {eval_iters}")
        want = sum(values) / len(values)
        got = number(losses[name], f"the estimated {name!r} loss")

        def near(shift):
            return math.isclose(got, want + shift, rel_tol=1e-5, abs_tol=1e-6)

        expect(not (near(7) or near(20)), "the model was in training mode while estimating the "
               "loss: call model.eval() first (dropout off)")
        expect(not near(13), "the loss was estimated with gradients on: run the forward passes "
               "under torch.no_grad()")
        expect(near(0), f"the {name!r} loss is not the mean of the {eval_iters} batches' losses "
               f"of the {name!r} split")
    after = number(obs["loss_after"], "the model's loss after estimate_loss")
    probe_batch = splits["train"][:block_size].repeat(batch_size, 1)
    expect(math.isclose(after, stand_in_loss(probe_batch, probe_batch + 1).item() + 7,
                        rel_tol=1e-5, abs_tol=1e-6),
           "estimate_loss must put the model back in training mode (model.train()) before "
           "returning")


# --- Exercise 13: train_step --------------------------------------------------------------------

@kernel
def step_case(seed):
    g = gen(seed)
    V = 7
    table = torch.randn(V, V, generator=g)
    batches = [(torch.randint(V, (4, 5), generator=g), torch.randint(V, (4, 5), generator=g))
               for _ in range(3)]
    return V, table, batches, 0.05


@kernel
def tiny_lm(table):
    """A bigram model with the course's (logits, loss) interface, starting from ``table``."""
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Parameter(table.clone())

        def forward(self, idx, targets=None):
            logits = self.table[idx]  # (B, T, V)
            loss = None if targets is None else F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
            return logits, loss
    return Tiny()


@probe("train_step")
def probe_train_step(ns, seed):
    train_step = need(ns, "train_step")
    V, table, batches, lr = step_case(seed)
    model = tiny_lm(table)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    losses = [call("train_step(model, optimizer, xb, yb)", train_step, model, optimizer, xb, yb)
              for xb, yb in batches]
    return {"losses": [float(x) if isinstance(x, (int, float)) else x for x in losses],
            "table": model.table.detach().clone()}


@judge("train_step")
def judge_train_step(obs, seed):
    V, table, batches, lr = step_case(seed)
    model = tiny_lm(table)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    want = []
    for xb, yb in batches:
        optimizer.zero_grad()
        loss = model(xb, yb)[1]
        loss.backward()
        optimizer.step()
        want.append(loss.item())
    expect(len(obs["losses"]) == len(want), "malformed observation")
    for k, (got, ref) in enumerate(zip(obs["losses"], want), start=1):
        got = number(got, f"the loss returned by train_step (step {k})")
        expect(math.isclose(got, ref, rel_tol=1e-5, abs_tol=1e-6),
               f"step {k}: train_step returned {got:.5f}, which is not the batch's loss before "
               f"the step")
    compare(obs["table"], model.table.detach(), "the weights after 3 calls of train_step",
            "Each step: optimizer.zero_grad() (backward adds to .grad), forward, "
            "loss.backward(), optimizer.step().", rtol=1e-5, atol=1e-6)


# --- Exercise 14: the disc data set ---------------------------------------------------------------

@probe("disc_set")
def probe_disc_set(ns, seed):
    generate_disc_set = need(ns, "generate_disc_set")
    torch.manual_seed(seed)
    inputs, targets = pair(call("generate_disc_set(2000)", generate_disc_set, 2000),
                           "generate_disc_set")
    return {"inputs": inputs, "targets": targets}


@judge("disc_set")
def judge_disc_set(obs, seed):
    x = as_tensor(obs["inputs"], "the points of generate_disc_set(2000)").double()
    y = as_tensor(obs["targets"], "the labels of generate_disc_set(2000)")
    expect(tuple(x.shape) == (2000, 2) and tuple(y.shape) == (2000,),
           f"generate_disc_set(2000) must return shapes (2000, 2) and (2000,), got "
           f"{tuple(x.shape)} and {tuple(y.shape)}")
    expect(y.dtype == torch.int64, f"the labels are class indices: a long tensor, got {y.dtype}")
    expect(bool(torch.isfinite(x).all()) and x.min() >= -1 and x.max() <= 1,
           "the points must lie in [-1, 1]^2")
    quadrants = torch.stack([((x[:, 0] > 0) == a) & ((x[:, 1] > 0) == b)
                             for a in (False, True) for b in (False, True)]).double().mean(1)
    expect(bool((quadrants > 0.2).all()) and x.min() < -0.95 and x.max() > 0.95,
           "the points must be uniform in all of [-1, 1]^2: torch.rand gives [0, 1), rescale it "
           "by 2 * u - 1")
    radius2 = x.pow(2).sum(1)
    settled = (radius2 - 2 / math.pi).abs() > 1e-6
    expect(torch.equal(y[settled], (radius2[settled] < 2 / math.pi).long()),
           "label 1 inside the disc of radius sqrt(2 / pi) (||x||^2 < 2 / pi), 0 outside")


# --- Exercise 15: init_normal_ --------------------------------------------------------------------

@kernel
def init_case(seed):
    """A model with parameters far from N(0, std^2), the std asked for, an input and weights."""
    model = nn.Sequential(nn.Linear(30, 200), nn.ReLU(), nn.Linear(200, 100))
    g = gen(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand(p.shape, generator=g) - 0.5)
    x, r = torch.randn(8, 30, generator=g), torch.randn(8, 100, generator=g)
    return model, random.Random(seed).choice((0.01, 0.3, 2.0, 7.0)), x, r


@probe("init_normal")
def probe_init_normal(ns, seed):
    init_normal_ = need(ns, "init_normal_")
    model, std, x, r = init_case(seed)
    torch.manual_seed(seed + 1)
    call(f"init_normal_(model, {std})", init_normal_, model, std)
    params = [p.detach().clone() for p in model.parameters()]
    out = model(x)
    if out.requires_grad:  # else every gradient stays None: the judge says so
        call("backward() through the model", (out * r).sum().backward)
    return {"params": params, "grads": [plain_tensor(p.grad) for p in model.parameters()]}


@judge("init_normal")
def judge_init_normal(obs, seed):
    model, std, x, r = init_case(seed)
    named = list(model.named_parameters())
    params, grads = obs["params"], obs["grads"]
    expect(isinstance(params, list) and isinstance(grads, list)
           and len(params) == len(grads) == len(named), "malformed observation")
    for (name, before), got in zip(named, params):
        got = as_tensor(got, name)
        expect(tuple(got.shape) == tuple(before.shape) and bool(torch.isfinite(got).all()),
               "malformed observation")
        expect(not torch.equal(got.float(), before.detach()), f"init_normal_(model, {std}) left "
               f"{name} unchanged: draw every parameter, weights and biases")
        values = got.double().flatten()
        n, s, m = values.numel(), values.std().item(), values.mean().item()
        expect(abs(s / std - 1) < 4 / math.sqrt(2 * n), f"after init_normal_(model, {std}), "
               f"{name} has standard deviation {s:.4g}: draw from N(0, std^2) (std is the "
               f"standard deviation, not the variance, nor a uniform bound)")
        expect(abs(m) < 4 * std / math.sqrt(n), f"after init_normal_(model, {std}), {name} has "
               f"mean {m:.4g}: draw from N(0, std^2), centred on 0")
        if n >= 1000:
            kurtosis = ((values - m) ** 4).mean().item() / s ** 4
            expect(abs(kurtosis - 3) < 0.5, f"after init_normal_(model, {std}), {name} has the "
                   f"right spread but is not normal: draw from N(0, std^2) (normal_, randn)")
    with torch.no_grad():
        for (_, p), got in zip(named, params):
            p.copy_(got)
    (model(x) * r).sum().backward()
    for (name, p), got in zip(named, grads):
        expect(got is not None, f"{name} must stay trainable (requires_grad): change it in "
               f"place under torch.no_grad()")
        compare(got, p.grad, f"the gradient of {name} after init_normal_",
                "Change the parameters in place (p.normal_(0, std) under torch.no_grad()), "
                "keep them the model's.", rtol=1e-4, atol=1e-6)


# --- Exercise 16: ResNetBlock ---------------------------------------------------------------------

@kernel
def resblock_case(seed):
    g = gen(seed)
    C, k = 3, 3
    convs = [(torch.randn(C, C, k, k, generator=g) * 0.4, torch.randn(C, generator=g) * 0.2)
             for _ in range(2)]
    norms = [(1 + 0.3 * torch.randn(C, generator=g), 0.3 * torch.randn(C, generator=g))
             for _ in range(2)]
    return C, k, convs, norms, torch.randn(4, C, 6, 6, generator=g)


@probe("resblock")
def probe_resblock(ns, seed):
    ResNetBlock = need(ns, "ResNetBlock")
    C, k, convs, norms, x = resblock_case(seed)
    out = {}
    for skip in (False, True):
        for bn in (False, True):
            what = f"ResNetBlock({C}, {k}, skip_connections={skip}, batch_normalization={bn})"
            block = call(what, ResNetBlock, C, k, skip, bn)
            biases = []
            for name, (w, b) in zip(("conv1", "conv2"), convs):
                set_param(block, f"{name}.weight", w, what)
                if getattr(getattr(block, name), "bias", None) is not None:
                    set_param(block, f"{name}.bias", b, what)
                biases.append(plain_tensor(getattr(getattr(block, name), "bias", None)))
            if bn:
                for name, (w, b) in zip(("bn1", "bn2"), norms):
                    set_param(block, f"{name}.weight", w, what)
                    set_param(block, f"{name}.bias", b, what)
            block.train()
            out[f"{skip},{bn}"] = {"y": call(f"{what}(x)", block, x).detach(), "biases": biases}
    return out


@judge("resblock")
def judge_resblock(obs, seed):
    C, k, convs, norms, x = resblock_case(seed)
    for skip in (False, True):
        for bn in (False, True):
            seen = obs[f"{skip},{bn}"]
            expect(isinstance(seen["biases"], list) and len(seen["biases"]) == 2,
                   "malformed observation")
            y = x
            for (w, b), (g, beta), bias in zip(convs, norms, seen["biases"]):
                expect(bias is None or (isinstance(bias, torch.Tensor) and bias.shape == b.shape
                                        and torch.equal(bias.float(), b)), "malformed observation")
                first = y is x
                y = F.conv2d(y, w, None if bias is None else b, padding=(k - 1) // 2)
                if bn:
                    y = F.batch_norm(y, None, None, g, beta, training=True, eps=1e-5)
                if first:
                    y = F.relu(y)
            want = F.relu(y + x if skip else y)
            compare(seen["y"], want, f"ResNetBlock(3, 3, skip_connections={skip}, "
                    f"batch_normalization={bn})(x)",
                    "conv1, [bn1], ReLU, conv2, [bn2], [+ x], ReLU, with padding (k - 1) // 2 "
                    "(the skip connection is added before the last ReLU)",
                    rtol=RTOL, atol=ATOL)
