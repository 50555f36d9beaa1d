"""Looking at a detected person again through another landmark crop.

* **Quarter turns.** BlazePose's detector orients the landmark crop along the hip → shoulder
  direction it predicts. That fails for bent-over, lying and upside-down bodies: the landmark
  network then doubts the person, or is sure of a wrong pose in an upside-down crop.
  :func:`choose_turn` decides, from the network's presence for the crop turned by 0°, 90°, 180°
  and 270°, which one to keep (``benchmarks/bench_turned_rois.py --study`` compares the rules
  on rendered people). Presence saturates near 1 for a wrong pose too, so among turns about as
  sure as the surest, the one whose answer its mirror image repeats best wins
  (:func:`mirror_disagreement`): a network trained on upright people answers a sideways or
  upside-down body with a guess, and its guesses for a crop and its mirror differ.
* **The landmarks' own crop.** The landmark network also predicts the two alignment points of
  the person it found (hip centre and full-body scale point); MediaPipe crops the next video
  frame there. On a photo, a second look through that crop (:func:`landmark_roi`) fits the body
  better than the detector's crop (``benchmarks/bench_turned_rois.py --renders`` compares).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from monopose.detect.landmarks import LandmarkOutput, LandmarkResult
from monopose.detect.roi import roi_from_alignment_points
from monopose.detect.types import RotatedRect

__all__ = ["TURNED_MIN_PRESENCE", "UPSIDE_DOWN_DEG", "TURN_PRESENCE_TIE", "is_upside_down",
           "needs_turns", "mirror_disagreement", "choose_turn", "best_turn", "landmark_roi",
           "keep_refined"]

# A turned ROI replaces a doubted upright one only when the landmark network is this sure of it:
# turning gives it three more chances to see a person in a non-person box (BENCHMARKS.md).
TURNED_MIN_PRESENCE = 0.9
# A detector ROI turned more than this from upright puts the head below the hips: far more often
# a detector error (bent-over people seen from above) than a person upside down, so every turn
# is looked at and the surest kept (``benchmarks/bench_turned_rois.py --study``).
UPSIDE_DOWN_DEG = 90.0
# Turns whose presence is within this of the surest one's are told apart by how well a crop's
# mirror repeats its answer (``benchmarks/bench_turned_rois.py --study``; BENCHMARKS.md).
TURN_PRESENCE_TIE = 0.1


def is_upside_down(roi: RotatedRect) -> bool:
    """Whether a ROI is turned more than :data:`UPSIDE_DOWN_DEG` from upright."""
    return abs(math.degrees(math.remainder(roi.rotation_rad, 2 * math.pi))) > UPSIDE_DOWN_DEG


def needs_turns(presence: float, roi: RotatedRect, min_presence: float) -> bool:
    """Whether to look at a detection's ROI turned: the network doubts the upright crop
    (``presence < min_presence``) or the ROI is upside down (:func:`is_upside_down`)."""
    return presence < min_presence or is_upside_down(roi)


def mirror_disagreement(own: LandmarkOutput, mirrored: LandmarkOutput, roi: RotatedRect
                        ) -> float:
    """How far the network's answer for a crop's mirror image (mapped back,
    :func:`monopose.detect.mirror.mirrored_landmarks`) lies from its answer for the crop: the
    mean distance of the 33 landmarks as a fraction of the ROI's side."""
    dist_px = np.linalg.norm(own.keypoints_px - mirrored.keypoints_px, axis=1)
    return float(dist_px.mean() / max(roi.size_px))


def choose_turn(presences: Sequence[float], roi: RotatedRect, min_presence: float,
                disagreements: Sequence[float] | None = None) -> int:
    """Which turn of a detection's ROI to keep: ``k`` for a turn by ``k × 90°``.

    Args:
        presences: The landmark network's presence for the ROI turned by 0°, 90°, 180°, 270°.
        roi: The detector's (unturned) ROI.
        min_presence: The presence a person needs to be kept.
        disagreements: Per turn, :func:`mirror_disagreement`; None to choose by presence alone.

    Returns:
        0 unless :func:`needs_turns`. Then, among the turns within :data:`TURN_PRESENCE_TIE` of
        the surest (and at least ``min_presence`` sure), the one with the least disagreement
        (without disagreements: the surest turn, if it beats the upright crop). A doubted upright
        crop is only replaced by a turn at least :data:`TURNED_MIN_PRESENCE` sure (turning gives
        the network three more chances to see a person in a box that holds none).
    """
    p = [float(x) for x in presences]
    if len(p) != 4:
        raise ValueError(f"presences: expected 4 values (0°, 90°, 180°, 270°), got {len(p)}")
    if disagreements is not None and len(disagreements) != 4:
        raise ValueError(f"disagreements: expected 4 values, got {len(disagreements)}")
    if not needs_turns(p[0], roi, min_presence):
        return 0
    if disagreements is None:
        best = max(range(4), key=lambda k: p[k])
        if p[best] <= p[0]:
            return 0
    else:
        tied = [k for k in range(4) if p[k] >= max(p) - TURN_PRESENCE_TIE and p[k] >= min_presence]
        if not tied:
            return 0
        best = min(tied, key=lambda k: float(disagreements[k]))
    if p[0] < min_presence and p[best] < TURNED_MIN_PRESENCE:
        return 0
    return best


def best_turn(look: Callable[[RotatedRect], LandmarkResult], roi: RotatedRect,
              result: LandmarkResult, min_presence: float,
              look_mirrored: Callable[[RotatedRect], LandmarkOutput] | None = None
              ) -> tuple[RotatedRect, LandmarkResult]:
    """The ROI and result of the turn :func:`choose_turn` keeps.

    Args:
        look: Runs the landmark network on a ROI of the image.
        roi: The detector's ROI; ``result`` is the network's look through it.
        min_presence: The presence a person needs to be kept.
        look_mirrored: Runs the network on a ROI's crop mirrored, answer mapped back
            (:func:`monopose.detect.mirror.mirrored_landmarks`); None to choose by presence
            alone.
    """
    rois = [roi] + [RotatedRect(roi.center_px, roi.size_px, roi.rotation_rad + k * math.pi / 2)
                    for k in (1, 2, 3)]
    results = [result] + [look(r) for r in rois[1:]]
    disagreements = None if look_mirrored is None else [
        mirror_disagreement(res.landmarks, look_mirrored(r), r)
        for r, res in zip(rois, results, strict=True)]
    k = choose_turn([r.presence_score for r in results], roi, min_presence, disagreements)
    return rois[k], results[k]


def landmark_roi(result: LandmarkResult) -> RotatedRect:
    """The crop a landmark result's own alignment points give (hip centre, scale point)."""
    aux = result.landmarks.auxiliary_px
    return roi_from_alignment_points(aux[0], aux[1])


def keep_refined(roi: RotatedRect, result: LandmarkResult, roi2: RotatedRect,
                 result2: LandmarkResult, min_presence: float
                 ) -> tuple[RotatedRect, LandmarkResult]:
    """The second look ``(roi2, result2)`` when the network is still sure of a person there
    (presence ≥ ``min_presence``), else the first."""
    if result2.presence_score >= min_presence:
        return roi2, result2
    return roi, result
