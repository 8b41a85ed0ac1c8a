"""Probes and judges of the closing quiz.

A probe returns the student's answer as it is (a number, a letter, or what their function
gives on inputs made from the seed); the answers and their tolerances live in the judges
alone, never in the kernel nor in the student's notebook.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from autograder.checks import compare, expect, judge, kernel, probe
from autograder.probe_runtime import StudentError, call, need

SESSION = "07_quiz"


@kernel
def answer(ns, name):
    """The student's answer ``name``: {"number": float} or {"letter": str}."""
    value = ns.get(name)
    if value is None:
        raise StudentError("not answered yet", name, "NotImplementedError")
    if isinstance(value, str):
        return {"letter": value.strip().lower()[:10]}
    if isinstance(value, bool):
        raise StudentError(f"{name} must be a number or a letter, got a bool", name)
    try:
        return {"number": float(value)}
    except (TypeError, ValueError, RuntimeError):
        raise StudentError(f"{name} must be a number or a letter, got {type(value).__name__}",
                           name) from None


@probe("q01_gaussian_nll")
def probe_q01(ns, seed):
    return answer(ns, "q01")


@probe("q02_bernoulli_loss")
def probe_q02(ns, seed):
    return answer(ns, "q02")


@probe("q03_cross_entropy")
def probe_q03(ns, seed):
    return answer(ns, "q03")


@probe("q04_backprop_cost")
def probe_q04(ns, seed):
    return answer(ns, "q04")


@probe("q05_finite_differences")
def probe_q05(ns, seed):
    return answer(ns, "q05")


@probe("q06_init_std")
def probe_q06(ns, seed):
    return answer(ns, "q06")


@probe("q08_layernorm")
def probe_q08(ns, seed):
    return answer(ns, "q08")


@probe("q10_attention_scale")
def probe_q10(ns, seed):
    return answer(ns, "q10")


@probe("q11_conv_output")
def probe_q11(ns, seed):
    return answer(ns, "q11")


@probe("q12_conv_params")
def probe_q12(ns, seed):
    return answer(ns, "q12")


@probe("q13_conv_equivariance")
def probe_q13(ns, seed):
    return answer(ns, "q13")


@probe("q14_vae_kl")
def probe_q14(ns, seed):
    return answer(ns, "q14")


@probe("q15_evaluation")
def probe_q15(ns, seed):
    return answer(ns, "q15")


@probe("q16_diffusion_signal")
def probe_q16(ns, seed):
    return answer(ns, "q16")


@probe("q17_rnn_gradients")
def probe_q17(ns, seed):
    return answer(ns, "q17")


@probe("q18_residual")
def probe_q18(ns, seed):
    return answer(ns, "q18")


@probe("q19_dropout_scale")
def probe_q19(ns, seed):
    return answer(ns, "q19")


@probe("q20_adam_first_step")
def probe_q20(ns, seed):
    return answer(ns, "q20")


@probe("q21_gan_discriminator")
def probe_q21(ns, seed):
    return answer(ns, "q21")


@probe("q22_gan_value")
def probe_q22(ns, seed):
    return answer(ns, "q22")


@probe("q23_unet_skips")
def probe_q23(ns, seed):
    return answer(ns, "q23")


@probe("q24_ddpm_sampling")
def probe_q24(ns, seed):
    return answer(ns, "q24")


# --- the answers, grader side only ------------------------------------------------------------
# question: ("number", value, relative tolerance) or ("letter", letter)
ANSWERS = {
    "q01_gaussian_nll": ("number", 0.5 * math.log(2 * math.pi) + 2.0, 1e-3),
    "q02_bernoulli_loss": ("letter", "b"),
    "q03_cross_entropy": ("number", math.log(math.exp(2) + math.exp(1) + 1) - 2, 1e-3),
    "q04_backprop_cost": ("letter", "b"),
    "q05_finite_differences": ("number", 200.0, 0.0),
    "q06_init_std": ("number", 5 / 3 / math.sqrt(512), 1e-3),
    "q08_layernorm": ("letter", "b"),
    "q10_attention_scale": ("letter", "a"),
    "q11_conv_output": ("number", 13.0, 0.0),
    "q12_conv_params": ("number", 448.0, 0.0),
    "q13_conv_equivariance": ("letter", "a"),
    "q14_vae_kl": ("number", 0.5 * (1 + 0.25 - 1 - math.log(0.25)), 1e-3),
    "q15_evaluation": ("letter", "a"),
    "q16_diffusion_signal": ("number", 0.99 ** 50, 1e-3),
    "q17_rnn_gradients": ("letter", "a"),
    "q18_residual": ("letter", "c"),
    "q19_dropout_scale": ("number", 1.25, 1e-3),
    "q20_adam_first_step": ("number", 1e-3, 1e-3),
    "q21_gan_discriminator": ("letter", "d"),
    "q22_gan_value": ("number", -math.log(4), 1e-3),
    "q23_unet_skips": ("letter", "a"),
    "q24_ddpm_sampling": ("letter", "c"),
}


def _judge_answer(question: str, obs) -> None:
    spec = ANSWERS[question]
    number = f"Question {int(question[1:3])}"
    expect(isinstance(obs, dict) and len(obs) == 1, "malformed observation")
    if spec[0] == "letter":
        got = obs.get("letter")
        expect(isinstance(got, str), f"{number}: the answer must be a letter, 'a' to 'd'")
        expect(got in ("a", "b", "c", "d"), f"{number}: the answer must be one of 'a', 'b', 'c', "
                                            f"'d', got {got[:5]!r}")
        expect(got == spec[1], f"{number}: wrong answer.")
        return
    got = obs.get("number")
    expect(isinstance(got, float) and math.isfinite(got),
           f"{number}: the answer must be a finite number")
    _, want, rtol = spec
    expect(abs(got - want) <= rtol * abs(want) + 1e-9, f"{number}: wrong answer.")


def _answer_judge(question: str):
    def judge_answer(obs, seed):
        _judge_answer(question, obs)
    judge_answer.__name__ = f"judge_{question[:3]}"
    return judge(question)(judge_answer)


for _question in ANSWERS:
    globals()[f"judge_{_question[:3]}"] = _answer_judge(_question)


# --- short code: batch normalisation ----------------------------------------------------------

@kernel
def batchnorm_inputs(seed):
    g = torch.Generator().manual_seed(seed)
    cases = []
    for batch, channels, spread in ((32, 5, 3.0), (7, 3, 0.1)):
        x = torch.randn(batch, channels, generator=g) * spread + torch.randn(channels, generator=g)
        gamma = torch.rand(channels, generator=g) + 0.5
        beta = torch.randn(channels, generator=g)
        cases.append((x, gamma, beta))
    return cases


@probe("q07_batchnorm")
def probe_q07(ns, seed):
    batchnorm_train = need(ns, "batchnorm_train")
    out = []
    for x, gamma, beta in batchnorm_inputs(seed):
        y = call(f"batchnorm_train(x, gamma, beta) for x of shape {tuple(x.shape)}",
                 batchnorm_train, x.clone(), gamma.clone(), beta.clone())
        out.append(y.detach() if isinstance(y, torch.Tensor) else y)
    return {"y": out}


@judge("q07_batchnorm")
def judge_q07(obs, seed):
    cases = batchnorm_inputs(seed)
    expect(isinstance(obs["y"], list) and len(obs["y"]) == len(cases), "malformed observation")
    for got, (x, gamma, beta) in zip(obs["y"], cases):
        want = F.batch_norm(x.double(), None, None, gamma.double(), beta.double(), training=True,
                            eps=1e-5)
        compare(got, want, f"Question 7: batchnorm_train(x, gamma, beta) for x of shape "
                f"{tuple(x.shape)}", "Normalise each feature (dim=0) with the batch mean and the "
                "biased variance, then gamma * x_hat + beta.", rtol=1e-4, atol=1e-5)


# --- short code: attention --------------------------------------------------------------------

@kernel
def attention_inputs(seed):
    g = torch.Generator().manual_seed(seed)
    cases = []
    for batch, T, dk, dv, causal in ((2, 6, 8, 5, True), (3, 4, 16, 16, False)):
        q = torch.randn(batch, T, dk, generator=g)
        k = torch.randn(batch, T, dk, generator=g)
        v = torch.randn(batch, T, dv, generator=g)
        cases.append((q, k, v, causal))
    return cases


@probe("q09_attention")
def probe_q09(ns, seed):
    attention = need(ns, "attention")
    out = []
    for q, k, v, causal in attention_inputs(seed):
        y = call(f"attention(q, k, v, causal={causal})", attention, q.clone(), k.clone(),
                 v.clone(), causal)
        out.append(y.detach() if isinstance(y, torch.Tensor) else y)
    return {"y": out}


@judge("q09_attention")
def judge_q09(obs, seed):
    cases = attention_inputs(seed)
    expect(isinstance(obs["y"], list) and len(obs["y"]) == len(cases), "malformed observation")
    for got, (q, k, v, causal) in zip(obs["y"], cases):
        want = F.scaled_dot_product_attention(q.double(), k.double(), v.double(),
                                              is_causal=causal)
        compare(got, want, f"Question 9: attention(q, k, v, causal={causal}) for q of shape "
                f"{tuple(q.shape)} and v of shape {tuple(v.shape)}",
                "softmax(q @ k^T / sqrt(d_k)) over the keys (last dimension), then @ v; with "
                "causal=True the scores of keys after the query are -inf.", rtol=1e-4, atol=1e-5)
