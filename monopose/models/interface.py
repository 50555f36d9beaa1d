"""The one interface every model family implements: one frame's people in, their 3D out.

A :class:`PoseModel` is what the pipeline, ``monopose lift``, ``monopose evaluate`` and
``monopose export-onnx`` talk to; they never ask which architecture is behind it. Get one with
:func:`monopose.zoo.load_pose_model`. Implementations: :class:`monopose.lifting.lifter.Lifter`
(2D keypoints), :class:`monopose.capf.inference.ContextLifter` (keypoints and the detector's
feature maps), :class:`monopose.metrabs.inference.MetrabsEstimator` (the image).

Conventions: joints are H36M-17, 2D in image pixels (pixel centres on integers), 3D in the
camera's axes (x right, y down, z forward) in millimetres; root-relative poses have the pelvis
at 0. Every person is placed in the camera by :func:`monopose.core.placement.place_poses`
(or, for image models, by their own solve from their own 2D).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np

from monopose.core.placement import place_poses
from monopose.detect.types import PersonDetection
from monopose.models.card import ModelCard

if TYPE_CHECKING:
    from torch import nn

    from monopose.lifting.joint_errors import PoseErrors

__all__ = ["ModelInputs", "MODEL_INPUTS", "FramePeople", "PeoplePoses", "PoseModel",
           "place_people"]

# What a model reads besides the 2D keypoints: nothing, the detector's feature maps at the
# joints, or the photo itself.
ModelInputs = Literal["keypoints", "features", "image"]
MODEL_INPUTS: tuple[ModelInputs, ...] = ("keypoints", "features", "image")


@dataclass(frozen=True, eq=False)
class FramePeople:
    """One frame's detected people, as every model receives them.

    Attributes:
        image_rgb: ``[H, W, 3]`` uint8 RGB frame (image models read it); None when only
            keypoints are known.
        detections: The detector's people (``len == N``), or empty when only keypoints are
            known. Feature maps are present when the model needs ``"features"``.
        intrinsics: ``(4,)`` ``(fx, fy, cx, cy)`` px of the frame's camera.
        image_size_wh: ``(W, H)`` px of the frame, or None (no inside-the-image test).
        keypoints_px: ``[N, 17, 2]`` H36M-17 px (invalid joints may hold anything finite).
        keypoint_scores: ``[N, 17]`` detector confidence in [0, 1].
        valid: ``[N, 17]`` bool, the joints a lifter may use.
    """

    image_rgb: np.ndarray | None
    detections: Sequence[PersonDetection]
    intrinsics: np.ndarray
    image_size_wh: tuple[int, int] | None
    keypoints_px: np.ndarray
    keypoint_scores: np.ndarray
    valid: np.ndarray

    def __len__(self) -> int:
        return int(np.shape(self.keypoints_px)[0])


@dataclass(eq=False)
class PeoplePoses:
    """A model's people of one frame (``M ≤ N``: image models may drop detections).

    Attributes:
        detection_index: ``[M]`` int, the index of each person's detection in the input.
        keypoints_2d_px: ``[M, 17, 2]`` px (the input's for lifters, the model's own for image
            models).
        keypoint_scores: ``[M, 17]`` in [0, 1].
        keypoints_valid: ``[M, 17]`` bool.
        pose_3d_rel_mm: ``[M, 17, 3]`` mm, root-relative (pelvis at 0).
        pose_3d_abs_mm: ``[M, 17, 3]`` mm in the camera (NaN where ``root_method == "failed"``).
        root_method: ``M`` strings: ``"perspective"``, ``"weak_perspective"``, ``"box_prior"``
            or ``"failed"``.
        warnings: What fell back or was dropped, one line each.
        errors: How far off each person's joints and root are likely to be (lifters with a
            fitted error model, :mod:`monopose.lifting.joint_errors`); None: not estimated.
    """

    detection_index: np.ndarray
    keypoints_2d_px: np.ndarray
    keypoint_scores: np.ndarray
    keypoints_valid: np.ndarray
    pose_3d_rel_mm: np.ndarray
    pose_3d_abs_mm: np.ndarray
    root_method: list[str]
    warnings: list[str] = field(default_factory=list)
    errors: PoseErrors | None = None

    def __len__(self) -> int:
        return int(np.shape(self.detection_index)[0])

    @classmethod
    def empty(cls) -> PeoplePoses:
        return cls(np.zeros(0, np.int64), np.zeros((0, 17, 2)), np.zeros((0, 17)),
                   np.zeros((0, 17), bool), np.zeros((0, 17, 3)), np.zeros((0, 17, 3)), [])


@runtime_checkable
class PoseModel(Protocol):
    """A trained pose model behind one interface.

    Attributes:
        card: The model's card (None for a bare module wrapped for evaluation).
        module: The trained network (for export and evaluation of the network alone).
        window: Frames ``T`` the model sees at once (1: single frame; > 1: a temporal lifter,
            use :meth:`lift_sequence` for tracks).
        needs: What the model reads (:data:`ModelInputs`): ``"keypoints"`` only, the detector's
            ``"features"`` (then detect ``with_features=True``), or the ``"image"``.
    """

    card: ModelCard | None

    @property
    def module(self) -> nn.Module: ...

    @property
    def window(self) -> int: ...

    @property
    def needs(self) -> ModelInputs: ...

    def predict(self, frame: FramePeople) -> PeoplePoses:
        """2D, root-relative and absolute 3D of one frame's people (see :class:`PeoplePoses`).

        A temporal lifter lifts each person as a static window (the frame repeated).
        """
        ...

    def lift(self, keypoints_2d_px: np.ndarray, valid: np.ndarray | None = None, *,
             intrinsics: np.ndarray | None = None, scores: np.ndarray | None = None
             ) -> np.ndarray:
        """Root-relative 3D of 2D keypoints alone (models with ``needs == "keypoints"``).

        Args:
            keypoints_2d_px: ``[N, 17, 2]`` poses or ``[N, T, 17, 2]`` windows, H36M-17 px.
            valid: ``[N, 17]`` / ``[N, T, 17]`` bool; None = all valid.
            intrinsics: ``(4,)`` or ``[N, 4]`` ``(fx, fy, cx, cy)`` px, or None.
            scores: shaped as ``valid``, the detector's confidence per keypoint in [0, 1], for
                models that read it; None = fully confident.

        Returns:
            ``[N, 17, 3]`` / ``[N, T, 17, 3]`` mm, root-relative.

        Raises:
            ValueError: the model reads more than keypoints, or the input is malformed.
        """
        ...

    def lift_sequence(self, track_px: np.ndarray, valid: np.ndarray | None = None, *,
                      intrinsics: np.ndarray | None = None) -> np.ndarray:
        """Root-relative 3D of one person's track: ``[F, 17, 2]`` px (and ``[F, 17]`` valid)
        → ``[F, 17, 3]`` mm; window models lift strided windows, each frame from the window
        whose centre is nearest.

        Raises:
            ValueError: the model reads more than keypoints.
        """
        ...


def place_people(frame: FramePeople, rel_mm: np.ndarray, warnings: list[str] | None = None,
                 placement: str = "solve") -> PeoplePoses:
    """Lifted people of ``frame`` placed in its camera, one per detection.

    Args:
        rel_mm: ``[N, 17, 3]`` root-relative 3D of ``frame``'s people, mm.
        placement: one of :data:`monopose.core.placement.PLACEMENTS`; with ``"ray_fit"`` the
            returned root-relative poses are the fitted ones.
    """
    n = len(frame)
    kp_px = np.asarray(frame.keypoints_px, dtype=np.float64).reshape(n, 17, 2)
    valid = np.asarray(frame.valid, dtype=bool)
    abs_mm, rel_out, methods = place_poses(kp_px, rel_mm, valid, frame.intrinsics,
                                           frame.image_size_wh, placement)
    return PeoplePoses(np.arange(n), kp_px,
                       np.asarray(frame.keypoint_scores, dtype=np.float64), valid, rel_out,
                       abs_mm, methods, list(warnings or []))
