"""Feature cache for training MeTRAbs heads on the frozen BlazePose network.

The landmark network is frozen, so its activations of a crop can be computed once: every
rendered sample gets ``crops_per_sample`` random training crops (:func:`make_training_crop`, the
same augmentation the image backbone uses), the network runs on each crop, and the three levels
the neck reads are stored in float16 with the crop's labels:

* ``level32 [N, 32, 32, 48]``, ``level16 [N, 16, 16, 88]``, ``level8 [N, 8, 8, 144]`` float16;
* ``kp2d_px [N, 17, 2]``, ``pose3d_mm [N, 17, 3]`` (crop camera), ``in_view [N, 17]``,
  ``K [N, 3, 3]`` (crop intrinsics), ``truncation [N]``, ``presence [N]`` (the network's own
  person probability), ``keep_fraction [N]``, ``sample [N]`` (render index), ``ids``.

Size: 161 kB per crop. ``mode="eval"`` instead makes, per sample, one crop per entry of
``keep_fractions`` (no jitter, no flip; the cut side drawn per sample) — the truncation
experiment's fixed test crops. One ``crops-<k>.npz`` per render shard, written whole; complete
files are skipped, so a build resumes; ``--part i/n`` splits the shards between processes.

    python -m monopose.metrabs.cache cache/capf/renders/train_a cache/metrabs/train --crops 2
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from monopose.data.synthetic.generate import read_shard
from monopose.detect.blazepose import BlazePoseDetector
from monopose.io.files import atomic_write
from monopose.metrabs.augment import SIDES, AugmentConfig, make_training_crop
from monopose.metrabs.model import LEVEL_NAMES

__all__ = ["build_crop_cache", "CropArrays", "load_crop_cache", "LEVEL_KEYS", "crop_batch"]

LEVEL_KEYS = ("level32", "level16", "level8")


def _complete(path: Path, expected: int) -> bool:
    if not path.is_file():
        return False
    try:
        with np.load(path) as z:
            return int(z["kp2d_px"].shape[0]) == expected
    except (OSError, ValueError, KeyError):
        return False


@dataclass
class CacheBuildReport:
    out_dir: Path
    crops: int
    shards_written: int
    shards_skipped: int
    seconds: float
    network_ms: float


def build_crop_cache(render_dirs: Sequence[str | Path], out_dir: str | Path,
                     mode: str = "train", crops_per_sample: int = 2,
                     keep_fractions: Sequence[float] = (1.0, 0.8, 0.6), seed: int = 0,
                     part: tuple[int, int] = (0, 1), limit_shards: int | None = None,
                     num_threads: int = 1) -> CacheBuildReport:
    """Crop, run the frozen network and store features + labels (see the module docstring).

    Raises:
        ValueError: unknown mode, a render folder without shards.
    """
    if mode not in ("train", "eval"):
        raise ValueError(f"mode: expected 'train' or 'eval', got {mode!r}")
    shards: list[Path] = []
    for d in render_dirs:
        found = sorted(Path(d).glob("shard-*.npz"))
        if not found:
            raise ValueError(f"render_dirs: no shard-*.npz in {d}")
        shards += found[:limit_shards] if limit_shards else found
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    detector = BlazePoseDetector(num_threads=num_threads, feature_maps=LEVEL_NAMES)
    cfg = AugmentConfig()
    t0 = time.perf_counter()
    written = skipped = crops = 0
    net_s = [0.0]
    per = crops_per_sample if mode == "train" else len(keep_fractions)
    for k, shard_path in enumerate(shards):
        if k % part[1] != part[0]:
            continue
        target = out / f"crops-{k:05d}.npz"
        shard = read_shard(shard_path)
        n = len(shard.batch.intrinsics)
        if _complete(target, n * per):
            skipped += 1
            continue
        keeps = None if mode == "train" else list(keep_fractions)
        arrays = _shard_crops(detector, shard, k, per, keeps, seed, cfg, net_s)
        atomic_write(target, partial(np.savez, **cast(dict[str, Any], arrays)))
        written += 1
        crops += n * per
        print(f"{target.name}: {n * per} crops, {time.perf_counter() - t0:.0f} s", flush=True)
    report = CacheBuildReport(out, crops, written, skipped, time.perf_counter() - t0,
                              1000 * net_s[0] / max(crops, 1))
    info = {"mode": mode, "render_dirs": [str(d) for d in render_dirs], "seed": seed,
            "crops_per_sample": crops_per_sample, "keep_fractions": list(keep_fractions),
            "augment": cfg.__dict__}
    atomic_write(out / "index.json", lambda fh: fh.write(json.dumps(info, indent=1).encode()))
    return report


def _shard_crops(detector: BlazePoseDetector, shard: Any, k: int, per: int,
                 keep_fractions: list[float] | None, seed: int, cfg: AugmentConfig,
                 net_s: list[float]) -> dict[str, np.ndarray]:
    """The cache arrays of render shard ``k``: ``per`` crops per sample, random training crops
    (``keep_fractions`` None) or one fixed truncation crop per keep fraction; the network's
    seconds are added to ``net_s[0]``."""
    b = shard.batch
    cols: dict[str, list] = {key: [] for key in (*LEVEL_KEYS, "kp2d_px", "pose3d_mm",
                                                  "in_view", "K", "truncation", "presence",
                                                  "keep_fraction", "sample", "flipped")}
    ids: list[str] = []
    for i in range(len(b.intrinsics)):
        rng = np.random.default_rng([seed, k, i])
        image = shard.image(i)
        label = (image, b.intrinsics[i], b.keypoints_2d_gt_px[i, 0], b.pose_3d_cam_mm[i, 0],
                 b.valid_2d[i, 0], rng, cfg)
        for c in range(per):
            if keep_fractions is None:
                crop = make_training_crop(*label)
                keep = float("nan")
            else:
                keep = float(keep_fractions[c])
                crop = make_training_crop(*label, keep_fraction=keep,
                                          side=SIDES[int(rng.integers(4))], jitter=False,
                                          flip=False)
            t1 = time.perf_counter()
            presence, maps = detector.crop_features(crop.image, LEVEL_NAMES)
            net_s[0] += time.perf_counter() - t1
            for key, name in zip(LEVEL_KEYS, LEVEL_NAMES, strict=True):
                cols[key].append(maps[name].astype(np.float16))
            for key, value in (("kp2d_px", crop.kp2d_px), ("pose3d_mm", crop.pose3d_mm),
                               ("in_view", crop.in_view),
                               ("K", crop.camera.K_crop.astype(np.float32)),
                               ("truncation", crop.truncation), ("presence", presence),
                               ("keep_fraction", keep), ("sample", k * 100000 + i),
                               ("flipped", crop.flipped)):
                cols[key].append(value)
            ids.append(b.ids[i])
    arrays = {key: np.stack([np.asarray(v) for v in vals]) for key, vals in cols.items()}
    arrays["ids"] = np.asarray(ids)
    return arrays


@dataclass
class CropArrays:
    """A loaded crop cache (arrays as in the module docstring)."""

    levels: list[np.ndarray]  # three [N, s, s, C] float16
    kp2d_px: np.ndarray
    pose3d_mm: np.ndarray
    in_view: np.ndarray
    K: np.ndarray
    truncation: np.ndarray
    presence: np.ndarray
    keep_fraction: np.ndarray
    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.kp2d_px)


def load_crop_cache(cache_dir: str | Path | Sequence[str | Path], limit: int | None = None
                    ) -> CropArrays:
    """Concatenate every ``crops-*.npz`` of one or more folders (optionally the first ``limit``
    crops)."""
    dirs = [cache_dir] if isinstance(cache_dir, str | Path) else list(cache_dir)
    files = []
    for d in dirs:
        found = sorted(Path(d).glob("crops-*.npz"))
        if not found:
            raise ValueError(f"cache_dir: no crops-*.npz in {d}")
        files += found
    parts: dict[str, list[np.ndarray]] = {}
    total = 0
    for f in files:
        with np.load(f) as z:
            for key in z.files:
                parts.setdefault(key, []).append(z[key])
            total += len(z["kp2d_px"])
        if limit is not None and total >= limit:
            break
    cat = {k: np.concatenate(v)[:limit] for k, v in parts.items()}
    return CropArrays([cat[k] for k in LEVEL_KEYS], cat["kp2d_px"], cat["pose3d_mm"],
                      cat["in_view"].astype(bool), cat["K"], cat["truncation"], cat["presence"],
                      cat["keep_fraction"], cat["ids"])


def crop_batch(data: CropArrays, index: np.ndarray) -> dict:
    """A training batch dict: ``inputs`` (three NCHW float32 maps), ``kp2d_px``, ``pose3d_mm``,
    ``in_view``, ``K`` as tensors."""
    inputs = [torch.from_numpy(lv[index].astype(np.float32)).permute(0, 3, 1, 2).contiguous()
              for lv in data.levels]
    return {
        "inputs": inputs,
        "kp2d_px": torch.from_numpy(data.kp2d_px[index].astype(np.float32)),
        "pose3d_mm": torch.from_numpy(data.pose3d_mm[index].astype(np.float32)),
        "in_view": torch.from_numpy(data.in_view[index]),
        "K": torch.from_numpy(data.K[index].astype(np.float32)),
    }
