"""The one sample type shared by every data source (mocap, H36M, MPI-INF-3DHP, user files).

A :class:`PoseBatch` holds ``B`` samples, each a window of ``T`` frames of ``J`` joints in the
``h36m17`` layout (unless ``layout`` says otherwise). Camera space is OpenCV's: x right, y down,
z forward, millimetres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

__all__ = ["PoseBatch", "concat_batches"]


@dataclass
class PoseBatch:
    """A batch of 2D–3D pose pairs.

    Attributes:
        keypoints_2d_px: ``[B, T, J, 2]`` float32 pixels as a detector would give them (noisy;
            invalid joints are 0).
        keypoints_2d_gt_px: ``[B, T, J, 2]`` float32 exact projections of ``pose_3d_cam_mm``.
        valid_2d: ``[B, T, J]`` bool; False for occluded, truncated or missing joints.
        pose_3d_cam_mm: ``[B, T, J, 3]`` float32 camera-space ground truth (absolute, mm).
        intrinsics: ``[B, 4]`` float32 ``(fx, fy, cx, cy)`` in px.
        image_size_px: ``[B, 2]`` float32 ``(width, height)``.
        ids: ``B`` strings ``"source/clip/action/frame"`` (frame = first frame of the window).
        dist: ``[B, 5]`` float32 distortion ``(k1, k2, k3, p1, p2)`` used for the projection.
        licence: ``B`` strings naming the data licence (``"cmu"``, ``"bandai"``, ``"h36m"``, ...).
        layout: Joint layout name.
        scores_2d: ``[B, T, J]`` float32 the detector's confidence in each keypoint
            (BlazePose's visibility × presence per h36m17 joint,
            :func:`~monopose.detect.keypoint_map.h36m_scores_from_blazepose`); None: ones (2D
            that no detector scored, such as the sampler's).
    """

    keypoints_2d_px: np.ndarray
    keypoints_2d_gt_px: np.ndarray
    valid_2d: np.ndarray
    pose_3d_cam_mm: np.ndarray
    intrinsics: np.ndarray
    image_size_px: np.ndarray
    ids: list[str]
    dist: np.ndarray | None = None
    licence: list[str] = field(default_factory=list)
    layout: str = "h36m17"
    scores_2d: np.ndarray | None = None

    def __post_init__(self) -> None:
        kp = np.asarray(self.keypoints_2d_px)
        if kp.ndim != 4 or kp.shape[-1] != 2:
            raise ValueError(f"keypoints_2d_px: expected [B, T, J, 2], got {kp.shape}")
        b, t, j, _ = kp.shape
        expect = {
            "keypoints_2d_gt_px": (b, t, j, 2),
            "valid_2d": (b, t, j),
            "pose_3d_cam_mm": (b, t, j, 3),
            "intrinsics": (b, 4),
            "image_size_px": (b, 2),
        }
        for name, shape in expect.items():
            got = np.shape(getattr(self, name))
            if got != shape:
                raise ValueError(f"{name}: expected shape {shape}, got {got}")
        if len(self.ids) != b:
            raise ValueError(f"ids: expected {b} entries, got {len(self.ids)}")
        if self.dist is None:
            self.dist = np.zeros((b, 5), np.float32)
        elif np.shape(self.dist) != (b, 5):
            raise ValueError(f"dist: expected shape {(b, 5)}, got {np.shape(self.dist)}")
        if self.scores_2d is None:
            self.scores_2d = np.ones((b, t, j), np.float32)
        elif np.shape(self.scores_2d) != (b, t, j):
            raise ValueError(f"scores_2d: expected shape {(b, t, j)}, "
                             f"got {np.shape(self.scores_2d)}")
        if not self.licence:
            self.licence = [i.split("/", 1)[0] for i in self.ids]

    @property
    def batch_size(self) -> int:
        return int(self.keypoints_2d_px.shape[0])

    @property
    def window(self) -> int:
        return int(self.keypoints_2d_px.shape[1])

    @property
    def pose_3d_rel_mm(self) -> np.ndarray:
        """``[B, T, J, 3]`` root-relative 3D (root = joint 0 of h36m17, the pelvis)."""
        return self.pose_3d_cam_mm - self.pose_3d_cam_mm[..., :1, :]

    def __len__(self) -> int:
        return self.batch_size

    def __getitem__(self, index: int | slice | np.ndarray | Sequence[int]) -> PoseBatch:
        """A sub-batch (always keeps the batch axis)."""
        if isinstance(index, int):
            index = [index]
        idx = np.arange(self.batch_size)[index]
        arrays = {
            f.name: np.asarray(getattr(self, f.name))[idx]
            for f in fields(self)
            if f.name not in ("ids", "licence", "layout")
        }
        return PoseBatch(
            ids=[self.ids[i] for i in idx],
            licence=[self.licence[i] for i in idx],
            layout=self.layout,
            **arrays,
        )

    def to_dict(self) -> dict[str, np.ndarray | list[str]]:
        """Plain dict of the arrays (plus ``ids`` and ``licence``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def concat_batches(batches: Sequence[PoseBatch]) -> PoseBatch:
    """Concatenate batches along B (same T, J and layout)."""
    if not batches:
        raise ValueError("batches: expected at least one PoseBatch")
    layouts = {b.layout for b in batches}
    if len(layouts) != 1:
        raise ValueError(f"batches: mixed layouts {sorted(layouts)}")
    arrays = {
        f.name: np.concatenate([np.asarray(getattr(b, f.name)) for b in batches])
        for f in fields(PoseBatch)
        if f.name not in ("ids", "licence", "layout")
    }
    return PoseBatch(
        ids=[i for b in batches for i in b.ids],
        licence=[i for b in batches for i in b.licence],
        layout=batches[0].layout,
        **arrays,
    )
