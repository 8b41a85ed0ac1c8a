"""Distances between two sets of samples, to judge a generative model by what it samples.

``wasserstein_1d`` is the exact 1-Wasserstein (earth mover's) distance between two empirical
distributions on the line; ``sliced_wasserstein`` averages it over random directions, which
extends it to any dimension (Bonneel et al., 2015). Both take samples of any sizes.
"""

from __future__ import annotations

import torch


def wasserstein_1d(a: torch.Tensor, b: torch.Tensor) -> float:
    """W1 between the empirical distributions of ``a`` and ``b`` (1-D, or (N, 1)).

    W1 = ∫ |F_a(x) - F_b(x)| dx, with F the empirical cumulative distribution functions.
    """
    a, b = _flat(a, "a"), _flat(b, "b")
    a, b = a.sort().values, b.sort().values
    grid = torch.cat([a, b]).sort().values  # (Na + Nb,)
    widths = grid[1:] - grid[:-1]  # (Na + Nb - 1,)
    cdf_a = torch.searchsorted(a, grid[:-1], right=True) / a.numel()
    cdf_b = torch.searchsorted(b, grid[:-1], right=True) / b.numel()
    return float(((cdf_a - cdf_b).abs() * widths).sum())


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, n_directions: int = 128,
                       seed: int = 0) -> float:
    """The mean of W1 between ``a`` (N, D) and ``b`` (M, D) projected on random unit directions.

    The directions come from ``seed``, so that two models compared with the same seed are
    measured with the same yardstick.
    """
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected two tensors (N, D) and (M, D), got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    g = torch.Generator().manual_seed(seed)
    directions = torch.randn(n_directions, a.shape[1], generator=g, dtype=torch.float64)
    directions /= directions.norm(dim=1, keepdim=True)  # (K, D) unit vectors
    pa = a.detach().cpu().double() @ directions.T  # (N, K)
    pb = b.detach().cpu().double() @ directions.T  # (M, K)
    return sum(wasserstein_1d(pa[:, k], pb[:, k]) for k in range(n_directions)) / n_directions


def _flat(x: torch.Tensor, name: str) -> torch.Tensor:
    x = torch.as_tensor(x).detach().cpu().double()
    if x.dim() == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.dim() != 1 or x.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D tensor or (N, 1), got shape "
                         f"{tuple(x.shape)}")
    return x
