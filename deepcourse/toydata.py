"""Small synthetic data sets generated with a fixed seed (no download, no external package)."""

from __future__ import annotations

import math
import random


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles in 2-D, as lists: ``X`` (n pairs) and ``y`` in {-1, +1}.

    The upper moon is centred at (0, 0), the lower one at (1, 0.5); Gaussian noise of standard
    deviation ``noise`` is added to both coordinates.
    """
    rng = random.Random(seed)
    X, y = [], []
    for i in range(n):
        upper = i < (n + 1) // 2
        k = i if upper else i - (n + 1) // 2
        m = (n + 1) // 2 if upper else n // 2
        t = math.pi * k / max(m - 1, 1)
        x1, x2 = (math.cos(t), math.sin(t)) if upper else (1 - math.cos(t), 0.5 - math.sin(t))
        X.append([x1 + rng.gauss(0, noise), x2 + rng.gauss(0, noise)])
        y.append(-1.0 if upper else 1.0)
    order = list(range(n))
    rng.shuffle(order)
    return [X[i] for i in order], [y[i] for i in order]
