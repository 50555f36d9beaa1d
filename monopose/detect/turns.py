"""Which quarter turn of a detection's landmark crop to keep.

BlazePose's detector orients the landmark crop along the hip → shoulder direction it predicts.
That fails for bent-over, lying and upside-down bodies: the landmark network then doubts the
person, or is sure of a wrong pose in an upside-down crop. :func:`choose_turn` decides, from the
network's presence for the crop turned by 0°, 90°, 180° and 270°, which one to keep
(``benchmarks/bench_turned_rois.py --study`` compares the rules on rendered people).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from monopose.detect.types import RotatedRect

__all__ = ["TURNED_MIN_PRESENCE", "UPSIDE_DOWN_DEG", "needs_turns", "choose_turn"]

# A turned ROI replaces a doubted upright one only when the landmark network is this sure of it:
# turning gives it three more chances to see a person in a non-person box (BENCHMARKS.md).
TURNED_MIN_PRESENCE = 0.9
# A detector ROI turned more than this from upright puts the head below the hips: far more often
# a detector error (bent-over people seen from above) than a person upside down, so every turn
# is looked at and the surest kept (``benchmarks/bench_turned_rois.py --study``).
UPSIDE_DOWN_DEG = 90.0


def needs_turns(presence: float, roi: RotatedRect, min_presence: float) -> bool:
    """Whether to look at a detection's ROI turned: the network doubts the upright crop
    (``presence < min_presence``) or the ROI is upside down (:data:`UPSIDE_DOWN_DEG`)."""
    tilt_deg = abs(math.degrees(math.remainder(roi.rotation_rad, 2 * math.pi)))
    return presence < min_presence or tilt_deg > UPSIDE_DOWN_DEG


def choose_turn(presences: Sequence[float], roi: RotatedRect, min_presence: float) -> int:
    """Which turn of a detection's ROI to keep: ``k`` for a turn by ``k × 90°``.

    Args:
        presences: The landmark network's presence for the ROI turned by 0°, 90°, 180°, 270°.
        roi: The detector's (unturned) ROI.
        min_presence: The presence a person needs to be kept.

    Returns:
        0 unless :func:`needs_turns`; then the surest turn, if it beats the upright crop and,
        when the upright crop was doubted, is at least :data:`TURNED_MIN_PRESENCE` sure (turning
        gives the network three more chances to see a person in a box that holds none).
    """
    p = [float(x) for x in presences]
    if len(p) != 4:
        raise ValueError(f"presences: expected 4 values (0°, 90°, 180°, 270°), got {len(p)}")
    if not needs_turns(p[0], roi, min_presence):
        return 0
    best = max(range(4), key=lambda k: p[k])
    if p[best] <= p[0]:
        return 0
    if p[0] < min_presence and p[best] < TURNED_MIN_PRESENCE:
        return 0
    return best
