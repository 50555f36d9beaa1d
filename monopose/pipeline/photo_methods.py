"""The methods ``monopose evaluate-photos`` scores: a photo (and its intrinsics) in, people out.

* :func:`estimator_method`: the whole pipeline, exactly as ``monopose predict --model NAME``
  runs it with the photo's intrinsics.
* :func:`mediapipe_world_method`: MediaPipe Pose's own 3D (legacy ``pose_world_landmarks``,
  hip-centred, no camera-space root), mapped to h36m17: the anchor the real-photo targets are
  set against.
* :func:`true_2d_answer`: a keypoint lifter fed the labelled 2D, placed as ``monopose lift``
  places a pose: the lifter's error without the detector's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from monopose.core.placement import place_poses
from monopose.detect.keypoint_map import resolve_keypoint_map
from monopose.eval.photo_scores import PersonAnswer
from monopose.eval.photo_truth import Intrinsics, PhotoTruth
from monopose.io.images import read_image

if TYPE_CHECKING:
    from monopose.models.interface import PoseModel

__all__ = ["PhotoMethod", "MEDIAPIPE_WORLD", "estimator_method", "mediapipe_world_method",
           "true_2d_answer"]

# A method: (image path, intrinsics; None: the image's own or the default field of view) ->
# the people it found, left to right.
PhotoMethod = Callable[[Path, Intrinsics | None], list[PersonAnswer]]
MEDIAPIPE_WORLD = "mediapipe-world"


def estimator_method(model: str, **estimator_options: Any) -> PhotoMethod:
    """``monopose predict --model model`` on each photo, with the photo's intrinsics.

    ``estimator_options`` go to :class:`~monopose.pipeline.estimator.Estimator` (e.g.
    ``num_aug``, ``body_size``, ``pose_model``); none gives the product's defaults.
    """
    from monopose.pipeline.estimator import Estimator  # heavy: the detector and the model

    est = Estimator(model=model, **estimator_options)

    def run(path: Path, intrinsics: Intrinsics | None) -> list[PersonAnswer]:
        people = est.predict(path, intrinsics=intrinsics).frames[0].people
        people = sorted(people, key=lambda p: float(p.box_xyxy_px[0] + p.box_xyxy_px[2]))
        return [PersonAnswer(p.pose_3d_rel_mm, p.pose_3d_abs_mm, p.keypoints_2d_px, p.errors)
                for p in people]

    return run


def mediapipe_world_method(keypoint_map: str = "fixed") -> PhotoMethod:
    """MediaPipe's legacy pose solution (one person per photo, model complexity 1); its 33 world
    landmarks mapped to h36m17 by ``keypoint_map`` (``fixed``: the hand-written map)."""
    import mediapipe as mp  # heavy: only the anchor needs the legacy solution

    kmap = resolve_keypoint_map(keypoint_map)
    pose = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)

    def run(path: Path, intrinsics: Intrinsics | None) -> list[PersonAnswer]:
        rgb = read_image(path)
        res = pose.process(rgb)
        if res.pose_world_landmarks is None:
            return []
        world_m = np.array([[p.x, p.y, p.z] for p in res.pose_world_landmarks.landmark])
        h, w = rgb.shape[:2]
        img = np.array([[p.x * w, p.y * h] for p in res.pose_landmarks.landmark])
        world_mm, kp2d = kmap.apply(world_m * 1000.0), kmap.apply(img)
        # hip-centred already; centred again on the mapped pelvis to be exact
        return [PersonAnswer(world_mm - world_mm[0], None, kp2d)]

    return run


def true_2d_answer(lifter: PoseModel, truth: PhotoTruth, placement: str = "ray_fit"
                   ) -> PersonAnswer:
    """``truth``'s labelled ``[17, 2]`` 2D lifted by ``lifter`` (a model that reads keypoints
    alone, at its own body size) and placed
    with the photo's intrinsics as ``monopose lift`` places a pose."""
    intr = np.asarray(truth.intrinsics, dtype=np.float64)
    kp = truth.kp2d_px[None]
    rel = lifter.lift(kp, intrinsics=intr)
    abs_mm, rel, _ = place_poses(kp, rel, np.ones(kp.shape[:2], bool), intr, placement=placement)
    return PersonAnswer(rel[0] - rel[0, 0], abs_mm[0], truth.kp2d_px)
