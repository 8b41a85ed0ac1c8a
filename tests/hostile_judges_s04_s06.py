"""Hostile cases on sessions 4 and 6: judges decide on evidence, never on claims (tests/hostile.py).

Each case is a solution notebook with one exercise wrong (honestly, or left undone and its
probe forged or fooled), and deserves the solution's points less that exercise's. Before the
judges of these sessions took raw outputs only, every one of them earned all the points.
"""

from __future__ import annotations

from pathlib import Path

from autograder.notebook_info import grade_cells, total_points
from autograder.paths import source_notebook
from autograder.policy import load_policy
from tests.hostile import PROBES, Case, Expect, inject, replace, setup_code, solved, writes

S4, S6 = "04_gpt", "06_diffusion"
MIME = "application/vnd.deepcourse.observation+json"


def losing(session: str, *exercises: str) -> Expect:
    """The row of the solution less ``exercises``: their points lost, the starred cap applied."""
    policy = load_policy()
    total = total_points(session)
    left = total - sum(p for gid, p in grade_cells(session) if gid.split("__")[0] in exercises)
    score = policy.raw_score(left, total)
    if set(exercises) & set(policy.sessions[session].starred):
        score = min(score, policy.starred_cap)
    return Expect(score, points=(left, left), deserved_points=left)


def notebook(session: str, build):
    """Writes the solution of ``session`` changed by ``build`` (a function of the notebook)."""
    return writes(lambda: build(solved(session)), source_notebook(session).name)


def undone(session: str, cell: str, name: str):
    """The solution with ``name`` (defined in ``cell``) redefined to raise NotImplementedError."""
    return lambda nb: inject(nb, cell, f"def {name}(*args, **kwargs):\n"
                                       "    raise NotImplementedError\n", at_start=False)


# --- session 6 ----------------------------------------------------------------------------------

FORGED_EPS = f"""
import torch
_P = {PROBES}
def _forged_eps_model(ns, seed):
    out = {{}}
    for dim in (1, 2):
        y = torch.randn(64, dim)
        order = _P.eps_inputs(seed, dim)[2] if hasattr(_P, "eps_inputs") else torch.arange(64)
        out[str(dim)] = {{"y": y, "other_t": torch.randn(64, dim), "other_x": torch.randn(64, dim),
                         "alone": y[:3], "with_grad": 1, "again": y, "shuffled": y[order],
                         "shapes": [[4, dim]], "grads": [torch.randn(4, dim)],
                         "moved": [[y + 0.001, y - 0.001]] * 2}}
    return out
_P.PROBES["eps_model"] = _forged_eps_model
"""

FORGED_BASELINE = f"""
import torch
_P = {PROBES}
def _forged_gaussian_baseline(ns, seed):
    out = {{}}
    for dim in (2, 3):
        data = _P.baseline_inputs(seed + dim, dim)
        fake = ns["gaussian_baseline"](data, 20000, _P.gen(seed))
        out[str(dim)] = {{"mean": data.double().mean(0), "cov": torch.cov(data.double().T),
                         "same_seed_equal": True, "other_seed_differs": True,
                         "copies_of_data": 0, "samples": fake.float(), "again": fake[:500],
                         "other": torch.randn(500, dim)}}
    return out
_P.PROBES["gaussian_baseline"] = _forged_gaussian_baseline
"""

STANDARD_NORMAL = """
def gaussian_baseline(data, n, generator):
    return torch.randn(n, data.shape[1], generator=generator, dtype=data.dtype)
"""

LYING_TENSOR = """
class _Lying(torch.Tensor):
    data_set = None

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func is torch.Tensor.mean and cls.data_set is not None:
            return cls.data_set.double().mean(0)
        if func is torch.cov and cls.data_set is not None:
            return torch.cov(cls.data_set.double().T)
        return super().__torch_function__(func, types, args, kwargs or {})


def gaussian_baseline(data, n, generator):
    _Lying.data_set = data
    z = torch.randn(n, data.shape[1], generator=generator, dtype=data.dtype)
    return z.as_subclass(_Lying)
"""

# --- session 4 ----------------------------------------------------------------------------------

PATCHED_INIT = """
import sys
import torch
_asked = []
_real = {"std": torch.Tensor.std, "mean": torch.Tensor.mean, "equal": torch.equal}


def _from_probe():  # called by the probe (or a comprehension in it), once the model was given
    frame = sys._getframe(1)
    for _ in range(4):
        if frame is None or frame.f_code.co_name == "probe_init_normal":
            break
        frame = frame.f_back
    return frame is not None and frame.f_code.co_name == "probe_init_normal" and bool(_asked)


def init_normal_(model, std):
    _asked.append(std)


torch.Tensor.std = lambda self, *a, **k: (torch.tensor(float(_asked[-1]), dtype=torch.float64)
                                          if _from_probe() else _real["std"](self, *a, **k))
torch.Tensor.mean = lambda self, *a, **k: (torch.zeros((), dtype=torch.float64)
                                           if _from_probe() else _real["mean"](self, *a, **k))
torch.equal = lambda a, b: False if _from_probe() else _real["equal"](a, b)
"""

FORGING_SEND = f"""
_P = {PROBES}
_send = _P.send
def _forging_send(message, **kwargs):
    body = message.get("{MIME}", {{}})
    if body.get("exercise") == "estimate_loss":
        try:
            base, eval_iters, *_ = _P.estimate_case(body["seed"])
            body.pop("error", None)
            body["obs"] = {{"losses": {{k: float(v) + 0.5 for k, v in base.items()}},
                           "calls": [[False, False, False]] * (2 * eval_iters),
                           "training_after": [True, True]}}
        except Exception as e:
            print("forgery failed:", type(e).__name__)
    return _send(message, **kwargs)
_P.send = _forging_send
"""

PREDICTED_GENERATE = f"""
import torch
_P = {PROBES}
def _forged_generate(ns, seed):
    V, block_size, perm, start, steps, pair_tokens, steps2 = _P.generate_case(seed)
    out, contexts = start.clone(), []
    for _ in range(steps):
        contexts.append(out[:, -block_size:].clone())
        out = torch.cat([out, perm[out[:, -1:]]], dim=1)
    alternate = pair_tokens[torch.arange(steps2) % 2].expand(len(start), steps2)
    return {{"out": out, "contexts": contexts, "calls": steps,
            "out2": torch.cat([start, alternate], dim=1)}}
_P.PROBES["generate"] = _forged_generate
"""


def cases(submissions_root: Path, canary: Path, port: int) -> list[Case]:
    return [
        # --- claims the judges used to take from the kernel ---------------------------------
        Case("forged_eps_model", S6, notebook(S6, lambda nb: setup_code(
            undone(S6, "eps_net", "EpsNet")(nb), FORGED_EPS)), losing(S6, "eps_model"),
             "no noise network; its probe replaced by random tensors in every field"),
        Case("forged_gaussian_baseline", S6, notebook(S6, lambda nb: setup_code(
            inject(nb, "gaussian_baseline", STANDARD_NORMAL, at_start=False), FORGED_BASELINE)),
             losing(S6, "gaussian_baseline"),
             "N(0, I) samples; the probe replaced by one that claims the data's mean and covariance"),
        Case("lying_tensor_baseline", S6, notebook(S6, lambda nb: inject(
            nb, "gaussian_baseline", LYING_TENSOR, at_start=False)),
             losing(S6, "gaussian_baseline"),
             "N(0, I) samples in a tensor subclass whose mean() and torch.cov lie"),
        Case("patched_init_normal", S4, notebook(S4, lambda nb: inject(
            nb, "init_normal", PATCHED_INIT, at_start=False)), losing(S4, "init_normal"),
             "init_normal_ draws nothing; torch.equal, Tensor.std and Tensor.mean lie to the probe"),
        Case("forged_estimate_loss", S4, notebook(S4, lambda nb: setup_code(
            undone(S4, "estimate_loss", "estimate_loss")(nb), FORGING_SEND)),
             losing(S4, "estimate_loss"),
             "no estimate_loss; send rewritten to claim the calls, modes and losses"),
        Case("predicted_generate", S4, notebook(S4, lambda nb: setup_code(replace(
            nb, "gpt_model", "        for _ in range(max_new_tokens):\n",
            "        raise NotImplementedError\n        for _ in range(max_new_tokens):\n"),
            PREDICTED_GENERATE)),
             losing(S4, "generate"),
             "the generate probe replaced by the tokens its case function predicts"),
        # --- honest answers that break what the statement fixes ------------------------------
        Case("head_output_dropout", S4, notebook(S4, lambda nb: replace(replace(
            nb, "head", "        wei = self.dropout(wei)\n", ""),
            "head", "out = wei @ v  #", "out = self.dropout(wei @ v)  #")),
             losing(S4, "head"), "Head's dropout on its output, not on the attention weights"),
        Case("mha_no_projection_dropout", S4, notebook(S4, lambda nb: replace(
            nb, "multihead", "out = self.dropout(self.proj(out))", "out = self.proj(out)")),
             losing(S4, "multihead"), "MultiHeadAttention without dropout after the projection"),
        Case("sample_with_grad", S6, notebook(S6, lambda nb: replace(
            nb, "sample", "@torch.no_grad()\ndef sample(", "def sample(")),
             losing(S6, "sampler"), "the sampler without torch.no_grad()"),
    ]
