"""The judged checks of session 3 pass on correct answers and fail on typical mistakes.

The solution notebook is executed once (fast mode); each mistake or variant then re-executes
only its own cell, with the edit applied, on a copy of that namespace, and every registered
exercise is probed (through the shipped probe source and the wire encoding) and judged.
"""

import pytest
import torch

from autograder.checks import backprop as checks
from autograder.checks import exercises
from tests.notebook_exec import MutationNotApplied, code_cells, namespace
from tests.notebook_exec import failing as failing_exercises

SESSION = "03_backprop"


def failing(ns, seed=1234):
    """The exercises whose judged probe fails on ``ns``, with their messages."""
    return failing_exercises(SESSION, ns, seed)


@pytest.fixture(scope="module")
def solution():
    return namespace(SESSION)


def with_edits(base, cell, edits):
    """``base`` with the solution cell ``cell`` re-executed after the text edits."""
    source = next(src for grade_id, _, src in code_cells(SESSION) if grade_id == cell)
    for old, new in edits:
        if old not in source:
            raise MutationNotApplied(f"{old!r} not found in cell {cell!r}")
        source = source.replace(old, new)
    ns = dict(base)  # definitions of other cells stay those of the solution
    exec(compile(source, f"<{SESSION}:{cell}>", "exec"), ns)
    return ns


def test_solution_passes_every_check(solution):
    assert failing(solution) == {}


@pytest.mark.parametrize("seed", [0, 7, 2**31 - 1])
def test_solution_passes_for_other_seeds(solution, seed):
    assert failing(solution, seed) == {}


def test_notebook_network_is_the_checks_reference(solution):
    params, acts, order = checks.network_names()
    assert tuple(solution["PARAM_NAMES"]) == params
    assert tuple(solution["ACT_NAMES"]) == acts
    assert tuple(solution["BACKWARD_ORDER"]) == order
    p = checks.ninja_params(0)
    Xb, Yb = checks.ninja_batch(1, 20)
    mine, ref = solution["forward"](p, Xb, Yb), checks.ninja_forward(p, Xb, Yb)
    assert set(mine) == set(ref)
    assert all(torch.equal(mine[k], ref[k]) for k in ref)


# (exercise that must lose its points, cell, [(old, new)], what the mistake is)
MISTAKES = [
    ("manual_backprop", "manual_backprop", [("dlogprobs[range(n), Yb] = -1.0 / n",
                                             "dlogprobs[range(n), Yb] = -1.0")],
     "loss gradient without the 1/n of the mean"),
    ("manual_backprop", "manual_backprop", [("db2 = dlogits.sum(0)", "db2 = dlogits")],
     "bias gradient not summed over the batch"),
    ("manual_backprop", "manual_backprop", [("dhpreact = (1.0 - h ** 2) * dh",
                                             "dhpreact = (1.0 - hpreact ** 2) * dh")],
     "tanh derivative from the pre-activation"),
    ("manual_backprop", "manual_backprop", [("dbndiff2 = 1.0 / (n - 1) *", "dbndiff2 = 1.0 / n *")],
     "variance gradient without Bessel's correction"),
    ("manual_backprop", "manual_backprop", [("dbndiff = bnvar_inv * dbnraw + 2 * bndiff * dbndiff2",
                                             "dbndiff = bnvar_inv * dbnraw")],
     "bndiff used twice, one branch forgotten"),
    ("manual_backprop", "manual_backprop", [("dC.index_add_(0, Xb.view(-1), demb.view(-1, C.shape[1]))",
                                             "dC[Xb] += demb")],
     "embedding gradient that does not accumulate repeated characters"),
    ("ce_backward", "ce_backward", [("return dlogits / n", "return dlogits")],
     "cross-entropy gradient without 1/n"),
    ("ce_backward", "ce_backward", [("F.softmax(logits, dim=1)", "F.softmax(logits, dim=0)")],
     "softmax over the batch dimension"),
    ("ce_backward", "ce_backward", [("dlogits[range(n), Yb] -= 1", "dlogits[range(n), Yb] -= 0")],
     "one-hot term forgotten"),
    ("bn_backward", "bn_backward", [("- n / (n - 1) * bnraw", "- bnraw")],
     "batchnorm backward without n/(n-1) while the forward used Bessel"),
    ("bn_backward", "bn_backward", [("bngain * bnvar_inv / n *", "bngain * bnvar_inv *")],
     "batchnorm backward without 1/n"),
    ("bn_backward", "bn_backward", [("hprebn.var(0, keepdim=True)",
                                     "hprebn.var(0, keepdim=True, unbiased=False)")],
     "batchnorm backward recomputing the biased variance"),
    ("manual_training", "manual_training", [("p[name] -= lr * grad", "p[name] += lr * grad")],
     "gradient ascent"),
    ("manual_training", "manual_training", [('(1.0 - a["h"] ** 2) * dh', '(1.0 - a["hpreact"] ** 2) * dh')],
     "tanh derivative from the pre-activation in the training step"),
    ("manual_training", "manual_training", [('    dlogits = cross_entropy_backward(a["logits"], Yb)',
                                             '    a["loss"].backward()\n'
                                             '    dlogits = cross_entropy_backward(a["logits"], Yb)')],
     "autograd instead of the manual gradients"),
    ("manual_training", "manual_training", [('"b2": dlogits.sum(0)', '"b2": dlogits[0]')],
     "bias gradient of one sample instead of the batch"),
    ("mlp_torch", "mlp_torch", [("    optimizer.zero_grad()\n", "")], "gradients never zeroed"),
    ("mlp_torch", "mlp_torch", [("h = torch.tanh(self.hidden(e))", "h = self.hidden(e)")],
     "hidden layer without tanh"),
    ("mlp_torch", "mlp_torch", [("F.cross_entropy(model(Xb), Yb)",
                                 "F.cross_entropy(F.softmax(model(Xb), dim=1), Yb)")],
     "softmax applied before cross_entropy"),
    ("mlp_torch", "mlp_torch", [("    optimizer.step()\n", "")], "optimizer never steps"),
    ("init", "init", [("math.sqrt(layer.in_features)", "math.sqrt(layer.out_features)")],
     "fan_out instead of fan_in"),
    ("init", "init", [("gain / math.sqrt(layer.in_features)", "1 / math.sqrt(layer.in_features)")],
     "gain ignored"),
    ("init", "init", [("layer.bias.zero_()", "pass")], "bias not zeroed"),
    ("init", "init", [("layer.weight.normal_(", "layer.weight.requires_grad_(False).normal_(")],
     "weight no longer trainable"),
    ("init", "init", [("layer.weight.normal_(0.0, gain / math.sqrt(layer.in_features))",
                       "layer.weight.uniform_(-1.0, 1.0).mul_(3 ** 0.5 * gain / math.sqrt(layer.in_features))")],
     "uniform weights with the right standard deviation"),
    ("batchnorm", "batchnorm", [("mean, var = self.running_mean, self.running_var",
                                 "mean, var = x.mean(0), ((x - x.mean(0)) ** 2).mean(0)")],
     "batch statistics in eval mode"),
    ("batchnorm", "batchnorm", [
        ("                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)\n"
         "                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * n / (n - 1))\n",
         "                pass\n")],
     "running statistics never updated"),
    ("batchnorm", "batchnorm", [("self.momentum * var * n / (n - 1)", "self.momentum * var")],
     "running variance updated with the biased variance"),
    ("batchnorm", "batchnorm", [("self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)",
                                 "self.running_mean.mul_(self.momentum).add_((1 - self.momentum) * mean)")],
     "momentum the wrong way round"),
    ("batchnorm", "batchnorm", [("var = ((x - mean) ** 2).mean(0)", "var = x.var(0)")],
     "training mode normalises with the unbiased variance"),
    ("batchnorm", "batchnorm", [("            with torch.no_grad():\n", "            if True:\n")],
     "running statistics updated inside the autograd graph"),
    ("mlp_bn", "mlp_bn", [("h = torch.tanh(self.bn(self.hidden(e)))", "h = self.bn(torch.tanh(self.hidden(e)))")],
     "batchnorm after tanh"),
    ("mlp_bn", "mlp_bn", [("h = torch.tanh(self.bn(self.hidden(e)))", "h = self.bn(self.hidden(e))")],
     "tanh forgotten"),
    ("mlp_bn", "mlp_bn", [("self.bn = BatchNorm1d(n_hidden)",
                           "self.bn = nn.BatchNorm1d(n_hidden, track_running_stats=False)")],
     "no running statistics: eval mode normalises with the batch"),
    ("mlp_bn", "mlp_bn", [("h = torch.tanh(self.bn(self.hidden(e)))",
                           "z = self.hidden(e)\n        h = torch.tanh(self.bn.weight * (z - z.mean(0)) / z.std(0) + self.bn.bias)")],
     "batchnorm by hand with the batch statistics in every mode"),
    ("bn_fold", "bn_fold", [("torch.sqrt(bn.running_var + bn.eps)", "torch.sqrt(bn.running_var)")],
     "eps forgotten"),
    ("bn_fold", "bn_fold", [("(bias - bn.running_mean) * scale + bn.bias", "bias * scale + bn.bias")],
     "running mean forgotten in the bias"),
    ("bn_fold", "bn_fold", [("folded.weight.copy_(linear.weight * scale[:, None])",
                             "folded.weight.copy_(linear.weight.mul_(scale[:, None]))")],
     "the given linear layer scaled in place"),
    ("bn_fold", "bn_fold", [("linear.weight * scale[:, None]", "linear.weight * scale[None, :]")],
     "columns scaled instead of rows"),
    ("bn_fold", "bn_fold", [("    return folded", "    return nn.Sequential(folded)")],
     "a Sequential around the folded layer instead of an nn.Linear"),
    ("mnist_forward", "mnist_forward", [("torch.softmax(y_tilde, dim=1)", "torch.softmax(y_tilde, dim=0)")],
     "softmax over the batch dimension"),
    ("mnist_forward", "mnist_forward", [("y_tilde = h @ w2.T + b2", "y_tilde = h @ w2.T")],
     "output bias forgotten"),
    ("mnist_backward", "mnist_backward", [("dy_tilde = (y_hat - y) / n", "dy_tilde = (y_hat - y)")],
     "sum instead of the mean over the batch"),
    ("mnist_backward", "mnist_backward", [("db1 = dh_tilde.sum(0)", "db1 = dh_tilde[0]")],
     "bias gradient of the first sample only"),
    ("mnist_backward", "mnist_backward", [("(1 - h ** 2)", "(1 - h_tilde ** 2)")],
     "tanh derivative from the pre-activation"),
    ("autograd_step", "autograd_step", [("            p.grad = None\n", "")], "gradients never reset"),
    ("autograd_step", "autograd_step", [("F.cross_entropy(y_tilde, labels)",
                                         "F.cross_entropy(y_tilde, labels, reduction='sum')")],
     "summed cross-entropy instead of the mean"),
    ("autograd_step", "autograd_step", [("            p -= lr * p.grad\n",
                                         "            p = p - lr * p.grad\n")],
     "the update rebinds a name instead of changing the tensor"),
    ("autograd_step", "autograd_step", [("y_tilde = forward_pass(*params, x)[2]",
                                         "y_tilde = forward_pass(*params, x)[3]")],
     "cross-entropy of the probabilities instead of the logits"),
    ("mnist_module", "mnist_module", [("return self.out(torch.tanh(self.hidden(x)))",
                                       "return torch.softmax(self.out(torch.tanh(self.hidden(x))), dim=1)")],
     "softmax in the module's forward"),
    ("mnist_module", "mnist_module", [("return self.out(torch.tanh(self.hidden(x)))",
                                       "return self.out(self.hidden(x))")],
     "module without tanh"),
    ("mnist_module", "mnist_module", [("self.out = nn.Linear(n_h, n_y)", "self.out = nn.Linear(n_h, n_y, bias=False)")],
     "output layer without bias"),
]


@pytest.mark.parametrize("exercise,cell,edits,what", MISTAKES, ids=[m[3] for m in MISTAKES])
def test_typical_mistake_loses_its_exercise(solution, exercise, cell, edits, what):
    lost = failing(with_edits(solution, cell, edits))
    assert exercise in lost, f"the checks did not catch: {what}"


def test_every_exercise_has_two_caught_mistakes():
    counts = {}
    for exercise, *_ in MISTAKES:
        counts[exercise] = counts.get(exercise, 0) + 1
    assert set(counts) == set(exercises(SESSION)) and min(counts.values()) >= 2, counts


def test_messages_point_at_the_mistake(solution):
    lost = failing(with_edits(solution, "manual_backprop", [("dhpreact = (1.0 - h ** 2) * dh",
                                                             "dhpreact = (1.0 - hpreact ** 2) * dh")]))
    assert "dhpreact" in lost["manual_backprop"] and "output h" in lost["manual_backprop"]
    lost = failing(with_edits(solution, "batchnorm", [("mean, var = self.running_mean, self.running_var",
                                                       "mean, var = x.mean(0), x.var(0)")]))
    assert "eval mode" in lost["batchnorm"]
    lost = failing(with_edits(solution, "mlp_torch", [("    optimizer.zero_grad()\n", "")]))
    assert "zero_grad" in lost["mlp_torch"]


# Correct answers written differently from ours keep every point.
ALTERNATIVES = [
    ("manual_backprop", [
        ("    dC = torch.zeros_like(C)  # (27, 10)\n"
         "    dC.index_add_(0, Xb.view(-1), demb.view(-1, C.shape[1]))\n",
         "    dC = torch.zeros_like(C)\n"
         "    for i in range(Xb.shape[0]):\n"
         "        for j in range(Xb.shape[1]):\n"
         "            dC[Xb[i, j]] += demb[i, j]\n"),
        ("    dlogits = dnorm_logits + F.one_hot(logits.max(1).indices, logits.shape[1]) * dlogit_maxes  # (B, 27)\n",
         "    dlogits = dnorm_logits.clone()\n"
         "    dlogits[range(n), logits.argmax(1)] += dlogit_maxes.view(-1)\n"),
        ("    dbnvar = -0.5 * (bnvar + 1e-5) ** -1.5 * dbnvar_inv  # (1, 64)\n",
         "    dbnvar = -0.5 * bnvar_inv ** 3 * dbnvar_inv\n")],
     "embedding gradient by loops, argmax indexing, bnvar_inv cubed"),
    ("manual_backprop", [
        ("    n = Xb.shape[0]  # batch size\n",
         "    n = Xb.shape[0]\n"
         "    p = {k: v.double() for k, v in p.items()}\n"
         "    a = {k: v.double() for k, v in a.items()}\n")],
     "everything in float64"),
    ("ce_backward", [("    n = logits.shape[0]\n    dlogits = F.softmax(logits, dim=1)  # (B, 27)\n"
                      "    dlogits[range(n), Yb] -= 1\n    return dlogits / n  # (B, 27)\n",
                      "    e = (logits.double() - logits.double().max(1, keepdim=True).values).exp()\n"
                      "    return (e / e.sum(1, keepdim=True) - F.one_hot(Yb, logits.shape[1])) / len(Yb)\n")],
     "softmax by hand, one-hot, float64"),
    ("bn_backward", [("    n = hprebn.shape[0]\n", "    n = hprebn.shape[0]\n"
                      "    dhpreact, hprebn, bngain = dhpreact.double(), hprebn.double(), bngain.double()\n")],
     "batchnorm backward in float64"),
    ("bn_backward", [(
        "    bnvar_inv = (hprebn.var(0, keepdim=True) + eps) ** -0.5  # (1, 64) var() is Bessel-corrected\n"
        "    bnraw = (hprebn - hprebn.mean(0, keepdim=True)) * bnvar_inv  # (B, 64)\n"
        "    return bngain * bnvar_inv / n * (\n"
        "        n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))  # (B, 64)\n",
        "    bndiff = hprebn - hprebn.mean(0, keepdim=True)\n"
        "    bnvar = (bndiff ** 2).sum(0, keepdim=True) / (n - 1)\n"
        "    dbnraw = bngain * dhpreact\n"
        "    dbnvar = -0.5 * (bnvar + eps) ** -1.5 * (bndiff * dbnraw).sum(0, keepdim=True)\n"
        "    dbndiff = (bnvar + eps) ** -0.5 * dbnraw + 2 * bndiff / (n - 1) * dbnvar\n"
        "    return dbndiff - dbndiff.mean(0, keepdim=True)\n")],
     "batchnorm backward as a short chain instead of the closed formula"),
    ("manual_training", [(
        '    dlogits = cross_entropy_backward(a["logits"], Yb)  # (B, 27)\n',
        '    g = backward_by_hand(p, a, Xb, Yb)\n'
        '    for name in PARAM_NAMES:\n'
        '        p[name] = p[name] - lr * g[name]\n'
        '    return float(a["loss"])\n'
        '    dlogits = cross_entropy_backward(a["logits"], Yb)  # (B, 27)\n')],
     "training step through backward_by_hand, parameters rebound"),
    ("mlp_torch", [
        ("        self.emb = nn.Embedding(vocab_size, n_embd)  # C (27, 10)\n"
         "        self.hidden = nn.Linear(block_size * n_embd, n_hidden)  # W1 (100, 30), b1 (100,)\n"
         "        self.out = nn.Linear(n_hidden, vocab_size)  # W2 (27, 100), b2 (27,)\n",
         "        self.net = nn.Sequential(nn.Embedding(vocab_size, n_embd), nn.Flatten(),\n"
         "                                 nn.Linear(block_size * n_embd, n_hidden), nn.Tanh(),\n"
         "                                 nn.Linear(n_hidden, vocab_size))\n"),
        ("        e = self.emb(x).flatten(1)  # (B, 30)\n"
         "        h = torch.tanh(self.hidden(e))  # (B, 100)\n"
         "        return self.out(h)  # (B, 27)\n",
         "        return self.net(x)\n"),
        ("    loss = F.cross_entropy(model(Xb), Yb)\n    optimizer.zero_grad()\n"
         "    loss.backward()\n    optimizer.step()\n    return loss.item()\n",
         "    loss = F.nll_loss(F.log_softmax(model(Xb), dim=-1), Yb)\n    loss.backward()\n"
         "    optimizer.step()\n    model.zero_grad(set_to_none=True)\n    return float(loss.detach())\n")],
     "nn.Sequential, NLL of log-softmax, gradients zeroed after the step"),
    ("mlp_torch", [("    optimizer.zero_grad()\n    loss.backward()\n    optimizer.step()\n",
                    "    loss.backward()\n    optimizer.step()\n    optimizer.zero_grad()\n")],
     "optimizer.zero_grad() after optimizer.step()"),
    ("batchnorm", [
        ("            mean = x.mean(0)  # (dim,)\n"
         "            var = ((x - mean) ** 2).mean(0)  # (dim,) biased: divide by n\n"
         "            with torch.no_grad():\n"
         "                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)\n"
         "                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * n / (n - 1))\n",
         "            mean = x.mean(0, keepdim=True)  # (1, dim)\n"
         "            var = x.var(0, keepdim=True, unbiased=False)  # (1, dim)\n"
         "            with torch.no_grad():\n"
         "                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean\n"
         "                self.running_var = ((1 - self.momentum) * self.running_var\n"
         "                                    + self.momentum * x.var(0, keepdim=True))\n")],
     "running statistics kept with shape (1, dim)"),
    ("init", [("        layer.weight.normal_(0.0, gain / math.sqrt(layer.in_features))\n"
               "        if layer.bias is not None:\n            layer.bias.zero_()\n",
               "        fan_in = layer.weight.shape[1]\n"
               "        layer.weight.copy_(torch.randn_like(layer.weight) * gain * fan_in ** -0.5)\n"
               "        if layer.bias is not None:\n            nn.init.zeros_(layer.bias)\n")],
     "initialisation with randn_like and nn.init.zeros_"),
    ("init", [("    with torch.no_grad():\n"
               "        layer.weight.normal_(0.0, gain / math.sqrt(layer.in_features))\n"
               "        if layer.bias is not None:\n            layer.bias.zero_()\n",
               "    nn.init.kaiming_normal_(layer.weight, nonlinearity='linear')\n"
               "    with torch.no_grad():\n        layer.weight *= gain\n"
               "    if layer.bias is not None:\n        nn.init.constant_(layer.bias, 0.0)\n")],
     "initialisation through nn.init.kaiming_normal_"),
    ("batchnorm", [
        ("            var = ((x - mean) ** 2).mean(0)  # (dim,) biased: divide by n\n"
         "            with torch.no_grad():\n"
         "                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)\n"
         "                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * n / (n - 1))\n",
         "            var = x.var(0, unbiased=False)\n"
         "            self.running_mean = torch.lerp(self.running_mean, mean.detach(), self.momentum)\n"
         "            self.running_var = torch.lerp(self.running_var, x.detach().var(0), self.momentum)\n"),
        ("        x_hat = (x - mean) / torch.sqrt(var + self.eps)  # (B, dim)\n",
         "        x_hat = (x - mean) * torch.rsqrt(var + self.eps)\n")],
     "batchnorm with lerp, rebound buffers, rsqrt"),
    ("mlp_bn", [("self.bn = BatchNorm1d(n_hidden)", "self.bn = nn.BatchNorm1d(n_hidden)"),
                ("nn.Linear(block_size * n_embd, n_hidden, bias=False)", "nn.Linear(block_size * n_embd, n_hidden)"),
                ("        e = self.emb(x).flatten(1)  # (B, 30)\n"
                 "        h = torch.tanh(self.bn(self.hidden(e)))  # (B, 100)\n"
                 "        return self.out(h)  # (B, 27)\n",
                 "        return self.out(self.bn(self.hidden(self.emb(x).view(x.shape[0], -1))).tanh())\n")],
     "nn.BatchNorm1d, a hidden bias, forward in one line"),
    ("bn_fold", [("    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (out,)\n"
                  "    bias = linear.bias if linear.bias is not None else torch.zeros_like(bn.running_mean)  # (out,)\n"
                  "    folded = nn.Linear(linear.in_features, linear.out_features,\n"
                  "                       device=linear.weight.device, dtype=linear.weight.dtype)\n"
                  "    with torch.no_grad():\n"
                  "        folded.weight.copy_(linear.weight * scale[:, None])  # (out, in)\n"
                  "        folded.bias.copy_((bias - bn.running_mean) * scale + bn.bias)  # (out,)\n",
                  "    folded = nn.Linear(linear.in_features, linear.out_features)\n"
                  "    with torch.no_grad():\n"
                  "        s = bn.weight * (bn.running_var + bn.eps).rsqrt()\n"
                  "        folded.weight.copy_(torch.diag(s) @ linear.weight)\n"
                  "        b = linear.bias if linear.bias is not None else 0.0 * bn.bias\n"
                  "        folded.bias.copy_(bn(b[None])[0])  # eval-mode batchnorm of the bias\n")],
     "folding with diag and the eval-mode batchnorm of the bias"),
    ("mnist_forward", [("    h_tilde = x @ w1.T + b1  # (n, n_h)\n", "    h_tilde = torch.einsum('nx,hx->nh', x, w1) + b1\n"),
                       ("    y_hat = torch.softmax(y_tilde, dim=1)  # (n, 10)\n",
                        "    e = torch.exp(y_tilde.double() - y_tilde.double().max(dim=1, keepdim=True).values)\n"
                        "    y_hat = e / e.sum(dim=1, keepdim=True)\n")],
     "forward with einsum and a float64 softmax by hand"),
    ("mnist_backward", [(
        "    n = x.shape[0]\n    dy_tilde = (y_hat - y) / n  # (n, 10)\n"
        "    dw2 = dy_tilde.T @ h  # (10, n_h)\n    db2 = dy_tilde.sum(0)  # (10,)\n"
        "    dh_tilde = (dy_tilde @ w2) * (1 - h ** 2)  # (n, n_h)\n"
        "    dw1 = dh_tilde.T @ x  # (n_h, 784)\n    db1 = dh_tilde.sum(0)  # (n_h,)\n",
        "    n = x.shape[0]\n"
        "    dw1, db1 = torch.zeros(h.shape[1], x.shape[1]), torch.zeros(h.shape[1])\n"
        "    dw2, db2 = torch.zeros_like(w2), torch.zeros(w2.shape[0])\n"
        "    for i in range(n):\n"
        "        dy = (y_hat[i] - y[i]) / n\n"
        "        dh = (w2.T @ dy) * (1 - torch.tanh(h_tilde[i]) ** 2)\n"
        "        dw2 += torch.outer(dy, h[i])\n"
        "        db2 += dy\n"
        "        dw1 += torch.outer(dh, x[i])\n"
        "        db1 += dh\n")],
     "backward as a loop over the samples"),
    ("mnist_backward", [("    n = x.shape[0]\n", "    n = x.shape[0]\n"
                         "    x, y, h, y_hat, w2 = (t.double() for t in (x, y, h, y_hat, w2))\n")],
     "backward in float64"),
    ("autograd_step", [("            p.grad = None\n", "            p.grad.zero_()\n"),
                       ("    y_tilde = forward_pass(*params, x)[2]  # (n, 10) logits\n"
                        "    loss = F.cross_entropy(y_tilde, labels)\n",
                        "    y_hat = forward_pass(*[p.double() for p in params], x.double())[3]\n"
                        "    loss = -torch.log(y_hat[torch.arange(len(labels)), labels]).mean()\n")],
     "autograd step: float64 loss written out, gradients zeroed in place"),
    ("autograd_step", [("    with torch.no_grad():\n        for p in params:\n"
                        "            p -= lr * p.grad\n            p.grad = None\n",
                        "    torch.optim.SGD(params, lr=lr).step()\n"
                        "    for p in params:\n        p.grad = None\n")],
     "autograd step: the update by a throwaway optimizer"),
    ("mnist_module", [("        return self.out(torch.tanh(self.hidden(x)))  # (n, n_y)\n",
                       "        h = self.hidden(x).tanh()\n"
                       "        return F.linear(h, self.out.weight, self.out.bias)\n")],
     "module forward with F.linear"),
]


@pytest.mark.parametrize("cell,edits,what", ALTERNATIVES, ids=[a[2] for a in ALTERNATIVES])
def test_correct_variant_keeps_every_point(solution, cell, edits, what):
    assert failing(with_edits(solution, cell, edits)) == {}, f"a correct answer lost points: {what}"


def test_starred_marks_in_headings_match_the_policy():
    """An exercise heading carries (*) exactly when the exercise is starred; parts carry none."""
    import nbformat

    from autograder.paths import source_notebook
    from autograder.policy import load_policy

    starred = set(load_policy().sessions[SESSION].starred)
    nb = nbformat.read(source_notebook(SESSION), as_version=4)
    heading, seen = None, {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    assert "(\\*)" not in line, line
                if line.startswith("### Exercise"):
                    heading = line
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.endswith("__visible"):
            seen[grade_id[: -len("__visible")]] = "(\\*)" in heading
    assert set(seen) == set(exercises(SESSION))
    assert {name for name, star in seen.items() if star} == starred
