"""autograder.overlap sees through renamed names, comments and layout, and not through logic."""

from autograder.overlap import covered, tokens

ANSWER = """
def build_dataset(words, block_size=3):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + '.':
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)
"""

DISGUISED = """
# a helper, nothing to see here
def make_examples(names, n=3):
    inputs, targets = [], []
    for name in names:
        window = [0] * n      # start padded
        for letter in name + ".":
            k = stoi[letter]
            inputs.append(window)
            targets.append(k)
            window = window[1:] + [k]
    return torch.tensor(inputs), torch.tensor(targets)
"""

OTHER = """
def train(model, xs, ys, steps=100, lr=0.1):
    for _ in range(steps):
        loss = F.cross_entropy(model(xs), ys)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
    return loss.item()
"""


def test_renaming_comments_and_layout_do_not_hide_a_copy():
    assert tokens("a = b  # c\n") == tokens("x=y\n")
    assert covered(ANSWER, DISGUISED) == 1.0


def test_different_code_is_not_covered():
    assert covered(ANSWER, OTHER) < 0.2
    assert covered(OTHER, ANSWER) < 0.2


def test_attribute_and_library_names_count():
    assert tokens("torch.softmax(x)") != tokens("torch.relu(x)")
    assert tokens("torch.tanh(x)") != tokens("numpy.tanh(x)")


def test_a_block_too_short_to_judge_and_text_that_is_not_python():
    assert covered("x = 1", "x = 1") == 0.0
    assert tokens("%matplotlib inline\nx = (") == ["%", "N", "N", "N", "=", "("]
