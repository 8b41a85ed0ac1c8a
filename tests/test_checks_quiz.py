"""The quiz's judges accept its answers in any plain form and reject plausible wrong ones."""

import re

import nbformat
import pytest

from autograder.checks import exercises, kernel_source
from autograder.paths import NOTEBOOKS_DIR
from tests.notebook_exec import code_cells, namespace
from tests.notebook_exec import failing as failing_exercises

SESSION = "07_quiz"


def failing(ns):
    return failing_exercises(SESSION, ns)


def answer_cells():
    """grade_id -> the solution line of each one-value question (``qNN = ...``)."""
    out = {}
    for grade_id, is_test, source in code_cells(SESSION):
        match = re.search(r"^(q\d\d) = (?!None).*$", source, re.M)
        if grade_id and not is_test and match:
            out[grade_id] = match.group(0)
    return out


ANSWER_LINES = answer_cells()


def answered(cell, value):
    """A mutation of the answer cell ``cell`` setting its variable to ``value`` (source text)."""
    return {cell: [(ANSWER_LINES[cell], f"{cell} = {value}")]}


@pytest.fixture(scope="module")
def solution():
    return namespace(SESSION)


def test_solution_passes_every_question(solution):
    assert failing(solution) == {}


def test_unanswered_questions_say_so():
    blank = {cell: [(line, "pass")] for cell, line in ANSWER_LINES.items()}
    lost = failing(namespace(SESSION, blank))
    assert set(lost) == {name for name in exercises(SESSION)
                         if name not in ("q07_batchnorm", "q09_attention")}
    assert all(message.endswith("not implemented yet") for message in lost.values()), lost


def test_answers_are_nowhere_in_the_kernel_nor_the_release():
    source = kernel_source(SESSION)
    released = nbformat.read(NOTEBOOKS_DIR / SESSION / "quiz.ipynb", as_version=4)
    text = "\n".join(c.source for c in released.cells)
    for line in ANSWER_LINES.values():
        assert line not in text, line
    for secret in ("0.40760", "448", "0.07365", "0.81814", "0.60500", "2.91893"):
        assert secret not in source and secret not in text, secret
    assert "ANSWERS" not in source and "scaled_dot_product_attention" not in source


# (exercise, cell, [(old, new)], what the mistake is)
MISTAKES = [
    ("q01_gaussian_nll", "q01", [(ANSWER_LINES["q01"], "q01 = 2.0")], "the constant forgotten"),
    ("q01_gaussian_nll", "q01", [(ANSWER_LINES["q01"], "q01 = 0.5 * math.log(2 * math.pi) + 4")],
     "the factor 1/2 forgotten"),
    ("q02_bernoulli_loss", "q02", [(ANSWER_LINES["q02"], 'q02 = "a"')], "squared error"),
    ("q02_bernoulli_loss", "q02", [(ANSWER_LINES["q02"], 'q02 = "c"')], "hinge loss"),
    ("q03_cross_entropy", "q03", [(ANSWER_LINES["q03"], "q03 = math.exp(2) / (math.exp(2) + math.exp(1) + 1)")],
     "the probability instead of its negative log"),
    ("q03_cross_entropy", "q03", [(ANSWER_LINES["q03"], "q03 = math.log(3)")], "uniform softmax"),
    ("q04_backprop_cost", "q04", [(ANSWER_LINES["q04"], 'q04 = "a"')], "forward-mode cost"),
    ("q04_backprop_cost", "q04", [(ANSWER_LINES["q04"], 'q04 = "c"')], "linear cost"),
    ("q05_finite_differences", "q05", [(ANSWER_LINES["q05"], "q05 = 101")], "one-sided count"),
    ("q05_finite_differences", "q05", [(ANSWER_LINES["q05"], "q05 = 100")], "one per input"),
    ("q06_init_std", "q06", [(ANSWER_LINES["q06"], "q06 = 1 / math.sqrt(512)")], "gain forgotten"),
    ("q06_init_std", "q06", [(ANSWER_LINES["q06"], "q06 = (5 / 3) / math.sqrt(256)")],
     "fan-out instead of fan-in"),
    ("q07_batchnorm", "q07_batchnorm", [("x.var(dim=0, unbiased=False)", "x.var(dim=0)")],
     "unbiased variance"),
    ("q07_batchnorm", "q07_batchnorm", [("mean = x.mean(dim=0)", "mean = x.mean(dim=1, keepdim=True)"),
                                        ("x.var(dim=0, unbiased=False)", "x.var(dim=1, unbiased=False, keepdim=True)")],
     "normalised over the features (layer norm)"),
    ("q07_batchnorm", "q07_batchnorm", [("return gamma * (x - mean) / torch.sqrt(var + eps) + beta",
                                         "return (x - mean) / torch.sqrt(var + eps)")],
     "gamma and beta forgotten"),
    ("q08_layernorm", "q08", [(ANSWER_LINES["q08"], 'q08 = "a"')], "batchnorm"),
    ("q08_layernorm", "q08", [(ANSWER_LINES["q08"], 'q08 = "d"')], "all three"),
    ("q09_attention", "q09_attention", [(" / math.sqrt(q.shape[-1])", "")], "no scaling"),
    ("q09_attention", "q09_attention", [("torch.softmax(scores, dim=-1)", "torch.softmax(scores, dim=-2)")],
     "softmax over the queries"),
    ("q09_attention", "q09_attention", [("scores.masked_fill(~mask, ", "scores.masked_fill(mask, ")],
     "mask the wrong way round"),
    ("q10_attention_scale", "q10", [(ANSWER_LINES["q10"], 'q10 = "c"')], "normalisation"),
    ("q10_attention_scale", "q10", [(ANSWER_LINES["q10"], 'q10 = "b"')], "causality"),
    ("q11_conv_output", "q11", [(ANSWER_LINES["q11"], "q11 = 12")], "padding on one side only"),
    ("q11_conv_output", "q11", [(ANSWER_LINES["q11"], "q11 = 13.5")], "no floor"),
    ("q12_conv_params", "q12", [(ANSWER_LINES["q12"], "q12 = 432")], "bias forgotten"),
    ("q12_conv_params", "q12", [(ANSWER_LINES["q12"], "q12 = 16 * 3 * 3 + 16")],
     "input channels forgotten"),
    ("q13_conv_equivariance", "q13", [(ANSWER_LINES["q13"], 'q13 = "b"')], "rotations"),
    ("q13_conv_equivariance", "q13", [(ANSWER_LINES["q13"], 'q13 = "d"')], "permutations"),
    ("q14_vae_kl", "q14", [(ANSWER_LINES["q14"], "q14 = 0.5 * (1 + 0.5 - 1 - math.log(0.5))")],
     "sigma used as the variance"),
    ("q14_vae_kl", "q14", [(ANSWER_LINES["q14"], "q14 = 1 + 0.25 - 1 - math.log(0.25)")],
     "factor 1/2 forgotten"),
    ("q15_evaluation", "q15", [(ANSWER_LINES["q15"], 'q15 = "b"')], "Wasserstein"),
    ("q15_evaluation", "q15", [(ANSWER_LINES["q15"], 'q15 = "d"')], "human evaluation"),
    ("q16_diffusion_signal", "q16", [(ANSWER_LINES["q16"], "q16 = (1 - 0.01) ** 100")],
     "alpha-bar instead of its square root"),
    ("q16_diffusion_signal", "q16", [(ANSWER_LINES["q16"], "q16 = math.sqrt(1 - 0.01)")],
     "one step only"),
    ("q17_rnn_gradients", "q17", [(ANSWER_LINES["q17"], 'q17 = "b"')], "tanh bounds the gradient"),
    ("q17_rnn_gradients", "q17", [(ANSWER_LINES["q17"], 'q17 = "c"')], "a lower bound, not an upper one"),
    ("q18_residual", "q18", [(ANSWER_LINES["q18"], 'q18 = "b"')], "residuals taken for normalisation"),
    ("q18_residual", "q18", [(ANSWER_LINES["q18"], 'q18 = "a"')], "fewer parameters"),
    ("q19_dropout_scale", "q19", [(ANSWER_LINES["q19"], "q19 = 0.8")], "the keep probability itself"),
    ("q19_dropout_scale", "q19", [(ANSWER_LINES["q19"], "q19 = 1 / 0.2")], "one over the drop probability"),
    ("q20_adam_first_step", "q20", [(ANSWER_LINES["q20"], "q20 = 1e-3 * 0.1 * 0.004 / math.sqrt(0.001 * 0.004 ** 2)")],
     "no bias correction"),
    ("q20_adam_first_step", "q20", [(ANSWER_LINES["q20"], "q20 = 1e-3 * 0.004")], "plain SGD's step"),
    ("q21_gan_discriminator", "q21", [(ANSWER_LINES["q21"], 'q21 = "b"')], "one half at any generator"),
    ("q21_gan_discriminator", "q21", [(ANSWER_LINES["q21"], 'q21 = "c"')], "a density ratio the wrong way"),
    ("q22_gan_value", "q22", [(ANSWER_LINES["q22"], "q22 = -math.log(2)")], "one term only"),
    ("q22_gan_value", "q22", [(ANSWER_LINES["q22"], "q22 = 0")], "a perfect game taken for zero loss"),
    ("q23_unet_skips", "q23", [(ANSWER_LINES["q23"], 'q23 = "b"')], "a global residual"),
    ("q23_unet_skips", "q23", [(ANSWER_LINES["q23"], 'q23 = "d"')], "bottleneck broadcast"),
    ("q24_ddpm_sampling", "q24", [(ANSWER_LINES["q24"], 'q24 = "a"')], "the x0 estimate, deterministic"),
    ("q24_ddpm_sampling", "q24", [(ANSWER_LINES["q24"], 'q24 = "d"')], "noising instead of denoising"),
]


@pytest.mark.parametrize("exercise,cell,edits,what", MISTAKES, ids=[m[3] for m in MISTAKES])
def test_wrong_answer_loses_its_question(exercise, cell, edits, what):
    assert exercise in failing(namespace(SESSION, {cell: edits})), f"not caught: {what}"


def test_every_question_has_two_caught_mistakes():
    counts = {}
    for exercise, *_ in MISTAKES:
        counts[exercise] = counts.get(exercise, 0) + 1
    assert set(counts) == set(exercises(SESSION)) and min(counts.values()) >= 2, counts


def test_a_wrong_letter_is_not_revealed():
    lost = failing(namespace(SESSION, {"q02": [(ANSWER_LINES["q02"], 'q02 = "e"')]}))
    assert "one of 'a', 'b', 'c', 'd'" in lost["q02_bernoulli_loss"]
    lost = failing(namespace(SESSION, {"q05": [(ANSWER_LINES["q05"], "q05 = 199")]}))
    assert lost["q05_finite_differences"] == "Question 5: wrong answer."


# Right answers in other plain forms keep every point: (mutations, what).
ALTERNATIVES = [
    ({**answered("q02", '" B "'), **answered("q13", '"A"')}, "letters in capitals, with spaces"),
    ({**answered("q05", "200.0"), **answered("q11", "torch.tensor(13)"),
      **answered("q12", "__import__('numpy').int64(448)")},
     "integers as a float, a tensor and a numpy integer"),
    ({**answered("q01", "2.9189"), **answered("q14", "0.818"), **answered("q16", "0.605")},
     "numbers rounded to the precision asked"),
    ({**answered("q19", "1.25"), **answered("q20", "0.001"), **answered("q22", "-1.3863"),
      **answered("q21", '"D"')},
     "the new questions' answers as plain values"),
    ({"q07_batchnorm": [("    mean = x.mean(dim=0)  # (C,)\n    var = x.var(dim=0, unbiased=False)  # (C,)\n"
                         "    return gamma * (x - mean) / torch.sqrt(var + eps) + beta  # (B, C)\n",
                         "    return torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)\n")]},
     "batch normalisation through F.batch_norm"),
    ({"q09_attention": [(
        "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, T, T)\n"
        "    if causal:\n"
        "        T = q.shape[-2]\n"
        "        mask = torch.tril(torch.ones(T, T, dtype=torch.bool, device=q.device))  # (T, T)\n"
        "        scores = scores.masked_fill(~mask, float(\"-inf\"))\n"
        "    return torch.softmax(scores, dim=-1) @ v  # (B, T, d_v)\n",
        "    scores = torch.einsum('bsk,btk->bst', q.double(), k.double()) * q.shape[-1] ** -0.5\n"
        "    if causal:\n"
        "        scores = scores + torch.triu(torch.full(scores.shape[-2:], -1e9, dtype=scores.dtype), 1)\n"
        "    w = scores.exp() / scores.exp().sum(-1, keepdim=True)\n"
        "    return torch.einsum('bst,btd->bsd', w, v.double())\n")]},
     "attention by einsum, an additive mask, a softmax by hand in float64"),
]


@pytest.mark.parametrize("mutations,what", ALTERNATIVES, ids=[a[1] for a in ALTERNATIVES])
def test_other_forms_of_a_right_answer_keep_every_point(mutations, what):
    assert failing(namespace(SESSION, mutations)) == {}, f"a right answer lost points: {what}"
