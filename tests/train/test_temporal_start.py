"""A window MPM started from single-frame weights computes that model on every frame."""

from __future__ import annotations

import torch

from monopose.lifting.mpm import MPMLifter
from monopose.lifting.training import _init_from
from monopose.models.weights_io import save_weights

SMALL = dict(num_joints=17, dim=32, depth=2, heads=4, decoder_depth=1, drop_path=0.0)


def test_window_model_from_single_frame_weights_starts_as_it(tmp_path) -> None:
    torch.manual_seed(0)
    single = MPMLifter(**SMALL, max_frames=1).eval()
    path = tmp_path / "t1.safetensors"
    save_weights(single, dict(SMALL, max_frames=1), path)
    window = MPMLifter(**SMALL, max_frames=9).eval()
    kp = torch.randn(3, 9, 17, 2)
    valid = torch.rand(3, 9, 17) > 0.2
    before = window(kp, valid)
    _init_from(window, str(path))
    with torch.no_grad():
        per_frame = single(kp.reshape(27, 1, 17, 2), valid.reshape(27, 1, 17)).reshape(3, 9, 17, 3)
        together = window(kp, valid)
    assert torch.allclose(together, per_frame, atol=1e-5)
    assert not torch.allclose(before, per_frame, atol=1e-3)  # it was not so by chance
    # The temporal blocks still learn: their outputs have gradients.
    window.train()
    window(kp, valid).abs().mean().backward()
    grad = window.encoder[0].temporal.attn.proj.weight.grad
    assert grad is not None and grad.abs().sum() > 0
