"""The hidden checks of session 6 pass on correct answers and fail on typical mistakes."""

import pytest

from autograder.checks import exercises
from tests.notebook_exec import failing as failing_exercises
from tests.notebook_exec import namespace

SESSION = "06_diffusion"


def failing(ns):
    """The exercises whose judged probe fails on ``ns``, with their messages."""
    return failing_exercises(SESSION, ns)


@pytest.fixture(scope="module")
def solution():
    return namespace(SESSION, solutions_only=True)


def test_solution_passes_every_check(solution):
    assert failing(solution) == {}


def test_blank_answers_say_not_implemented():
    blank = {cell: [(body, "    raise NotImplementedError\n")] for cell, body in (
        ("q_sample", "    abar = alphas_cumprod[t].unsqueeze(1)  # (B, 1)\n"
                     "    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise  # (B, D)\n"),)}
    lost = failing(namespace(SESSION, blank, solutions_only=True))
    assert "not implemented yet" in lost["forward_noising"]


# (exercise that must lose its points, cell, [(old, new)], what the mistake is)
MISTAKES = [
    ("normalise", "standardise", [("return (x - mu) / sigma, mu, sigma", "return x, mu, sigma")],
     "data not normalised"),
    ("normalise", "standardise", [("sigma = x.std(dim=0)  # (D,)",
                                   "sigma = x.std() * torch.ones(x.shape[1])")],
     "one standard deviation for every feature"),
    ("normalise", "standardise", [("mu = x.mean(dim=0)  # (D,)", "mu = x.mean(dim=1)")],
     "mean over the features instead of the samples"),
    ("normalise", "standardise", [("return z * sigma + mu  # (N, D)", "return (z - mu) / sigma")],
     "unstandardise standardises again"),
    ("schedule", "schedule", [("alphas_cumprod = torch.cumprod(alphas, dim=0)  # (T,)",
                               "alphas_cumprod = alphas")],
     "alpha-bar without the cumulative product"),
    ("schedule", "schedule", [("torch.cat([alphas_cumprod.new_ones(1), alphas_cumprod[:-1]])",
                               "torch.cat([alphas_cumprod[1:], alphas_cumprod.new_ones(1)])")],
     "alphas_cumprod_prev padded on the wrong side"),
    ("schedule", "schedule", [("betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)",
                               "betas * (1.0 - alphas_cumprod) / (1.0 - alphas_cumprod_prev)")],
     "posterior variance upside down"),
    ("schedule", "schedule", [(".clamp(max=0.999)", "")], "cosine schedule not clipped"),
    ("schedule", "schedule", [("torch.linspace(beta_1, beta_T, T, dtype=torch.float64)",
                               "torch.linspace(1e-4, 0.02, T, dtype=torch.float64)")],
     "linear schedule ignores its arguments"),
    ("forward_noising", "q_sample", [("return abar.sqrt() * x0 + (1 - abar).sqrt() * noise",
                                      "return abar.sqrt() * x0 + (1 - abar.sqrt()) * noise")],
     "sqrt on the wrong term"),
    ("forward_noising", "q_sample", [("return abar.sqrt() * x0 + (1 - abar).sqrt() * noise",
                                      "return abar * x0 + (1 - abar) * noise")],
     "no square roots"),
    ("forward_noising", "q_sample", [("abar = alphas_cumprod[t].unsqueeze(1)",
                                      "abar = alphas_cumprod[t - 1].unsqueeze(1)")],
     "t off by one (paper's 1-based steps on a 0-based array)"),
    ("time_embedding", "sinusoidal_embedding", [
        ("torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)",
         "-math.log(10000.0) * torch.arange(half, device=t.device) / half")],
     "frequencies without the exponential"),
    ("time_embedding", "sinusoidal_embedding", [
        ("torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)",
         "torch.cat([torch.sin(angles), torch.sin(angles)], dim=1)")],
     "sines in both halves"),
    ("time_embedding", "sinusoidal_embedding", [("angles = t.float()[:, None]",
                                                 "angles = t.float()[:, None] / 1000")],
     "steps divided by T"),
    ("eps_model", "eps_net", [("return self.net(torch.cat([x, e], dim=1))",
                               "return self.net(torch.cat([x, torch.zeros_like(e)], dim=1))")],
     "the time embedding ignored"),
    ("eps_model", "eps_net", [("            nn.Linear(hidden, hidden), nn.SiLU(),\n"
                               "            nn.Linear(hidden, hidden), nn.SiLU(),\n",
                               "            nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.SiLU(),\n"
                               "            nn.Linear(hidden, hidden), nn.SiLU(),\n")],
     "batch normalisation mixes the samples"),
    ("eps_model", "eps_net", [("nn.Linear(hidden, dim),", "nn.Linear(hidden, 1),")],
     "output of size 1 whatever the dimension"),
    ("diffusion_loss", "diffusion_loss", [('target = noise if PREDICTS == "eps" else x0',
                                           "target = x0")],
     "target x0 while predicting the noise"),
    ("diffusion_loss", "diffusion_loss", [("F.mse_loss(model(xt, t), target)",
                                           "F.mse_loss(model(x0, t), target)")],
     "the model sees the clean data"),
    ("diffusion_loss", "diffusion_loss", [("F.mse_loss(model(xt, t), target)",
                                           "F.mse_loss(model(xt, t), target, reduction='sum')")],
     "sum instead of the mean"),
    ("diffusion_loss", "diffusion_loss", [("return F.mse_loss(model(xt, t), target)  # ()",
                                           "return F.mse_loss(model(xt, t), target).item()")],
     "the loss returned as a float"),
    ("diffusion_loss", "q_sample", [("abar = alphas_cumprod[t].unsqueeze(1)",
                                     "abar = alphas_cumprod[t - 1].unsqueeze(1)")],
     "t off by one in the noising the loss uses"),
    ("sampler", "sample", [(" if t > 0 else mean  # (N, D)", "  # (N, D)")],
     "noise added at the last sampling step"),
    ("sampler", "sample", [("steps = torch.full((x.shape[0],), t,",
                            "steps = torch.full((x.shape[0],), t + 1,")],
     "t off by one when calling the model"),
    ("sampler", "sample", [('beta, alpha, abar = sched["betas"][t], sched["alphas"][t], '
                            'sched["alphas_cumprod"][t]',
                            'beta, alpha, abar = sched["betas"][t - 1], sched["alphas"][t - 1], '
                            'sched["alphas_cumprod"][t - 1]')],
     "t off by one against the schedule arrays"),
    ("sampler", "sample", [('sched["posterior_variance"][t].sqrt() * noises[t]',
                            "sched[\"posterior_variance\"][t].sqrt() * torch.randn_like(x)")],
     "fresh noise instead of the given noises"),
    ("sampler", "sample", [("mean = (x - beta / (1 - abar).sqrt() * eps) / alpha.sqrt()",
                            "mean = (x - beta / (1 - abar) * eps) / alpha.sqrt()")],
     "mean without the square root of 1 - alpha-bar"),
    ("gaussian_baseline", "gaussian_baseline", [("L = torch.linalg.cholesky(cov)",
                                                 "L = torch.diag(cov.diagonal().sqrt())")],
     "diagonal covariance only"),
    ("gaussian_baseline", "gaussian_baseline", [("return mu + z @ L.T", "return mu + z @ L")],
     "Cholesky factor transposed"),
    ("gaussian_baseline", "gaussian_baseline", [("generator=generator, dtype=data.dtype",
                                                 "dtype=data.dtype")],
     "the generator ignored"),
    ("gaussian_baseline", "gaussian_baseline", [("L = torch.linalg.cholesky(cov)", "L = cov")],
     "covariance used as its square root"),
    ("gaussian_baseline", "gaussian_baseline", [(
        "    z = torch.randn(n, data.shape[1], generator=generator, dtype=data.dtype)  # (n, D)\n"
        "    return mu + z @ L.T  # (n, D)\n",
        "    return data[torch.randint(0, len(data), (n,), generator=generator)]\n")],
     "resampling the data"),
    ("eps_model", "eps_net", [("nn.Linear(dim + emb_dim, hidden), nn.SiLU(),",
                               "nn.Linear(dim + emb_dim, hidden), nn.SiLU(), nn.Dropout(0.1),")],
     "dropout: the same (x, t) gives another output"),
    ("eps_model", "eps_net", [("return self.net(torch.cat([x, e], dim=1))  # (B, dim)",
                               "return self.net(torch.cat([x, e], dim=1)).detach().requires_grad_()")],
     "the output cut from the parameters (backward reaches none)"),
    ("eps_model", "eps_net", [("return self.net(torch.cat([x, e], dim=1))  # (B, dim)",
                               "return torch.randn(x.shape) + 0 * sum(p.sum() for p in self.parameters())")],
     "random outputs with a gradient of zero"),
    ("sampler", "sample", [("@torch.no_grad()\ndef sample(", "def sample(")],
     "the sampler runs with gradients on"),
    ("gaussian_baseline", "gaussian_baseline", [(
        "    z = torch.randn(n, data.shape[1], generator=generator, dtype=data.dtype)  # (n, D)\n"
        "    return mu + z @ L.T  # (n, D)\n",
        "    rows = data[torch.randint(0, len(data), (n,), generator=generator)]\n"
        "    return rows + 1e-4 * torch.randn(rows.shape, generator=generator)\n")],
     "resampling the data, jittered"),
    ("gaussian_baseline", "gaussian_baseline", [(
        "z = torch.randn(n, data.shape[1], generator=generator, dtype=data.dtype)",
        "z = (torch.rand(n, data.shape[1], generator=generator, dtype=data.dtype) - 0.5) * 12 ** 0.5")],
     "uniform z with the right mean and covariance"),
    ("gaussian_baseline", "gaussian_baseline", [("return mu + z @ L.T  # (n, D)",
                                                 "return torch.randn(n, data.shape[1])")],
     "standard normal samples, whatever the data"),
    ("diffusion_2d", "train_step", [("torch.randint(0, len(alphas_cumprod), ",
                                     "torch.randint(1, len(alphas_cumprod), ")],
     "t drawn from 1..T-1 (off by one)"),
    ("diffusion_2d", "train_step", [("    optimizer.zero_grad(set_to_none=True)\n", "")],
     "gradients never zeroed"),
    ("diffusion_2d", "train_step", [("noise = torch.randn(x0.shape, generator=generator)",
                                     "noise = torch.randn(x0.shape)")],
     "noise from the global generator"),
    ("diffusion_2d", "train_step", [(
        "    optimizer.step()\n    return loss.item()\n",
        "    optimizer.step()\n    return diffusion_loss(model, x0, t, noise, alphas_cumprod).item()\n")],
     "the loss after the update returned"),
]


@pytest.mark.parametrize("exercise,cell,edits,what", MISTAKES, ids=[m[3] for m in MISTAKES])
def test_typical_mistake_loses_its_exercise(exercise, cell, edits, what):
    ns = namespace(SESSION, {cell: edits}, solutions_only=True)
    assert exercise in failing(ns), f"the checks did not catch: {what}"


def test_every_exercise_has_two_caught_mistakes():
    counts = {}
    for exercise, *_ in MISTAKES:
        counts[exercise] = counts.get(exercise, 0) + 1
    assert set(counts) == set(exercises(SESSION)) and min(counts.values()) >= 2, counts


def test_messages_point_at_the_mistake():
    lost = failing(namespace(SESSION, {"sample": [(" if t > 0 else mean  # (N, D)", "  # (N, D)")]},
                             solutions_only=True))
    assert "No noise at the last step" in lost["sampler"]
    lost = failing(namespace(SESSION, {"eps_net": [("torch.cat([x, e], dim=1)",
                                                    "torch.cat([x, 0 * e], dim=1)")]},
                             solutions_only=True))
    assert "does not change with t" in lost["eps_model"]
    lost = failing(namespace(SESSION, {"schedule": [(
        "torch.cat([alphas_cumprod.new_ones(1), alphas_cumprod[:-1]])",
        "torch.cat([alphas_cumprod[1:], alphas_cumprod.new_ones(1)])")]}, solutions_only=True))
    assert "alphas_cumprod_prev" in lost["schedule"]


X0_SAMPLER = (
    "        eps = out if PREDICTS == \"eps\" else (x - abar.sqrt() * out) / (1 - abar).sqrt()  # (N, D)\n"
    "        mean = (x - beta / (1 - abar).sqrt() * eps) / alpha.sqrt()  # (N, D)\n",
    "        x0_hat = out if PREDICTS == \"x0\" else (x - (1 - abar).sqrt() * out) / abar.sqrt()\n"
    "        prev = sched[\"alphas_cumprod_prev\"][t]\n"
    "        mean = prev.sqrt() * beta / (1 - abar) * x0_hat + alpha.sqrt() * (1 - prev) / (1 - abar) * x\n")

# Correct answers written differently from ours keep every point: (cells and edits, what).
ALTERNATIVES = [
    ({"standardise": [("    mu = x.mean(dim=0)  # (D,)\n    sigma = x.std(dim=0)  # (D,)\n",
                       "    mu = x.sum(0, keepdim=True) / len(x)\n"
                       "    sigma = ((x - mu) ** 2).mean(0, keepdim=True).sqrt()\n")]},
     "standardise with the biased deviation and keepdim"),
    ({"schedule": [("alphas_cumprod = torch.cumprod(alphas, dim=0)  # (T,)",
                    "alphas_cumprod = torch.exp(torch.cumsum(torch.log(alphas), 0)).float()"),
                   ("torch.cat([alphas_cumprod.new_ones(1), alphas_cumprod[:-1]])",
                    "F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)"),
                   ("    return torch.linspace(beta_1, beta_T, T, dtype=torch.float64)  # (T,)\n",
                    "    return beta_1 + (beta_T - beta_1) * torch.arange(T, dtype=torch.float64) / (T - 1)\n"),
                   (".clamp(max=0.999)", ".clip(0, 0.999)")]},
     "schedule by log-cumsum in float32, F.pad, arange, clip"),
    ({"q_sample": [("    abar = alphas_cumprod[t].unsqueeze(1)  # (B, 1)\n"
                    "    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise  # (B, D)\n",
                    "    a = alphas_cumprod.gather(0, t).view(-1, *([1] * (x0.dim() - 1)))\n"
                    "    return torch.sqrt(a) * x0 + torch.sqrt(1.0 - a) * noise\n")]},
     "q_sample with gather and view"),
    ({"sinusoidal_embedding": [("torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)",
                                "torch.stack([torch.sin(angles), torch.cos(angles)], dim=2).flatten(1)")]},
     "interleaved sines and cosines"),
    ({"eps_net": [("        self.net = nn.Sequential(\n"
                   "            nn.Linear(dim + emb_dim, hidden), nn.SiLU(),\n",
                   "        self.inp = nn.Linear(dim, hidden)\n"
                   "        self.time = nn.Sequential(nn.Linear(emb_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))\n"
                   "        self.net = nn.Sequential(nn.SiLU(),\n"),
                  ("        return self.net(torch.cat([x, e], dim=1))  # (B, dim)\n",
                   "        return self.net(self.inp(x) + self.time(e))\n")]},
     "time embedding through its own MLP, added"),
    ({"diffusion_loss": [("    return F.mse_loss(model(xt, t), target)  # ()\n",
                          "    return ((model(xt, t) - target) ** 2).mean()\n")]},
     "the mean squared error by hand"),
    ({"diffusion_loss": [("def diffusion_loss(", "PREDICTS = \"x0\"\n\n\ndef diffusion_loss(")],
      "sample": [X0_SAMPLER]},
     "predicting x0, with the matching sampler"),
    ({"sample": [("    x = x_T  # (N, D)\n    trajectory = [x]\n"
                  "    for t in reversed(range(len(sched[\"betas\"]))):\n",
                  "    T = len(sched[\"betas\"])\n"
                  "    trajectory = torch.empty((T + 1,) + tuple(x_T.shape), dtype=x_T.dtype)\n"
                  "    trajectory[0] = x = x_T\n"
                  "    for t in range(T - 1, -1, -1):\n"),
                 ("        trajectory.append(x)\n    return torch.stack(trajectory)  # (T + 1, N, D)\n",
                  "        trajectory[T - t] = x\n    return trajectory\n"),
                 ("x = mean + sched[\"posterior_variance\"][t].sqrt() * noises[t] if t > 0 else mean",
                  "x = mean + (t > 0) * sched[\"posterior_variance\"][t].sqrt() * noises[t]")]},
     "sampler into a preallocated trajectory, noise switched off by a factor"),
    ({"gaussian_baseline": [("    cov = centred.T @ centred / (len(data) - 1)  # (D, D)\n"
                             "    L = torch.linalg.cholesky(cov)  # (D, D) lower triangular\n",
                             "    w, V = torch.linalg.eigh(torch.cov(data.T))\n"
                             "    L = V @ torch.diag(w.sqrt()) @ V.T  # the symmetric square root\n")]},
     "symmetric square root of the covariance"),
    ({"train_step": [(
        "    t = torch.randint(0, len(alphas_cumprod), (x0.shape[0],), generator=generator).to(x0.device)  # (B,)\n"
        "    noise = torch.randn(x0.shape, generator=generator).to(device=x0.device, dtype=x0.dtype)  # (B, D)\n",
        "    noise = torch.randn_like(x0, generator=generator)\n"
        "    t = torch.randint(len(alphas_cumprod), (len(x0),), generator=generator)\n"),
        ("    optimizer.zero_grad(set_to_none=True)\n    loss.backward()\n    optimizer.step()\n"
         "    return loss.item()\n",
         "    loss.backward()\n    optimizer.step()\n    optimizer.zero_grad()\n"
         "    return float(loss)\n")]},
     "noise drawn before t, gradients zeroed after the step"),

    ({"eps_net": [("        )\n", "        ).double()\n"),
                  ("return self.net(torch.cat([x, e], dim=1))  # (B, dim)",
                   "return self.net(torch.cat([x, e], dim=1).double()).to(x.dtype)")]},
     "the noise network computing in float64"),
    ({"sample": [("@torch.no_grad()\ndef sample(", "@torch.inference_mode()\ndef sample(")]},
     "the sampler under inference_mode"),
    ({"gaussian_baseline": [(
        "    L = torch.linalg.cholesky(cov)  # (D, D) lower triangular\n"
        "    z = torch.randn(n, data.shape[1], generator=generator, dtype=data.dtype)  # (n, D)\n"
        "    return mu + z @ L.T  # (n, D)\n",
        "    L = torch.linalg.cholesky(cov.double())\n"
        "    z = torch.randn(data.shape[1], n, generator=generator, dtype=torch.float64)\n"
        "    return (L @ z).T + mu\n")]},
     "baseline in float64, z drawn as columns"),
]


@pytest.mark.parametrize("mutations,what", ALTERNATIVES, ids=[a[1] for a in ALTERNATIVES])
def test_correct_variant_keeps_every_point(mutations, what):
    ns = namespace(SESSION, mutations, solutions_only=True)
    assert failing(ns) == {}, f"a correct answer lost points: {what}"


def test_sampler_may_pass_the_step_as_a_number():
    ns = namespace(SESSION, {"sample": [("out = model(x, steps)", "out = model(x, t)")]},
                   solutions_only=True)
    assert "sampler" not in failing(ns)


def _visible_test(grade_id):
    from tests.notebook_exec import code_cells

    return next(source for gid, _, source in code_cells(SESSION) if gid == grade_id)


X0_VARIANT = next(m for m, what in ALTERNATIVES if what.startswith("predicting x0"))


@pytest.mark.parametrize("mutations", [{}, X0_VARIANT], ids=["eps", "x0"])
def test_sampler_visible_test_accepts_both_predictions(mutations):
    ns = namespace(SESSION, mutations, solutions_only=True)
    exec(compile(_visible_test("sampler__visible"), "<sampler__visible>", "exec"), ns)


def test_sampler_visible_test_still_fails_a_wrong_sampler():
    ns = namespace(SESSION, {"sample": [("mean = (x - beta / (1 - abar).sqrt() * eps) / alpha.sqrt()",
                                         "mean = (x - beta / (1 - abar).sqrt() * eps) / alpha")]},
                   solutions_only=True)
    with pytest.raises(AssertionError):
        exec(compile(_visible_test("sampler__visible"), "<sampler__visible>", "exec"), ns)


def _judged_with(ns, exercise, tamper, seed=1234):
    """The verdict on the solution's real observation of ``exercise`` after ``tamper(obs)``."""
    import json

    from autograder.checks import _shipped_probes, verdict
    from autograder.observations import decode
    from autograder.probe_runtime import encode, exercise_seed, observe

    seed = exercise_seed(seed, exercise)
    message = json.loads(json.dumps(observe(_shipped_probes(SESSION)[exercise], ns, seed)))
    obs = decode(message["obs"])
    tamper(obs)
    return verdict(exercises(SESSION)[exercise], json.loads(json.dumps({"obs": encode(obs)})), seed)


def _scaled_gradients(obs):
    obs["1"]["grads"] = [None if g is None else 2 * g for g in obs["1"]["grads"]]


def _other_outputs_made_up(obs):
    import torch

    y = obs["2"]["y"]
    obs["2"]["moved"] = [[y + 1e-3 * torch.randn(y.shape), y - 1e-3 * torch.randn(y.shape)]
                         for _ in range(2)]


@pytest.mark.parametrize("tamper,words", [
    (lambda obs: None, None),
    (_scaled_gradients, "gradients of the parameters do not match"),
    (_other_outputs_made_up, "gradients of the parameters do not match"),
    (lambda obs: obs["1"].update(again=obs["1"]["other_t"]), "another output on a second call"),
])
def test_eps_model_judge_checks_outputs_and_gradients_against_each_other(solution, tamper, words):
    result = _judged_with(solution, "eps_model", tamper)
    assert result.passed is (words is None) and (words or "") in result.message, result.message
