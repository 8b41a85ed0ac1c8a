"""No given code or visible test of a source notebook answers one of its exercises."""

import shutil

import nbformat
import pytest

from autograder.giveaways import check_all, giveaways
from autograder.paths import source_notebook

# Cells as they were before the release check existed: each answered an exercise.
OLD_BLOCK_TEST = r'''
torch.manual_seed(0)
block = Block(n_embd=16, n_head=4, block_size=8, dropout=0.0)
x = torch.randn(2, 8, 16)
out = block(x)
assert out.shape == x.shape, f"Block keeps the shape (B, T, C), got {tuple(out.shape)}"
for name in ("sa", "ffwd", "ln1", "ln2"):
    assert hasattr(block, name), f"Block needs self.{name}"
x1 = x + block.sa(block.ln1(x))
assert torch.allclose(out, x1 + block.ffwd(block.ln2(x1)), atol=1e-5), (
    "pre-norm residuals: x = x + sa(ln1(x)), then x = x + ffwd(ln2(x))")
print("Exercise 9: Block looks right.")
'''
OLD_ATTENTION_MAP = r'''
@torch.no_grad()
def attention_weights(model, idx, layer=0):
    """(num_heads, T, T) attention weights of the heads of block `layer` for idx (1, T)."""
    T = idx.shape[1]
    x = model.token_embedding_table(idx) + model.position_embedding_table(torch.arange(T, device=idx.device))
    for block in model.blocks[:layer]:
        x = block(x)  # (1, T, C)
    x = model.blocks[layer].ln1(x)  # (1, T, C)
    sa = model.blocks[layer].sa
    if hasattr(sa, "heads"):  # one module per head
        q = torch.stack([head.query(x)[0] for head in sa.heads])  # (nh, T, hs)
        k = torch.stack([head.key(x)[0] for head in sa.heads])  # (nh, T, hs)
    else:  # batched: head i owns the features i*hs:(i+1)*hs
        q, k = (sa.query(x), sa.key(x)) if hasattr(sa, "query") else sa.c_attn(x).chunk(3, dim=-1)[:2]
        q = q[0].view(T, n_head, -1).transpose(0, 1)  # (nh, T, hs)
        k = k[0].view(T, n_head, -1).transpose(0, 1)  # (nh, T, hs)
    wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5  # (nh, T, T)
    wei = wei.masked_fill(torch.tril(torch.ones(T, T, device=x.device)) == 0, float("-inf"))
    return F.softmax(wei, dim=-1)  # (nh, T, T)
'''
OLD_Q_SAMPLE_TEST = r'''
abar = torch.tensor([0.9, 0.5, 0.01])
x0 = torch.tensor([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]])
noise = torch.tensor([[0.5, -1.0], [0.5, -1.0], [0.5, -1.0]])
got = q_sample(x0, torch.tensor([0, 1, 2]), noise, abar)
want = abar.sqrt()[:, None] * x0 + (1 - abar).sqrt()[:, None] * noise
assert got.shape == (3, 2), f"q_sample should return the shape of x0 (3, 2), got {tuple(got.shape)}"
assert torch.allclose(got, want, atol=1e-6), f"q_sample: got {got.tolist()}, expected {want.tolist()}"
got = q_sample(x0[:1], torch.tensor([2]), noise[:1], abar)
assert torch.allclose(got, want[2:], atol=1e-6), "t selects the step of each sample: t = 2 uses alphas_cumprod[2]"
print("Exercise 3: q_sample looks right.")
'''
OLD_FORWARD_TEST = r'''
g = torch.Generator().manual_seed(0)
w1, b1 = torch.randn(8, 784, generator=g) / 28, torch.randn(8, generator=g)
w2, b2 = torch.randn(10, 8, generator=g) / 3, torch.randn(10, generator=g)
h_tilde, h, y_tilde, y_hat = forward_pass(w1, b1, w2, b2, x_train[:5].cpu())
assert h_tilde.shape == (5, 8) and h.shape == (5, 8), f"hidden layer: expected (5, 8), got {tuple(h.shape)}"
assert y_hat.shape == (5, 10), f"y_hat: expected (5, 10), got {tuple(y_hat.shape)}"
assert torch.allclose(y_hat.sum(1), torch.ones(5), atol=1e-5), "each row of y_hat must sum to 1"
want = F.softmax(torch.tanh(x_train[:5].cpu() @ w1.T + b1) @ w2.T + b2, dim=1)
assert torch.allclose(y_hat, want, atol=1e-5), "y_hat differs from softmax(tanh(x w1^T + b1) w2^T + b2)"
print("Exercise 10: the forward pass is right.")
'''
OLD_TRIGRAM_LOSS_TEST = r'''
X_t = torch.randint(0, 27, (50, 2), generator=torch.Generator().manual_seed(0))  # (50, 2)
Y_t = torch.randint(0, 27, (50,), generator=torch.Generator().manual_seed(1))  # (50,)
W_zero = torch.zeros((729, 27), requires_grad=True)
loss = trigram_loss(W_zero, X_t, Y_t)
assert isinstance(loss, torch.Tensor) and loss.requires_grad, "return the loss as a tensor connected to W (no .item())"
assert math.isclose(loss.item(), math.log(27), rel_tol=1e-5), f"with W = 0 the loss is ln 27 = 3.2958, got {loss.item()}"
loss.backward()
assert W_zero.grad is not None and W_zero.grad.abs().sum() > 0, "loss.backward() must give W a gradient"
W_r = torch.randn((729, 27), generator=torch.Generator().manual_seed(2))  # (729, 27)
one_hot_loss = F.cross_entropy(F.one_hot(27 * X_t[:, 0] + X_t[:, 1], 729).float() @ W_r, Y_t) + 0.1 * (W_r ** 2).mean()
assert math.isclose(trigram_loss(W_r, X_t, Y_t, reg=0.1).item(), one_hot_loss.item(), rel_tol=1e-5), (
    "trigram_loss should equal the loss of the one-hot product, plus reg * (W**2).mean()")
print("Exercise 15: the trigram loss looks right.")
'''
OLD_MULTIHEAD_TEST = r'''
torch.manual_seed(0)
mha = MultiHeadAttention(num_heads=4, n_embd=16, head_size=4, block_size=8, dropout=0.0)
x = torch.randn(2, 8, 16)  # (B, T, C)
out = mha(x)
assert out.shape == (2, 8, 16), f"expected (B, T, n_embd) = (2, 8, 16), got {tuple(out.shape)}"
x2 = x.clone()
x2[:, 5:] = torch.randn(2, 3, 16)
assert torch.allclose(mha(x2)[:, :5], out[:, :5], atol=1e-6), "a later token changed an earlier output"
if hasattr(mha, "heads"):
    want = mha.proj(torch.cat([h(x) for h in mha.heads], dim=-1))
    assert torch.allclose(out, want, atol=1e-5), (
        "out must be proj(concatenation of the heads' outputs on the last dimension)")
print("Exercise 7: MultiHeadAttention looks right.")
'''


def test_source_notebooks_give_no_answer_away():
    assert check_all() == []


def _with_cell(tmp_path, session, grade_id, source):
    """A copy of a session's source notebook with the cell ``grade_id`` replaced (None: added)."""
    path = tmp_path / source_notebook(session).name
    shutil.copyfile(source_notebook(session), path)
    nb = nbformat.read(path, as_version=4)
    if grade_id is None:
        nb.cells.append(nbformat.v4.new_code_cell(source))
    else:
        (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
        cell.source = source
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("session, grade_id, source, answer", [
    ("04_gpt", "block__visible", OLD_BLOCK_TEST, "block"),
    ("04_gpt", "multihead__visible", OLD_MULTIHEAD_TEST, "multihead"),
    ("04_gpt", None, OLD_ATTENTION_MAP, "averaging"),  # the scaled, masked softmax of Head
    ("06_diffusion", "forward_noising__visible", OLD_Q_SAMPLE_TEST, "q_sample"),
    ("03_backprop", "mnist_forward__visible", OLD_FORWARD_TEST, "mnist_forward"),
    ("02_makemore", "trigram_loss__visible", OLD_TRIGRAM_LOSS_TEST, "trigram_loss_fn"),
])
def test_the_old_cells_that_answered_an_exercise_are_caught(tmp_path, session, grade_id,
                                                            source, answer):
    problems = giveaways(_with_cell(tmp_path, session, grade_id, source))
    assert any(f"answer of {answer} " in p for p in problems), problems


def test_a_renamed_copy_of_a_solution_is_caught_anywhere(tmp_path):
    disguised = '''\
class Attend(nn.Module):  # local names changed, comments gone: still Head
    def forward(self, inp):
        B, T, C = inp.shape
        keys = self.key(inp)
        queries = self.query(inp)
        w = queries @ keys.transpose(-2, -1) * keys.shape[-1] ** -0.5
        w = w.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        w = F.softmax(w, dim=-1)
        w = self.dropout(w)
        values = self.value(inp)
        result = w @ values
'''
    problems = giveaways(_with_cell(tmp_path, "04_gpt", None, disguised))
    assert any("answer of head " in p for p in problems), problems


def test_a_call_with_as_many_names_is_not_an_answer(tmp_path):
    calls = "got = conv2d_unfold(x, w, b, s, p, d)\nwant = F.conv2d(x, w, b, s, p, d)\n"
    assert giveaways(_with_cell(tmp_path, "05_convnets", "conv2d_unfold__visible", calls)) == []
