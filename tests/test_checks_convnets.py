"""The judged checks of session 5 pass on correct answers and fail on typical mistakes.

The solution notebook runs once (fast mode); each mistake or variant re-runs only the cell it
changes, on a copy of the notebook's globals, then the probes run as shipped and are judged.
"""

import pytest

from autograder.checks import exercises, run_in_process
from tests.notebook_exec import MutationNotApplied, code_cells, namespace

SESSION = "05_convnets"


@pytest.fixture(scope="module")
def solution():
    return namespace(SESSION)


def patched(base: dict, cell: str, edits) -> dict:
    """A copy of ``base`` in which the solution cell ``cell``, edited, has run again."""
    (source,) = [src for grade_id, _, src in code_cells(SESSION) if grade_id == cell]
    for old, new in edits:
        if old not in source:
            raise MutationNotApplied(f"{old!r} not found in cell {cell!r}")
        source = source.replace(old, new)
    ns = dict(base)
    exec(compile(source, f"<{SESSION}:{cell}>", "exec"), ns)
    return ns


def test_solution_passes_every_check(solution):
    failed = {name: run_in_process(SESSION, name, solution).message for name in exercises(SESSION)}
    assert {k: v for k, v in failed.items() if v} == {}


# (exercise that must lose its points, cell, [(old, new)], what the mistake is)
SIZE = "(size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1"
MISTAKES = [
    ("conv_size", "conv_size", [(SIZE, "(size + 2 * padding - dilation * (kernel_size - 1)) // stride")],
     "output size right for stride 1 only"),
    ("conv_size", "conv_size", [(SIZE, "(size + 2 * padding - (kernel_size - 1) - 1) // stride + 1")],
     "dilation ignored"),
    ("conv_size", "conv_size", [(SIZE, "(size + 2 * padding - dilation * kernel_size) // stride + 1")],
     "dilated kernel span taken as d*k"),
    ("conv_size", "conv_size", [(SIZE, "(size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride + 1")],
     "true division instead of floor"),
    ("conv2d_unfold", "conv2d_unfold", [("weight.reshape(C_out, -1)",
                                         "weight.permute(0, 2, 3, 1).reshape(C_out, -1)")],
     "im2col with the wrong patch order (channel last)"),
    ("conv2d_unfold", "conv2d_unfold", [("weight.reshape(C_out, -1)",
                                         "weight.transpose(2, 3).reshape(C_out, -1)")],
     "im2col with kernel rows and columns swapped"),
    ("conv2d_unfold", "conv2d_unfold", [("H_out = conv_output_size(H, kh, stride, padding, dilation)",
                                         "H_out = conv_output_size(H, kh, 1, padding, dilation)")],
     "output height ignores the stride"),
    ("conv2d_unfold", "conv2d_unfold", [("dilation=dilation, padding=padding", "padding=padding")],
     "unfold without dilation"),
    ("conv2d_unfold", "conv2d_unfold", [("out = out + bias.view(1, C_out, 1)", "out = out + bias.view(1, 1, -1)")],
     "bias added along the positions"),
    ("maxpool_unfold", "maxpool_unfold", [("stride = kernel_size if stride is None else stride",
                                           "stride = 1 if stride is None else stride")],
     "stride defaults to 1"),
    ("maxpool_unfold", "maxpool_unfold", [("cols.view(B, C, kernel_size * kernel_size, H_out * W_out)",
                                           "cols.view(B, kernel_size * kernel_size, C, H_out * W_out)"),
                                          ("cols.max(dim=2).values", "cols.max(dim=1).values")],
     "windows read across channels (wrong patch order)"),
    ("convnet", "convnet", [("side = conv_output_size(conv_output_size(image_size, 2, 2), 2, 2)",
                             "side = 7")],
     "flatten size hard-coded for 28x28"),
    ("convnet", "convnet", [("nn.Linear(128, n_classes),  # (B, n_classes) logits",
                             "nn.Linear(128, n_classes), nn.Softmax(dim=1),")],
     "softmax on the output"),
    ("convnet", "convnet", [("        optimizer.zero_grad()\n", "")], "gradients never reset"),
    ("convnet", "convnet", [("    model.train()\n", "")], "train_epoch leaves the model in eval mode"),
    ("convnet", "convnet", [("total += loss.item() * len(y)", "total += loss.item()"),
                            ("count += len(y)", "count += 1")],
     "mean of the batch means (a smaller last batch overweighted)"),
    ("convnet", "convnet", [("loss = F.cross_entropy(model(x), y)",
                             "loss = F.mse_loss(model(x).softmax(1), F.one_hot(y, 3).float())")],
     "MSE against one-hot targets instead of the cross-entropy"),
    ("convnet", "convnet", [("nn.MaxPool2d(2),  # (B, 2w, s/4, s/4)",
                             "nn.AvgPool2d(2),  # (B, 2w, s/4, s/4)")],
     "average-pooling in the second block"),
    ("convnet", "convnet", [("side * side, 128)", "side * side, 64)"),
                            ("nn.Linear(128, n_classes)", "nn.Linear(64, n_classes)")],
     "64 hidden units instead of 128"),
    ("convnet", "convnet", [("nn.BatchNorm2d(2 * width), ", "")], "no batchnorm in the second block"),
    ("convnet", "convnet", [("nn.Dropout(p_drop)", "nn.Dropout(0.3)")], "dropout ignores p_drop"),
    ("convnet", "convnet", [("nn.Flatten(), nn.Dropout(p_drop),", "nn.Flatten(),")],
     "no dropout before the hidden layer"),
    ("convnet", "convnet", [("nn.ReLU(), nn.Dropout(p_drop),", "nn.Dropout(p_drop), nn.ReLU(),"),
                            ("nn.Flatten(), nn.Dropout(p_drop),", "nn.Flatten(),"),
                            ("nn.Linear(128, n_classes),  # (B, n_classes) logits",
                             "nn.Linear(128, n_classes), nn.Dropout(p_drop),")],
     "dropout moved onto the logits"),
    ("convnet", "convnet", [("return self.classifier(self.features(x))",
                             "return self.classifier[-1](self.classifier[2].weight.new_zeros(x.shape[0], 128) + "
                             "x.flatten(1)[:, :128])")],
     "the convolutions built and never used"),
    ("evaluate", "evaluate", [("    model.eval()\n", "")],
     "accuracy measured in train mode (dropout and batchnorm on)"),
    ("evaluate", "evaluate", [("(logits.argmax(dim=1) == y)", "(logits.argmax(dim=1) == y.argmax(dim=-1))")],
     "class indices taken for one-hot targets"),
    ("evaluate", "evaluate", [("    with torch.no_grad():\n", "    if True:\n")], "gradients enabled"),
    ("evaluate", "evaluate", [('F.cross_entropy(logits, y, reduction="sum").item()',
                               "F.cross_entropy(logits, y).item()"), ("count += len(y)", "count += 1")],
     "mean of the batch losses (the last batch overweighted)"),
    ("confusion", "confusion", [("flat = targets * n_classes + preds", "flat = preds * n_classes + targets")],
     "confusion matrix transposed"),
    ("confusion", "confusion", [("minlength=n_classes * n_classes", "minlength=0")],
     "a class that never occurs is missing"),
    ("confusion", "confusion", [(".view(n_classes, n_classes)", ".view(n_classes, n_classes).float()")],
     "float counts where the statement says int64"),
    ("fleuret_net", "fleuret_net", [("nn.Linear(256, nb_hidden)", "nn.Linear(256, 200)"),
                                    ("nn.Linear(nb_hidden, 10)", "nn.Linear(200, 10)")],
     "nb_hidden ignored"),
    ("fleuret_net", "fleuret_net", [("x = F.relu(self.fc1(x.flatten(1)))", "x = self.fc1(x.flatten(1))")],
     "no ReLU after fc1"),
    ("fleuret_net", "fleuret_net", [("F.max_pool2d(self.conv1(x), kernel_size=3, stride=3)",
                                     "F.max_pool2d(self.conv1(x), kernel_size=2, stride=2)")],
     "first pooling of 2 (flatten size no longer 256)"),
    ("nb_errors", "nb_errors", [("range(0, data_input.size(0), mini_batch_size)",
                                 "range(0, data_input.size(0) - mini_batch_size + 1, mini_batch_size)")],
     "the last, smaller mini-batch skipped"),
    ("nb_errors", "nb_errors", [("    model.eval()\n", "")], "errors counted in train mode"),
    ("nb_errors", "nb_errors", [("    with torch.no_grad():\n        for b", "    if True:\n        for b")],
     "errors counted with gradients enabled"),
    ("nb_errors", "nb_errors", [("data_target[b:b + mini_batch_size].argmax(dim=1)",
                                 "data_target[b:b + mini_batch_size]")],
     "one-hot targets compared as class indices"),
    ("unet", "unet", [("torch.cat([self.up1(d2), e1], dim=1)", "torch.cat([self.up1(d2), self.up1(d2)], dim=1)")],
     "no skip connection at full resolution"),
    ("unet", "unet", [("return self.out(d1)  # (B, C, H, W)", "return d1")], "no output convolution"),
    ("unet", "unet", [("e2 = self.enc2(F.max_pool2d(e1, 2))", "e2 = self.enc2(F.avg_pool2d(e1, 2))")],
     "average instead of max pooling"),
]


@pytest.mark.parametrize("exercise,cell,edits,what", MISTAKES, ids=[m[3] for m in MISTAKES])
def test_typical_mistake_loses_its_exercise(solution, exercise, cell, edits, what):
    result = run_in_process(SESSION, exercise, patched(solution, cell, edits))
    assert not result.passed, f"the checks did not catch: {what}"
    assert "malformed" not in result.message, result.message


def test_every_exercise_has_two_caught_mistakes():
    counts = {}
    for exercise, *_ in MISTAKES:
        counts[exercise] = counts.get(exercise, 0) + 1
    assert set(counts) == set(exercises(SESSION)) and min(counts.values()) >= 2, counts


CONV_BODY = """    H_out = conv_output_size(H, kh, stride, padding, dilation)
    W_out = conv_output_size(W, kw, stride, padding, dilation)
    cols = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)  # (B, C*kh*kw, L)
    out = weight.reshape(C_out, -1) @ cols  # (B, C_out, L)
    if bias is not None:
        out = out + bias.view(1, C_out, 1)  # (B, C_out, L)
    return out.view(B, C_out, H_out, W_out)  # (B, C_out, H_out, W_out)
"""
POOL_BODY = """    H_out = conv_output_size(H, kernel_size, stride)
    W_out = conv_output_size(W, kernel_size, stride)
    cols = F.unfold(x, kernel_size, stride=stride)  # (B, C*k*k, L)
    cols = cols.view(B, C, kernel_size * kernel_size, H_out * W_out)  # (B, C, k*k, L)
    return cols.max(dim=2).values.view(B, C, H_out, W_out)  # (B, C, H_out, W_out)
"""

# Correct answers written differently from ours keep every point: (cell, edits, what).
ALTERNATIVES = [
    ("conv_size", [(SIZE, "math.floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1"),
                   ("    ### BEGIN SOLUTION\n", "    ### BEGIN SOLUTION\n    import math\n")],
     "output size with math.floor"),
    ("conv_size", [(SIZE, "len(range(0, size + 2 * padding - dilation * (kernel_size - 1), stride))")],
     "output size by counting positions"),
    ("conv2d_unfold", [(CONV_BODY, """    H_out = conv_output_size(H, kh, stride, padding, dilation)
    W_out = conv_output_size(W, kw, stride, padding, dilation)
    xp = F.pad(x, (padding, padding, padding, padding))  # (B, C, H + 2p, W + 2p)
    out = torch.zeros(B, C_out, H_out, W_out, dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i * dilation: i * dilation + stride * (H_out - 1) + 1: stride,
                       j * dilation: j * dilation + stride * (W_out - 1) + 1: stride]  # (B, C, H_out, W_out)
            out += torch.einsum("bchw,oc->bohw", patch, weight[:, :, i, j])
    if bias is not None:
        out += bias.view(1, -1, 1, 1)
    return out
""")], "explicit loop over kernel positions"),
    ("conv2d_unfold", [(CONV_BODY, """    H_out = conv_output_size(H, kh, stride, padding, dilation)
    W_out = conv_output_size(W, kw, stride, padding, dilation)
    cols = F.unfold(x.double(), (kh, kw), dilation=dilation, padding=padding, stride=stride)
    cols = cols.view(B, C, kh, kw, H_out, W_out)
    out = torch.einsum("bcijhw,ocij->bohw", cols, weight.double())
    return out if bias is None else out + bias.double()[None, :, None, None]
""")], "unfold and einsum, in float64"),
    ("conv2d_unfold", [(CONV_BODY, """    H_out = conv_output_size(H, kh, stride, padding, dilation)
    W_out = conv_output_size(W, kw, stride, padding, dilation)
    xp = F.pad(x, (padding,) * 4).contiguous()
    sB, sC, sH, sW = xp.stride()
    patches = xp.as_strided((B, C, H_out, W_out, kh, kw),
                            (sB, sC, sH * stride, sW * stride, sH * dilation, sW * dilation))
    out = torch.tensordot(patches, weight, dims=([1, 4, 5], [1, 2, 3]))  # (B, H_out, W_out, C_out)
    if bias is not None:
        out = out + bias
    return out.permute(0, 3, 1, 2)
""")], "as_strided and tensordot"),
    ("maxpool_unfold", [(POOL_BODY, """    H_out = conv_output_size(H, kernel_size, stride)
    W_out = conv_output_size(W, kernel_size, stride)
    sB, sC, sH, sW = x.stride()
    windows = x.as_strided((B, C, H_out, W_out, kernel_size, kernel_size),
                           (sB, sC, sH * stride, sW * stride, sH, sW))
    return windows.flatten(-2).amax(-1)
""")], "max-pooling with as_strided"),
    ("maxpool_unfold", [(POOL_BODY, """    H_out = conv_output_size(H, kernel_size, stride)
    W_out = conv_output_size(W, kernel_size, stride)
    out = torch.full((B, C, H_out, W_out), float("-inf"))
    for i in range(kernel_size):
        for j in range(kernel_size):
            out = torch.maximum(out, x[:, :, i: i + stride * (H_out - 1) + 1: stride,
                                       j: j + stride * (W_out - 1) + 1: stride])
    return out
""")], "max-pooling by a loop over window offsets"),
    ("convnet", [("side = conv_output_size(conv_output_size(image_size, 2, 2), 2, 2)  # s/4, rounded down\n",
                  "with torch.no_grad():\n"
                  "            n_flat = self.features(torch.zeros(2, 1, image_size, image_size)).shape[1:].numel()\n"
                  "        side = int(round((n_flat / (2 * width)) ** 0.5))\n"),
                 ("loss = F.cross_entropy(model(x), y)",
                  "logits = model(x)\n"
                  "        loss = F.cross_entropy(logits, F.one_hot(y, logits.shape[1]).float())"),
                 ("total += loss.item() * len(y)\n        count += len(y)",
                  "total += float(loss.detach()) * x.shape[0]\n        count += x.shape[0]")],
     "flatten size from a dummy forward pass, one-hot probabilities as targets"),
    ("convnet", [("nn.Linear(2 * width * side * side, 128)", "nn.LazyLinear(128)"),
                 ("    model.train()\n    total, count = 0.0, 0\n",
                  "    model.train(True)\n    losses, sizes = [], []\n"),
                 ("        total += loss.item() * len(y)\n        count += len(y)\n    return total / count\n",
                  "        losses.append(loss.detach() * len(y))\n        sizes.append(len(y))\n"
                  "    return (torch.stack(losses).sum() / sum(sizes)).item()\n")],
     "LazyLinear, losses summed at the end"),
    ("convnet", [("""        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.MaxPool2d(2),  # (B, w, s/2, s/2)
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 2w, s/4, s/4)
        )
        side = conv_output_size(conv_output_size(image_size, 2, 2), 2, 2)  # s/4, rounded down
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(p_drop),  # (B, 2w * side * side)
            nn.Linear(2 * width * side * side, 128), nn.ReLU(), nn.Dropout(p_drop),  # (B, 128)
            nn.Linear(128, n_classes),  # (B, n_classes) logits
        )
""", """        self.out = nn.Linear(128, n_classes)
        self.hidden = nn.Linear(2 * width * (image_size // 4) ** 2, 128)
        self.bn2, self.bn1 = nn.BatchNorm2d(2 * width), nn.BatchNorm2d(width)
        self.conv2, self.conv1 = nn.Conv2d(width, 2 * width, 3, padding=1), nn.Conv2d(1, width, 3, padding=1)
        self.p = p_drop
"""), ("return self.classifier(self.features(x))", """x = F.max_pool2d(self.bn1(self.conv1(x)), 2).relu()
        x = F.relu(F.max_pool2d(self.bn2(self.conv2(x)), 2))
        x = F.dropout(x, self.p, self.training).view(len(x), -1)
        return self.out(F.dropout(F.relu(self.hidden(x)), p=self.p, training=self.training))""")],
     "layers named and registered in another order, functional forward, pool before ReLU"),
    ("evaluate", [("    model.eval()\n    total_loss, correct, count = 0.0, 0, 0\n    with torch.no_grad():\n",
                   "    was_training = model.training\n    model.eval()\n    total_loss, correct, count = 0.0, 0, 0\n"
                   "    with torch.inference_mode():\n"),
                  ("    return total_loss / count, correct / count\n",
                   "    model.train(was_training)\n    return total_loss / count, correct / count\n")],
     "inference_mode, the previous mode restored"),
    ("evaluate", [("""    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:  # (B, 1, s, s), (B,)
            logits = model(x)  # (B, n_classes)
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(dim=1) == y).sum().item()
            count += len(y)
    return total_loss / count, correct / count
""", """    with torch.no_grad():
        pairs = [(model(x), y) for x, y in loader]
    logits = torch.cat([p[0] for p in pairs]).double()
    y = torch.cat([p[1] for p in pairs])
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).double().mean().item()
""")], "all logits concatenated first, float64"),
    ("confusion", [("""    flat = targets * n_classes + preds  # (N,) index of the cell (true, predicted)
    return torch.bincount(flat, minlength=n_classes * n_classes).view(n_classes, n_classes)
""", """    cm = torch.zeros(n_classes, n_classes, dtype=torch.long)
    for t, p in zip(targets.tolist(), preds.tolist()):
        cm[t][p] += 1
    return cm
""")], "confusion matrix by a loop"),
    ("confusion", [("""    flat = targets * n_classes + preds  # (N,) index of the cell (true, predicted)
    return torch.bincount(flat, minlength=n_classes * n_classes).view(n_classes, n_classes)
""", """    cm = torch.zeros(n_classes, n_classes, dtype=torch.int32)
    return cm.index_put_((targets, preds), torch.ones(len(preds), dtype=torch.int32), accumulate=True)
""")], "confusion matrix with index_put_, int32 counts"),
    ("fleuret_net", [("x = F.relu(F.max_pool2d(self.conv1(x), kernel_size=3, stride=3))",
                      "x = F.max_pool2d(F.relu(self.conv1(x)), 3)"),
                     ("x = F.relu(self.fc1(x.flatten(1)))", "x = F.relu(self.fc1(x.view(-1, 256)))")],
     "ReLU before pooling, view(-1, 256)"),
    ("nb_errors", [("""    model.eval()
    nb_errors = 0
    with torch.no_grad():
        for b in range(0, data_input.size(0), mini_batch_size):
            output = model(data_input[b:b + mini_batch_size])  # (mb, 10)
            predicted = output.argmax(dim=1)  # (mb,)
            target = data_target[b:b + mini_batch_size].argmax(dim=1)  # (mb,) one-hot -> index
            nb_errors += int((predicted != target).sum())
    return nb_errors
""", """    model.eval()
    nb_errors = 0
    for b in range(0, data_input.size(0), mini_batch_size):
        with torch.no_grad():
            output = model(data_input.narrow(0, b, min(mini_batch_size, data_input.size(0) - b)))
        _, predicted_classes = output.max(1)
        for k in range(output.size(0)):
            if data_target[b + k, predicted_classes[k]] <= 0:
                nb_errors = nb_errors + 1
    return nb_errors
""")], "Fleuret's loop over the samples of each mini-batch"),
    ("unet", [("torch.cat([self.up2(m), e2], dim=1)", "torch.cat((e2, self.up2(m)), 1)"),
              ("torch.cat([self.up1(d2), e1], dim=1)", "torch.cat((e1, self.up1(d2)), 1)"),
              ("e1 = self.enc1(x)", "e1 = self.enc1.forward(x)")],
     "skip features first in the concatenation"),
]


@pytest.mark.parametrize("cell,edits,what", ALTERNATIVES, ids=[a[2] for a in ALTERNATIVES])
def test_correct_variant_keeps_every_point(solution, cell, edits, what):
    ns = patched(solution, cell, edits)
    failed = {}
    for name in exercises(SESSION):
        result = run_in_process(SESSION, name, ns)
        if not result.passed:
            failed[name] = result.message
    assert failed == {}, f"a correct answer lost points: {what}"
