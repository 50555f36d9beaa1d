"""Lifting detected people with a context model (or, for comparison, a context-free lifter).

:class:`ContextLifter` is the context models' :class:`~monopose.models.interface.PoseModel`:
the lifters' interface (:class:`~monopose.lifting.lifter.Lifter`), reading the detector's
feature maps at the joints (:func:`lift_with_context`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from monopose.capf.features import (
    FLIP_PERMUTATION,
    ContextInputs,
    context_inputs,
    lifter_validity,
)
from monopose.core.normalize import normalize_keypoints
from monopose.core.virtual_camera import from_virtual_camera, to_virtual_camera
from monopose.detect.types import PersonDetection
from monopose.lifting.lifter import Lifter
from monopose.models.interface import FramePeople, ModelInputs, PeoplePoses

__all__ = ["ContextLifter", "lift_with_context", "lift_context_inputs", "needs_context"]


def needs_context(module: nn.Module) -> bool:
    """Whether ``module`` reads detector features (``ContextAwarePoseFormer``)."""
    return bool(getattr(module, "needs_context", False))


def _mirror(x: torch.Tensor) -> torch.Tensor:
    out = x[..., FLIP_PERMUTATION, :].clone()
    out[..., 0] = -out[..., 0]
    return out


def lift_context_inputs(inputs: ContextInputs, module: nn.Module, flip: bool = True,
                        batch_size: int = 256, intrinsics: np.ndarray | None = None,
                        input_frame: str = "image") -> np.ndarray:
    """Lift prepared inputs (see :func:`monopose.capf.features.context_inputs`).

    ``input_frame == "virtual_camera"`` with ``intrinsics`` (``(4,)`` or ``[N, 4]`` px) lifts
    the 2D as seen by a camera turned towards each person and rotates the 3D back (the patches
    stay where the joints are in the picture); otherwise the picture's 2D is lifted.

    Returns:
        ``[N, 17, 3]`` root-relative 3D in mm (root = 0), in the camera's frame.
    """
    n = len(inputs)
    if n == 0:
        return np.zeros((0, 17, 3))
    ok = inputs.valid.copy()
    if not ok.any(axis=1).all():
        raise ValueError("valid: a person has no valid joint")
    kp_in = np.asarray(inputs.keypoints_px, dtype=np.float64)
    rot = None
    if input_frame == "virtual_camera" and intrinsics is not None:
        intr = np.broadcast_to(np.asarray(intrinsics, dtype=np.float64), (n, 4))
        turned, rot = to_virtual_camera(kp_in[:, None], ok[:, None], intr)
        kp_in = turned[:, 0]
    norm, _, _ = normalize_keypoints(kp_in[:, None], ok[:, None])
    ctx = needs_context(module)
    perm = torch.as_tensor(FLIP_PERMUTATION)
    was_training = module.training
    module.eval()
    out = []
    try:
        with torch.inference_mode():
            for s in range(0, n, batch_size):
                sl = slice(s, s + batch_size)
                kp = torch.as_tensor(norm[sl], dtype=torch.float32)
                v = torch.as_tensor(ok[sl])[:, None]
                if ctx:
                    feats = [torch.as_tensor(p[sl], dtype=torch.float32) for p in inputs.patches]
                    fv = torch.as_tensor(inputs.inside[sl] & ok[sl])
                    y = module(kp, v, feats, fv)
                    if flip:
                        ff = [f.flip(-2)[:, perm] for f in feats]
                        y_f = module(_mirror(kp), v[..., perm], ff, fv[:, perm])
                        y = 0.5 * (y + _mirror(y_f))
                else:
                    y = module(kp, v)
                    if flip:
                        y = 0.5 * (y + _mirror(module(_mirror(kp), v[..., perm])))
                out.append(y[:, 0].to(torch.float64).numpy())
    finally:
        module.train(was_training)
    pose_mm = np.concatenate(out) * 1000.0
    return pose_mm if rot is None else from_virtual_camera(pose_mm, rot)


def lift_with_context(detections: Sequence[PersonDetection], module: nn.Module,
                      flip: bool = True, valid: np.ndarray | None = None,
                      batch_size: int = 256, intrinsics: np.ndarray | None = None,
                      input_frame: str = "image") -> np.ndarray:
    """Lift the people found by ``BlazePoseDetector.detect(image, with_features=True)``.

    The patches are read from each ``PersonDetection.feature_maps`` by the same function the
    training cache used (:func:`monopose.capf.features.extract_patches`). Joints outside the
    landmark crop are read with border clamping and flagged, and the model ignores their context.

    Args:
        detections: People (may be empty).
        module: A context lifter (``ContextAwarePoseFormer``) or any context-free lifter
            (then only the 2D keypoints are used, which makes comparisons exact).
        flip: Average with the mirrored input (2D, joints and patches mirrored).
        valid: ``[N, 17]`` bool override of which joints the lifter gets (default: the
            Estimator's rule, :func:`monopose.capf.features.lifter_validity`).
        batch_size: People per forward pass.
        intrinsics, input_frame: see :func:`lift_context_inputs`.

    Returns:
        ``[N, 17, 3]`` root-relative 3D in mm (h36m17; ``[0, 17, 3]`` when nobody was found).

    Raises:
        ValueError: feature maps missing or from another landmark model (context models only).
    """
    if needs_context(module):
        inputs = context_inputs(detections, int(getattr(module, "patch", 5)), valid)
    else:
        kp = np.stack([d.keypoints_h36m_px for d in detections]) if detections else \
            np.zeros((0, 17, 2))
        ok = (np.asarray(valid, bool) if valid is not None
              else np.stack([lifter_validity(d) for d in detections]) if detections
              else np.zeros((0, 17), bool))
        inputs = ContextInputs(kp, ok, [], np.ones_like(ok))
    return lift_context_inputs(inputs, module, flip, batch_size, intrinsics, input_frame)


class ContextLifter(Lifter):
    """A context lifter (``ContextAwarePoseFormer``) behind the lifters' interface.

    :meth:`predict` reads each detection's ``feature_maps`` (detect with
    ``with_features=True``); flip test, body size and placement as :class:`Lifter`. A module that
    needs no context behaves exactly like a :class:`Lifter`. Build it with
    :meth:`Lifter.from_module` (or :func:`monopose.zoo.load_pose_model`).
    """

    @property
    def needs(self) -> ModelInputs:
        return "features" if needs_context(self.module) else "keypoints"

    def predict(self, frame: FramePeople) -> PeoplePoses:
        if not needs_context(self.module):
            return super().predict(frame)
        if len(frame) == 0:
            return PeoplePoses.empty()
        rel_mm = lift_with_context(frame.detections, self.module, flip=self.flip,
                                   valid=frame.valid, intrinsics=frame.intrinsics,
                                   input_frame=self.input_frame)
        return self.size_and_place(frame, rel_mm)

    def lift(self, keypoints_2d_px: np.ndarray, valid: np.ndarray | None = None,
             layout: str = "h36m17", flip: bool | None = None, batch_size: int | None = None,
             intrinsics: np.ndarray | None = None, scores: np.ndarray | None = None
             ) -> np.ndarray:
        """:meth:`Lifter.lift` for a context-free module; a context model refuses (it needs the
        detector's feature maps)."""
        if needs_context(self.module):
            name = self.card.name if self.card is not None else "this model"
            raise ValueError(f"model: {name!r} reads the detector's feature maps, not 2D "
                             f"keypoints alone; use it with `monopose predict --model {name}`")
        return super().lift(keypoints_2d_px, valid, layout, flip, batch_size, intrinsics, scores)
