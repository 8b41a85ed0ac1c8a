"""Hidden checks of session 3 (backprop ninja, MLP in torch.nn, batchnorm, MLP for MNIST).

PyTorch is the oracle: autograd in float64 for every gradient, ``nn.BatchNorm1d`` for the
batchnorm layer, ``F.cross_entropy`` for the loss. The student's functions get float32 inputs
(the notebook's dtype) of sizes other than the notebook's batch, so that an answer right for
one sample but wrong for a batch loses its points; results may come back in float32 or
float64. Tolerances are norm-wise: max |got - want| <= ATOL + RTOL * max |want|.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.checks import (
    CheckFailed, as_tensor, call, compare, expect, generator, tensors_close)

RTOL, ATOL = 1e-4, 1e-7  # float32 student arithmetic against a float64 reference

# The makemore MLP with batchnorm of the backprop-ninja part, as the notebook writes it.
PARAM_NAMES = ("C", "W1", "b1", "bngain", "bnbias", "W2", "b2")
ACT_NAMES = ("emb", "embcat", "hprebn", "bnmeani", "bndiff", "bndiff2", "bnvar", "bnvar_inv",
             "bnraw", "hpreact", "h", "logits", "logit_maxes", "norm_logits", "counts",
             "counts_sum", "counts_sum_inv", "probs", "logprobs")
BN_EPS = 1e-5
# (vocabulary, embedding, context, hidden) of the notebook's network
SIZES = (27, 10, 3, 64)


# --- helpers ----------------------------------------------------------------------------------
_call = call
_gen = generator
_tensor = functools.partial(as_tensor, dtype=torch.float64)
_close = functools.partial(tensors_close, rtol=RTOL, atol=ATOL)
_compare = functools.partial(compare, rtol=RTOL, atol=ATOL)


# --- Part 1: backprop ninja -------------------------------------------------------------------
def _params(seed: int, sizes=SIZES) -> dict:
    """float32 parameters, small random values everywhere (zeros would hide mistakes)."""
    vocab, n_embd, block, hidden = sizes
    g = _gen(seed)
    fan_in = n_embd * block
    return {
        "C": torch.randn(vocab, n_embd, generator=g),
        "W1": torch.randn(fan_in, hidden, generator=g) * (5 / 3) / math.sqrt(fan_in),
        "b1": torch.randn(hidden, generator=g) * 0.1,
        "bngain": torch.randn(1, hidden, generator=g) * 0.1 + 1.0,
        "bnbias": torch.randn(1, hidden, generator=g) * 0.1,
        "W2": torch.randn(hidden, vocab, generator=g) * 0.1,
        "b2": torch.randn(vocab, generator=g) * 0.1,
    }


def _batch(seed: int, n: int, sizes=SIZES):
    vocab, _, block, _ = sizes
    g = _gen(seed)
    return (torch.randint(0, vocab, (n, block), generator=g),
            torch.randint(0, vocab, (n,), generator=g))


def forward(p: dict, Xb: torch.Tensor, Yb: torch.Tensor) -> dict:
    """The reference forward pass, one small step per line, every intermediate returned."""
    n = Xb.shape[0]
    emb = p["C"][Xb]  # (B, block, n_embd)
    embcat = emb.view(n, -1)  # (B, block * n_embd)
    hprebn = embcat @ p["W1"] + p["b1"]  # (B, hidden)
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)  # (1, hidden)
    bndiff = hprebn - bnmeani  # (B, hidden)
    bndiff2 = bndiff ** 2  # (B, hidden)
    bnvar = 1 / (n - 1) * bndiff2.sum(0, keepdim=True)  # (1, hidden), Bessel's correction
    bnvar_inv = (bnvar + BN_EPS) ** -0.5  # (1, hidden)
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


def _reference_grads(p: dict, Xb, Yb) -> dict:
    """float64 autograd gradients of the loss w.r.t. every intermediate and parameter."""
    p64 = {k: v.detach().double().requires_grad_(True) for k, v in p.items()}
    acts = forward(p64, Xb, Yb)
    for name in ACT_NAMES:
        acts[name].retain_grad()
    acts["loss"].backward()
    grads = {name: acts[name].grad for name in ACT_NAMES}
    grads.update({k: v.grad for k, v in p64.items()})
    return grads


# The order in which backpropagation meets them: the first wrong one is the one to fix.
BACKWARD_ORDER = ("logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits",
                  "logit_maxes", "logits", "h", "W2", "b2", "hpreact", "bngain", "bnbias",
                  "bnraw", "bnvar_inv", "bnvar", "bndiff2", "bndiff", "bnmeani", "hprebn",
                  "embcat", "W1", "b1", "emb", "C")

_HINTS = {
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


def check_backward_by_hand(backward_by_hand) -> None:
    """Exercise 1: every intermediate gradient of the makemore MLP with batchnorm."""
    for seed, n in ((11, 32), (12, 10)):
        p = _params(seed)
        Xb, Yb = _batch(seed + 100, n)
        with torch.no_grad():
            acts = forward(p, Xb, Yb)
        want = _reference_grads(p, Xb, Yb)
        got = _call("backward_by_hand(p, a, Xb, Yb)", backward_by_hand,
                    dict(p), dict(acts), Xb, Yb)
        expect(isinstance(got, dict), f"backward_by_hand must return a dict of gradients, got "
                                      f"{type(got).__name__}")
        missing = [k for k in BACKWARD_ORDER if k not in got]
        expect(not missing, f"backward_by_hand did not return the gradients of {missing}")
        for name in BACKWARD_ORDER:
            shape = tuple(want[name].shape)
            hint = _HINTS.get(name, "")
            hint = (f"Compared with PyTorch autograd on a batch of {n}; every gradient before "
                    f"it in the backward order is right. {hint}").strip()
            _compare(got[name], want[name], f"d{name} (the gradient of {name}, shape {shape})",
                     hint)


def check_cross_entropy_backward(cross_entropy_backward) -> None:
    """Exercise 2: dlogits of the mean cross-entropy in one formula."""
    for seed, n, vocab, scale in ((21, 32, 27, 1.0), (22, 7, 27, 4.0), (23, 5, 11, 2.0)):
        g = _gen(seed)
        logits = torch.randn(n, vocab, generator=g) * scale
        Yb = torch.randint(0, vocab, (n,), generator=g)
        ref = logits.double().requires_grad_(True)
        F.cross_entropy(ref, Yb).backward()
        got = _call("cross_entropy_backward(logits, Yb)", cross_entropy_backward,
                    logits.clone(), Yb.clone())
        _compare(got, ref.grad, f"dlogits for a batch of {n} and {vocab} classes",
                 "The gradient of the mean cross-entropy is (softmax(logits) - one_hot(Yb)) / n, "
                 "the softmax taken along each row (dim=1).")


def _bn_forward_bessel(hprebn, bngain, eps=BN_EPS):
    n = hprebn.shape[0]
    bndiff = hprebn - hprebn.mean(0, keepdim=True)
    bnvar = 1 / (n - 1) * (bndiff ** 2).sum(0, keepdim=True)
    return bngain * bndiff * (bnvar + eps) ** -0.5


def check_batchnorm_backward(batchnorm_backward) -> None:
    """Exercise 3: dhprebn of the batchnorm layer (Bessel-corrected variance) in one formula."""
    for seed, n, hidden, spread in ((31, 32, 64, 3.0), (32, 8, 5, 1.0), (33, 5, 7, 0.05)):
        g = _gen(seed)
        hprebn = torch.randn(n, hidden, generator=g) * spread + torch.randn(hidden, generator=g)
        bngain = torch.randn(1, hidden, generator=g) * 0.3 + 1.0
        dhpreact = torch.randn(n, hidden, generator=g) * 0.1
        ref = hprebn.double().requires_grad_(True)
        _bn_forward_bessel(ref, bngain.double()).backward(dhpreact.double())
        got = _call("batchnorm_backward(dhpreact, hprebn, bngain)", batchnorm_backward,
                    dhpreact.clone(), hprebn.clone(), bngain.clone())
        _compare(got, ref.grad, f"dhprebn for a batch of {n} and {hidden} features",
                 "The forward pass normalises with the Bessel-corrected variance "
                 "(1/(n-1) * sum of squares): its backward carries a factor n/(n-1) on the "
                 "term in bnraw * (dhpreact * bnraw).sum(0).")


def check_manual_step(manual_step) -> None:
    """Exercise 4: one SGD step with the manual gradients only (no autograd)."""
    p = _params(41)
    lr = 0.1
    ref = {k: v.double() for k, v in p.items()}
    for step in (1, 2, 3):
        Xb, Yb = _batch(41 + step, 32)
        want = {k: v.detach().requires_grad_(True) for k, v in ref.items()}
        loss = forward(want, Xb, Yb)["loss"]
        grads = dict(zip(want, torch.autograd.grad(loss, list(want.values()))))
        before = {k: _tensor(p[k], k) for k in PARAM_NAMES}
        try:
            with torch.no_grad():
                got_loss = manual_step(p, Xb, Yb, lr)
        except NotImplementedError:
            raise CheckFailed("manual_step: not implemented yet") from None
        except RuntimeError as exc:
            if "grad" in str(exc):
                raise CheckFailed("manual_step must train with your own gradients only: the "
                                  "parameters do not require grad here, so loss.backward() "
                                  f"cannot run ({exc})") from None
            raise CheckFailed(f"manual_step raised RuntimeError: {exc}") from None
        except Exception as exc:
            raise CheckFailed(f"manual_step raised {type(exc).__name__}: {exc}") from None
        try:
            got_loss = float(got_loss)
        except (TypeError, ValueError, RuntimeError):
            raise CheckFailed(f"manual_step must return the loss as a number, got "
                              f"{type(got_loss).__name__}") from None
        expect(math.isclose(got_loss, loss.item(), rel_tol=1e-4, abs_tol=1e-6),
               f"step {step}: manual_step returned loss {got_loss:.6g}, expected "
               f"{loss.item():.6g} (the loss of the batch before the update)")
        expect(isinstance(p, dict) and set(p) >= set(PARAM_NAMES),
               "manual_step must keep every parameter in the dict p")
        with torch.no_grad():
            ref = {k: v - lr * grads[k] for k, v in ref.items()}
        for name in PARAM_NAMES:
            delta = _tensor(p[name], name) - before[name]
            _compare(delta, -lr * grads[name], f"step {step}: the update of {name}",
                     "Each parameter moves by -lr times its gradient of the batch loss "
                     "(p[name] -= lr * grad, for every parameter).", rtol=1e-2, atol=1e-6)


# --- MLP in torch.nn (*) -------------------------------------------------------------------
def _modules_of(model, kind):
    return [m for m in model.modules() if isinstance(m, kind)]


def _mlp_layers(model, vocab, n_embd, block, hidden):
    expect(isinstance(model, nn.Module), f"MLP must be a torch.nn.Module, got "
                                         f"{type(model).__name__}")
    embs, lins = _modules_of(model, nn.Embedding), _modules_of(model, nn.Linear)
    expect(len(embs) == 1 and tuple(embs[0].weight.shape) == (vocab, n_embd),
           f"MLP(vocab_size={vocab}, n_embd={n_embd}, ...) needs one nn.Embedding({vocab}, "
           f"{n_embd}), found {[tuple(e.weight.shape) for e in embs]}")
    shapes = [(lin.in_features, lin.out_features) for lin in lins]
    expect(len(lins) == 2 and (block * n_embd, hidden) in shapes and (hidden, vocab) in shapes,
           f"MLP(vocab_size={vocab}, n_embd={n_embd}, block_size={block}, n_hidden={hidden}) "
           f"needs two nn.Linear layers, ({block * n_embd} -> {hidden}) and ({hidden} -> "
           f"{vocab}); found {shapes}")
    hid = next(lin for lin in lins
               if (lin.in_features, lin.out_features) == (block * n_embd, hidden))
    out = next(lin for lin in lins if lin is not hid)
    expect(hid.bias is not None and out.bias is not None,
           "both linear layers have a bias (b1 and b2 of session 2)")
    n_params = sum(p.numel() for p in model.parameters())
    want = vocab * n_embd + (block * n_embd + 1) * hidden + (hidden + 1) * vocab
    expect(n_params == want, f"the model should have {want} parameters (C, W1, b1, W2, b2), "
                             f"found {n_params}")
    return embs[0], hid, out


def _set_weights(emb, hid, out, seed):
    g = _gen(seed)
    with torch.no_grad():
        for m in (emb, hid, out):
            for t in m.parameters():
                t.copy_(torch.randn(t.shape, generator=g) * 0.5)


def _reference_mlp(C, W1, b1, W2, b2, X):
    return torch.tanh(C[X].flatten(1) @ W1.T + b1) @ W2.T + b2


def check_mlp_torch(MLP, train_step) -> None:
    """The session-2 MLP as torch.nn modules: structure, forward, and SGD steps with torch.optim."""
    vocab, n_embd, block, hidden = 11, 4, 3, 16
    model = _call(f"MLP(vocab_size={vocab}, n_embd={n_embd}, block_size={block}, "
                  f"n_hidden={hidden})", MLP, vocab_size=vocab, n_embd=n_embd,
                  block_size=block, n_hidden=hidden)
    emb, hid, out = _mlp_layers(model, vocab, n_embd, block, hidden)
    _set_weights(emb, hid, out, 51)
    g = _gen(52)
    X = torch.randint(0, vocab, (7, block), generator=g)
    logits = _call("model(X)", model, X)
    ref = [t.detach().double() for t in (emb.weight, hid.weight, hid.bias, out.weight, out.bias)]
    _compare(logits, _reference_mlp(*ref, X), f"model(X) for X of shape {tuple(X.shape)}",
             "The forward pass: embed the context, flatten to (B, block_size * n_embd), linear, "
             "tanh, linear; it returns the logits (no softmax).", rtol=1e-5)

    lr = 0.1
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    ref = [t.requires_grad_(True) for t in ref]
    for step in (1, 2, 3):
        Xb = torch.randint(0, vocab, (16, block), generator=g)
        Yb = torch.randint(0, vocab, (16,), generator=g)
        loss = F.cross_entropy(_reference_mlp(*ref, Xb), Yb)
        grads = torch.autograd.grad(loss, ref)
        got_loss = _call("train_step(model, optimizer, Xb, Yb)", train_step, model, optimizer,
                         Xb, Yb)
        try:
            got_loss = float(got_loss)
        except (TypeError, ValueError, RuntimeError):
            raise CheckFailed(f"train_step must return the loss as a number, got "
                              f"{type(got_loss).__name__}") from None
        expect(math.isclose(got_loss, loss.item(), rel_tol=1e-5, abs_tol=1e-7),
               f"step {step}: train_step returned loss {got_loss:.6g}, expected "
               f"{loss.item():.6g}: F.cross_entropy of the model's logits on the batch, "
               f"before the update")
        with torch.no_grad():
            ref = [(t - lr * gt).requires_grad_(True) for t, gt in zip(ref, grads)]
        got = [emb.weight, hid.weight, hid.bias, out.weight, out.bias]
        for name, t, r in zip(("C", "W1", "b1", "W2", "b2"), got, ref):
            _compare(t, r.detach(), f"after step {step} of SGD (lr={lr}) the parameter {name}",
                     "Each step: optimizer.zero_grad() (gradients accumulate otherwise), "
                     "forward, loss.backward(), optimizer.step().", rtol=1e-5)


# --- Batchnorm (*) ----------------------------------------------------------------------------
def check_init_linear(init_linear_) -> None:
    """Scaled initialisation: weight ~ N(0, (gain / sqrt(fan_in))^2), bias zero."""
    with torch.random.fork_rng(devices=[]):  # leave the notebook's random stream as it was
        torch.manual_seed(61)
        _check_init_linear(init_linear_)


def _check_init_linear(init_linear_) -> None:
    for fan_in, fan_out, gain, bias in ((400, 100, 5 / 3, True), (100, 800, 0.1, True),
                                        (256, 300, 5 / 3, False)):
        layer = nn.Linear(fan_in, fan_out, bias=bias)
        _call(f"init_linear_(nn.Linear({fan_in}, {fan_out}, bias={bias}), gain={gain:.3g})",
              init_linear_, layer, gain)
        w = layer.weight
        expect(isinstance(w, nn.Parameter) and w.requires_grad,
               "the layer's weight must stay a trainable nn.Parameter (fill it in place, under "
               "torch.no_grad())")
        expect(tuple(w.shape) == (fan_out, fan_in), f"the weight must keep its shape "
                                                    f"{(fan_out, fan_in)}")
        want = gain / math.sqrt(fan_in)
        std, mean = w.detach().double().std().item(), w.detach().double().mean().item()
        expect(abs(std - want) <= 0.04 * want,
               f"nn.Linear({fan_in}, {fan_out}) with gain {gain:.3g}: the weights have standard "
               f"deviation {std:.4g}, expected gain / sqrt(fan_in) = {want:.4g}. fan_in is the "
               f"number of inputs, layer.in_features (the weight is (out_features, "
               f"in_features)).")
        expect(abs(mean) <= 0.05 * want, f"the weights should have mean 0, got {mean:.3g}")
        if bias:
            expect(layer.bias.detach().abs().max().item() <= 1e-12,
                   "the bias must be set to zero")


def _bn_inputs(seed, dim, sizes):
    g = _gen(seed)
    offset, spread = torch.randn(dim, generator=g) * 2, torch.rand(dim, generator=g) * 3 + 0.2
    return [torch.randn(n, dim, generator=g) * spread + offset for n in sizes]


def check_batchnorm1d(BatchNorm1d) -> None:
    """A hand-written BatchNorm1d that behaves like torch.nn.BatchNorm1d in train and eval."""
    for seed, dim, eps, momentum in ((71, 5, 1e-5, 0.1), (72, 3, 1e-3, 0.3)):
        what = f"BatchNorm1d({dim}, eps={eps}, momentum={momentum})"
        bn = _call(what, BatchNorm1d, dim, eps=eps, momentum=momentum)
        expect(isinstance(bn, nn.Module), f"BatchNorm1d must be a torch.nn.Module (for "
                                          f"train() and eval()), got {type(bn).__name__}")
        ref = nn.BatchNorm1d(dim, eps=eps, momentum=momentum).double()
        for name in ("weight", "bias", "running_mean", "running_var"):
            t = getattr(bn, name, None)
            expect(isinstance(t, torch.Tensor) and tuple(t.shape) == (dim,),
                   f"{what} needs a tensor attribute {name} of shape ({dim},), as in "
                   f"nn.BatchNorm1d")
            _compare(t, getattr(ref, name).detach(), f"{name} right after construction",
                     "weight and running_var start at 1, bias and running_mean at 0.")
        g = _gen(seed)
        with torch.no_grad():
            for name in ("weight", "bias"):
                value = torch.randn(dim, generator=g) * 0.5 + (1.0 if name == "weight" else 0.0)
                getattr(bn, name).copy_(value)
                getattr(ref, name).copy_(value)
        bn.train()
        ref.train()
        for k, x in enumerate(_bn_inputs(seed, dim, (16, 8, 4)), start=1):
            xs, xr = x.clone().requires_grad_(True), x.double().requires_grad_(True)
            y = _call(f"{what} in training mode", bn, xs)
            yr = ref(xr)
            _compare(y, yr.detach(), f"training mode, batch {k} of {x.shape[0]}: the output",
                     "In training mode normalise with the batch mean and the biased batch "
                     "variance (divide by n), then scale by weight and shift by bias.")
            upstream = torch.randn(x.shape, generator=g)
            yr.backward(upstream.double())
            _call("backward through your BatchNorm1d", y.backward, upstream)
            for name, got, want in (("the input", xs.grad, xr.grad),
                                    ("weight", getattr(bn.weight, "grad", None), ref.weight.grad),
                                    ("bias", getattr(bn.bias, "grad", None), ref.bias.grad)):
                expect(got is not None, f"no gradient reached {name} of your BatchNorm1d: "
                                        f"weight and bias must be nn.Parameter")
                _compare(got, want, f"training mode, batch {k}: the gradient of {name}",
                         "Let autograd follow the batch statistics (no .detach() on them).")
            for t in (bn.weight, bn.bias, ref.weight, ref.bias):
                t.grad = None
            expect(not bn.running_mean.requires_grad and not bn.running_var.requires_grad,
                   "update the running statistics under torch.no_grad() (or from detached "
                   "tensors): they are not trained by backpropagation")
            for name, formula in (("running_mean", "the batch mean"),
                                  ("running_var", "the unbiased batch variance (divide by n-1)")):
                _compare(getattr(bn, name), getattr(ref, name).detach(),
                         f"after training batch {k}, {name}",
                         f"Each training step: {name} = (1 - momentum) * {name} + momentum * "
                         f"{formula}, as nn.BatchNorm1d does.")
        bn.eval()
        ref.eval()
        stats = {name: _tensor(getattr(bn, name), name).clone()
                 for name in ("running_mean", "running_var")}
        for x in _bn_inputs(seed + 1000, dim, (6, 1)):
            with torch.no_grad():
                y = _call(f"{what} in eval mode", bn, x.clone())
                _compare(y, ref(x.double()), f"eval mode, a batch of {x.shape[0]}: the output",
                         "In eval mode normalise with running_mean and running_var, not with "
                         "the statistics of the batch.")
            for name, before in stats.items():
                _compare(getattr(bn, name), before, f"{name} after a forward pass in eval mode",
                         "Eval mode must not update the running statistics.", rtol=0.0,
                         atol=1e-12)


# --- MLP for MNIST ---------------------------------------------------------------------------
def _mnist_setup(seed, n, nx=12, nh=7, ny=5):
    g = _gen(seed)
    w1 = torch.randn(nh, nx, generator=g) / math.sqrt(nx)
    b1 = torch.randn(nh, generator=g) * 0.5
    w2 = torch.randn(ny, nh, generator=g) / math.sqrt(nh)
    b2 = torch.randn(ny, generator=g) * 0.5
    x = torch.randn(n, nx, generator=g) * 1.5
    y = F.one_hot(torch.randint(0, ny, (n,), generator=g), ny).float()
    return w1, b1, w2, b2, x, y


def _mnist_reference(w1, b1, w2, b2, x):
    h_tilde = x @ w1.T + b1
    h = torch.tanh(h_tilde)
    y_tilde = h @ w2.T + b2
    return h_tilde, h, y_tilde, torch.softmax(y_tilde, dim=1)


def _four(got, what, names):
    expect(isinstance(got, (tuple, list)) and len(got) == 4,
           f"{what} must return the four tensors ({', '.join(names)})")
    return got


def check_mnist_forward(forward_pass) -> None:
    """The two-layer tanh MLP's forward pass with tensor operations, for any batch size."""
    names = ("h_tilde", "h", "y_tilde", "y_hat")
    for seed, n in ((81, 9), (82, 1)):
        w1, b1, w2, b2, x, _ = _mnist_setup(seed, n)
        got = _four(_call("forward_pass(w1, b1, w2, b2, x)", forward_pass, w1, b1, w2, b2, x),
                    "forward_pass", names)
        want = _mnist_reference(*(t.double() for t in (w1, b1, w2, b2, x)))
        hints = {"h_tilde": "h_tilde = x @ w1.T + b1 (one row per sample).",
                 "h": "h = tanh(h_tilde).", "y_tilde": "y_tilde = h @ w2.T + b2.",
                 "y_hat": "y_hat = softmax(y_tilde) along each row (dim=1): each row sums to 1."}
        for name, g, w in zip(names, got, want):
            _compare(g, w, f"{name} for a batch of {n}", hints[name])


def check_mnist_backward(backward_pass) -> None:
    """Gradients of the mean cross-entropy w.r.t. w1, b1, w2, b2, for a batch."""
    names = ("dw1", "db1", "dw2", "db2")
    order = (2, 3, 0, 1)  # as backpropagation meets them: the output layer first
    for seed, n in ((91, 9), (92, 32)):
        w1, b1, w2, b2, x, y = _mnist_setup(seed, n)
        params = [t.double().requires_grad_(True) for t in (w1, b1, w2, b2)]
        _, _, y_tilde, _ = _mnist_reference(*params, x.double())
        loss = -(y.double() * torch.log_softmax(y_tilde, dim=1)).sum(1).mean()
        want = torch.autograd.grad(loss, params)
        with torch.no_grad():
            h_tilde, h, _, y_hat = _mnist_reference(w1, b1, w2, b2, x)
        got = _four(_call("backward_pass(x, y, h_tilde, h, y_hat, w2)", backward_pass,
                          x.clone(), y.clone(), h_tilde.clone(), h.clone(), y_hat.clone(),
                          w2.clone()),
                    "backward_pass", names)
        hints = {
            "dw1": "dh_tilde = (dy_tilde @ w2) * (1 - h**2): the tanh derivative is written with "
                   "the output h. Then dw1 = dh_tilde.T @ x.",
            "db1": "b1 was added to every sample: db1 sums dh_tilde over the batch dimension.",
            "dw2": "The loss is the mean over the batch: dy_tilde = (y_hat - y) / n; dw2 = "
                   "dy_tilde.T @ h.",
            "db2": "b2 was added to every sample: db2 sums dy_tilde over the batch dimension.",
        }
        for i in order:
            _compare(got[i], want[i], f"{names[i]} for a batch of {n}",
                     f"Gradients of the mean cross-entropy over the batch. {hints[names[i]]}")
