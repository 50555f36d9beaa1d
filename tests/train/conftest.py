"""Fixtures for the training-engine tests: a synthetic batch source and tiny configs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from monopose.core.skeleton import get_layout
from monopose.data.sample import PoseBatch
from monopose.train.config import config_from_dict

J = 17
_PARENTS = get_layout("h36m17").parents


def _base_pose_mm() -> np.ndarray:
    """A rough standing H36M-17 skeleton, Y up, mm."""
    return np.array([
        [0, 0, 0], [-130, 0, 0], [-130, -450, 0], [-130, -880, 0], [130, 0, 0], [130, -450, 0],
        [130, -880, 0], [0, 230, 0], [0, 480, 0], [0, 580, 30], [0, 700, 0], [170, 460, 0],
        [180, 180, 0], [190, -80, 0], [-170, 460, 0], [-180, 180, 0], [-190, -80, 0],
    ], dtype=np.float64)


class SyntheticSource:
    """Random poses (per-joint jitter, random rotation about the vertical axis) seen by a pinhole
    camera 4 m away; 2D noise of ``noise_px``. Implements ``sample_batch(batch_size, rng)``."""

    def __init__(self, window: int = 1, noise_px: float = 1.0) -> None:
        self.window = window
        self.noise_px = noise_px

    def sample_batch(self, batch_size: int, rng: np.random.Generator) -> PoseBatch:
        b, t = batch_size, self.window
        base = _base_pose_mm()
        pose = base[None] + rng.normal(0, 60, (b, J, 3))
        pose[:, 0] = 0
        yaw = rng.uniform(-np.pi, np.pi, b)
        c, s = np.cos(yaw), np.sin(yaw)
        rot = np.zeros((b, 3, 3))
        rot[:, 0, 0], rot[:, 0, 2], rot[:, 1, 1], rot[:, 2, 0], rot[:, 2, 2] = c, s, 1, -s, c
        world = np.einsum("bij,bkj->bki", rot, pose)
        drift = np.linspace(0, 1, t)[None, :, None, None] * rng.normal(0, 30, (b, 1, 1, 3))
        cam = world[:, None] * np.array([1, -1, 1]) + drift + np.array([0, 0, 4000.0])
        f, cx, cy = 1000.0, 500.0, 500.0
        gt2d = np.stack([f * cam[..., 0] / cam[..., 2] + cx, f * cam[..., 1] / cam[..., 2] + cy],
                        -1)
        kp = gt2d + rng.normal(0, self.noise_px, gt2d.shape)
        return PoseBatch(
            keypoints_2d_px=kp.astype(np.float32), keypoints_2d_gt_px=gt2d.astype(np.float32),
            valid_2d=np.ones((b, t, J), bool), pose_3d_cam_mm=cam.astype(np.float32),
            intrinsics=np.tile([f, f, cx, cy], (b, 1)).astype(np.float32),
            image_size_px=np.tile([1000.0, 1000.0], (b, 1)).astype(np.float32),
            ids=[f"synth/clip{i % 3}/action{i % 2}/{i}" for i in range(b)],
        )


def synthetic_factory(data: Any, split: str, window: int, seed: int) -> SyntheticSource:
    return SyntheticSource(window)


def tiny_config(tmp_path: Any, task: str = "lift", arch: str = "baseline", **overrides: Any):
    model_cfg = {
        "baseline": {"width": 64, "num_blocks": 1, "dropout": 0.0},
        "poseformer": {"dim": 16, "depth": 1, "heads": 2},
        "mpm": {"dim": 16, "depth": 1, "heads": 2, "max_frames": 3, "decoder_depth": 0},
    }[arch]
    data: dict[str, Any] = {
        "name": f"tiny-{arch}-{task}",
        "task": task,
        "model": {"name": arch, "config": model_cfg},
        "data": {"cache": str(tmp_path / "none"), "window": 1, "val_batches": 1,
                 "val_batch_size": 64},
        "optim": {"lr": 3e-3, "warmup_steps": 2, "schedule": "constant"},
        "trainer": {"max_steps": 20, "batch_size": 64, "val_every_steps": 10,
                    "log_every_steps": 5, "progress_bar": False, "out_dir": str(tmp_path / "runs"),
                    "accelerator": "cpu"},
        "export": {"name": None, "dir": str(tmp_path / "weights")},
    }
    for key, value in overrides.items():
        node = data
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return config_from_dict(data)


@pytest.fixture
def make_config(tmp_path):
    def make(**kw: Any):
        return tiny_config(tmp_path, **kw)

    return make


@pytest.fixture
def source_factory():
    return synthetic_factory


@pytest.fixture
def synthetic_source():
    return SyntheticSource


def tiny_mocap_cache(folder: Any) -> Any:
    """A mocap cache (``mocap.npz``) of a few generated CMU- and Bandai-like clips."""
    from pathlib import Path

    from monopose.data.mocap_cache import build_mocap_cache
    from tests.data.conftest import write_tiny_mocap

    folder = Path(folder)
    build_mocap_cache([write_tiny_mocap(folder / "bvh")], folder / "cache", progress=False)
    return folder / "cache"


def write_yaml(cfg: Any, path: Any) -> Any:
    """``cfg`` (an ExperimentConfig) as a YAML file that ``monopose train`` reads."""
    import yaml

    from monopose.train.config import config_to_dict

    path.write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
    return path
