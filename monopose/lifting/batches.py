"""From the data layer's ``PoseBatch`` (numpy, pixels, mm) to the tensors a lifter trains on.

The lifter convention: 2D keypoints normalised per window by
:func:`monopose.core.normalize.normalize_keypoints`, a bool ``valid`` mask, and the target as a
root-relative 3D pose in metres.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from monopose.core.normalize import normalize_keypoints
from monopose.core.virtual_camera import IMAGE_UP, camera_up, to_virtual_camera, turn_keypoints

__all__ = ["batch_to_tensors", "occlude_random_joints", "ensure_some_valid", "INPUT_FRAMES"]

ROOT = 0


def ensure_some_valid(valid: np.ndarray) -> np.ndarray:
    """Return a copy of ``valid [..., T, J]`` where a window without any valid joint gets all of
    them back (such a window cannot be normalised; the sampler rarely produces one)."""
    valid = np.asarray(valid, dtype=bool).copy()
    empty = ~valid.reshape(*valid.shape[:-2], -1).any(axis=-1)
    if empty.any():
        valid[empty] = True
    return valid


def occlude_random_joints(
    valid: np.ndarray,
    max_joints: int,
    rng: np.random.Generator,
    prob: float = 1.0,
    exact: int | None = None,
) -> np.ndarray:
    """Hide random joints in all frames of each sample (a "tube").

    Args:
        valid: ``[B, T, J]`` bool.
        max_joints: each chosen sample hides ``U{0..max_joints}`` joints.
        rng: numpy generator.
        prob: fraction of samples that are occluded at all.
        exact: if given, every sample hides exactly this many joints (evaluation).

    Returns:
        A new ``[B, T, J]`` mask.
    """
    valid = np.asarray(valid, dtype=bool).copy()
    b, _, j = valid.shape
    if exact is not None:
        if not 0 <= exact < j:
            raise ValueError(f"exact: expected 0 <= exact < {j}, got {exact}")
        counts: np.ndarray = np.full(b, exact)
    else:
        counts = np.asarray(rng.integers(0, max_joints + 1, size=b))
        counts[rng.random(b) >= prob] = 0
    # per-sample random permutation: argsort of uniform noise, take the first k
    order = np.argsort(rng.random((b, j)), axis=1)
    hide = np.zeros((b, j), dtype=bool)
    rows = np.repeat(np.arange(b), counts)
    cols = order[np.arange(j)[None, :] < counts[:, None]]
    hide[rows, cols] = True
    valid &= ~hide[:, None, :]
    return valid


INPUT_FRAMES = ("image", "virtual_camera")


def batch_to_tensors(
    batch: Any,
    use_gt_2d: bool = False,
    valid: np.ndarray | None = None,
    input_frame: str = "image",
) -> dict[str, torch.Tensor]:
    """Convert a ``PoseBatch`` to training tensors.

    Args:
        batch: object with ``keypoints_2d_px``, ``keypoints_2d_gt_px`` ``[B, T, J, 2]``,
            ``valid_2d [B, T, J]`` and ``pose_3d_cam_mm [B, T, J, 3]``.
        use_gt_2d: feed the exact projection instead of the detector-like noisy one.
        valid: optional override of the 2D validity mask ``[B, T, J]``.
        input_frame: ``"image"`` (2D as in the picture) or ``"virtual_camera"`` (2D and 3D seen
            by a camera turned towards the person, :mod:`monopose.core.virtual_camera`; needs
            ``batch.intrinsics [B, 4]``).

    Returns:
        ``kp2d [B, T, J, 2]`` (normalised), ``valid [B, T, J]`` bool, ``kp2d_gt [B, T, J, 2]``
        (GT 2D normalised over all joints), ``pose3d [B, T, J, 3]`` root-relative metres and,
        where the intrinsics are known, ``angular_size [B]`` (the normalisation scale in focal
        lengths; :class:`~monopose.lifting.mpm.MPMLifter`'s ``size_input``) and ``scores [B, T,
        J]`` (the detector's confidence per keypoint, ones for the exact 2D or 2D without scores;
        ``score_input``) and ``camera_up [B, 3]`` (the image's up seen by the lifter's camera;
        ``up_input``).
    """
    kp_gt = np.asarray(batch.keypoints_2d_gt_px, dtype=np.float64)
    scores = getattr(batch, "scores_2d", None)
    if use_gt_2d or scores is None:
        scores = np.ones(kp_gt.shape[:-1], dtype=np.float32)
    if use_gt_2d:
        kp = kp_gt
        ok = np.ones(kp.shape[:-1], dtype=bool) if valid is None else valid
    else:
        kp = np.asarray(batch.keypoints_2d_px, dtype=np.float64)
        ok = np.asarray(batch.valid_2d, dtype=bool) if valid is None else valid
    ok = ensure_some_valid(ok)
    kp = np.where(ok[..., None], kp, 0.0)  # NaN in hidden joints must not reach the normaliser
    pose = np.asarray(batch.pose_3d_cam_mm, dtype=np.float64)
    pose_rel_m = (pose - pose[..., ROOT : ROOT + 1, :]) / 1000.0
    up = np.broadcast_to(np.array(IMAGE_UP), (kp.shape[0], 3))
    if input_frame == "virtual_camera":
        intrinsics = np.asarray(batch.intrinsics, dtype=np.float64)
        kp, rot = to_virtual_camera(kp, ok, intrinsics)
        # The GT 2D and the 3D target are seen by the same virtual camera as the input.
        kp_gt = turn_keypoints(kp_gt, intrinsics, rot)
        pose_rel_m = np.einsum("bxy,btjy->btjx", rot, pose_rel_m)
        up = camera_up(rot)
    elif input_frame != "image":
        raise ValueError(f"input_frame: expected one of {INPUT_FRAMES}, got {input_frame!r}")
    norm, _, scale = normalize_keypoints(kp, ok)
    norm_gt, _, _ = normalize_keypoints(kp_gt)
    tensors = {
        "kp2d": torch.from_numpy(norm.astype(np.float32)),
        "valid": torch.from_numpy(ok),
        "kp2d_gt": torch.from_numpy(norm_gt.astype(np.float32)),
        "pose3d": torch.from_numpy(pose_rel_m.astype(np.float32)),
        "scores": torch.from_numpy(np.asarray(scores, dtype=np.float32)),
        "camera_up": torch.from_numpy(np.ascontiguousarray(up, dtype=np.float32)),
    }
    # the scale in focal lengths (the virtual camera's coordinates are in focal lengths already)
    focal = (1.0 if input_frame == "virtual_camera" else None
             if getattr(batch, "intrinsics", None) is None
             else np.asarray(batch.intrinsics, dtype=np.float64)[:, 0])
    if focal is not None:
        tensors["angular_size"] = torch.from_numpy((scale / focal).astype(np.float32))
    return tensors
