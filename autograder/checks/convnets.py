"""Probes and judges of session 5 (convnets for Fashion-MNIST), PyTorch as the oracle.

``F.conv2d`` and ``F.max_pool2d`` judge the hand-made convolution and pooling on random
shapes, strides, paddings and dilations. Networks whose layers the statement names get their
parameters set from the seed (``set_params``), and the ConvNet, whose layer names the
statement leaves free, by layer type and shape (``set_by_shape``); all are compared with a
reference built here, in every mode that changes their outputs. Training and evaluation loops
are probed with small models of the probe's own making (with dropout and batchnorm, started in
the wrong mode, their logits marked by the mode they run in), so that the mode, the
gradients, the targets' form and the weighting of a smaller last batch all show in the values
observed: no flag is read from the kernel.
"""

from __future__ import annotations

import random
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from autograder.checks import Fail, compare, expect, judge, kernel, number, probe
from autograder.probe_runtime import StudentError, call, need

SESSION = "05_convnets"


# --- shared by probes and judges -------------------------------------------------------------

@kernel
def set_params(module, seed):
    """Overwrite every parameter of ``module`` (by sorted name) with seeded values."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(module.named_parameters(), key=lambda item: item[0]):
            fan_in = max(1, p[0].numel()) if p.dim() > 1 else 10
            p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)


@kernel
def shapes_of(module):
    """{parameter name: shape} of a module."""
    return {name: list(p.shape) for name, p in module.named_parameters()}


@kernel
def mode_marked(model, n_classes):
    """``model``, its logits marked with the mode it runs in: unchanged in eval mode without
    gradients, else a large offset on class (training + 2 * grad enabled) % n_classes, so the
    mode shows in the values returned (see ``marked``)."""
    def mark(module, args, out):
        return out + marked(out.new_zeros(out.shape[1:]), module.training, torch.is_grad_enabled())
    model.register_forward_hook(mark)
    return model


@kernel
def marked(logits, training, grad):
    """``logits`` as ``mode_marked`` returns them in that mode."""
    code = int(training) + 2 * int(grad)
    if not code:
        return logits
    return logits + 5.0 * F.one_hot(torch.tensor(code % logits.shape[-1]), logits.shape[-1])


# --- Exercise 1: output size -----------------------------------------------------------------

@kernel
def conv_size_cases(seed):
    """(size, kernel, stride, padding, dilation): strides and dilations above 1, odd sizes."""
    rng = random.Random(seed)
    cases = []
    for stride, dilation in ((1, 1), (2, 1), (3, 1), (1, 2), (1, 3), (2, 2), (3, 2), (2, 3)):
        for _ in range(2):
            k = rng.randint(2, 5)
            p = rng.randint(0, 2)
            n = rng.randint(dilation * (k - 1) + 1, 40)
            cases.append((n, k, stride, p, dilation))
    return cases


@probe("conv_size")
def probe_conv_size(ns, seed):
    fn = need(ns, "conv_output_size")
    got = [call(f"conv_output_size({n}, {k}, {s}, {p}, {d})", fn, n, k, s, p, d)
           for n, k, s, p, d in conv_size_cases(seed)]
    defaults = [call(f"conv_output_size({n}, {k})", fn, n, k) for n, k in ((28, 3), (17, 4))]
    return {"got": got, "defaults": defaults}


def _conv_out(n, k, s=1, p=0, d=1):
    return F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p,
                    dilation=d).shape[-1]


def _integer(value, what):
    got = number(value, what)
    expect(got == int(got), f"{what} is {got}: a size is a whole number (round down with //)")
    return int(got)


@judge("conv_size")
def judge_conv_size(obs, seed):
    cases = conv_size_cases(seed)
    expect(len(obs["got"]) == len(cases) and len(obs["defaults"]) == 2, "malformed observation")
    for (n, k, s, p, d), value in zip(cases, obs["got"]):
        what = f"conv_output_size({n}, kernel_size={k}, stride={s}, padding={p}, dilation={d})"
        got = _integer(value, what)
        hint = ("a dilated kernel spans d*(k-1)+1 pixels" if d > 1 else
                "the division by the stride rounds down, then add 1" if s > 1 else "")
        expect(got == _conv_out(n, k, s, p, d), f"{what} is {got}, which F.conv2d disagrees with. {hint}")
    for (n, k), value in zip(((28, 3), (17, 4)), obs["defaults"]):
        got = _integer(value, f"conv_output_size({n}, {k})")
        expect(got == _conv_out(n, k), f"conv_output_size({n}, {k}) with the default stride 1, "
                                        f"padding 0, dilation 1 is {got}, which is wrong")


# --- Exercise 2: convolution with unfold -----------------------------------------------------

@kernel
def conv_cases(seed):
    """(x, weight, bias or None, stride, padding, dilation) of random shapes."""
    rng = random.Random(seed)
    g = torch.Generator().manual_seed(seed)
    settings = [(1, 0, 1), (2, 1, 1), (1, 2, 2), (3, 1, 1), (2, 0, 2), (1, 1, 1)]
    cases = []
    for i, (s, p, d) in enumerate(settings):
        b, c, c_out = rng.randint(1, 3), rng.randint(1, 3), rng.randint(1, 4)
        kh, kw = rng.randint(1, 3), rng.randint(1, 3)
        if i == 0:
            kh, kw = 3, 2  # a non-square kernel: row and column order both matter
        h = rng.randint(d * (kh - 1) + 2, 11)
        w = rng.randint(d * (kw - 1) + 2, 11)
        x = torch.randn(b, c, h, w, generator=g)  # (B, C, H, W)
        weight = torch.randn(c_out, c, kh, kw, generator=g)  # (C_out, C, kh, kw)
        bias = None if i == 3 else torch.randn(c_out, generator=g)  # (C_out,)
        cases.append((x, weight, bias, s, p, d))
    return cases


@probe("conv2d_unfold")
def probe_conv2d_unfold(ns, seed):
    fn = need(ns, "conv2d_unfold")
    outs = []
    for x, w, b, s, p, d in conv_cases(seed):
        out = call(f"conv2d_unfold(x {tuple(x.shape)}, weight {tuple(w.shape)}, stride={s}, "
                   f"padding={p}, dilation={d})", fn, x.clone(), w.clone(), b, stride=s, padding=p,
                   dilation=d)
        outs.append(out.detach() if isinstance(out, torch.Tensor) else out)
    return {"outs": outs}


@judge("conv2d_unfold")
def judge_conv2d_unfold(obs, seed):
    cases = conv_cases(seed)
    expect(len(obs["outs"]) == len(cases), "malformed observation")
    for (x, w, b, s, p, d), got in zip(cases, obs["outs"]):
        what = (f"conv2d_unfold with x {tuple(x.shape)}, weight {tuple(w.shape)}, "
                f"{'no bias, ' if b is None else ''}stride {s}, padding {p}, dilation {d}")
        want = F.conv2d(x.double(), w.double(), None if b is None else b.double(), stride=s,
                        padding=p, dilation=d)
        compare(got, want, what, "Compare with F.conv2d: unfold's columns are ordered (channel, "
                "kernel row, kernel column) like weight.view(C_out, -1), and the output size "
                "follows conv_output_size.", rtol=1e-4, atol=1e-5)


# --- Exercise 3: max-pooling with unfold -----------------------------------------------------

@kernel
def pool_cases(seed):
    """(x, kernel, stride or None)."""
    g = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)
    cases = []
    for k, s in ((2, None), (3, None), (3, 2), (2, 1), (2, 3)):
        shape = (rng.randint(1, 2), rng.randint(2, 4), rng.randint(k + 2, 11), rng.randint(k + 2, 11))
        cases.append((torch.randn(*shape, generator=g), k, s))  # (B, C, H, W)
    return cases


@probe("maxpool_unfold")
def probe_maxpool_unfold(ns, seed):
    fn = need(ns, "max_pool2d_unfold")
    outs = []
    for x, k, s in pool_cases(seed):
        what = f"max_pool2d_unfold(x {tuple(x.shape)}, {k}{'' if s is None else f', {s}'})"
        out = call(what, fn, x.clone(), k) if s is None else call(what, fn, x.clone(), k, s)
        outs.append(out.detach() if isinstance(out, torch.Tensor) else out)
    return {"outs": outs}


@judge("maxpool_unfold")
def judge_maxpool_unfold(obs, seed):
    cases = pool_cases(seed)
    expect(len(obs["outs"]) == len(cases), "malformed observation")
    for (x, k, s), got in zip(cases, obs["outs"]):
        what = f"max_pool2d_unfold(x {tuple(x.shape)}, kernel {k}, stride {s})"
        compare(got, F.max_pool2d(x.double(), k, s), what,
                "The stride defaults to the kernel size; take the maximum within each "
                "channel's window (columns viewed as (B, C, k*k, L)).", rtol=1e-6, atol=1e-7)


# --- Exercise 4: the convnet and one epoch of training (*) -----------------------------------

@kernel
def other_image_size(seed):
    return random.Random(seed).choice((32, 36, 40, 44))


@kernel
def small_model(seed, p_drop=0.0):
    """A small classifier with batchnorm (and dropout), on (B, 1, 4, 4) inputs, 3 classes."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.BatchNorm1d(12), nn.ReLU(),
                          nn.Dropout(p_drop), nn.Linear(12, 3))
    set_params(model, seed)
    model[2].running_mean.copy_(torch.linspace(-0.5, 0.5, 12))
    model[2].running_var.copy_(torch.linspace(0.5, 2.0, 12))
    return model


@kernel
def small_data(seed, n):
    """(x (n, 1, 4, 4), class indices (n,)): 70 % labelled as the eval-mode model predicts."""
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(n, 1, 4, 4, generator=g)  # (n, 1, 4, 4)
    model = small_model(seed).eval()
    with torch.no_grad():
        y = model(x).argmax(1)  # (n,)
    noise = torch.randint(0, 3, (n,), generator=g)
    flip = torch.rand(n, generator=g) < 0.3
    return x, torch.where(flip, noise, y)


@kernel
def set_by_shape(module, seed):
    """Set every Conv2d, BatchNorm2d and Linear of ``module`` (weights, biases, batchnorm
    statistics) from ``seed`` and the layer's type and shape, whatever its name or place."""
    with torch.no_grad():
        for m in module.modules():
            if not isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear)):
                continue
            key = f"{type(m).__name__}{tuple(m.weight.shape) if m.weight is not None else m.num_features}"
            g = torch.Generator().manual_seed(seed + zlib.crc32(key.encode()))
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                if m.weight is not None:
                    m.weight.copy_(1 + 0.3 * torch.randn(n, generator=g))
                    m.bias.copy_(0.3 * torch.randn(n, generator=g))
                continue
            m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.weight[0].numel() ** 0.5)
            if m.bias is not None:
                m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=g))


@kernel
def convnet_configs(seed):
    """(image_size, n_classes, width) of each network built: the defaults, then others."""
    rng = random.Random(seed)
    return [(28, 10, 16), (other_image_size(seed), rng.choice((5, 7)), rng.choice((4, 8)))]


@kernel
def convnet_input(seed, size):
    return torch.randn(4, 1, size, size, generator=torch.Generator().manual_seed(seed + size))


@probe("convnet")
def probe_convnet(ns, seed):
    ConvNet, train_epoch = need(ns, "ConvNet", "train_epoch")
    nets = []
    for size, n_classes, width in convnet_configs(seed):
        x = convnet_input(seed, size)
        seen = {}
        for p_drop in (0.0, 0.5):
            what = f"ConvNet(image_size={size}, n_classes={n_classes}, width={width}, p_drop={p_drop})"
            net = call(what, ConvNet, image_size=size, n_classes=n_classes, width=width,
                       p_drop=p_drop)
            if not isinstance(net, nn.Module):
                raise StudentError("ConvNet(...) must be a torch.nn.Module")
            with torch.no_grad():
                if any(isinstance(m, nn.modules.lazy.LazyModuleMixin) for m in net.modules()):
                    call(f"{what} on x {tuple(x.shape)}", lambda: net.eval()(x))  # shapes set
                set_by_shape(net, seed)
                if p_drop == 0.0:
                    seen["eval"] = call(f"{what} in eval mode on x {tuple(x.shape)}",
                                        lambda: net.eval()(x))
                torch.manual_seed(seed)  # the dropout masks, drawn again by the judge
                seen[f"train_{p_drop}"] = call(f"{what} in training mode", lambda: net.train()(x))
        nets.append(seen)
    model = small_model(seed).eval()  # the wrong mode: train_epoch must switch it
    x, y = small_data(seed, 10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)  # batches of 4, 4 and 2
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    mean_loss = call("train_epoch(model, loader, optimizer)", train_epoch, model, loader, opt)
    return {"nets": nets, "loss": mean_loss,
            "params": {n: p.detach() for n, p in model.named_parameters()},
            "running_mean": model[2].running_mean}


class _ReferenceConvNet(nn.Module):
    """The statement's table."""

    def __init__(self, image_size, n_classes, width, p_drop):
        super().__init__()
        side = image_size // 2 // 2
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(p_drop), nn.Linear(2 * width * side * side, 128), nn.ReLU(),
            nn.Dropout(p_drop), nn.Linear(128, n_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


CONVNET_TABLE = ("Conv2d(1, w, 3, padding=1), BatchNorm2d, ReLU, MaxPool2d(2); Conv2d(w, 2w, 3, "
                 "padding=1), BatchNorm2d, ReLU, MaxPool2d(2); flatten, Dropout(p_drop), "
                 "Linear(2w (s/4)², 128), ReLU, Dropout(p_drop), Linear(128, n_classes)")


@judge("convnet")
def judge_convnet(obs, seed):
    nets = obs["nets"]
    expect(isinstance(nets, list) and len(nets) == 2, "malformed observation")
    for (size, n_classes, width), seen in zip(convnet_configs(seed), nets):
        x = convnet_input(seed, size)
        what = f"ConvNet(image_size={size}, n_classes={n_classes}, width={width})"
        out = seen["eval"]
        expect(isinstance(out, torch.Tensor) and tuple(out.shape) == (len(x), n_classes),
               f"{what} on a batch {tuple(x.shape)} gives "
               f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}, "
               f"expected {(len(x), n_classes)}. Compute the flattened size from image_size, not "
               f"for 28x28 only, and use n_classes.")
        expect(not (bool((out >= 0).all()) and
                    torch.allclose(out.double().sum(1), torch.ones(len(x), dtype=torch.float64),
                                   atol=1e-4)),
               "ConvNet returns probabilities: return the logits (F.cross_entropy applies the softmax)")
        for mode, p_drop in (("eval", 0.0), ("train_0.0", 0.0), ("train_0.5", 0.5)):
            ref = _ReferenceConvNet(size, n_classes, width, p_drop)
            set_by_shape(ref, seed)
            with torch.no_grad():
                if mode == "eval":
                    want = ref.eval()(x)
                else:
                    torch.manual_seed(seed)
                    want = ref.train()(x)
            hint = {
                "eval": f"In eval mode, with every Conv2d, BatchNorm2d and Linear set by the "
                        f"grader, it does not compute the table: {CONVNET_TABLE}.",
                "train_0.0": "Right in eval mode, wrong in training mode with p_drop=0: dropout "
                             "must use p_drop (nothing dropped at 0), batchnorm its batch statistics.",
                "train_0.5": "Right in eval mode, wrong in training mode with p_drop=0.5: one "
                             "Dropout(p_drop) after flatten and one after the hidden ReLU, nowhere else.",
            }[mode]
            compare(seen[mode], want, what, hint, rtol=1e-4, atol=1e-5)
    _judge_train_epoch(obs, seed)


def _judge_train_epoch(obs, seed):
    got_loss = number(obs["loss"], "train_epoch(...)'s return value")
    x, y = small_data(seed, 10)
    model = small_model(seed).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    total = 0.0
    for xb, yb in DataLoader(TensorDataset(x, y), batch_size=4):
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(yb)
    want_loss = total / len(y)
    compare(obs["running_mean"], model[2].running_mean.detach(),
            "batchnorm's running mean after train_epoch",
            "Its running statistics did not move as in training mode: call model.train() first "
            "(the model may arrive in eval mode).", rtol=1e-4, atol=1e-6)
    params = obs["params"]
    expect(isinstance(params, dict), "malformed observation")
    for name, want in model.named_parameters():
        compare(params.get(name), want.detach(), f"the parameter {name} after train_epoch",
                "For each batch: F.cross_entropy(model(x), y) with the class indices y, "
                "optimizer.zero_grad(), loss.backward(), optimizer.step().", rtol=1e-4, atol=1e-6)
    expect(abs(got_loss - want_loss) <= 1e-4 * max(1.0, abs(want_loss)),
           f"train_epoch returned {got_loss:.5g}, which is not the mean loss over the samples of "
           "the epoch: weight each batch's loss by its size (the last batch is smaller)")


# --- Exercise 5: evaluation (*) ---------------------------------------------------------------

@probe("evaluate")
def probe_evaluate(ns, seed):
    evaluate = need(ns, "evaluate")
    # the wrong mode: evaluate must switch it; the logits show the mode (mode_marked)
    model = mode_marked(small_model(seed, p_drop=0.5).train(), 3)
    x, y = small_data(seed, 250)
    loader = DataLoader(TensorDataset(x, y), batch_size=100)  # batches of 100, 100 and 50
    result = call("evaluate(model, loader)", evaluate, model, loader)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise StudentError("evaluate must return a pair (mean loss, accuracy)")
    return {"loss": result[0], "accuracy": result[1]}


def _loss_accuracy(logits, y):
    return (F.cross_entropy(logits, y).item(),
            (logits.argmax(1) == y).double().mean().item())


@judge("evaluate")
def judge_evaluate(obs, seed):
    x, y = small_data(seed, 250)
    with torch.no_grad():
        logits = small_model(seed, p_drop=0.5).eval()(x)  # (250, 3)
    acc = number(obs["accuracy"], "the accuracy returned by evaluate")
    loss = number(obs["loss"], "the loss returned by evaluate")

    def same(pair):
        return abs(acc - pair[1]) < 1e-6 and abs(loss - pair[0]) <= 1e-4 * max(1.0, pair[0])

    want_loss, want_acc = _loss_accuracy(logits, y)
    if same((want_loss, want_acc)):
        return
    expect(not same(_loss_accuracy(marked(logits, False, True), y)),
           "evaluate runs the model with gradients enabled: wrap it in torch.no_grad()")
    expect(abs(acc - want_acc) < 1e-6,
           f"evaluate's accuracy is {acc:.4g}, which is wrong: in eval mode (call model.eval(): "
           "dropout off, batchnorm on its running statistics), without gradients, the fraction of "
           "samples whose argmax equals their label, over all samples; the labels are class "
           "indices, not one-hot rows")
    raise Fail(f"evaluate's mean loss is {loss:.5g}, which is wrong: the cross-entropy averaged "
               "over the samples in eval mode (weight each batch by its size: the last batch is "
               "smaller)")


# --- Exercise 6: confusion matrix -------------------------------------------------------------

@kernel
def confusion_case(seed):
    """(preds, targets, n_classes): the last class never occurs, most predictions right."""
    g = torch.Generator().manual_seed(seed)
    n_classes = 4 + seed % 3
    targets = torch.randint(0, n_classes - 1, (80,), generator=g)  # (80,)
    wrong = torch.randint(0, n_classes - 1, (80,), generator=g)
    preds = torch.where(torch.rand(80, generator=g) < 0.6, targets, wrong)  # (80,)
    return preds, targets, n_classes


@probe("confusion")
def probe_confusion(ns, seed):
    fn = need(ns, "confusion_matrix")
    preds, targets, n = confusion_case(seed)
    cm = call(f"confusion_matrix(preds, targets, n_classes={n})", fn, preds.clone(), targets.clone(),
              n_classes=n)
    return {"cm": cm}


@judge("confusion")
def judge_confusion(obs, seed):
    preds, targets, n = confusion_case(seed)
    want = torch.zeros(n, n, dtype=torch.float64)
    for t, p in zip(targets.tolist(), preds.tolist()):
        want[t, p] += 1
    got = obs["cm"]
    what = f"confusion_matrix(preds, targets, n_classes={n})"
    expect(isinstance(got, torch.Tensor) and tuple(got.shape) == (n, n),
           f"{what} must be a ({n}, {n}) tensor, got "
           f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}")
    expect(not got.is_floating_point() and got.dtype != torch.bool,
           f"{what} holds {str(got.dtype).replace('torch.', '')} values: the statement asks for "
           "an int64 tensor of counts")
    expect(torch.equal(want, want.T) or not torch.equal(got.double(), want.T),
           f"{what} is transposed: rows are the true classes, columns the predicted ones")
    compare(got, want, what, "M[i, j] counts the samples of true class i predicted as class j.",
            rtol=0, atol=1e-9)


# --- Exercise 7: Fleuret's Net ----------------------------------------------------------------

class _ReferenceNet(nn.Module):
    def __init__(self, nb_hidden):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=5)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=5)
        self.fc1 = nn.Linear(256, nb_hidden)
        self.fc2 = nn.Linear(nb_hidden, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), kernel_size=3, stride=3))
        x = F.relu(F.max_pool2d(self.conv2(x), kernel_size=2, stride=2))
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


@kernel
def hidden_widths(seed):
    return random.Random(seed).sample((7, 30, 64, 123), 2)


@kernel
def net_input(seed):
    return torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(seed + 7))


@probe("fleuret_net")
def probe_fleuret_net(ns, seed):
    Net = need(ns, "Net")
    seen = {}
    for h in hidden_widths(seed):
        net = call(f"Net({h})", Net, h)
        if not isinstance(net, nn.Module):
            raise StudentError("Net(...) must be a torch.nn.Module")
        shapes = shapes_of(net)
        set_params(net, seed + h)
        with torch.no_grad():
            out = call(f"Net({h})(x)", net, net_input(seed))
        seen[str(h)] = {"shapes": shapes, "out": out}
    return seen


@judge("fleuret_net")
def judge_fleuret_net(obs, seed):
    for h in hidden_widths(seed):
        ref = _ReferenceNet(h)
        got = obs[str(h)]
        expect(got["shapes"] == shapes_of(ref),
               f"Net({h}) does not have the layers conv1, conv2, fc1, fc2 of the table with "
               f"{h} hidden units (its parameters: {got['shapes']})"[:400])
        set_params(ref, seed + h)
        with torch.no_grad():
            want = ref(net_input(seed))
        compare(got["out"], want, f"Net({h})(x) with parameters set by the grader",
                "conv1, max-pool 3 with stride 3, ReLU; conv2, max-pool 2, ReLU; flatten; fc1, "
                "ReLU; fc2.", rtol=1e-4, atol=1e-5)


# --- Exercise 8: counting errors --------------------------------------------------------------

@probe("nb_errors")
def probe_nb_errors(ns, seed):
    fn = need(ns, "compute_nb_errors")
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 10), nn.Dropout(0.5))
    set_params(model, seed)
    model = mode_marked(model.train(), 10)  # the wrong mode: compute_nb_errors must switch it
    x, target = errors_case(seed)
    n = call("compute_nb_errors(model, data_input, data_target, 100)", fn, model, x, target.clone(), 100)
    return {"returned": n}


@kernel
def errors_case(seed):
    """(250 inputs (250, 1, 4, 4), one-hot targets (250, 10)): about 60 % right."""
    g = torch.Generator().manual_seed(seed + 3)
    x = torch.randn(250, 1, 4, 4, generator=g)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 10))
    set_params(model, seed)
    with torch.no_grad():
        pred = model(x).argmax(1)  # (250,)
    labels = torch.where(torch.rand(250, generator=g) < 0.6, pred,
                         torch.randint(0, 10, (250,), generator=g))
    return x, F.one_hot(labels, 10).float()


@judge("nb_errors")
def judge_nb_errors(obs, seed):
    x, target = errors_case(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 10))
    set_params(model, seed)
    with torch.no_grad():
        logits = model(x)  # (250, 10)

    def errors(z):
        return int((z.argmax(1) != target.argmax(1)).sum())

    got = number(obs["returned"], "compute_nb_errors(...)")
    if got == errors(logits):
        return
    expect(got != errors(marked(logits, False, True)),
           "compute_nb_errors runs the model with gradients enabled: use torch.no_grad()")
    raise Fail(f"compute_nb_errors on 250 samples in mini-batches of 100 counts {got:g} errors, "
               "which is wrong: in eval mode (call model.eval(): dropout off), compare each "
               "predicted class with the class of its one-hot target, for every sample (the last "
               "mini-batch has 50)")


# --- Exercise 9: the U-Net --------------------------------------------------------------------

def _block(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU())


class _ReferenceUNet(nn.Module):
    def __init__(self, channels, base):
        super().__init__()
        b = base
        self.enc1, self.enc2, self.mid = _block(channels, b), _block(b, 2 * b), _block(2 * b, 4 * b)
        self.up2 = nn.ConvTranspose2d(4 * b, 2 * b, kernel_size=2, stride=2)
        self.dec2 = _block(4 * b, 2 * b)
        self.up1 = nn.ConvTranspose2d(2 * b, b, kernel_size=2, stride=2)
        self.dec1 = _block(2 * b, b)
        self.out = nn.Conv2d(b, channels, kernel_size=1)

    def forward(self, x, skip_first=False):
        def cat(up, skip):
            return torch.cat([skip, up] if skip_first else [up, skip], dim=1)

        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.dec2(cat(self.up2(m), e2))
        return self.out(self.dec1(cat(self.up1(d2), e1)))


@kernel
def unet_cases(seed):
    """(channels, base, input (B, C, H, W)) with H and W multiples of 4."""
    rng = random.Random(seed)
    g = torch.Generator().manual_seed(seed)
    return [(c, 4, torch.randn(2, c, rng.choice((8, 12, 16)), rng.choice((8, 12, 16)), generator=g))
            for c in (1, 3)]


@probe("unet")
def probe_unet(ns, seed):
    TinyUNet = need(ns, "TinyUNet")
    outs = []
    for i, (c, base, x) in enumerate(unet_cases(seed)):
        net = call(f"TinyUNet(channels={c}, base={base})", TinyUNet, channels=c, base=base)
        if not isinstance(net, nn.Module):
            raise StudentError("TinyUNet(...) must be a torch.nn.Module")
        shapes = shapes_of(net)
        set_params(net, seed + i)
        with torch.no_grad():
            out = call(f"TinyUNet(channels={c}, base={base})(x) on x {tuple(x.shape)}", net, x)
        outs.append({"shapes": shapes, "out": out})
    return {"cases": outs}


@judge("unet")
def judge_unet(obs, seed):
    cases = unet_cases(seed)
    expect(len(obs["cases"]) == len(cases), "malformed observation")
    for i, ((c, base, x), got) in enumerate(zip(cases, obs["cases"])):
        ref = _ReferenceUNet(c, base)
        expect(got["shapes"] == shapes_of(ref),
               "TinyUNet's layers are not the given ones: keep its __init__ as it is")
        set_params(ref, seed + i)
        out = got["out"]
        what = f"TinyUNet(channels={c}, base={base})(x) on x {tuple(x.shape)}"
        expect(isinstance(out, torch.Tensor) and tuple(out.shape) == tuple(x.shape),
               f"{what} has shape {tuple(out.shape) if isinstance(out, torch.Tensor) else '?'}: "
               "the output must have the input's shape")
        with torch.no_grad():
            wants = [ref(x), ref(x, skip_first=True)]  # either order of concatenation
        if not any(_close(out, want) for want in wants):
            raise Fail(f"{what} is not what it should be with parameters set by the grader: "
                       "e1 = enc1(x), e2 = enc2(pool(e1)), m = mid(pool(e2)), "
                       "d2 = dec2(cat[up2(m), e2]), d1 = dec1(cat[up1(d2), e1]), out(d1)")


def _close(got, want):
    return bool(torch.isfinite(got).all()) and (
        (got.double() - want.double()).abs().max().item()
        <= 1e-5 + 1e-4 * want.double().abs().max().item())
