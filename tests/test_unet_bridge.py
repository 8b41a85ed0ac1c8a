"""Session 5's trained U-Net reaches session 6: the cache file, the time-conditioned U-Net that
loads it, and no bundle shipping the U-Net before session 5's deadline."""

from pathlib import Path

import pytest
import torch

from autograder.bundle import helper_modules
from autograder.paths import REPO_ROOT, source_notebook
from autograder.release import answer_leaks
from deepcourse.cache import cache_dir, denoiser_path
from deepcourse.unet import TimeUNet
from tests.notebook_exec import namespace


@pytest.fixture(scope="module")
def notebooks():
    """Session 5's solution TinyUNet and session 6's solution sinusoidal_embedding."""
    s05 = namespace("05_convnets", solutions_only=True)
    s06 = namespace("06_diffusion", solutions_only=True)
    return s05["TinyUNet"], s06["sinusoidal_embedding"]


def test_time_unet_starts_as_the_loaded_denoiser_then_depends_on_t(notebooks):
    TinyUNet, embedding = notebooks
    torch.manual_seed(0)
    denoiser = TinyUNet(channels=1, base=8)
    unet = TimeUNet(embedding, channels=1, base=8).load_denoiser(denoiser.state_dict())
    x, t = torch.randn(3, 1, 28, 28), torch.tensor([0, 400, 999])
    with torch.no_grad():
        assert torch.allclose(unet(x, t), denoiser(x), atol=1e-6)
        for layer in (unet.t1, unet.t2, unet.t3):
            torch.nn.init.normal_(layer.weight)
        late = unet(x, torch.full((3,), 999))
        assert unet(x, t).shape == (3, 1, 28, 28)
        assert not torch.allclose(unet(x, torch.zeros(3, dtype=torch.long)), late, atol=1e-3)


def test_time_unet_refuses_what_is_not_a_tiny_unet_of_its_size(notebooks):
    TinyUNet, embedding = notebooks
    state = TinyUNet(channels=1, base=8).state_dict()
    with pytest.raises(ValueError):
        TimeUNet(embedding, base=8).load_denoiser({**state, "extra.weight": torch.zeros(1)})
    with pytest.raises(ValueError):
        TimeUNet(embedding, base=8).load_denoiser({k: v for k, v in state.items()
                                                    if not k.startswith("dec1")})
    with pytest.raises(RuntimeError):  # shapes differ
        TimeUNet(embedding, base=16).load_denoiser(state)


def test_the_cache_is_outside_the_course_and_can_be_chosen(monkeypatch, tmp_path):
    monkeypatch.delenv("DEEPCOURSE_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache_dir() == Path.home() / ".cache" / "deepcourse"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "deepcourse"
    monkeypatch.setenv("DEEPCOURSE_CACHE", str(tmp_path / "mine"))
    assert denoiser_path().parent == tmp_path / "mine"
    assert REPO_ROOT not in denoiser_path().parents


def test_only_session_6_ships_the_u_net_which_holds_session_5s_answer(tmp_path):
    assert "deepcourse.unet" not in helper_modules([source_notebook("05_convnets")])
    assert "deepcourse.unet" in helper_modules([source_notebook("06_diffusion")])
    shipped = tmp_path / "deepcourse"
    shipped.mkdir()
    (shipped / "unet.py").write_text((REPO_ROOT / "deepcourse" / "unet.py").read_text())
    assert any("05_convnets unet" in p for p in answer_leaks(tmp_path, ["05_convnets"]))
