"""The detector's own 2D on rendered people, as training pairs for the lifters.

The sampler's 2D noise (:mod:`monopose.data.sampler`) is a per-joint error profile. The
detector's real errors are not like that: on people sitting on the floor it misplaces even
visible joints twice as much as on people standing, and it puts a hidden knee or ankle where a
plausible pose would have it, often a quarter of the person away (BENCHMARKS.md, "Real photos:
the detector's own 2D in training"). Rendered people carry exact labels, so the detector's
output on them is a training pair with exactly those errors.

* :func:`detect_renders` runs BlazePose once over a render set (``monopose data render``) and
  writes ``detections.npz`` into it: per sample the raw 33 keypoints with their visibility and
  presence, whether a person was found, and the labels. Written whole; a complete file is kept.
* :class:`DetectedRenders` loads one or more such sets and draws :class:`PoseBatch` es whose
  ``keypoints_2d_px`` is the detector's, through the same keypoint map and validity rule as
  ``monopose predict`` (a random half mirrored, image and labels alike), with the detector's
  confidence per joint in ``scores_2d``.
* :class:`MixedSource` draws a share of every batch from one source and the rest from another
  (the training configs' ``data.detected_renders`` and ``data.detected_share``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np

from monopose.core.skeleton import H36M17
from monopose.data.sample import PoseBatch, concat_batches
from monopose.detect.heavy import check_landmark_model
from monopose.detect.keypoint_map import h36m_scores_from_blazepose, resolve_keypoint_map
from monopose.io.files import atomic_write

__all__ = ["DETECTIONS_FILE", "DetectionReport", "detect_renders", "detections_file",
           "DetectedRenders", "MixedSource", "lost_people"]

DETECTIONS_FILE = "detections.npz"
# A person whose median limb error is over this fraction of the true 2D box diagonal is someone
# else or nothing (the detector lost them): not a pair to learn from.
LOST_FRACTION = 0.15
_LIMBS = [H36M17.index(n) for n in ("r_knee", "r_ankle", "l_knee", "l_ankle", "r_elbow",
                                    "r_wrist", "l_elbow", "l_wrist", "r_shoulder", "l_shoulder")]
_FLIP = np.arange(17)
_FLIP[list(H36M17.left)] = H36M17.right
_FLIP[list(H36M17.right)] = H36M17.left


class _Source(Protocol):
    def sample_batch(self, batch_size: int, rng: np.random.Generator) -> PoseBatch: ...


@dataclass
class DetectionReport:
    """What :func:`detect_renders` did: the file, samples, people found, seconds."""

    path: Path
    samples: int
    found: int
    seconds: float
    reused: bool


def detections_file(landmark_model: str = "full") -> str:
    """The file name of a render set's detections by the ``landmark_model`` network
    (``BlazePoseDetector(landmark_model=...)``): :data:`DETECTIONS_FILE` for the full one,
    ``detections-heavy.npz`` for BlazePose Heavy's final look."""
    check_landmark_model(landmark_model)
    return DETECTIONS_FILE if landmark_model == "full" else f"detections-{landmark_model}.npz"


def _complete(path: Path, expected: int) -> bool:
    try:
        with np.load(path, allow_pickle=False) as z:
            return int(z["kp33_px"].shape[0]) == expected
    except (OSError, ValueError, KeyError):
        return False


def _shard_samples(path: Path) -> int:
    with np.load(path, allow_pickle=False) as z:
        return len(z["ids"])


def detect_renders(render_dir: str | Path, num_threads: int = 1,
                   progress: bool = True, landmark_model: str = "full") -> DetectionReport:
    """Run BlazePose on every image of a render set; write ``<render_dir>/detections.npz``
    (``detections-heavy.npz`` with ``landmark_model="heavy"``, :func:`detections_file`).

    Per sample (N in the set): ``kp33_px [N, 33, 2]``, ``visibility33``, ``presence33
    [N, 33]``, ``found [N]`` (a person was detected; the one nearest the true 2D is kept), and
    the labels ``kp_gt_px [N, 17, 2]``, ``inside [N, 17]``, ``visible [N, 17]``,
    ``pose3d_cam_mm [N, 17, 3]``, ``intrinsics [N, 4]``, ``image_size_px [N, 2]``, ``ids``.

    Raises:
        FileNotFoundError: no ``shard-*.npz`` in ``render_dir``.
    """
    # heavy imports: LiteRT and OpenCV behind them
    from monopose.data.synthetic.generate import read_shard
    from monopose.detect.blazepose import BlazePoseDetector

    t0 = time.perf_counter()
    folder = Path(render_dir)
    shards = sorted(folder.glob("shard-*.npz"))
    if not shards:
        raise FileNotFoundError(f"render_dir: no shard-*.npz in {folder}")
    n = sum(_shard_samples(p) for p in shards)  # labels only: the images stay on disk
    target = folder / detections_file(landmark_model)
    if _complete(target, n):
        with np.load(target, allow_pickle=False) as z:
            return DetectionReport(target, n, int(z["found"].sum()), 0.0, True)
    det = BlazePoseDetector(num_threads=num_threads, tiles="off", landmark_model=landmark_model)
    out: dict[str, list[Any]] = {k: [] for k in ("kp33_px", "visibility33", "presence33", "found")}
    batches, visible = [], []  # one shard's images in memory at a time; its labels kept
    for k, shard_path in enumerate(shards):
        shard = read_shard(shard_path)
        b = shard.batch
        batches.append(b)
        visible.append(shard.visible)
        for i in range(len(shard)):
            kp33, vis, pres = np.zeros((33, 2)), np.zeros(33), np.zeros(33)
            people = det.detect(shard.image(i))
            if people:
                gt, ok = b.keypoints_2d_gt_px[i, 0], b.valid_2d[i, 0]
                err = [np.linalg.norm(p.keypoints_h36m_px[ok] - gt[ok], axis=1).mean()
                       for p in people]
                best = people[int(np.argmin(err))]
                kp33, vis, pres = best.keypoints_px, best.visibility, best.presence
            out["kp33_px"].append(kp33)
            out["visibility33"].append(vis)
            out["presence33"].append(pres)
            out["found"].append(bool(people))
        if progress:
            print(f"{folder.name}: shard {k + 1}/{len(shards)}, "
                  f"{sum(out['found'])}/{len(out['found'])} found", flush=True)
    batch = concat_batches(batches)
    arrays: dict[str, np.ndarray] = {
        "kp33_px": np.asarray(out["kp33_px"], np.float32),
        "visibility33": np.asarray(out["visibility33"], np.float32),
        "presence33": np.asarray(out["presence33"], np.float32),
        "found": np.asarray(out["found"], bool),
        "kp_gt_px": batch.keypoints_2d_gt_px[:, 0].astype(np.float32),
        "inside": batch.valid_2d[:, 0].astype(bool),
        "visible": np.concatenate(visible).astype(bool),
        "pose3d_cam_mm": batch.pose_3d_cam_mm[:, 0].astype(np.float32),
        "intrinsics": batch.intrinsics.astype(np.float32),
        "image_size_px": batch.image_size_px.astype(np.float32),
        "ids": np.asarray(batch.ids),
    }
    atomic_write(target, partial(np.savez, **cast(dict[str, Any], arrays)), argument="render_dir")
    return DetectionReport(target, n, int(arrays["found"].sum()), time.perf_counter() - t0, False)


def lost_people(kp_px: np.ndarray, kp_gt_px: np.ndarray, found: np.ndarray) -> np.ndarray:
    """``[N]`` True where the detector found nobody or someone else: its median limb error is
    over ``LOST_FRACTION`` of the true 2D box diagonal.

    Args:
        kp_px, kp_gt_px: ``[N, 17, 2]`` detected and true h36m17 keypoints (px).
        found: ``[N]`` a person was detected.
    """
    size = np.linalg.norm(kp_gt_px.max(axis=1) - kp_gt_px.min(axis=1), axis=-1)
    err = np.median(np.linalg.norm(kp_px - kp_gt_px, axis=-1)[:, _LIMBS], axis=1)
    return ~np.asarray(found, bool) | ~(err < LOST_FRACTION * size)


class DetectedRenders:
    """Training pairs whose 2D is the detector's own, from render sets with ``detections.npz``.

    Args:
        folders: render sets processed by :func:`detect_renders`.
        keypoint_map: how h36m17 is made from the 33 keypoints (``"learned"``: as
            ``monopose predict``); a joint is valid where its keypoints are present (presence
            ≥ 0.5) and it is inside the image.
        flip_prob: share of samples mirrored left–right (image x, 3D x, joints swapped).
        landmark_model: whose detections to read: ``"full"`` (``detections.npz``) or
            ``"heavy"`` (``detections-heavy.npz``; :func:`detections_file`).

    Raises:
        FileNotFoundError: a folder without the detections file (run ``monopose data detect``).
        ValueError: no usable person in any folder.
    """

    def __init__(self, folders: Sequence[str | Path], keypoint_map: str = "learned",
                 flip_prob: float = 0.5, landmark_model: str = "full") -> None:
        kmap = resolve_keypoint_map(keypoint_map)
        name = detections_file(landmark_model)
        flag = "" if landmark_model == "full" else f" --landmarks {landmark_model}"
        parts: dict[str, list[np.ndarray]] = {k: [] for k in (
            "kp", "gt", "valid", "score", "pose", "intr", "size", "ids")}
        for folder in folders:
            path = Path(folder) / name
            if not path.is_file():
                raise FileNotFoundError(
                    f"data.detected_renders: no {name} in {folder} "
                    f"(run `monopose data detect{flag} {folder}`)")
            with np.load(path, allow_pickle=False) as z:
                d = {k: z[k] for k in z.files}
            kp = kmap.apply(d["kp33_px"])
            keep = ~lost_people(kp, d["kp_gt_px"], d["found"])
            parts["kp"].append(kp[keep])
            parts["gt"].append(d["kp_gt_px"][keep])
            parts["valid"].append(kmap.valid(d["presence33"][keep] >= 0.5) & d["inside"][keep])
            parts["score"].append(h36m_scores_from_blazepose(
                d["visibility33"][keep] * d["presence33"][keep]))
            parts["pose"].append(d["pose3d_cam_mm"][keep])
            parts["intr"].append(d["intrinsics"][keep])
            parts["size"].append(d["image_size_px"][keep])
            parts["ids"].append(d["ids"][keep])
        cat = {k: np.concatenate(v) for k, v in parts.items()}
        if len(cat["kp"]) == 0:
            raise ValueError(f"data.detected_renders: no person the detector found in {folders}")
        self.keypoints_2d_px = cat["kp"].astype(np.float32)
        self.keypoints_2d_gt_px = cat["gt"].astype(np.float32)
        self.valid_2d = cat["valid"]
        self.scores_2d = cat["score"].astype(np.float32)
        self.pose_3d_cam_mm = cat["pose"].astype(np.float32)
        self.intrinsics = cat["intr"].astype(np.float32)
        self.image_size_px = cat["size"].astype(np.float32)
        self.ids = [str(i) for i in cat["ids"]]
        self.flip_prob = float(flip_prob)

    def __len__(self) -> int:
        return len(self.ids)

    def sample_batch(self, batch_size: int, rng: np.random.Generator) -> PoseBatch:
        """``batch_size`` people drawn with replacement, a ``flip_prob`` share mirrored."""
        idx = rng.integers(len(self), size=batch_size)
        kp, gt = self.keypoints_2d_px[idx].copy(), self.keypoints_2d_gt_px[idx].copy()
        valid, pose = self.valid_2d[idx].copy(), self.pose_3d_cam_mm[idx].copy()
        intr, scores = self.intrinsics[idx].copy(), self.scores_2d[idx].copy()
        flip = rng.random(batch_size) < self.flip_prob
        if flip.any():
            # mirror the image: u -> W - u and cx -> W - cx match X -> -X through the projection
            width = self.image_size_px[idx][flip, 0][:, None]
            kp[flip, :, 0] = width - kp[flip, :, 0]
            gt[flip, :, 0] = width - gt[flip, :, 0]
            pose[flip, :, 0] *= -1.0
            intr[flip, 2] = width[:, 0] - intr[flip, 2]
            kp[flip], gt[flip] = kp[flip][:, _FLIP], gt[flip][:, _FLIP]
            valid[flip], pose[flip] = valid[flip][:, _FLIP], pose[flip][:, _FLIP]
            scores[flip] = scores[flip][:, _FLIP]
        kp[~valid] = 0.0
        return PoseBatch(
            keypoints_2d_px=kp[:, None], keypoints_2d_gt_px=gt[:, None], valid_2d=valid[:, None],
            pose_3d_cam_mm=pose[:, None], intrinsics=intr,
            image_size_px=self.image_size_px[idx].copy(),
            ids=[self.ids[i] for i in idx], scores_2d=scores[:, None])


class MixedSource:
    """Batches with a share from ``extra`` and the rest from ``base`` (single frames).

    Args:
        base: the main source (the mocap sampler).
        extra: the mixed-in source (e.g. :class:`DetectedRenders`).
        share: expected fraction of each batch drawn from ``extra`` (binomial per batch).
    """

    def __init__(self, base: _Source, extra: _Source, share: float) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"data.detected_share: expected a fraction in [0, 1], got {share}")
        self.base, self.extra, self.share = base, extra, float(share)

    def sample_batch(self, batch_size: int, rng: np.random.Generator) -> PoseBatch:
        k = int(rng.binomial(batch_size, self.share))
        parts = []
        if batch_size - k > 0:
            parts.append(self.base.sample_batch(batch_size - k, rng))
        if k > 0:
            parts.append(self.extra.sample_batch(k, rng))
        return concat_batches(parts) if len(parts) > 1 else parts[0]
