"""Feature cache for training context lifters: run the frozen detector once per rendered image.

``build_feature_cache(render_dir, out_dir)`` reads the shards of a synthetic dataset
(``monopose data render``), runs ``BlazePoseDetector.detect(image, with_features=True)`` on every
image, keeps the person nearest the ground-truth 2D pose, and stores per sample

* ``kp_px [17, 2]`` float32: the detector's h36m17 keypoints (the lifters' 2D input);
* ``valid [17]``: the lifter validity (same rule as the Estimator), ``inside [17]``: joint inside
  the landmark crop;
* ``level<l> [17, P, P, C_l]`` float16: the patches of :func:`monopose.capf.features.
  extract_patches` (the same function inference uses);
* ``pose3d_cam_mm [17, 3]``, ``kp_gt_px [17, 2]``, ``ids``; ``found``: a person was detected;
* the detector's own outputs, for learning from them (:mod:`monopose.detect.keypoint_map`, the
  world-landmark lifter): ``kp33_px [33, 2]``, ``visibility33 [33]``, ``presence33 [33]``,
  ``world33_m [33, 3]`` (BlazePose's world landmarks), ``presence_score``.

Size per sample: ``17 · P² · ΣC_l · 2`` bytes = 279 kB for P = 5 and the default levels
(ΣC_l = 328), i.e. bounded by the sample count: 7,500 samples ≈ 2.1 GB. One
``features-<k>.npz`` (uncompressed, written whole) per render shard; a complete file is skipped, so
an interrupted build resumes.

:class:`ContextArrays` loads a cache into memory and draws training batches (random horizontal
flip: 2D and 3D mirrored with a left/right swap, patches mirrored by :func:`flip_patches`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from monopose.capf.features import (
    DEFAULT_PATCH,
    FLIP_PERMUTATION,
    LEVELS,
    context_inputs,
    flip_patches,
)
from monopose.core.normalize import normalize_keypoints
from monopose.core.virtual_camera import to_virtual_camera
from monopose.data.synthetic.generate import read_shard
from monopose.detect.blazepose import BlazePoseDetector
from monopose.io.files import atomic_write

__all__ = ["CacheReport", "build_feature_cache", "ContextArrays", "load_feature_cache",
           "ContextBatchStream", "cache_bytes_per_sample"]

ROOT = 0


def cache_bytes_per_sample(patch: int = DEFAULT_PATCH) -> int:
    """Bytes of the float16 patches of one sample (the bulk of the cache)."""
    return 17 * patch * patch * sum(s.channels for s in LEVELS) * 2


@dataclass
class CacheReport:
    """What :func:`build_feature_cache` did."""

    out_dir: Path
    samples: int
    found: int
    shards_written: int
    shards_skipped: int
    seconds: float
    detect_ms: float  # mean detector time per image (with feature maps)
    extract_ms: float  # mean patch extraction time per person
    bytes: int


def _complete(path: Path, expected: int, patch: int) -> bool:
    if not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as z:
            return int(z["num_samples"]) == expected and int(z["patch"]) == patch
    except (OSError, ValueError, KeyError):
        return False


def _nearest_person(people: Sequence, gt_px: np.ndarray, gt_ok: np.ndarray) -> int:
    d = [float(np.linalg.norm(p.keypoints_h36m_px[gt_ok] - gt_px[gt_ok], axis=1).mean())
         if gt_ok.any() else 0.0 for p in people]
    return int(np.argmin(d))


def build_feature_cache(render_dir: str | Path, out_dir: str | Path, patch: int = DEFAULT_PATCH,
                        part: int = 0, parts: int = 1, num_threads: int = 1,
                        progress: bool = True, tag: str = "") -> CacheReport:
    """Detect, extract patches and cache them for every rendered sample (see module docstring).

    Args:
        render_dir: Folder of ``shard-*.npz`` from ``monopose data render``.
        out_dir: Cache folder (created); one ``features-<k>.npz`` per render shard.
        patch: Patch side P (odd).
        part, parts: Process only shards ``k`` with ``k % parts == part`` (parallel builders).
        num_threads: Detector threads.
        tag: Inserted in the file names (``features-<tag><k>.npz``), so several render sets
            can share one cache folder.

    Raises:
        FileNotFoundError: no render shards in ``render_dir``.
    """
    t0 = time.perf_counter()
    shards = sorted(Path(render_dir).glob("shard-*.npz"))
    if not shards:
        raise FileNotFoundError(f"render_dir: no shard-*.npz in {render_dir}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    det = BlazePoseDetector(num_threads=num_threads, tiles="off")
    n_all = found_all = written = skipped = 0
    timing: dict[str, list[float]] = {"detect": [], "extract": []}
    for k, shard_path in enumerate(shards):
        if k % parts != part:
            continue
        target = out / shard_path.name.replace("shard-", f"features-{tag}")
        shard = read_shard(shard_path)
        n = len(shard)
        n_all += n
        if _complete(target, n, patch):
            skipped += 1
            continue
        arrays = _shard_features(det, shard, patch, timing)
        found_all += int(arrays["found"].sum())
        atomic_write(target, partial(np.savez, **cast(dict[str, Any], arrays)))
        written += 1
        if progress:
            print(f"{target.name}: {n} samples, {int(arrays['found'].sum())} with a person, "
                  f"{np.mean(timing['detect']) * 1e3:.1f} ms/detect", flush=True)
    size = sum(p.stat().st_size for p in out.glob("features-*.npz"))
    t_det, t_ext = timing["detect"], timing["extract"]
    return CacheReport(out, n_all, found_all, written, skipped, time.perf_counter() - t0,
                       float(np.mean(t_det) * 1e3) if t_det else float("nan"),
                       float(np.mean(t_ext) * 1e3) if t_ext else float("nan"), size)


def _shard_features(det: BlazePoseDetector, shard: Any, patch: int,
                    timing: dict[str, list[float]]) -> dict[str, np.ndarray]:
    """The cache arrays of one render shard (detector and extraction seconds go to ``timing``)."""
    b = shard.batch
    n = len(shard)
    kp = np.zeros((n, 17, 2), np.float32)
    valid = np.zeros((n, 17), bool)
    inside = np.zeros((n, 17), bool)
    found = np.zeros(n, bool)
    levels = [np.zeros((n, 17, patch, patch, s.channels), np.float16) for s in LEVELS]
    raw = {"kp33_px": np.zeros((n, 33, 2), np.float32),
           "visibility33": np.zeros((n, 33), np.float32),
           "presence33": np.zeros((n, 33), np.float32),
           "world33_m": np.zeros((n, 33, 3), np.float32),
           "presence_score": np.zeros(n, np.float32)}
    for i in range(n):
        ta = time.perf_counter()
        people = det.detect(shard.image(i), with_features=True)
        timing["detect"].append(time.perf_counter() - ta)
        if not people:
            continue
        gt = b.keypoints_2d_gt_px[i, 0]
        person = people[_nearest_person(people, gt, b.valid_2d[i, 0])]
        tc = time.perf_counter()
        ctx = context_inputs([person], patch)
        timing["extract"].append(time.perf_counter() - tc)
        kp[i], valid[i], inside[i], found[i] = ctx.keypoints_px[0], ctx.valid[0], \
            ctx.inside[0], True
        for lvl, arr in zip(levels, ctx.patches, strict=True):
            lvl[i] = arr[0]
        raw["kp33_px"][i], raw["visibility33"][i] = person.keypoints_px, person.visibility
        raw["presence33"][i], raw["world33_m"][i] = person.presence, person.world_landmarks_m
        raw["presence_score"][i] = person.presence_score
    arrays = {
        **raw,
        "num_samples": np.array(n), "patch": np.array(patch), "found": found,
        "kp_px": kp, "valid": valid, "inside": inside,
        "pose3d_cam_mm": b.pose_3d_cam_mm[:, 0].astype(np.float32),
        "kp_gt_px": b.keypoints_2d_gt_px[:, 0].astype(np.float32),
        "intrinsics": b.intrinsics.astype(np.float32),
        "ids": np.asarray(b.ids),
        "level_names": np.asarray([s.name for s in LEVELS]),
    }
    for li, lvl in enumerate(levels):
        arrays[f"level{li}"] = lvl
    return arrays


@dataclass
class ContextArrays:
    """A loaded feature cache (only samples with a detected person).

    Attributes:
        kp_px: ``[N, 17, 2]``; valid, inside: ``[N, 17]``; pose3d_cam_mm: ``[N, 17, 3]``;
        levels: per level ``[N, 17, P, P, C_l]`` float16; ids: N strings.
        intrinsics: ``[N, 4]`` ``(fx, fy, cx, cy)`` px of each render (None: not loaded).
        input_frame: ``"image"`` (2D and 3D as in the render's camera) or ``"virtual_camera"``
            (both seen by a camera turned towards the person, :mod:`monopose.core.virtual_camera`).
    """

    kp_px: np.ndarray
    valid: np.ndarray
    inside: np.ndarray
    pose3d_cam_mm: np.ndarray
    kp_gt_px: np.ndarray
    levels: list[np.ndarray]
    ids: list[str]
    num_missing: int = 0
    intrinsics: np.ndarray | None = None
    input_frame: str = "image"

    def __len__(self) -> int:
        return int(self.kp_px.shape[0])

    def batch(self, index: np.ndarray, flip: np.ndarray | None = None
              ) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """Training tensors of samples ``index``; ``flip [B]`` bool mirrors those samples.

        Returns:
            ``kp2d [B, 1, 17, 2]`` normalised, ``valid [B, 1, 17]``, ``pose3d [B, 1, 17, 3]``
            root-relative metres, ``features`` list of ``[B, 17, P, P, C_l]`` float16,
            ``feature_valid [B, 17]`` (valid and inside the crop).
        """
        idx = np.asarray(index)
        ok = self.valid[idx]
        kp, pose = self.in_frame(idx)
        norm, _, _ = normalize_keypoints(kp[:, None], ok[:, None])
        norm = norm[:, 0]
        pose = (pose - pose[:, ROOT:ROOT + 1]) / 1000.0
        inside = self.inside[idx]
        feats = [lv[idx] for lv in self.levels]
        if flip is not None and np.any(flip):
            f = np.asarray(flip, dtype=bool)
            sign = np.array([-1.0, 1.0])
            norm[f] = norm[f][:, FLIP_PERMUTATION] * sign
            pose[f] = pose[f][:, FLIP_PERMUTATION] * np.array([-1.0, 1.0, 1.0])
            ok = ok.copy()
            ok[f] = ok[f][:, FLIP_PERMUTATION]
            inside = inside.copy()
            inside[f] = inside[f][:, FLIP_PERMUTATION]
            for lv in feats:
                lv[f] = flip_patches(lv[f])
        return {
            "kp2d": torch.from_numpy(norm[:, None].astype(np.float32)),
            "valid": torch.from_numpy(ok[:, None].copy()),
            "pose3d": torch.from_numpy(pose[:, None].astype(np.float32)),
            "features": [torch.from_numpy(np.ascontiguousarray(lv)) for lv in feats],
            "feature_valid": torch.from_numpy(inside & ok),
        }


    def in_frame(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(kp [B, 17, 2], pose3d_mm [B, 17, 3])`` of samples ``index`` in ``input_frame``
        (virtual camera: normalised image coordinates and the turned camera's 3D)."""
        kp = self.kp_px[index].astype(np.float64)
        pose = self.pose3d_cam_mm[index].astype(np.float64)
        if self.input_frame == "image":
            return kp, pose
        if self.input_frame != "virtual_camera" or self.intrinsics is None:
            raise ValueError(f"input_frame: {self.input_frame!r} needs 'image', or "
                             "'virtual_camera' with the renders' intrinsics")
        turned, rot = to_virtual_camera(kp[:, None], self.valid[index][:, None],
                                        self.intrinsics[index].astype(np.float64))
        return turned[:, 0], np.einsum("nij,nkj->nki", rot, pose)


def load_feature_cache(cache_dir: str | Path, limit: int | None = None,
                       with_levels: bool = True, input_frame: str = "image") -> ContextArrays:
    """Load every ``features-*.npz`` of ``cache_dir`` (samples without a person are dropped).

    ``with_levels=False`` skips the patches (context-free lifters): ``levels`` holds
    zero-size placeholders ``[N, 17, 0, 0, 0]``. ``input_frame``: see :class:`ContextArrays`.

    Raises:
        FileNotFoundError: no cache files.
        ValueError: files with different patch sizes or levels.
    """
    files = sorted(Path(cache_dir).glob("features-*.npz"))
    if not files:
        raise FileNotFoundError(f"cache_dir: no features-*.npz in {cache_dir}")
    keys = ("kp_px", "valid", "inside", "pose3d_cam_mm", "kp_gt_px", "intrinsics")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    levels: list[list[np.ndarray]] = [[] for _ in LEVELS]
    ids: list[str] = []
    missing = 0
    patch = None
    for path in files:
        with np.load(path, allow_pickle=False) as z:
            p = int(z["patch"])
            if patch is not None and p != patch:
                raise ValueError(f"{path}: patch {p} differs from {patch} of earlier files")
            patch = p
            names = [str(x) for x in z["level_names"]]
            if names != [s.name for s in LEVELS]:
                raise ValueError(f"{path}: levels {names} differ from the model's")
            found = z["found"]
            missing += int((~found).sum())
            for k in keys:
                parts[k].append(z[k][found])
            for li in range(len(LEVELS)):
                levels[li].append(z[f"level{li}"][found] if with_levels
                                  else np.zeros((int(found.sum()), 17, 0, 0, 0), np.float16))
            ids.extend(str(x) for x, f in zip(z["ids"], found, strict=True) if f)
        if limit is not None and len(ids) >= limit:
            break
    cat = {k: np.concatenate(v)[:limit] for k, v in parts.items()}
    return ContextArrays(cat["kp_px"], cat["valid"], cat["inside"], cat["pose3d_cam_mm"],
                         cat["kp_gt_px"], [np.concatenate(lv)[:limit] for lv in levels],
                         ids[:limit], missing, cat["intrinsics"], input_frame)


class ContextBatchStream(torch.utils.data.IterableDataset):
    """Endless random batches from a loaded cache with random horizontal flips.

    Args:
        arrays: the cache.
        batch_size: samples per batch.
        flip_prob: probability that a sample is mirrored.
        seed: generator seed.
    """

    def __init__(self, arrays: ContextArrays, batch_size: int, flip_prob: float = 0.5,
                 seed: int = 0) -> None:
        super().__init__()
        self.arrays, self.batch_size, self.flip_prob, self.seed = arrays, batch_size, \
            flip_prob, seed

    def __iter__(self) -> Iterator[dict]:
        rng = np.random.default_rng(self.seed)
        n = len(self.arrays)
        while True:
            order = rng.permutation(n)
            for start in range(0, n - self.batch_size + 1, self.batch_size):
                idx = np.sort(order[start:start + self.batch_size])
                yield self.arrays.batch(idx, rng.random(len(idx)) < self.flip_prob)
