"""Session 6's time-conditioned U-Net: session 5's TinyUNet with the step t added.

Its layers carry the names and shapes of session 5's ``TinyUNet`` (``enc1``, ``enc2``,
``mid``, ``up2``, ``dec2``, ``up1``, ``dec1``, ``out``), so the denoiser trained there loads
into it (``load_denoiser``). The step enters as ``embedding(t)`` (session 6's sinusoidal
embedding), projected and added to the features of each encoder level; those projections
start at zero, so a freshly loaded network computes exactly session 5's denoiser.

Its forward pass holds session 5's answer to the U-Net exercise: only session 6 imports this
module, so no student bundle ships it before session 5's deadline (tests/test_unet_bridge.py).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

TIME_LAYERS = ("time", "t1", "t2", "t3")  # the layers TinyUNet does not have


def block(c_in, c_out):
    """Two 3x3 convolutions with ReLU, keeping the resolution."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU())


class TimeUNet(nn.Module):
    """eps_theta(x_t, t) for images (B, C, H, W), H and W multiples of 4; t (B,) integer steps."""

    def __init__(self, embedding, channels=1, base=16, emb_dim=32):
        super().__init__()
        b = base
        self.embedding, self.emb_dim = embedding, emb_dim  # t (B,) -> (B, emb_dim)
        self.enc1, self.enc2, self.mid = block(channels, b), block(b, 2 * b), block(2 * b, 4 * b)
        self.up2 = nn.ConvTranspose2d(4 * b, 2 * b, kernel_size=2, stride=2)
        self.dec2 = block(4 * b, 2 * b)
        self.up1 = nn.ConvTranspose2d(2 * b, b, kernel_size=2, stride=2)
        self.dec1 = block(2 * b, b)
        self.out = nn.Conv2d(b, channels, kernel_size=1)
        self.time = nn.Sequential(nn.Linear(emb_dim, 4 * b), nn.SiLU())
        self.t1, self.t2, self.t3 = nn.Linear(4 * b, b), nn.Linear(4 * b, 2 * b), nn.Linear(4 * b, 4 * b)
        for layer in (self.t1, self.t2, self.t3):  # t changes nothing at first
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x, t):  # (B, C, H, W), (B,) -> (B, C, H, W)
        h = self.time(self.embedding(t, self.emb_dim).to(x.dtype))  # (B, 4b)
        e1 = self.enc1(x) + self.t1(h)[:, :, None, None]  # (B, b, H, W)
        e2 = self.enc2(F.max_pool2d(e1, 2)) + self.t2(h)[:, :, None, None]  # (B, 2b, H/2, W/2)
        m = self.mid(F.max_pool2d(e2, 2)) + self.t3(h)[:, :, None, None]  # (B, 4b, H/4, W/4)
        d2 = self.dec2(torch.cat([self.up2(m), e2], dim=1))  # (B, 2b, H/2, W/2)
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))  # (B, b, H, W)
        return self.out(d1)  # (B, C, H, W)

    def load_denoiser(self, state_dict):
        """Load a TinyUNet's ``state_dict``: every layer but the time layers, which it lacks."""
        missing, unexpected = self.load_state_dict(state_dict, strict=False)
        wrong = unexpected + [k for k in missing if k.split(".")[0] not in TIME_LAYERS]
        if wrong:
            raise ValueError(f"not the state of a TinyUNet of this size: {wrong[:5]}")
        return self
