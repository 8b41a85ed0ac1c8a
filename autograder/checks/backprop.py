"""Probes and judges of session 3 (backprop ninja, MLP in torch.nn, batchnorm, MLP for MNIST).

PyTorch is the oracle: autograd in float64 for every gradient, ``nn.BatchNorm1d`` for the
batchnorm layer, ``F.cross_entropy`` for the loss. The probes give the student's functions
float32 inputs (the notebook's dtype) made from the exercise's seed, of sizes other than the
notebook's batch, so that an answer right for one sample but wrong for a batch loses its
points; results may come back in float32 or float64. Modules the student builds get their
parameters set from the seed before they are observed. Tensors are compared norm-wise:
max |got - want| <= ATOL + RTOL * max |want|.
"""

from __future__ import annotations

import math
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.checks import as_tensor, close, compare, expect, judge, kernel, number, probe
from autograder.probe_runtime import StudentError, call, need

SESSION = "03_backprop"
RTOL, ATOL = 1e-4, 1e-7  # float32 student arithmetic against a float64 reference
MALFORMED = "malformed observation"


def _compare(got, want, what, hint="", rtol=RTOL, atol=ATOL):
    compare(got, want, what, hint, rtol=rtol, atol=atol)


def _cases(obs, key, n):
    """The list ``obs[key]`` of ``n`` observed cases, or Fail."""
    cases = obs[key]
    expect(isinstance(cases, list) and len(cases) == n, MALFORMED)
    return cases


@kernel
def param_shapes(model):
    """The shape of each of the model's parameters, as registered (the judge counts them)."""
    return [list(t.shape) for t in model.parameters()]


def parameter_count(obs) -> int:
    """How many numbers the model's parameters hold, from the shapes the probe saw."""
    shapes = obs.get("param_shapes")
    expect(isinstance(shapes, list) and all(
        isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)
        for shape in shapes), MALFORMED)
    return sum(math.prod(shape) for shape in shapes)


@kernel
def snapshot(t):
    """A copy of a tensor the student's code may change in place later (other values as they are)."""
    return t.detach().clone() if isinstance(t, torch.Tensor) else t


# --- Part 1: backprop ninja ------------------------------------------------------------------

@kernel
def network_names():
    """(parameters, intermediates, backward order) of the makemore MLP with batchnorm."""
    params = ("C", "W1", "b1", "bngain", "bnbias", "W2", "b2")
    acts = ("emb", "embcat", "hprebn", "bnmeani", "bndiff", "bndiff2", "bnvar", "bnvar_inv",
            "bnraw", "hpreact", "h", "logits", "logit_maxes", "norm_logits", "counts",
            "counts_sum", "counts_sum_inv", "probs", "logprobs")
    # the order in which backpropagation meets them: the first wrong one is the one to fix
    order = ("logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits",
             "logit_maxes", "logits", "h", "W2", "b2", "hpreact", "bngain", "bnbias", "bnraw",
             "bnvar_inv", "bnvar", "bndiff2", "bndiff", "bnmeani", "hprebn", "embcat", "W1",
             "b1", "emb", "C")
    return params, acts, order


@kernel
def ninja_params(seed, sizes=(27, 10, 3, 64)):
    """float32 parameters (vocabulary, embedding, context, hidden), small random values
    everywhere: zeros would hide mistakes."""
    vocab, n_embd, block, hidden = sizes
    g = torch.Generator().manual_seed(seed)
    fan_in = n_embd * block
    return {
        "C": torch.randn(vocab, n_embd, generator=g),  # (27, 10)
        "W1": torch.randn(fan_in, hidden, generator=g) * (5 / 3) / math.sqrt(fan_in),  # (30, 64)
        "b1": torch.randn(hidden, generator=g) * 0.1,  # (64,)
        "bngain": torch.randn(1, hidden, generator=g) * 0.1 + 1.0,  # (1, 64)
        "bnbias": torch.randn(1, hidden, generator=g) * 0.1,  # (1, 64)
        "W2": torch.randn(hidden, vocab, generator=g) * 0.1,  # (64, 27)
        "b2": torch.randn(vocab, generator=g) * 0.1,  # (27,)
    }


@kernel
def ninja_batch(seed, n, sizes=(27, 10, 3, 64)):
    vocab, _, block, _ = sizes
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, vocab, (n, block), generator=g),  # (B, 3)
            torch.randint(0, vocab, (n,), generator=g))  # (B,)


@kernel
def ninja_forward(p, Xb, Yb):
    """The notebook's forward pass, one small step per line, every intermediate returned."""
    n = Xb.shape[0]
    emb = p["C"][Xb]  # (B, block, n_embd)
    embcat = emb.view(n, -1)  # (B, block * n_embd)
    hprebn = embcat @ p["W1"] + p["b1"]  # (B, hidden)
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)  # (1, hidden)
    bndiff = hprebn - bnmeani  # (B, hidden)
    bndiff2 = bndiff ** 2  # (B, hidden)
    bnvar = 1 / (n - 1) * bndiff2.sum(0, keepdim=True)  # (1, hidden), Bessel's correction
    bnvar_inv = (bnvar + 1e-5) ** -0.5  # (1, hidden)
    bnraw = bndiff * bnvar_inv  # (B, hidden)
    hpreact = p["bngain"] * bnraw + p["bnbias"]  # (B, hidden)
    h = torch.tanh(hpreact)  # (B, hidden)
    logits = h @ p["W2"] + p["b2"]  # (B, vocab)
    logit_maxes = logits.max(1, keepdim=True).values  # (B, 1)
    norm_logits = logits - logit_maxes  # (B, vocab)
    counts = norm_logits.exp()  # (B, vocab)
    counts_sum = counts.sum(1, keepdim=True)  # (B, 1)
    counts_sum_inv = counts_sum ** -1  # (B, 1)
    probs = counts * counts_sum_inv  # (B, vocab)
    logprobs = probs.log()  # (B, vocab)
    loss = -logprobs[torch.arange(n, device=Xb.device), Yb].mean()  # ()
    return dict(emb=emb, embcat=embcat, hprebn=hprebn, bnmeani=bnmeani, bndiff=bndiff,
                bndiff2=bndiff2, bnvar=bnvar, bnvar_inv=bnvar_inv, bnraw=bnraw, hpreact=hpreact,
                h=h, logits=logits, logit_maxes=logit_maxes, norm_logits=norm_logits,
                counts=counts, counts_sum=counts_sum, counts_sum_inv=counts_sum_inv, probs=probs,
                logprobs=logprobs, loss=loss)


@kernel
def ninja_cases(seed):
    """(parameter seed, batch seed, batch size): the notebook's batch size and a smaller one."""
    rng = random.Random(seed)
    return [(seed, seed + 100, 32), (seed + 1, seed + 101, rng.randint(6, 16))]


def reference_grads(p: dict, Xb, Yb) -> dict:
    """float64 autograd gradients of the loss w.r.t. every intermediate and parameter."""
    p64 = {k: v.detach().double().requires_grad_(True) for k, v in p.items()}
    acts = ninja_forward(p64, Xb, Yb)
    _, act_names, _ = network_names()
    for name in act_names:
        acts[name].retain_grad()
    acts["loss"].backward()
    grads = {name: acts[name].grad for name in act_names}
    grads.update({k: v.grad for k, v in p64.items()})
    return grads


NINJA_HINTS = {
    "logprobs": "The loss is the mean over the batch of -logprobs[i, Yb[i]]: each of those n "
                "entries gets -1/n, every other entry 0.",
    "h": "A matrix product: dh = dlogits @ W2.T.",
    "b2": "b2 was added to every row of the batch: sum dlogits over the batch dimension.",
    "hpreact": "tanh'(x) = 1 - tanh(x)**2 is written with the output h, not the pre-activation.",
    "bngain": "bngain (1, hidden) was broadcast over the batch: sum over dimension 0, keepdim.",
    "bnvar": "bnvar_inv = (bnvar + eps) ** -0.5: its derivative is -0.5 * (bnvar + eps) ** -1.5.",
    "bndiff2": "The forward pass used Bessel's correction: bnvar = 1/(n-1) * bndiff2.sum(0).",
    "bndiff": "bndiff is used twice (bnraw and bndiff2): add both contributions.",
    "b1": "b1 was added to every row of the batch: sum over the batch dimension.",
    "C": "A row of C used several times in the batch receives the sum of all its gradients "
         "(dC[Xb] += demb does not accumulate repeated indices: loop, or use index_add_).",
}


@probe("manual_backprop")
def probe_manual_backprop(ns, seed):
    backward_by_hand = need(ns, "backward_by_hand")
    _, _, order = network_names()
    out = []
    for p_seed, batch_seed, n in ninja_cases(seed):
        p = ninja_params(p_seed)
        Xb, Yb = ninja_batch(batch_seed, n)
        with torch.no_grad():
            acts = ninja_forward(p, Xb, Yb)
        got = call("backward_by_hand(p, a, Xb, Yb)", backward_by_hand, dict(p), dict(acts),
                   Xb, Yb)
        if not isinstance(got, dict):
            raise StudentError(f"must return a dict of gradients, got {type(got).__name__}",
                               "backward_by_hand")
        out.append({name: snapshot(got.get(name)) for name in order})
    return {"cases": out}


@judge("manual_backprop")
def judge_manual_backprop(obs, seed):
    cases = ninja_cases(seed)
    _, _, order = network_names()
    for (p_seed, batch_seed, n), got in zip(cases, _cases(obs, "cases", len(cases))):
        expect(isinstance(got, dict), MALFORMED)
        missing = [name for name in order if got.get(name) is None]
        expect(not missing, f"backward_by_hand did not return the gradients of {missing}")
        p = ninja_params(p_seed)
        Xb, Yb = ninja_batch(batch_seed, n)
        want = reference_grads(p, Xb, Yb)
        for name in order:
            shape = tuple(want[name].shape)
            hint = (f"Compared with PyTorch autograd on a batch of {n}; every gradient before "
                    f"it in the backward order is right. {NINJA_HINTS.get(name, '')}").strip()
            _compare(got[name], want[name], f"d{name} (the gradient of {name}, shape {shape})",
                     hint)


# --- Exercise 2: the cross-entropy backward --------------------------------------------------

@kernel
def ce_cases(seed):
    """(logits, Yb) of several batch sizes, vocabularies and logit scales."""
    g = torch.Generator().manual_seed(seed)
    cases = []
    for n, vocab, scale in ((32, 27, 1.0), (7, 27, 4.0), (5, 11, 2.0)):
        logits = torch.randn(n, vocab, generator=g) * scale  # (n, vocab)
        cases.append((logits, torch.randint(0, vocab, (n,), generator=g)))
    return cases


@probe("ce_backward")
def probe_ce_backward(ns, seed):
    cross_entropy_backward = need(ns, "cross_entropy_backward")
    return {"dlogits": [snapshot(call("cross_entropy_backward(logits, Yb)",
                                      cross_entropy_backward, logits.clone(), Yb.clone()))
                        for logits, Yb in ce_cases(seed)]}


@judge("ce_backward")
def judge_ce_backward(obs, seed):
    cases = ce_cases(seed)
    for (logits, Yb), got in zip(cases, _cases(obs, "dlogits", len(cases))):
        ref = logits.double().requires_grad_(True)
        F.cross_entropy(ref, Yb).backward()
        n, vocab = logits.shape
        _compare(got, ref.grad, f"dlogits for a batch of {n} and {vocab} classes",
                 "The gradient of the mean cross-entropy is (softmax(logits) - one_hot(Yb)) / n, "
                 "the softmax taken along each row (dim=1).")


# --- Exercise 3: the batchnorm backward ------------------------------------------------------

@kernel
def bn_backward_cases(seed):
    """(dhpreact, hprebn, bngain): columns of various spreads, one close to eps."""
    g = torch.Generator().manual_seed(seed)
    cases = []
    for n, hidden, spread in ((32, 64, 3.0), (8, 5, 1.0), (5, 7, 0.05)):
        hprebn = torch.randn(n, hidden, generator=g) * spread + torch.randn(hidden, generator=g)
        bngain = torch.randn(1, hidden, generator=g) * 0.3 + 1.0  # (1, hidden)
        dhpreact = torch.randn(n, hidden, generator=g) * 0.1  # (n, hidden)
        cases.append((dhpreact, hprebn, bngain))
    return cases


@probe("bn_backward")
def probe_bn_backward(ns, seed):
    batchnorm_backward = need(ns, "batchnorm_backward")
    return {"dhprebn": [snapshot(call("batchnorm_backward(dhpreact, hprebn, bngain)",
                                      batchnorm_backward, *(t.clone() for t in case)))
                        for case in bn_backward_cases(seed)]}


@judge("bn_backward")
def judge_bn_backward(obs, seed):
    cases = bn_backward_cases(seed)
    for (dhpreact, hprebn, bngain), got in zip(cases, _cases(obs, "dhprebn", len(cases))):
        n, hidden = hprebn.shape
        ref = hprebn.double().requires_grad_(True)
        bndiff = ref - ref.mean(0, keepdim=True)
        bnvar = 1 / (n - 1) * (bndiff ** 2).sum(0, keepdim=True)
        (bngain.double() * bndiff * (bnvar + 1e-5) ** -0.5).backward(dhpreact.double())
        _compare(got, ref.grad, f"dhprebn for a batch of {n} and {hidden} features",
                 "The forward pass normalises with the Bessel-corrected variance "
                 "(1/(n-1) * sum of squares): its backward carries a factor n/(n-1) on the "
                 "term in bnraw * (dhpreact * bnraw).sum(0).")


# --- Exercise 4: training with the manual gradients ------------------------------------------

@kernel
def training_batches(seed):
    """The learning rate and three batches of 32 for three manual steps."""
    return 0.1, [ninja_batch(seed + 1 + k, 32) for k in range(3)]


@probe("manual_training")
def probe_manual_training(ns, seed):
    manual_step = need(ns, "manual_step")
    names, _, _ = network_names()
    p = ninja_params(seed)
    lr, batches = training_batches(seed)
    losses, after = [], []
    for Xb, Yb in batches:
        try:
            with torch.no_grad():
                loss = call("manual_step(p, Xb, Yb, lr)", manual_step, p, Xb, Yb, lr)
        except StudentError as exc:
            if exc.kind == "RuntimeError" and "grad" in str(exc):
                raise StudentError("must train with your own gradients only: the parameters do "
                                   "not require grad here, so loss.backward() cannot run",
                                   "manual_step") from None
            raise
        if not isinstance(p, dict) or any(name not in p for name in names):
            raise StudentError("must keep every parameter in the dict p", "manual_step")
        losses.append(snapshot(loss))
        after.append({name: snapshot(p[name]) for name in names})
    return {"losses": losses, "params": after}


@judge("manual_training")
def judge_manual_training(obs, seed):
    names, _, _ = network_names()
    lr, batches = training_batches(seed)
    before = {k: v.double() for k, v in ninja_params(seed).items()}
    losses, states = _cases(obs, "losses", 3), _cases(obs, "params", 3)
    for step, ((Xb, Yb), got_loss, got) in enumerate(zip(batches, losses, states), 1):
        expect(isinstance(got, dict), MALFORMED)
        ref = {k: v.clone().requires_grad_(True) for k, v in before.items()}
        loss = ninja_forward(ref, Xb, Yb)["loss"]
        grads = dict(zip(names, torch.autograd.grad(loss, [ref[k] for k in names])))
        value = number(got_loss, f"the loss manual_step returned at step {step}")
        expect(close(value, loss.item(), 1e-4, 1e-6),
               f"step {step}: manual_step returned the loss {value:.6g}, which is not the loss "
               f"of the batch before the update")
        for name in names:
            now = as_tensor(got.get(name), f"p[{name!r}] after step {step}", torch.float64)
            expect(tuple(now.shape) == tuple(before[name].shape),
                   f"after step {step} p[{name!r}] has shape {tuple(now.shape)}, expected "
                   f"{tuple(before[name].shape)}")
            _compare(now - before[name], -lr * grads[name], f"step {step}: the update of {name}",
                     "Each parameter moves by -lr times its gradient of the batch loss "
                     "(p[name] -= lr * grad, for every parameter).", rtol=1e-2, atol=1e-6)
            before[name] = now


# --- Exercise 5 (*): the MLP in torch.nn -----------------------------------------------------

@kernel
def mlp_sizes():
    """(vocabulary, embedding, context, hidden) of the probed MLP: not the notebook's."""
    return 11, 4, 3, 16


@kernel
def mlp_weights(seed):
    """C, W1, b1, W2, b2 (nn.Linear's (out, in) layout) set into the student's MLP."""
    vocab, n_embd, block, hidden = mlp_sizes()
    g = torch.Generator().manual_seed(seed)
    shapes = ((vocab, n_embd), (hidden, block * n_embd), (hidden,), (vocab, hidden), (vocab,))
    return [torch.randn(shape, generator=g) * 0.5 for shape in shapes]


@kernel
def mlp_batches(seed):
    """A batch for the forward pass and the learning rate and three batches for train_step."""
    vocab, _, block, _ = mlp_sizes()
    g = torch.Generator().manual_seed(seed + 1)
    X = torch.randint(0, vocab, (7, block), generator=g)  # (7, 3)
    steps = [(torch.randint(0, vocab, (16, block), generator=g),  # (16, 3)
              torch.randint(0, vocab, (16,), generator=g)) for _ in range(3)]
    return X, 0.1, steps


@kernel
def mlp_layers(model):
    """The embedding, the hidden and the output linear layers of the student's MLP."""
    vocab, n_embd, block, hidden = mlp_sizes()
    what = f"MLP(vocab_size={vocab}, n_embd={n_embd}, block_size={block}, n_hidden={hidden})"
    if not isinstance(model, nn.Module):
        raise StudentError(f"must be a torch.nn.Module, got {type(model).__name__}", what)
    embs = [m for m in model.modules() if isinstance(m, nn.Embedding)]
    lins = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(embs) != 1 or tuple(embs[0].weight.shape) != (vocab, n_embd):
        raise StudentError(f"needs one nn.Embedding({vocab}, {n_embd}), found "
                           f"{[tuple(e.weight.shape) for e in embs]}", what)
    shapes = [(lin.in_features, lin.out_features) for lin in lins]
    if len(lins) != 2 or (block * n_embd, hidden) not in shapes or (hidden, vocab) not in shapes:
        raise StudentError(f"needs two nn.Linear layers, ({block * n_embd} -> {hidden}) and "
                           f"({hidden} -> {vocab}); found {shapes}", what)
    hid = next(lin for lin in lins if (lin.in_features, lin.out_features) == (block * n_embd,
                                                                                hidden))
    out = next(lin for lin in lins if lin is not hid)
    if hid.bias is None or out.bias is None:
        raise StudentError("both linear layers have a bias (b1 and b2 of session 2)", what)
    return embs[0], hid, out


@probe("mlp_torch")
def probe_mlp_torch(ns, seed):
    MLP, train_step = need(ns, "MLP", "train_step")
    vocab, n_embd, block, hidden = mlp_sizes()
    model = call(f"MLP(vocab_size={vocab}, n_embd={n_embd}, block_size={block}, "
                 f"n_hidden={hidden})", MLP, vocab_size=vocab, n_embd=n_embd, block_size=block,
                 n_hidden=hidden)
    emb, hid, out = mlp_layers(model)
    params = [emb.weight, hid.weight, hid.bias, out.weight, out.bias]
    with torch.no_grad():
        for t, value in zip(params, mlp_weights(seed)):
            t.copy_(value)
    X, lr, batches = mlp_batches(seed)
    logits = snapshot(call("model(X)", model, X))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses, states = [], []
    for Xb, Yb in batches:
        losses.append(snapshot(call("train_step(model, optimizer, Xb, Yb)", train_step, model,
                                    optimizer, Xb, Yb)))
        states.append([snapshot(t) for t in params])
    return {"param_shapes": param_shapes(model), "logits": logits, "losses": losses,
            "params": states}


def reference_mlp(C, W1, b1, W2, b2, X):
    return torch.tanh(C[X].flatten(1) @ W1.T + b1) @ W2.T + b2  # (B, vocab)


@judge("mlp_torch")
def judge_mlp_torch(obs, seed):
    vocab, n_embd, block, hidden = mlp_sizes()
    want = vocab * n_embd + (block * n_embd + 1) * hidden + (hidden + 1) * vocab
    found = parameter_count(obs)
    expect(found == want,
           f"MLP(vocab_size={vocab}, n_embd={n_embd}, block_size={block}, n_hidden={hidden}) "
           f"should have {want} parameters (C, W1, b1, W2, b2), found {found!r}")
    ref = [t.double() for t in mlp_weights(seed)]
    X, lr, batches = mlp_batches(seed)
    _compare(obs["logits"], reference_mlp(*ref, X), f"model(X) for X of shape {tuple(X.shape)}",
             "The forward pass: embed the context, flatten to (B, block_size * n_embd), linear, "
             "tanh, linear; it returns the logits (no softmax).", rtol=1e-5)
    ref = [t.requires_grad_(True) for t in ref]
    losses, states = _cases(obs, "losses", len(batches)), _cases(obs, "params", len(batches))
    for step, ((Xb, Yb), got_loss, got) in enumerate(zip(batches, losses, states), 1):
        loss = F.cross_entropy(reference_mlp(*ref, Xb), Yb)
        grads = torch.autograd.grad(loss, ref)
        value = number(got_loss, f"the loss train_step returned at step {step}")
        expect(close(value, loss.item(), 1e-5, 1e-7),
               f"step {step}: train_step returned the loss {value:.6g}, which is not "
               f"F.cross_entropy of the model's logits on the batch before the update")
        with torch.no_grad():
            ref = [(t - lr * gt).requires_grad_(True) for t, gt in zip(ref, grads)]
        expect(isinstance(got, list) and len(got) == len(ref), MALFORMED)
        for name, t, r in zip(("C", "W1", "b1", "W2", "b2"), got, ref):
            _compare(t, r.detach(), f"after step {step} of SGD (lr={lr}) the parameter {name}",
                     "Each step: optimizer.zero_grad() (gradients accumulate otherwise), "
                     "forward, loss.backward(), optimizer.step().", rtol=1e-5)


# --- Exercise 6: scaled initialisation -------------------------------------------------------

@kernel
def init_cases(seed):
    """(fan_in, fan_out, gain, bias): wide and narrow layers, gains above and below 1."""
    rng = random.Random(seed)
    return [(200, 50, rng.choice((5 / 3, 2.0, 1.5)), True),
            (100, 300, rng.uniform(0.05, 0.2), True), (128, 150, 5 / 3, False)]


@kernel
def init_input(seed, fan_in):
    """A batch (4, fan_in) pushed through the initialised layer: d sum(y) / dW = its column sums."""
    return torch.randn(4, fan_in, generator=torch.Generator().manual_seed(seed + fan_in))


@probe("init")
def probe_init(ns, seed):
    init_linear_ = need(ns, "init_linear_")
    out = []
    with torch.random.fork_rng(devices=[]):  # leave the notebook's random stream as it was
        torch.manual_seed(seed)
        for fan_in, fan_out, gain, bias in init_cases(seed):
            layer = nn.Linear(fan_in, fan_out, bias=bias)
            call(f"init_linear_(nn.Linear({fan_in}, {fan_out}, bias={bias}), gain={gain:.3g})",
                 init_linear_, layer, gain)
            weight, bias = snapshot(layer.weight), snapshot(layer.bias)
            y = layer(init_input(seed, fan_in))  # its gradient shows the weight is trainable
            if y.requires_grad:
                y.sum().backward()
            out.append({"weight": weight, "bias": bias, "weight_grad": snapshot(layer.weight.grad)})
    return {"cases": out}


@judge("init")
def judge_init(obs, seed):
    cases = init_cases(seed)
    for (fan_in, fan_out, gain, bias), got in zip(cases, _cases(obs, "cases", len(cases))):
        expect(isinstance(got, dict), MALFORMED)
        grad = got.get("weight_grad")
        want = init_input(seed, fan_in).double().sum(0).expand(fan_out, fan_in)
        expect(isinstance(grad, torch.Tensor) and tuple(grad.shape) == (fan_out, fan_in)
               and torch.allclose(grad.double(), want, rtol=1e-5, atol=1e-6),
               "the layer's weight must stay a trainable nn.Parameter (fill it in place, under "
               "torch.no_grad())")
        what = f"nn.Linear({fan_in}, {fan_out}) with gain {gain:.3g}"
        w = as_tensor(got["weight"], f"the weight of {what}", torch.float64)
        expect(tuple(w.shape) == (fan_out, fan_in),
               f"the weight must keep its shape {(fan_out, fan_in)}")
        expect(bool(torch.isfinite(w).all()), f"{what}: the weights are not all finite")
        want = gain / math.sqrt(fan_in)
        std, mean = w.std().item(), w.mean().item()
        expect(abs(std - want) <= 0.04 * want,
               f"{what}: the weights have standard deviation {std:.4g}, which is not gain / "
               f"sqrt(fan_in). fan_in is the number of inputs, layer.in_features (the weight "
               f"is (out_features, in_features)).")
        expect(abs(mean) <= 0.05 * want, f"{what}: the weights should have mean 0, got "
                                         f"{mean:.3g}")
        inside = (w.abs() < want).double().mean().item()  # 68.3% for a Gaussian, 57.7% uniform
        expect(abs(inside - 0.6827) <= 0.03,
               f"{what}: {inside:.1%} of the weights lie within one standard deviation of 0: "
               f"they are not drawn from a normal distribution (normal_ or randn)")
        if bias:
            b = as_tensor(got["bias"], f"the bias of {what}", torch.float64)
            expect(tuple(b.shape) == (fan_out,) and b.abs().max().item() <= 1e-12,
                   "the bias must be set to zero")


# --- Exercise 7 (*): BatchNorm1d -------------------------------------------------------------

@kernel
def bn_configs(seed):
    """(dim, eps, momentum) of the probed layers."""
    rng = random.Random(seed)
    return [(5, 1e-5, 0.1), (3, 1e-3, rng.choice((0.2, 0.3, 0.5)))]


@kernel
def bn_data(seed, dim):
    """weight, bias, training batches of 16, 8 and 4, their upstream gradients, eval batches."""
    g = torch.Generator().manual_seed(seed)
    offset, spread = torch.randn(dim, generator=g) * 2, torch.rand(dim, generator=g) * 3 + 0.2
    weight = torch.randn(dim, generator=g) * 0.5 + 1.0  # (dim,)
    bias = torch.randn(dim, generator=g) * 0.5  # (dim,)
    train = [torch.randn(n, dim, generator=g) * spread + offset for n in (16, 8, 4)]
    upstream = [torch.randn(x.shape, generator=g) for x in train]
    evals = [torch.randn(n, dim, generator=g) * spread + offset for n in (6, 1)]
    return weight, bias, train, upstream, evals


@kernel
def bn_state(bn):
    return {name: snapshot(getattr(bn, name, None)) for name in ("running_mean", "running_var")}


@probe("batchnorm")
def probe_batchnorm(ns, seed):
    BatchNorm1d = need(ns, "BatchNorm1d")
    layers = []
    for k, (dim, eps, momentum) in enumerate(bn_configs(seed)):
        what = f"BatchNorm1d({dim}, eps={eps}, momentum={momentum})"
        bn = call(what, BatchNorm1d, dim, eps=eps, momentum=momentum)
        if not isinstance(bn, nn.Module):
            raise StudentError(f"must be a torch.nn.Module (for train() and eval()), got "
                               f"{type(bn).__name__}", what)
        initial = {name: snapshot(getattr(bn, name, None))
                   for name in ("weight", "bias", "running_mean", "running_var")}
        weight, bias, train, upstream, evals = bn_data(seed + k, dim)
        for name, value in (("weight", weight), ("bias", bias)):
            t = getattr(bn, name, None)
            if not isinstance(t, torch.Tensor):
                raise StudentError(f"needs a tensor attribute {name}, as in nn.BatchNorm1d", what)
            with torch.no_grad():
                call(f"setting {name} of {what}", t.copy_, value)
        call(f"{what}.train()", bn.train)
        steps = []
        for x, up in zip(train, upstream):
            xs = x.clone().requires_grad_(True)
            y = call(f"{what} in training mode", bn, xs)
            running = [graph_grad(getattr(bn, name, None), xs)
                       for name in ("running_mean", "running_var")]
            call("backward through your BatchNorm1d", lambda: y.backward(up))
            steps.append({"out": snapshot(y), "x_grad": snapshot(xs.grad),
                          "weight_grad": snapshot(getattr(bn.weight, "grad", None)),
                          "bias_grad": snapshot(getattr(bn.bias, "grad", None)),
                          "running_grads": running,
                          **bn_state(bn)})
            bn.weight.grad = bn.bias.grad = None
        call(f"{what}.eval()", bn.eval)
        tests = []
        for x in evals:
            with torch.no_grad():
                y = call(f"{what} in eval mode", bn, x.clone())
            tests.append({"out": snapshot(y), **bn_state(bn)})
        layers.append({"initial": initial, "train": steps, "eval": tests})
    return {"layers": layers}


@kernel
def graph_grad(t, x):
    """The gradient of sum(t) with respect to x when t is in autograd's graph, else None."""
    if not isinstance(t, torch.Tensor) or not t.requires_grad:
        return None
    grad = call("the gradient of a running statistic", lambda: torch.autograd.grad(
        t.sum(), x, retain_graph=True, allow_unused=True)[0])
    return snapshot(grad)


def _running(t, dim, what):
    """A running statistic of shape (dim,), or (1, dim) as a keepdim mean leaves it."""
    t = as_tensor(t, what)
    return t.reshape(dim) if tuple(t.shape) == (1, dim) else t


@judge("batchnorm")
def judge_batchnorm(obs, seed):
    configs = bn_configs(seed)
    for k, ((dim, eps, momentum), got) in enumerate(zip(configs, _cases(obs, "layers",
                                                                         len(configs)))):
        what = f"BatchNorm1d({dim}, eps={eps}, momentum={momentum})"
        expect(isinstance(got, dict), MALFORMED)
        ref = nn.BatchNorm1d(dim, eps=eps, momentum=momentum).double()
        for name in ("weight", "bias", "running_mean", "running_var"):
            t = got["initial"][name]
            expect(isinstance(t, torch.Tensor) and tuple(t.shape) == (dim,),
                   f"{what} needs a tensor attribute {name} of shape ({dim},), as in "
                   f"nn.BatchNorm1d")
            _compare(t, getattr(ref, name).detach(), f"{name} right after construction",
                     "weight and running_var start at 1, bias and running_mean at 0.")
        weight, bias, train, upstream, evals = bn_data(seed + k, dim)
        with torch.no_grad():
            ref.weight.copy_(weight)
            ref.bias.copy_(bias)
        steps = _cases(got, "train", len(train))
        for i, (x, up, seen) in enumerate(zip(train, upstream, steps), 1):
            expect(isinstance(seen, dict), MALFORMED)
            xr = x.double().requires_grad_(True)
            yr = ref(xr)
            yr.backward(up.double())
            _compare(seen["out"], yr.detach(),
                     f"training mode, batch {i} of {x.shape[0]}: the output",
                     "In training mode normalise with the batch mean and the biased batch "
                     "variance (divide by n), then scale by weight and shift by bias.")
            for name, want in (("the input", xr.grad), ("weight", ref.weight.grad),
                               ("bias", ref.bias.grad)):
                key = {"the input": "x_grad"}.get(name, f"{name}_grad")
                expect(seen[key] is not None, f"no gradient reached {name} of your "
                                              f"BatchNorm1d: weight and bias must be nn.Parameter")
                _compare(seen[key], want, f"training mode, batch {i}: the gradient of {name}",
                         "Let autograd follow the batch statistics (no .detach() on them).")
            ref.weight.grad = ref.bias.grad = None
            running = seen.get("running_grads")
            expect(isinstance(running, list) and len(running) == 2, MALFORMED)
            expect(all(g is None or (isinstance(g, torch.Tensor) and not g.abs().max() > 0)
                       for g in running),
                   "update the running statistics under torch.no_grad() (or from detached "
                   "tensors): they are not trained by backpropagation")
            for name, formula in (("running_mean", "the batch mean"),
                                  ("running_var", "the unbiased batch variance (divide by n-1)")):
                _compare(_running(seen[name], dim, name), getattr(ref, name).detach(),
                         f"after training batch {i}, {name}",
                         f"Each training step: {name} = (1 - momentum) * {name} + momentum * "
                         f"{formula}, as nn.BatchNorm1d does.")
        ref.eval()
        last = steps[-1]
        for x, seen in zip(evals, _cases(got, "eval", len(evals))):
            expect(isinstance(seen, dict), MALFORMED)
            with torch.no_grad():
                _compare(seen["out"], ref(x.double()),
                         f"eval mode, a batch of {x.shape[0]}: the output",
                         "In eval mode normalise with running_mean and running_var, not with "
                         "the statistics of the batch.")
            for name in ("running_mean", "running_var"):
                _compare(_running(seen[name], dim, name), _running(last[name], dim, name).double(),
                         f"{name} after a forward pass in eval mode",
                         "Eval mode must not update the running statistics.", rtol=0.0,
                         atol=1e-12)


# --- Exercises 10 and 11: the MLP for MNIST --------------------------------------------------

@kernel
def mnist_setup(seed, n, nx=12, nh=7, ny=5):
    """Weights in nn.Linear's layout, a batch x and its one-hot labels y."""
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(nh, nx, generator=g) / math.sqrt(nx)  # (nh, nx)
    b1 = torch.randn(nh, generator=g) * 0.5  # (nh,)
    w2 = torch.randn(ny, nh, generator=g) / math.sqrt(nh)  # (ny, nh)
    b2 = torch.randn(ny, generator=g) * 0.5  # (ny,)
    x = torch.randn(n, nx, generator=g) * 1.5  # (n, nx)
    y = F.one_hot(torch.randint(0, ny, (n,), generator=g), ny).float()  # (n, ny)
    return w1, b1, w2, b2, x, y


@kernel
def mnist_reference(w1, b1, w2, b2, x):
    h_tilde = x @ w1.T + b1  # (n, nh)
    h = torch.tanh(h_tilde)  # (n, nh)
    y_tilde = h @ w2.T + b2  # (n, ny)
    return h_tilde, h, y_tilde, torch.softmax(y_tilde, dim=1)


@kernel
def mnist_cases(seed):
    """(seed, batch size): a batch and a single sample."""
    rng = random.Random(seed)
    return [(seed, rng.randint(8, 40)), (seed + 1, 1)]


def _four(got, what, names):
    expect(isinstance(got, list) and len(got) == 4,
           f"{what} must return the four tensors ({', '.join(names)})")
    return got


@probe("mnist_forward")
def probe_mnist_forward(ns, seed):
    forward_pass = need(ns, "forward_pass")
    out = []
    for case_seed, n in mnist_cases(seed):
        w1, b1, w2, b2, x, _ = mnist_setup(case_seed, n)
        got = call("forward_pass(w1, b1, w2, b2, x)", forward_pass, w1, b1, w2, b2, x)
        out.append([snapshot(t) for t in got] if isinstance(got, (tuple, list)) else got)
    return {"cases": out}


@judge("mnist_forward")
def judge_mnist_forward(obs, seed):
    names = ("h_tilde", "h", "y_tilde", "y_hat")
    hints = {"h_tilde": "h_tilde = x @ w1.T + b1 (one row per sample).",
             "h": "h = tanh(h_tilde).", "y_tilde": "y_tilde = h @ w2.T + b2.",
             "y_hat": "y_hat = softmax(y_tilde) along each row (dim=1): each row sums to 1."}
    cases = mnist_cases(seed)
    for (case_seed, n), got in zip(cases, _cases(obs, "cases", len(cases))):
        w1, b1, w2, b2, x, _ = mnist_setup(case_seed, n)
        want = mnist_reference(*(t.double() for t in (w1, b1, w2, b2, x)))
        for name, g, w in zip(names, _four(got, "forward_pass", names), want):
            _compare(g, w, f"{name} for a batch of {n}", hints[name])


@probe("mnist_backward")
def probe_mnist_backward(ns, seed):
    backward_pass = need(ns, "backward_pass")
    out = []
    for case_seed, n in mnist_cases(seed):
        w1, b1, w2, b2, x, y = mnist_setup(case_seed, n)
        h_tilde, h, _, y_hat = mnist_reference(w1, b1, w2, b2, x)
        got = call("backward_pass(x, y, h_tilde, h, y_hat, w2)", backward_pass, x, y, h_tilde,
                   h, y_hat, w2.clone())
        out.append([snapshot(t) for t in got] if isinstance(got, (tuple, list)) else got)
    return {"cases": out}


@judge("mnist_backward")
def judge_mnist_backward(obs, seed):
    names = ("dw1", "db1", "dw2", "db2")
    hints = {
        "dw1": "dh_tilde = (dy_tilde @ w2) * (1 - h**2): the tanh derivative is written with "
               "the output h. Then dw1 = dh_tilde.T @ x.",
        "db1": "b1 was added to every sample: db1 sums dh_tilde over the batch dimension.",
        "dw2": "The loss is the mean over the batch: dy_tilde = (y_hat - y) / n; dw2 = "
               "dy_tilde.T @ h.",
        "db2": "b2 was added to every sample: db2 sums dy_tilde over the batch dimension.",
    }
    cases = mnist_cases(seed)
    for (case_seed, n), got in zip(cases, _cases(obs, "cases", len(cases))):
        w1, b1, w2, b2, x, y = mnist_setup(case_seed, n)
        params = [t.double().requires_grad_(True) for t in (w1, b1, w2, b2)]
        _, _, y_tilde, _ = mnist_reference(*params, x.double())
        loss = -(y.double() * torch.log_softmax(y_tilde, dim=1)).sum(1).mean()
        want = torch.autograd.grad(loss, params)
        got = _four(got, "backward_pass", names)
        for i in (2, 3, 0, 1):  # as backpropagation meets them: the output layer first
            _compare(got[i], want[i], f"{names[i]} for a batch of {n}",
                     f"Gradients of the mean cross-entropy over the batch. {hints[names[i]]}")



# --- Exercises 12 and 13: the same network with autograd, then as an nn.Module ---------------

@kernel
def automation_setup(seed):
    """Weights, a batch, its class indices and a learning rate for two steps of training."""
    w1, b1, w2, b2, x, y = mnist_setup(seed, random.Random(seed).randint(8, 40))
    return [w1, b1, w2, b2], x, y.argmax(1), random.Random(seed + 1).uniform(0.2, 0.8)


def automation_reference(seed, steps):
    """The float64 weights after each of ``steps`` gradient steps (autograd as the oracle)."""
    params, x, labels, lr = automation_setup(seed)
    params, out = [t.double() for t in params], []
    for _ in range(steps):
        params = [t.requires_grad_(True) for t in params]
        loss = F.cross_entropy(mnist_reference(*params, x.double())[2], labels)
        grads = torch.autograd.grad(loss, params)
        params = [(t - lr * g).detach() for t, g in zip(params, grads)]
        out.append((loss.item(), params))
    return out


def _judge_steps(obs, seed, what, hint):
    """Compare the observed losses and weights of two steps with the reference."""
    names = ("w1", "b1", "w2", "b2")
    reference = automation_reference(seed, 2)
    losses, states = _cases(obs, "losses", 2), _cases(obs, "params", 2)
    for step, ((loss, want), got_loss, got) in enumerate(zip(reference, losses, states), 1):
        value = number(got_loss, f"the loss {what} returned at step {step}")
        expect(close(value, loss, 1e-5, 1e-7),
               f"step {step}: {what} returned the loss {value:.6g}, which is not the mean "
               f"cross-entropy of the batch before the update")
        expect(isinstance(got, list) and len(got) == 4, MALFORMED)
        for name, t, w in zip(names, got, want):
            _compare(t, w, f"{name} after step {step} of {what}", hint)


@probe("autograd_step")
def probe_autograd_step(ns, seed):
    autograd_step = need(ns, "autograd_step")
    params, x, labels, lr = automation_setup(seed)
    params = [t.clone().requires_grad_(True) for t in params]
    held = list(params)  # the tensors the student must update in place
    losses, states = [], []
    for _ in range(2):
        losses.append(snapshot(call("autograd_step(params, x, labels, lr)", autograd_step,
                                    params, x, labels, lr)))
        states.append([snapshot(t) for t in held])
    return {"losses": losses, "params": states}


@judge("autograd_step")
def judge_autograd_step(obs, seed):
    _judge_steps(obs, seed, "autograd_step",
                 "loss = F.cross_entropy(forward_pass(*params, x)[2], labels); loss.backward(); "
                 "then under torch.no_grad() update each tensor of params in place (p -= lr * "
                 "p.grad) and reset p.grad, or the next step adds to it (it also uses your "
                 "forward_pass: Exercise 10 first).")


@kernel
def module_layers(model, n_x, n_h, n_y):
    """The hidden and output nn.Linear layers of the student's TwoLayerMLP."""
    what = f"TwoLayerMLP({n_x}, {n_h}, {n_y})"
    if not isinstance(model, nn.Module):
        raise StudentError(f"must be a torch.nn.Module, got {type(model).__name__}", what)
    layers = []
    for name, shape in (("hidden", (n_x, n_h)), ("out", (n_h, n_y))):
        layer = getattr(model, name, None)
        if not isinstance(layer, nn.Linear) or (layer.in_features, layer.out_features) != shape:
            raise StudentError(f"self.{name} must be nn.Linear({shape[0]}, {shape[1]})", what)
        if layer.bias is None:
            raise StudentError(f"self.{name} needs its bias", what)
        layers.append(layer)
    return layers


@probe("mnist_module")
def probe_mnist_module(ns, seed):
    TwoLayerMLP = need(ns, "TwoLayerMLP")
    params, x, labels, lr = automation_setup(seed)
    (n_h, n_x), n_y = params[0].shape, params[2].shape[0]
    model = call(f"TwoLayerMLP({n_x}, {n_h}, {n_y})", TwoLayerMLP, n_x, n_h, n_y)
    hidden, out = module_layers(model, n_x, n_h, n_y)
    held = [hidden.weight, hidden.bias, out.weight, out.bias]
    with torch.no_grad():
        for t, value in zip(held, params):
            t.copy_(value)
    logits = snapshot(call("model(x)", model, x))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses, states = [], []
    for _ in range(2):  # the course's train_step: what the notebook trains the module with
        loss = F.cross_entropy(call("model(x)", model, x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        states.append([snapshot(t) for t in held])
    return {"param_shapes": param_shapes(model), "logits": logits, "losses": losses,
            "params": states}


@judge("mnist_module")
def judge_mnist_module(obs, seed):
    params, x, labels, lr = automation_setup(seed)
    (n_h, n_x), n_y = params[0].shape, params[2].shape[0]
    want = n_h * n_x + n_h + n_y * n_h + n_y
    found = parameter_count(obs)
    expect(found == want,
           f"TwoLayerMLP({n_x}, {n_h}, {n_y}) should have {want} parameters (the weights and "
           f"biases of its two layers), found {found!r}")
    _compare(obs["logits"], mnist_reference(*(t.double() for t in params), x.double())[2],
             f"model(x) for a batch of {x.shape[0]}",
             "forward returns the logits self.out(tanh(self.hidden(x))), without the softmax.")
    _judge_steps(obs, seed, "SGD on the module",
                 "Every parameter must be registered (layers assigned as attributes of the "
                 "module), and the logits must not go through softmax before F.cross_entropy.")


# --- Exercise 8 (*): batchnorm in the session-2 MLP ------------------------------------------

@kernel
def bn_affine(seed, dim):
    """The gain and bias set into the batchnorm layer of the probed MLPBN."""
    g = torch.Generator().manual_seed(seed + 2)
    return torch.randn(dim, generator=g) * 0.3 + 1.0, torch.randn(dim, generator=g) * 0.3


@kernel
def mlp_bn_layers(model):
    """The embedding, hidden linear, batchnorm and output linear layers of the student's MLPBN."""
    vocab, n_embd, block, hidden = mlp_sizes()
    what = f"MLPBN(vocab_size={vocab}, n_embd={n_embd}, block_size={block}, n_hidden={hidden})"
    if not isinstance(model, nn.Module):
        raise StudentError(f"must be a torch.nn.Module, got {type(model).__name__}", what)
    layers = {name: getattr(model, name, None) for name in ("emb", "hidden", "bn", "out")}
    missing = [name for name, layer in layers.items() if not isinstance(layer, nn.Module)]
    if missing:
        raise StudentError(f"needs the layers emb, hidden, bn and out; missing {missing}", what)
    emb, hid, bn, out = layers.values()
    if not isinstance(emb, nn.Embedding) or tuple(emb.weight.shape) != (vocab, n_embd):
        raise StudentError(f"emb must be nn.Embedding({vocab}, {n_embd})", what)
    for name, layer, shape in (("hidden", hid, (block * n_embd, hidden)),
                               ("out", out, (hidden, vocab))):
        if not isinstance(layer, nn.Linear) or (layer.in_features, layer.out_features) != shape:
            raise StudentError(f"{name} must be nn.Linear({shape[0]}, {shape[1]})", what)
    if out.bias is None:
        raise StudentError("the output layer has a bias (b2 of session 2)", what)
    for name in ("weight", "bias"):
        if tuple(getattr(getattr(bn, name, None), "shape", ())) != (hidden,):
            raise StudentError(f"bn needs a {name} of shape ({hidden},): BatchNorm1d({hidden})",
                               what)
    return emb, hid, bn, out


@probe("mlp_bn")
def probe_mlp_bn(ns, seed):
    MLPBN = need(ns, "MLPBN")
    vocab, n_embd, block, hidden = mlp_sizes()
    model = call(f"MLPBN(vocab_size={vocab}, n_embd={n_embd}, block_size={block}, "
                 f"n_hidden={hidden})", MLPBN, vocab_size=vocab, n_embd=n_embd,
                 block_size=block, n_hidden=hidden)
    emb, hid, bn, out = mlp_bn_layers(model)
    C, W1, _, W2, b2 = mlp_weights(seed)
    gamma, beta = bn_affine(seed, hidden)
    with torch.no_grad():
        for t, value in ((emb.weight, C), (hid.weight, W1), (bn.weight, gamma), (bn.bias, beta),
                         (out.weight, W2), (out.bias, b2)):
            t.copy_(value)
        if hid.bias is not None:
            hid.bias.zero_()
    X, lr, batches = mlp_batches(seed)
    call("model.train()", model.train)
    train_logits = snapshot(call("model(X) in training mode", model, X))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for Xb, Yb in batches:
        def step():
            optimizer.zero_grad()
            F.cross_entropy(model(Xb), Yb).backward()
            optimizer.step()
        call("a step of SGD on MLPBN (forward, cross-entropy, backward, step)", step)
    call("model.eval()", model.eval)
    with torch.no_grad():
        eval_logits = [snapshot(call(f"model(x) in eval mode on {len(x)} example(s)", model, x))
                       for x in (X, X[:1])]
    return {"param_shapes": param_shapes(model), "hidden_bias": snapshot(hid.bias),
            "train_logits": train_logits, "eval_logits": eval_logits}


def reference_mlp_bn(seed):
    """The reference MLPBN in float64, with the weights the probe sets."""
    vocab, n_embd, block, hidden = mlp_sizes()
    net = nn.Sequential(nn.Embedding(vocab, n_embd), nn.Flatten(),
                        nn.Linear(block * n_embd, hidden, bias=False), nn.BatchNorm1d(hidden),
                        nn.Tanh(), nn.Linear(hidden, vocab)).double()
    C, W1, _, W2, b2 = mlp_weights(seed)
    gamma, beta = bn_affine(seed, hidden)
    with torch.no_grad():
        for t, value in ((net[0].weight, C), (net[2].weight, W1), (net[3].weight, gamma),
                         (net[3].bias, beta), (net[5].weight, W2), (net[5].bias, b2)):
            t.copy_(value)
    return net


@judge("mlp_bn")
def judge_mlp_bn(obs, seed):
    vocab, n_embd, block, hidden = mlp_sizes()
    want = (vocab * n_embd + block * n_embd * hidden + 2 * hidden + (hidden + 1) * vocab
            + (hidden if obs["hidden_bias"] is not None else 0))
    found = parameter_count(obs)
    expect(found == want,
           f"MLPBN(vocab_size={vocab}, n_embd={n_embd}, block_size={block}, n_hidden={hidden}) "
           f"should have {want} parameters (C, W1, the gain and bias of bn, W2, b2), found "
           f"{found!r}")
    net = reference_mlp_bn(seed)
    X, lr, batches = mlp_batches(seed)
    _compare(obs["train_logits"], net(X).detach(),
             f"in training mode, model(X) for X of shape {tuple(X.shape)}",
             "logits = out(tanh(bn(hidden(emb(x) flattened)))): batchnorm between the hidden "
             "linear layer and tanh, normalising with the statistics of the batch.")
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    for Xb, Yb in batches:
        optimizer.zero_grad()
        F.cross_entropy(net(Xb), Yb).backward()
        optimizer.step()
    net.eval()
    evals = _cases(obs, "eval_logits", 2)
    with torch.no_grad():
        for x, got in zip((X, X[:1]), evals):
            _compare(got, net(x), f"after 3 steps of SGD, in eval mode, model(x) on {len(x)} "
                     f"example(s)", "In eval mode the batchnorm layer normalises with its "
                     "running statistics, updated at each training step.")


# --- Exercise 9: folding batchnorm into the linear layer -------------------------------------

@kernel
def fold_cases(seed):
    """(linear, bn in eval mode, x): with and without bias, a large eps, a square layer."""
    g = torch.Generator().manual_seed(seed)
    cases = []
    with torch.random.fork_rng(devices=[]):  # nn.Linear's own init draws from the global RNG
        for n_in, n_out, bias, eps in ((6, 4, True, 1e-5), (5, 3, False, 0.5), (7, 7, True, 0.1)):
            linear, bn = nn.Linear(n_in, n_out, bias=bias), nn.BatchNorm1d(n_out, eps=eps)
            with torch.no_grad():
                linear.weight.copy_(torch.randn(n_out, n_in, generator=g))
                if bias:
                    linear.bias.copy_(torch.randn(n_out, generator=g))
                bn.running_mean.copy_(torch.randn(n_out, generator=g))
                bn.running_var.copy_(torch.rand(n_out, generator=g) * 0.5 + 0.02)
                bn.weight.copy_(torch.randn(n_out, generator=g))
                bn.bias.copy_(torch.randn(n_out, generator=g))
            bn.eval()
            cases.append((linear, bn, torch.randn(9, n_in, generator=g)))  # x: (9, n_in)
    return cases


@kernel
def fold_state(linear, bn):
    return [snapshot(t) for t in (linear.weight, linear.bias, bn.weight, bn.bias,
                                  bn.running_mean, bn.running_var)]


@probe("bn_fold")
def probe_bn_fold(ns, seed):
    fold_batchnorm = need(ns, "fold_batchnorm")
    out = []
    for linear, bn, x in fold_cases(seed):
        folded = call("fold_batchnorm(linear, bn)", fold_batchnorm, linear, bn)
        with torch.no_grad():
            y = snapshot(call("folded(x)", folded, x))
        out.append({"classes": [f"{c.__module__}.{c.__qualname__}" for c in type(folded).__mro__],
                    "out": y,
                    "after": fold_state(linear, bn)})
    return {"cases": out}


LINEAR = f"{nn.Linear.__module__}.{nn.Linear.__qualname__}"


@judge("bn_fold")
def judge_bn_fold(obs, seed):
    cases = fold_cases(seed)
    for (linear, bn, x), got in zip(cases, _cases(obs, "cases", len(cases))):
        expect(isinstance(got, dict), MALFORMED)
        what = (f"nn.Linear({linear.in_features}, {linear.out_features}, "
                f"bias={linear.bias is not None}) and BatchNorm1d(eps={bn.eps:g})")
        expect(LINEAR in (got.get("classes") or []), "fold_batchnorm must return an nn.Linear")
        with torch.no_grad():
            want = bn.double()(linear.double()(x.double()))
        _compare(got["out"], want, f"with {what}, folded(x)",
                 "W' = diag(s) W (row i scaled by s_i) and b' = s * (b - running_mean) + bias, "
                 "with s = weight / sqrt(running_var + eps).")
        after = _cases(got, "after", 6)
        for name, before, now in zip(("linear.weight", "linear.bias", "bn.weight", "bn.bias",
                                      "bn.running_mean", "bn.running_var"),
                                     fold_state(linear, bn), after):
            if before is None:
                expect(now is None, f"with {what}: fold_batchnorm gave linear a bias")
                continue
            _compare(now, before, f"with {what}: {name} after fold_batchnorm",
                     "Build a new nn.Linear: leave the given layers unchanged.", rtol=0.0,
                     atol=1e-12)
