"""Where a notebook keeps what it hands to a later session: a cache folder outside the course.

Session 5 saves its trained U-Net denoiser to ``denoiser_path()``; session 6 loads it when it
is there and trains from scratch when it is not.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_VAR = "DEEPCOURSE_CACHE"  # set it to choose the folder


def cache_dir() -> Path:
    """$DEEPCOURSE_CACHE, else $XDG_CACHE_HOME/deepcourse, else ~/.cache/deepcourse."""
    if os.environ.get(CACHE_VAR):
        return Path(os.environ[CACHE_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "deepcourse"


def denoiser_path() -> Path:
    """The file of session 5's U-Net denoiser (a ``state_dict``)."""
    return cache_dir() / "s05_unet_denoiser.pt"
