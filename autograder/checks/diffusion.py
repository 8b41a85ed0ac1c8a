"""Probes and judges of session 6 (1D and 2D diffusion), with PyTorch float64 as the oracle.

The student's functions are called on inputs made from the exercise's seed; wherever a
network is needed the probe supplies a fixed one (``known_model``) that the judge rebuilds, so
that losses, training steps and whole sampling trajectories can be recomputed exactly: the
sampler gets its starting point and every noise as tensors, the training step a seeded
generator. The student's ``PREDICTS`` ("eps" or "x0") is observed and the references follow
it, so the x0-parameterisation with its matching sampler is a correct answer too.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from autograder.checks import Fail, compare, expect, judge, kernel, maxdiff, number, probe
from autograder.probe_runtime import StudentError, call, need

SESSION = "06_diffusion"
F64 = torch.float64


# --- both sides --------------------------------------------------------------------------------

@kernel
def gen(seed):
    return torch.Generator().manual_seed(seed)


@kernel
def plain(value):
    """A tensor detached (observations carry no graph); anything else unchanged."""
    return value.detach() if isinstance(value, torch.Tensor) else value


@kernel
def predicts(ns):
    """The notebook's PREDICTS setting, as observed (the judge validates it)."""
    mode = ns.get("PREDICTS", "eps")
    return mode if isinstance(mode, str) else type(mode).__name__


@kernel
def known_model(seed, dim, mode="eps", alphas_cumprod=None, grad_shift=0.0):
    """A fixed network of (x, t): its noise estimate, or the matching x0 estimate in "x0" mode.

    Its parameters are float64; it computes in the dtype of ``x``. Called with gradients on, its
    noise estimate moves by ``grad_shift``: what a sampler computes shows whether it ran under
    ``torch.no_grad()``.
    """
    g = gen(seed)
    weight = torch.randn(dim + 2, dim, generator=g, dtype=torch.float64) * 0.7
    bias = torch.randn(dim, generator=g, dtype=torch.float64) * 0.2

    class Known(nn.Module):
        def __init__(self):
            super().__init__()
            self.W = nn.Parameter(weight.clone())
            self.b = nn.Parameter(bias.clone())

        def forward(self, x, t):
            t = torch.as_tensor(t, device=x.device).long()  # a step per sample, or one for all
            t = t.expand(len(x)) if t.dim() == 0 else t
            steps = t.to(x.dtype)[:, None]  # (B, 1)
            feats = torch.cat([x, torch.sin(0.3 * steps), torch.cos(0.037 * steps)], dim=1)
            eps = torch.tanh(feats @ self.W.to(x.dtype) + self.b.to(x.dtype))  # (B, D)
            if torch.is_grad_enabled():
                eps = eps + grad_shift
            if mode != "x0":
                return eps
            abar = alphas_cumprod.to(x.dtype)[t][:, None]  # (B, 1)
            return (x - (1 - abar).sqrt() * eps) / abar.sqrt()

    return Known()


# --- normalise ---------------------------------------------------------------------------------

@kernel
def normalise_inputs(seed):
    """Correlated 2-D data with features on very different scales, 1-D data, and an inverse case."""
    g = gen(seed)
    n = 40 + seed % 40
    scale = torch.tensor([3.0, 0.2]) * (1 + torch.rand(2, generator=g))
    shift = torch.tensor([5.0, -2.0]) + torch.randn(2, generator=g)
    x2 = (torch.randn(n, 2, generator=g) @ torch.tensor([[1.0, 0.0], [0.6, 1.0]])) * scale + shift
    x1 = 4.0 + 2.5 * torch.randn(n, 1, generator=g)
    z = torch.randn(7, 2, generator=g)
    mu, sigma = torch.randn(2, generator=g) * 3, torch.rand(2, generator=g) + 0.5
    return x2, x1, z, mu, sigma


@probe("normalise")
def probe_normalise(ns, seed):
    standardise, unstandardise = need(ns, "standardise", "unstandardise")
    x2, x1, z, mu, sigma = normalise_inputs(seed)
    out = {}
    for key, data in (("2d", x2), ("1d", x1)):
        result = call(f"standardise(x) for x of shape {tuple(data.shape)}", standardise,
                      data.clone())
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            raise StudentError("standardise(x) must return three values: (z, mu, sigma)")
        out[key] = [plain(r) for r in result]
    out["back"] = plain(call("unstandardise(z, mu, sigma)", unstandardise, z.clone(),
                             mu.clone(), sigma.clone()))
    return out


@judge("normalise")
def judge_normalise(obs, seed):
    x2, x1, z, mu, sigma = normalise_inputs(seed)
    for key, data in (("2d", x2), ("1d", x1)):
        got_z, got_mu, got_sigma = obs[key]
        what = f"standardise(x) for x of shape {tuple(data.shape)}"
        d = data.shape[1]
        for name, got in (("mu", got_mu), ("sigma", got_sigma)):
            expect(isinstance(got, torch.Tensor) and got.numel() == d,
                   f"{what}: {name} must be a tensor of {d} value(s), one per feature (shape "
                   f"({d},)); got {_shape(got)}. Reduce over the samples: dim=0.")
        x = data.double()
        mean = x.mean(0)
        compare(got_mu.reshape(d), mean, f"{what}: mu", "mu is the mean of each feature.",
                rtol=1e-5, atol=1e-5)
        stds = (x.std(0), x.std(0, unbiased=False))  # either estimate is a standardisation
        expect(any(torch.allclose(got_sigma.reshape(d).double(), s, rtol=1e-4, atol=1e-6)
                   for s in stds),
               f"{what}: sigma is not the standard deviation of each feature (dim=0).")
        want = (x - mean) / got_sigma.reshape(d).double()
        compare(got_z, want, f"{what}: z", "z = (x - mu) / sigma, feature by feature: mean 0 "
                "and standard deviation 1 in every column.", rtol=1e-4, atol=1e-5)
    compare(obs["back"], z.double() * sigma.double() + mu.double(), "unstandardise(z, mu, sigma)",
            "The inverse of standardise: z * sigma + mu.", rtol=1e-5, atol=1e-5)


def _shape(x):
    return f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__


# --- schedule ----------------------------------------------------------------------------------

SCHEDULE_KEYS = ("betas", "alphas", "alphas_cumprod", "alphas_cumprod_prev", "posterior_variance")


@kernel
def schedule_inputs(seed):
    g = gen(seed)
    T = 20 + seed % 30
    betas = (torch.rand(T, generator=g, dtype=torch.float64) * 0.2 + 1e-3).sort().values
    return T, betas


@probe("schedule")
def probe_schedule(ns, seed):
    linear_betas, cosine_betas, make_schedule = need(ns, "linear_betas", "cosine_betas",
                                                     "make_schedule")
    T, betas = schedule_inputs(seed)
    sched = call(f"make_schedule(betas) for {T} random betas", make_schedule, betas.clone())
    if not isinstance(sched, dict):
        raise StudentError(f"make_schedule must return a dict, got {type(sched).__name__}")
    keys = ("betas", "alphas", "alphas_cumprod", "alphas_cumprod_prev", "posterior_variance")
    return {
        "sched": {k: plain(sched.get(k)) for k in keys},
        "linear": plain(call(f"linear_betas({T})", linear_betas, T)),
        "linear_custom": plain(call(f"linear_betas({T}, 0.001, 0.05)", linear_betas, T, 0.001,
                                    0.05)),
        "cosine": plain(call(f"cosine_betas({T})", cosine_betas, T)),
        "cosine_long": plain(call("cosine_betas(1000)", cosine_betas, 1000)),
    }


def reference_schedule(betas):
    alphas = 1 - betas
    abar = torch.cumprod(alphas, 0)
    prev = torch.cat([abar.new_ones(1), abar[:-1]])
    return {"betas": betas, "alphas": alphas, "alphas_cumprod": abar, "alphas_cumprod_prev": prev,
            "posterior_variance": betas * (1 - prev) / (1 - abar)}


def reference_cosine(T, s=0.008):
    steps = torch.arange(T + 1, dtype=F64)
    f = torch.cos((steps / T + s) / (1 + s) * math.pi / 2) ** 2
    abar = f / f[0]
    return (1 - abar[1:] / abar[:-1]).clamp(max=0.999)


SCHEDULE_HINTS = {
    "betas": "Keep the betas it was given.",
    "alphas": "alpha_t = 1 - beta_t.",
    "alphas_cumprod": "alpha-bar is the cumulative product of the alphas: torch.cumprod(alphas, 0).",
    "alphas_cumprod_prev": "alpha-bar of the step before: the array shifted right by one, with 1 in "
                           "front (index 0 has no step before it) and the last value dropped.",
    "posterior_variance": "posterior variance = beta_t (1 - alpha-bar_{t-1}) / (1 - alpha-bar_t), "
                          "with alphas_cumprod_prev for alpha-bar_{t-1}.",
}


@judge("schedule")
def judge_schedule(obs, seed):
    T, betas = schedule_inputs(seed)
    want = reference_schedule(betas)
    for key in SCHEDULE_KEYS:
        got = obs["sched"][key]
        expect(got is not None, f"make_schedule(betas): the dict has no key {key!r}")
        compare(got, want[key], f"make_schedule(betas)[{key!r}] for {T} random betas",
                SCHEDULE_HINTS[key], rtol=1e-5, atol=1e-8)
    compare(obs["linear"], torch.linspace(1e-4, 0.02, T, dtype=F64), f"linear_betas({T})",
            "T values evenly spaced from beta_1 = 1e-4 to beta_T = 0.02, both included "
            "(torch.linspace).", rtol=1e-5, atol=1e-9)
    compare(obs["linear_custom"], torch.linspace(1e-3, 0.05, T, dtype=F64),
            f"linear_betas({T}, 0.001, 0.05)", "Use the arguments beta_1 and beta_T.",
            rtol=1e-5, atol=1e-9)
    hint = ("alpha-bar_t = f(t) / f(0) for t = 0..T with f(t) = cos((t/T + s)/(1 + s) * pi/2)^2, "
            "beta_t = 1 - alpha-bar_t / alpha-bar_{t-1} for t = 1..T, clipped at 0.999.")
    compare(obs["cosine"], reference_cosine(T), f"cosine_betas({T})", hint, rtol=1e-4, atol=1e-7)
    compare(obs["cosine_long"], reference_cosine(1000), "cosine_betas(1000)", hint, rtol=1e-4,
            atol=1e-7)


# --- forward noising ---------------------------------------------------------------------------

@kernel
def noising_inputs(seed):
    """A decreasing alpha-bar (T,) float32, and (x0, t, noise) in 1-D and 2-D, t = 0 and T-1 included."""
    g = gen(seed)
    T = 30 + seed % 20
    abar = torch.cumprod(1 - (torch.rand(T, generator=g) * 0.1 + 0.01), 0)  # (T,)
    cases = []
    for dim, batch in ((1, 16), (2, 12)):
        x0 = torch.randn(batch, dim, generator=g) * 2 + 1  # (B, D)
        t = torch.randint(0, T, (batch,), generator=g)  # (B,)
        t[0], t[1] = 0, T - 1
        noise = torch.randn(batch, dim, generator=g)  # (B, D)
        cases.append((x0, t, noise))
    return abar, cases


@probe("forward_noising")
def probe_forward_noising(ns, seed):
    q_sample = need(ns, "q_sample")
    abar, cases = noising_inputs(seed)
    return {"out": [plain(call(f"q_sample(x0, t, noise, alphas_cumprod) for x0 of shape "
                               f"{tuple(x0.shape)}", q_sample, x0.clone(), t.clone(),
                               noise.clone(), abar.clone()))
                    for x0, t, noise in cases]}


@judge("forward_noising")
def judge_forward_noising(obs, seed):
    abar, cases = noising_inputs(seed)
    expect(isinstance(obs["out"], list) and len(obs["out"]) == len(cases), "malformed observation")
    for got, (x0, t, noise) in zip(obs["out"], cases):
        a = abar.double()[t][:, None]  # (B, 1)
        want = a.sqrt() * x0.double() + (1 - a).sqrt() * noise.double()
        compare(got, want, f"q_sample(x0, t, noise, alphas_cumprod) for x0 of shape "
                f"{tuple(x0.shape)}", "x_t = sqrt(alpha-bar_t) * x0 + sqrt(1 - alpha-bar_t) * "
                "noise, with alphas_cumprod[t] for each sample (index t itself: t = 0 is the first "
                "step), broadcast over the features.", rtol=1e-5, atol=1e-6)


# --- time embedding ----------------------------------------------------------------------------

@kernel
def embedding_inputs(seed):
    t = torch.randint(0, 1000, (9,), generator=gen(seed))
    t[0] = 0
    return t


@probe("time_embedding")
def probe_time_embedding(ns, seed):
    sinusoidal_embedding = need(ns, "sinusoidal_embedding")
    t = embedding_inputs(seed)
    return {str(dim): plain(call(f"sinusoidal_embedding(t, {dim})", sinusoidal_embedding,
                                 t.clone(), dim))
            for dim in (16, 32)}


def embedding_conventions(t, dim):
    """The usual layouts of the same sines and cosines (which one comes first, interleaved)."""
    half = dim // 2
    out = []
    for denominator in (half, half - 1):
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=F64) / denominator)
        angles = t.double()[:, None] * freqs[None, :]
        s, c = torch.sin(angles), torch.cos(angles)
        out += [torch.cat([s, c], 1), torch.cat([c, s], 1),
                torch.stack([s, c], 2).reshape(len(t), dim),
                torch.stack([c, s], 2).reshape(len(t), dim)]
    return out


@judge("time_embedding")
def judge_time_embedding(obs, seed):
    t = embedding_inputs(seed)
    for dim in (16, 32):
        got = obs[str(dim)]
        what = f"sinusoidal_embedding(t, {dim}) for t of shape {tuple(t.shape)}"
        expect(isinstance(got, torch.Tensor) and tuple(got.shape) == (len(t), dim),
               f"{what} must be a tensor of shape {(len(t), dim)}, got {_shape(got)}")
        expect(got.is_floating_point() and bool(torch.isfinite(got).all()),
               f"{what} must hold finite floats")
        expect(any(torch.allclose(got.double(), ref, atol=2e-3, rtol=0)
                   for ref in embedding_conventions(t, dim)),
               f"{what} is not the sinusoidal embedding: sin(t * w_i) for the first half and "
               "cos(t * w_i) for the second, w_i = exp(-ln(10000) * i / (dim / 2)), "
               "i = 0..dim/2 - 1, with t the step itself (not divided by T).")


# --- the noise predictor -----------------------------------------------------------------------

@kernel
def reset_parameters(model, seed):
    """Parameters from the seed (never the student's initialisation): matrices ~ 1/sqrt(fan-in)."""
    g = gen(seed)
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p.shape[-1] if p.dim() > 1 else 1
            scale = 1.0 / math.sqrt(fan_in) if p.dim() > 1 else 0.3
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64).to(p.dtype) * scale)


@kernel
def eps_inputs(seed, dim):
    """Inputs (x, t), a batch order, other steps, a weighting r of the outputs and a step size."""
    g = gen(seed + 10 * dim)
    x = torch.randn(64, dim, generator=g)  # (B, D)
    t = torch.randint(0, 1000, (64,), generator=g)  # (B,)
    order = torch.randperm(64, generator=g)  # (B,)
    other_t = (t + 1 + torch.randint(0, 998, (64,), generator=g)) % 1000  # (B,), never t
    r = torch.randn(64, dim, generator=g)  # (B, D)
    return x, t, order, other_t, r, 1e-3


@kernel
def eps_directions(seed, dim, shapes):
    """Two directions to move the parameters along: each a tensor per parameter (of the given
    shapes, in order)."""
    g = gen(seed + 100 + dim)
    return [[torch.randn(shape, generator=g, dtype=torch.float64) for shape in shapes]
            for _ in range(2)]


@probe("eps_model")
def probe_eps_model(ns, seed):
    EpsNet = need(ns, "EpsNet")
    out = {}
    for dim in (1, 2):
        torch.manual_seed(seed + dim)
        model = call(f"EpsNet({dim}, hidden=32, emb_dim=16)", EpsNet, dim, hidden=32, emb_dim=16)
        if not isinstance(model, nn.Module):
            raise StudentError(f"EpsNet(...) must be a torch.nn.Module, got {type(model).__name__}")
        params = list(model.parameters())
        if not params:
            raise StudentError("EpsNet has no parameters: it cannot learn")
        reset_parameters(model, seed + dim)
        x, t, order, other_t, r, step = eps_inputs(seed, dim)

        def run(what, xs, ts):
            return call(what, model, xs.clone(), ts.clone())

        y = run("model(x, t)", x, t)
        if not isinstance(y, torch.Tensor):
            raise StudentError(f"model(x, t) must return a tensor, got {type(y).__name__}")
        call("backward() through model(x, t)", lambda: (y.double() * r.double()).sum().backward())
        obs = {"y": plain(y), "shapes": [list(p.shape) for p in params],
               "grads": [plain(p.grad) for p in params],
               "again": plain(run("model(x, t) again", x, t)),
               "shuffled": plain(run("model(x, t) on the batch shuffled", x[order], t[order])),
               "alone": plain(run("model(x[:3], t[:3])", x[:3], t[:3])),
               "other_t": plain(run("model(x, other t)", x, other_t)),
               "other_x": plain(run("model(x + 0.5, t)", x + 0.5, t))}
        initial = [p.detach().clone() for p in params]
        obs["moved"] = []
        for direction in eps_directions(seed, dim, [p.shape for p in params]):
            pair = []
            for sign in (1, -1):  # the parameters + step * d, then - step * d
                with torch.no_grad():
                    for p, p0, d in zip(params, initial, direction):
                        p.copy_(p0 + (sign * step * d).to(p.dtype))
                pair.append(plain(run("model(x, t) with other parameters", x, t)))
            obs["moved"].append(pair)
        out[str(dim)] = obs
    return out


@judge("eps_model")
def judge_eps_model(obs, seed):
    for dim in (1, 2):
        o = obs[str(dim)]
        what = f"EpsNet({dim})(x, t) for x of shape (64, {dim})"
        x, t, order, other_t, r, step = eps_inputs(seed, dim)
        y = o["y"]
        expect(isinstance(y, torch.Tensor) and tuple(y.shape) == (64, dim),
               f"{what} must return the shape of x, (64, {dim}); got {_shape(y)}")
        expect(y.is_floating_point() and bool(torch.isfinite(y).all()),
               f"{what} must return finite floats")
        y = y.double()
        outputs = {}
        moved = o["moved"]
        expect(isinstance(moved, list) and len(moved) == 2
               and all(isinstance(m, list) and len(m) == 2 for m in moved), "malformed observation")
        for key, shape, got in (("again", (64, dim), o["again"]),
                                ("shuffled", (64, dim), o["shuffled"]),
                                ("alone", (3, dim), o["alone"]),
                                ("other_t", (64, dim), o["other_t"]),
                                ("other_x", (64, dim), o["other_x"]),
                                ("plus0", (64, dim), moved[0][0]), ("minus0", (64, dim), moved[0][1]),
                                ("plus1", (64, dim), moved[1][0]), ("minus1", (64, dim), moved[1][1])):
            expect(isinstance(got, torch.Tensor) and tuple(got.shape) == shape
                   and got.is_floating_point() and bool(torch.isfinite(got).all()),
                   f"{what}: an output of another call has {_shape(got)}, expected {shape}")
            outputs[key] = got.double()
        scale = y.abs().max().item()

        def same(a, b):
            return (a - b).abs().max().item() <= 1e-4 * scale + 1e-5

        expect(same(outputs["again"], y), f"{what}: the same (x, t) gave another output on a "
               "second call. The output must be a function of (x, t): no randomness in forward.")
        expect(same(outputs["shuffled"], y[order]) and same(outputs["alone"], y[:3]),
               f"{what}: the output of a sample changes with the other samples of the batch. "
               "Each sample on its own: no batch normalisation, no mixing across the batch.")
        changed_t = (outputs["other_t"] - y).abs().amax(1)  # (B,)
        expect(bool((changed_t > 1e-6 + 1e-4 * scale).double().mean() > 0.5),
               f"{what}: the output does not change with t. The network must be told the step: "
               "feed it sinusoidal_embedding(t, emb_dim) (concatenated with x, for instance).")
        changed_x = (outputs["other_x"] - y).abs().amax(1)  # (B,)
        expect(bool((changed_x > 1e-6 + 1e-4 * scale).double().mean() > 0.5),
               f"{what}: the output does not change with x.")
        shapes, grads = o["shapes"], o["grads"]
        expect(isinstance(shapes, list) and isinstance(grads, list) and shapes
               and len(shapes) == len(grads) and all(
                   isinstance(s, list) and all(type(n) is int and n >= 0 for n in s)
                   for s in shapes), "malformed observation")
        expect(sum(math.prod(s) for s in shapes) <= 10**6, f"{what}: the network has over a "
               "million parameters with hidden=32: keep it small.")
        grads = [torch.zeros(s, dtype=F64) if g is None else g for g, s in zip(grads, shapes)]
        expect(all(isinstance(g, torch.Tensor) and list(g.shape) == s
                   for g, s in zip(grads, shapes)), "malformed observation")
        norm = math.sqrt(sum((g.double() ** 2).sum().item() for g in grads))
        expect(norm > 1e-6, f"{what}: backward() through the output reaches no parameter.")
        for k, direction in enumerate(eps_directions(seed, dim, [tuple(s) for s in shapes])):
            # sum(r * model(x, t)) along the direction: its slope from the gradients, then as
            # the outputs moved (central difference); the slope is of the order of norm
            slope = sum((g.double() * d).sum().item() for g, d in zip(grads, direction))
            change = ((outputs[f"plus{k}"] - outputs[f"minus{k}"]) * r.double()).sum().item()
            expect(abs(change / (2 * step) - slope) <= 0.02 * norm + 1e-3,
                   f"{what}: the gradients of the parameters do not match how the output "
                   "changes with them. Compute the output from the module's own parameters, "
                   "with torch operations only (no .detach(), no numpy).")


# --- the training loss -------------------------------------------------------------------------

@kernel
def loss_inputs(seed, dim, batch):
    g = gen(seed)
    T = 25 + seed % 20
    abar = torch.cumprod(1 - (torch.rand(T, generator=g) * 0.15 + 0.01), 0)  # (T,) float32
    x0 = torch.randn(batch, dim, generator=g) * 1.5  # (B, D)
    t = torch.randint(0, T, (batch,), generator=g)  # (B,)
    t[0], t[1] = 0, T - 1
    noise = torch.randn(batch, dim, generator=g)  # (B, D)
    return abar, x0, t, noise


@probe("diffusion_loss")
def probe_diffusion_loss(ns, seed):
    diffusion_loss = need(ns, "diffusion_loss")
    out = {"predicts": predicts(ns), "cases": []}
    for k, (dim, batch) in enumerate(((1, 32), (2, 24))):
        abar, x0, t, noise = loss_inputs(seed + k, dim, batch)
        model = known_model(seed + k, dim)
        loss = call(f"diffusion_loss(model, x0, t, noise, alphas_cumprod) for x0 of shape "
                    f"{tuple(x0.shape)}", diffusion_loss, model, x0.clone(), t.clone(),
                    noise.clone(), abar.clone())
        if not isinstance(loss, torch.Tensor):
            raise StudentError(f"diffusion_loss must return a tensor (that backward() goes "
                               f"through), got {type(loss).__name__}")
        grads = None
        if loss.requires_grad and loss.numel() == 1:
            call("loss.backward()", loss.backward)
            grads = [plain(model.W.grad), plain(model.b.grad)]
        out["cases"].append({"loss": plain(loss), "grads": grads})
    return out


def _mode(obs) -> str:
    mode = obs["predicts"]
    expect(mode in ("eps", "x0"), f'PREDICTS must be "eps" or "x0", got {str(mode)[:20]!r}')
    return mode


@judge("diffusion_loss")
def judge_diffusion_loss(obs, seed):
    mode = _mode(obs)
    expect(isinstance(obs["cases"], list) and len(obs["cases"]) == 2, "malformed observation")
    for k, ((dim, batch), case) in enumerate(zip(((1, 32), (2, 24)), obs["cases"])):
        abar, x0, t, noise = loss_inputs(seed + k, dim, batch)
        model = known_model(seed + k, dim)
        a = abar[t][:, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        target = noise if mode == "eps" else x0
        want = ((model(xt, t) - target) ** 2).mean()
        want.backward()
        what = f"diffusion_loss(model, x0, t, noise, alphas_cumprod) for x0 of shape {(batch, dim)}"
        got = case["loss"]
        expect(isinstance(got, torch.Tensor) and got.numel() == 1,
               f"{what} must be a scalar tensor, got {_shape(got)}")
        target_name = "the noise" if mode == "eps" else "x0 (PREDICTS is \"x0\")"
        compare(got.reshape(()), want.detach().double(), what,
                f"The mean over every element of (model(x_t, t) - target)^2, with x_t = "
                f"q_sample(x0, t, noise, alphas_cumprod) fed to the model and {target_name} as "
                "the target.", rtol=1e-4, atol=1e-7)
        expect(case["grads"] is not None, f"{what}: backward() cannot go through the loss "
               "(it must stay a tensor of the graph: no .item(), no .detach()).")
        for name, g, p in zip(("W", "b"), case["grads"], (model.W, model.b)):
            compare(g, p.grad, f"{what}: the gradient of the model's {name}",
                    "The loss must come from the model's output on x_t.", rtol=1e-3, atol=1e-6)


# --- the sampler -------------------------------------------------------------------------------

@kernel
def sampler_inputs(seed, dim, clipped):
    """A schedule (T short), x_T and every noise, float64. ``clipped``: the variance of index 0
    is replaced by that of index 1 (as improved DDPM does), so noise at the last step shows."""
    g = gen(seed)
    T = 12 + seed % 10
    betas = torch.linspace(1e-3, 0.3, T, dtype=torch.float64) * (0.8 + 0.4 * torch.rand(
        1, generator=g, dtype=torch.float64))
    alphas = 1 - betas
    abar = torch.cumprod(alphas, 0)
    prev = torch.cat([abar.new_ones(1), abar[:-1]])
    variance = betas * (1 - prev) / (1 - abar)
    if clipped:
        variance = torch.cat([variance[1:2], variance[1:]])
    sched = {"betas": betas, "alphas": alphas, "alphas_cumprod": abar,
             "alphas_cumprod_prev": prev, "posterior_variance": variance}
    n = 24
    x_T = torch.randn(n, dim, generator=g, dtype=torch.float64)  # (N, D)
    noises = torch.randn(T, n, dim, generator=g, dtype=torch.float64)  # (T, N, D)
    return sched, x_T, noises


SAMPLER_CASES = ((1, False), (2, True))


@probe("sampler")
def probe_sampler(ns, seed):
    sample = need(ns, "sample")
    mode = predicts(ns)
    out = {"predicts": mode, "trajectories": []}
    for k, (dim, clipped) in enumerate(((1, False), (2, True))):
        sched, x_T, noises = sampler_inputs(seed + k, dim, clipped)
        model = known_model(seed + k, dim, mode, sched["alphas_cumprod"], grad_shift=0.5)
        trajectory = call(f"sample(model, x_T, noises, sched) for x_T of shape "
                          f"{tuple(x_T.shape)}", sample, model, x_T.clone(), noises.clone(),
                          {key: v.clone() for key, v in sched.items()})
        out["trajectories"].append(plain(trajectory))
    return out


def reference_trajectory(sched, x_T, noises, model, grad=False):
    x, out = x_T, [x_T]
    with torch.set_grad_enabled(grad):
        for t in reversed(range(len(sched["betas"]))):
            eps = model(x, torch.full((len(x),), t, dtype=torch.long))
            beta, alpha, abar = sched["betas"][t], sched["alphas"][t], sched["alphas_cumprod"][t]
            x = (x - beta / (1 - abar).sqrt() * eps) / alpha.sqrt()
            if t > 0:
                x = x + sched["posterior_variance"][t].sqrt() * noises[t]
            out.append(x)
    return torch.stack(out)


@judge("sampler")
def judge_sampler(obs, seed):
    _mode(obs)  # the probe gave an x0-predictor in "x0" mode: the trajectory is the same
    expect(isinstance(obs["trajectories"], list) and len(obs["trajectories"]) == 2,
           "malformed observation")
    for k, ((dim, clipped), got) in enumerate(zip(SAMPLER_CASES, obs["trajectories"])):
        sched, x_T, noises = sampler_inputs(seed + k, dim, clipped)
        want = reference_trajectory(sched, x_T, noises, known_model(seed + k, dim))
        T, n = len(sched["betas"]), len(x_T)
        what = f"sample(model, x_T, noises, sched) with T = {T} and x_T of shape {(n, dim)}"
        expect(isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(want.shape),
               f"{what} must return the trajectory x_T, ..., x_0 as one tensor of shape "
               f"{(T + 1, n, dim)}, got {_shape(got)}. One step per index t = T-1, ..., 0.")
        bad = [i for i in range(T + 1)
               if not torch.allclose(got[i].double(), want[i], rtol=1e-4, atol=1e-6)]
        if not bad:
            continue
        first = bad[0]
        with_grad = reference_trajectory(sched, x_T, noises, known_model(seed + k, dim, grad_shift=0.5),
                                         grad=True).detach()
        if torch.allclose(got.double(), with_grad, rtol=1e-4, atol=1e-6):
            raise Fail(f"{what}: the sampler ran with gradients on. It needs none: decorate it "
                       "with @torch.no_grad() (as the statement asks).")
        if first == 0:
            raise Fail(f"{what}: trajectory[0] must be x_T itself.")
        if first == T and clipped:
            raise Fail(f"{what}: every step is right but the last. No noise at the last step "
                       "(index t = 0): x_0 is the mean.")
        raise Fail(f"{what}: trajectory[{first}] (x at index t = {T - first}) is wrong, the steps "
                   "before it are right. x_(t-1) = (x_t - beta_t / sqrt(1 - alpha-bar_t) * "
                   "model(x_t, t)) / sqrt(alpha_t) + sqrt(posterior_variance[t]) * noises[t], with "
                   "t the array index (T-1 down to 0) for both the model and the schedule, and no "
                   "other randomness.")


# --- 2-D: the Gaussian baseline ----------------------------------------------------------------

@kernel
def baseline_inputs(seed, dim):
    """Correlated data (N, D) with unequal scales: a diagonal or transposed factor shows."""
    g = gen(seed)
    n = 400
    mix = torch.tril(torch.randn(dim, dim, generator=g) * 0.8) + torch.diag(
        torch.tensor([2.0, 0.5, 1.0][:dim]))
    data = torch.rand(n, dim, generator=g) @ mix.T * 3 + torch.randn(dim, generator=g)  # (N, D)
    return data


@probe("gaussian_baseline")
def probe_gaussian_baseline(ns, seed):
    gaussian_baseline = need(ns, "gaussian_baseline")
    out = {}
    for dim in (2, 3):
        data = baseline_inputs(seed + dim, dim)
        what = f"gaussian_baseline(data, 20000, generator) for data of shape {tuple(data.shape)}"
        fake = call(what, gaussian_baseline, data.clone(), 20000, gen(seed))
        if not isinstance(fake, torch.Tensor) or tuple(fake.shape) != (20000, dim):
            raise StudentError(f"must return a tensor of shape (20000, {dim}), got "
                               f"{tuple(fake.shape) if isinstance(fake, torch.Tensor) else type(fake).__name__}",
                               what)
        again = call(what, gaussian_baseline, data.clone(), 20000, gen(seed))
        other = call(what, gaussian_baseline, data.clone(), 20000, gen(seed + 1))
        out[str(dim)] = {"samples": plain(fake).float(),  # (20000, D)
                         "again": plain(again[:500]) if isinstance(again, torch.Tensor) else None,
                         "other": plain(other[:500]) if isinstance(other, torch.Tensor) else None}
    return out


def _whitened_kurtosis(samples, mean, cov):
    """The kurtosis of each coordinate of the samples whitened by the data's mean and covariance
    (3 for a Gaussian; about 1.8 for the uniform mixtures the data are made of)."""
    z = torch.linalg.solve_triangular(torch.linalg.cholesky(cov), (samples - mean).T,
                                      upper=False).T  # (n, D)
    z = z - z.mean(0)
    return (z ** 4).mean(0) / (z ** 2).mean(0) ** 2  # (D,)


@judge("gaussian_baseline")
def judge_gaussian_baseline(obs, seed):
    n = 20000
    for dim in (2, 3):
        o = obs[str(dim)]
        data = baseline_inputs(seed + dim, dim).double()
        what = f"gaussian_baseline(data, {n}, generator) for data of shape {tuple(data.shape)}"
        fake = o["samples"]
        expect(isinstance(fake, torch.Tensor) and tuple(fake.shape) == (n, dim)
               and bool(torch.isfinite(fake).all()),
               f"{what} must return finite samples of shape {(n, dim)}, got {_shape(fake)}")
        fake = fake.double()
        again, other = o["again"], o["other"]
        same = isinstance(again, torch.Tensor) and tuple(again.shape) == (500, dim) and (
            maxdiff(again, fake[:500]) <= 1e-5 * (1 + fake[:500].abs().max().item()))
        differs = isinstance(other, torch.Tensor) and tuple(other.shape) == (500, dim) and (
            maxdiff(other, fake[:500]) > 1e-3)
        expect(same and differs,
               f"{what}: draw every random number from the generator it is given (same seed, "
               "same samples; another seed, other samples).")
        nearest = torch.cdist(fake[:200], data).min(dim=1).values  # (200,)
        expect(not bool((nearest < 1e-6).any()),
               f"{what}: the samples are points of the data set. Sample the fitted Gaussian "
               "mu + L z, z ~ N(0, I).")
        mean, cov = data.mean(0), torch.cov(data.T)
        sd = cov.diagonal().sqrt()
        tol_mean = 5 * sd / math.sqrt(n)  # five standard errors
        tol_cov = 5 * torch.sqrt((sd[:, None] ** 2 * sd[None, :] ** 2 + cov ** 2) / n) + 0.01 * cov.abs()
        expect(bool(((fake.mean(0) - mean).abs() <= tol_mean).all()),
               f"{what}: the samples' mean is not the data's mean.")
        expect(bool(((torch.cov(fake.T) - cov).abs() <= tol_cov).all()),
               f"{what}: the samples' covariance is not the data's. The full covariance (not "
               "only its diagonal), its Cholesky factor L (cov = L L^T), and x = mu + L z: for a "
               "batch of rows z (n, D) that is z @ L.T.")
        expect(bool(((_whitened_kurtosis(fake, mean, cov) - 3).abs() < 0.35).all()),
               f"{what}: the samples have the data's mean and covariance but are not Gaussian "
               "(z must come from torch.randn, not from the data or torch.rand).")


# --- 2-D: a replayable training step -----------------------------------------------------------

@kernel
def step_inputs(seed):
    g = gen(seed)
    T = 20 + seed % 15
    abar = torch.cumprod(1 - (torch.rand(T, generator=g) * 0.15 + 0.01), 0)  # (T,) float32
    x0 = torch.randn(16, 2, generator=g)  # (B, 2)
    return abar, x0


@probe("diffusion_2d")
def probe_diffusion_2d(ns, seed):
    train_step = need(ns, "train_step")
    abar, x0 = step_inputs(seed)
    model = known_model(seed, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    g = gen(seed + 1)
    losses = [call("train_step(model, optimizer, x0, alphas_cumprod, generator)", train_step,
                   model, optimizer, x0.clone(), abar.clone(), g) for _ in range(3)]
    return {"predicts": predicts(ns), "losses": [plain(v) for v in losses],
            "W": plain(model.W), "b": plain(model.b)}


def replay_training(seed, mode, noise_first, noise_dtype):
    abar, x0 = step_inputs(seed)
    model = known_model(seed, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    g = gen(seed + 1)
    losses = []
    for _ in range(3):
        if noise_first:
            noise = torch.randn(x0.shape, generator=g, dtype=noise_dtype)
            t = torch.randint(0, len(abar), (len(x0),), generator=g)
        else:
            t = torch.randint(0, len(abar), (len(x0),), generator=g)
            noise = torch.randn(x0.shape, generator=g, dtype=noise_dtype)
        noise = noise.to(x0.dtype)
        a = abar[t][:, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        loss = ((model(xt, t) - (noise if mode == "eps" else x0)) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, model


@judge("diffusion_2d")
def judge_diffusion_2d(obs, seed):
    mode = _mode(obs)
    what = "train_step(model, optimizer, x0, alphas_cumprod, generator), three steps"
    losses = obs["losses"]
    expect(isinstance(losses, list) and len(losses) == 3, "malformed observation")
    got = [number(v, "the value train_step returns (the loss)") for v in losses]
    for noise_first in (False, True):  # t then the noise, as asked; the other order is as good
        for dtype in (torch.float32, F64):
            want, model = replay_training(seed, mode, noise_first, dtype)
            if all(abs(a - b) <= 1e-5 + 1e-4 * abs(b) for a, b in zip(got, want)):
                compare(obs["W"], model.W.detach(), f"{what}: the model's parameters after them",
                        "Zero the gradients before backward(), then optimizer.step(), once per "
                        "call.", rtol=1e-4, atol=1e-6)
                compare(obs["b"], model.b.detach(), f"{what}: the model's parameters after them",
                        "Zero the gradients before backward(), then optimizer.step().",
                        rtol=1e-4, atol=1e-6)
                return
    hint = ("Draw t = torch.randint(0, T, (B,), generator=generator) with T = "
            "len(alphas_cumprod) (steps 0..T-1), then noise = torch.randn(x0.shape, "
            "generator=generator), nothing else from any generator; the loss is "
            "diffusion_loss(model, x0, t, noise, alphas_cumprod), returned as a float before "
            "the update")
    if abs(got[0] - replay_training(seed, mode, False, torch.float32)[0][0]) <= 1e-5 + 1e-4 * abs(got[0]):
        hint = ("The first step is right, the next ones are not: zero the gradients at every "
                "step (optimizer.zero_grad()) before loss.backward()")
    raise Fail(f"{what}: the losses returned are not those of the steps asked for. {hint}.")
