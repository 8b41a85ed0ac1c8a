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


# --- data sets of session 6 (diffusion): torch tensors, float32 ------------------------------

# The 1-D mixture of Gaussians: (weight, mean, standard deviation) of each component.
MIXTURE_1D = ((0.3, -2.0, 0.4), (0.5, 1.0, 0.6), (0.2, 3.5, 0.3))


def mixture_1d(n: int, seed: int = 0):
    """``n`` samples (n, 1) of the 1-D mixture MIXTURE_1D, float32, from a fixed seed."""
    import torch

    g = torch.Generator().manual_seed(seed)
    weights = torch.tensor([w for w, _, _ in MIXTURE_1D])
    means = torch.tensor([m for _, m, _ in MIXTURE_1D])
    stds = torch.tensor([s for _, _, s in MIXTURE_1D])
    k = torch.multinomial(weights, n, replacement=True, generator=g)  # (n,) component of each
    x = means[k] + stds[k] * torch.randn(n, generator=g)  # (n,)
    return x.unsqueeze(1)  # (n, 1)


def mixture_1d_density(x):
    """The density of MIXTURE_1D at the points ``x`` (a tensor of any shape)."""
    import torch

    x = torch.as_tensor(x, dtype=torch.float64)
    out = torch.zeros_like(x)
    for w, m, s in MIXTURE_1D:
        out += w * torch.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
    return out


def make_spiral(n: int, noise: float = 0.05, seed: int = 0):
    """A two-turn spiral in 2-D: ``n`` points (n, 2), float32, radius up to about 1."""
    import torch

    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n, generator=g)  # (n,) position along the spiral
    angle = 4 * math.pi * u.sqrt()
    radius = u.sqrt()
    x = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)  # (n, 2)
    return x + noise * torch.randn(n, 2, generator=g)


def make_eight_gaussians(n: int, radius: float = 2.0, std: float = 0.15, seed: int = 0):
    """Eight Gaussians of standard deviation ``std`` on a circle: ``n`` points (n, 2), float32."""
    import torch

    g = torch.Generator().manual_seed(seed)
    k = torch.randint(0, 8, (n,), generator=g).float()  # (n,) which Gaussian
    centres = radius * torch.stack([torch.cos(k * math.pi / 4), torch.sin(k * math.pi / 4)], 1)
    return centres + std * torch.randn(n, 2, generator=g)  # (n, 2)


POINT_CLOUDS = ("moons", "spiral", "eight_gaussians")


def point_cloud(name: str, n: int, seed: int = 0):
    """A 2-D point cloud (n, 2), float32: "moons", "spiral" or "eight_gaussians"."""
    import torch

    if name == "moons":
        X, _ = make_moons(n, noise=0.08, seed=seed)
        return torch.tensor(X, dtype=torch.float32)
    if name == "spiral":
        return make_spiral(n, seed=seed)
    if name == "eight_gaussians":
        return make_eight_gaussians(n, seed=seed)
    raise ValueError(f"unknown point cloud {name!r}: choose one of {POINT_CLOUDS}")
