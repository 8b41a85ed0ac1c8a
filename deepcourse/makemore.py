"""Character-level helpers for the makemore models of session 3.

They are session 2's answers (vocabulary, contexts and targets, the split): session 3 reuses
them from here, so the student bundle ships this module only with session 3 and later, and
never before session 2's deadline (``autograder.bundle``).
"""

from __future__ import annotations

import random

import torch

BLOCK_SIZE = 3  # context length of the Bengio MLP: how many characters predict the next


def vocabulary(words: list[str]) -> tuple[dict[str, int], dict[int, str]]:
    """``stoi``/``itos`` with '.' (start and end of a name) at index 0, then a–z."""
    chars = sorted(set("".join(words)))
    stoi = {ch: i + 1 for i, ch in enumerate(chars)}
    stoi["."] = 0
    return stoi, {i: ch for ch, i in stoi.items()}


def build_dataset(words: list[str], stoi: dict[str, int], block_size: int = BLOCK_SIZE):
    """Contexts ``X`` (N, block_size) and next-character targets ``Y`` (N,) of every word."""
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)  # (N, block_size), (N,)


def split_words(words: list[str], seed: int = 42, fractions=(0.8, 0.1)):
    """Shuffle a copy of ``words`` with ``seed``, then cut train/dev/test (80/10/10 by default)."""
    words = list(words)
    random.Random(seed).shuffle(words)
    n1 = int(fractions[0] * len(words))
    n2 = int((fractions[0] + fractions[1]) * len(words))
    return words[:n1], words[n1:n2], words[n2:]
