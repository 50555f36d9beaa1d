"""People on the floor handed to the lifter fine-tuned for them.

``mpm-lift-t1`` learned from mocap in which nobody sits on the floor; ``mpm-lift-t1-floorsit``
is the same network fine-tuned with a tenth of its poses sat or knelt on the floor
(``docs/sampler.md``, "Floor sits"). :class:`FloorGatedLifter` lifts every person with the
first and lifts again, with the second, those whose first answer is on the floor by the
mocap's own posture rules (:func:`on_the_floor`): on held-out rendered floor sitters P-MPJPE
falls by about 20 mm, and nobody else changes (BENCHMARKS.md, "People on the floor").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from monopose.core.world_up import up_from_bodies
from monopose.data.postures import POSTURES, posture_of
from monopose.models.interface import PeoplePoses

if TYPE_CHECKING:
    from torch import nn

    from monopose.lifting.lifter import Lifter
    from monopose.models.card import ModelCard
    from monopose.models.interface import FramePeople, ModelInputs

__all__ = ["FLOOR_LIFTERS", "FloorGatedLifter", "on_the_floor", "postures_in_camera"]

# A lifter's name -> the lifter fine-tuned from it for people on the floor.
FLOOR_LIFTERS = {"mpm-lift-t1": "mpm-lift-t1-floorsit"}
_FLOOR = POSTURES.index("floor")
_CAMERA_UP = np.array([0.0, -1.0, 0.0])


def _z_up(pose_mm: np.ndarray, up: np.ndarray) -> np.ndarray:
    """``[17, 3]`` camera-space pose turned so that ``up`` is +z."""
    z = up / np.linalg.norm(up)
    x = np.cross([0.0, 0.0, 1.0], z) if abs(z[2]) < 0.9 else np.cross([1.0, 0.0, 0.0], z)
    x /= np.linalg.norm(x)
    return pose_mm @ np.stack([x, np.cross(z, x), z]).T


def postures_in_camera(poses_cam_mm: np.ndarray) -> np.ndarray:
    """``[N]`` each ``[N, 17, 3]`` camera-space pose's posture (an index into
    :data:`monopose.data.postures.POSTURES`; -1 where not finite), by
    :func:`monopose.data.postures.posture_of` read along the way up its own body and a nearly
    level camera give (:func:`monopose.core.world_up.up_from_bodies`)."""
    poses = np.asarray(poses_cam_mm, dtype=np.float64)
    out = np.full(len(poses), -1, dtype=np.int64)
    for i, pose in enumerate(poses):
        if not np.isfinite(pose).all():
            continue
        up = up_from_bodies(pose[None])
        out[i] = posture_of(_z_up(pose, _CAMERA_UP if up is None else up)[None])[0]
    return out


def on_the_floor(poses_cam_mm: np.ndarray) -> np.ndarray:
    """``[N]`` bool: each ``[N, 17, 3]`` camera-space pose (root-relative or not, mm) sits,
    kneels or squats on the floor (:func:`postures_in_camera`); a lying body is not."""
    return postures_in_camera(poses_cam_mm) == _FLOOR


def _rows(value: Any, keep: np.ndarray, n: int) -> Any:
    """``value``'s rows ``keep`` when it has one per person, else ``value`` (None, or one
    camera's ``(4,)`` intrinsics shared by all)."""
    if value is None:
        return None
    arr = np.asarray(value)
    return arr[keep] if arr.ndim > 1 and len(arr) == n else arr


class FloorGatedLifter:
    """A single-frame :class:`~monopose.lifting.lifter.Lifter` (``base``) whose people on the
    floor are lifted by ``floor`` instead; otherwise it is ``base`` (its card, sizing,
    placement and every other attribute)."""

    def __init__(self, base: Lifter, floor: Lifter) -> None:
        if base.window != 1 or floor.window != 1:
            raise ValueError("FloorGatedLifter: single-frame lifters only (window 1)")
        self.base, self.floor = base, floor
        errors = getattr(base, "error_model", None)
        if errors is not None and floor.card is not None and \
                errors.second_lifter == floor.card.name:
            base.second = floor  # its error model's second opinion: one copy of the network
        self.card: ModelCard | None = base.card
        # ``[N]`` bool: who the last call of :meth:`lift` handed over (for reports)
        self.last_handed_over = np.zeros(0, dtype=bool)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)

    @property
    def module(self) -> nn.Module:
        return self.base.module

    @property
    def window(self) -> int:
        return 1

    @property
    def needs(self) -> ModelInputs:
        return "keypoints"

    def lift(self, keypoints_2d_px: np.ndarray, valid: np.ndarray | None = None,
             layout: str = "h36m17", flip: bool | None = None, batch_size: int | None = None,
             intrinsics: np.ndarray | None = None, scores: np.ndarray | None = None
             ) -> np.ndarray:
        """:meth:`Lifter.lift <monopose.lifting.lifter.Lifter.lift>` of ``base``, the people
        it lifts as on the floor lifted again by ``floor``. Arguments and shapes as there;
        windows (``[N, T, J, 2]``) are ``base``'s alone."""
        rel = self.base.lift(keypoints_2d_px, valid, layout, flip, batch_size, intrinsics,
                             scores)
        kp = np.asarray(keypoints_2d_px)
        self.last_handed_over = np.zeros(len(kp), dtype=bool)
        if kp.ndim != 3 or not len(kp):
            return rel
        floor = self.last_handed_over = on_the_floor(rel)
        if floor.any():
            n = len(kp)
            rel = rel.copy()
            rel[floor] = self.floor.lift(kp[floor], _rows(valid, floor, n), layout, flip,
                                         batch_size, _rows(intrinsics, floor, n),
                                         _rows(scores, floor, n))
        return rel

    def lift_sequence(self, track_px: np.ndarray, valid: np.ndarray | None = None,
                      *args: Any, **kwargs: Any) -> np.ndarray:
        """``base``'s: a track's frames are not handed over one by one (the answer would jump
        between the two lifters)."""
        return self.base.lift_sequence(track_px, valid, *args, **kwargs)

    def predict(self, frame: FramePeople) -> PeoplePoses:
        """As ``base.predict``: lift (gated), size each body, place it in the camera."""
        if len(frame) == 0:
            return PeoplePoses.empty()
        rel_mm = self.lift(frame.keypoints_px, frame.valid, intrinsics=frame.intrinsics,
                           scores=frame.keypoint_scores)
        poses = self.base.size_and_place(frame, rel_mm)
        if poses.errors is not None:  # fitted for the base lifter: none for those handed over
            for values in vars(poses.errors).values():
                values[self.last_handed_over] = np.nan
        return poses
