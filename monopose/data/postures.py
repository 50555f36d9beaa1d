"""Postures of mocap frames: standing, low (sitting, crouching, kneeling), on the floor, lying.

Mocap is mostly people standing and walking (98 % of the training frames of ``cache/mocap``),
while photos often show people sitting. :func:`posture_of` labels each world pose so that the
sampler can draw the rare postures more often (``SamplerConfig.posture_weights``).

The rules read the Z-up world pose (``monopose.data.mocap_cache``) and the person's own leg
length ``L`` (mean of hip→knee→ankle over both sides), so they hold for any body size:

* ``lying``: the torso (pelvis → thorax) more than ``LYING_TILT_DEG`` from vertical;
* ``floor``: otherwise, the pelvis less than ``FLOOR_HEIGHT_FRAC`` × L above the lower ankle
  (sitting on the floor, kneeling on both knees, deep squats);
* ``low``: otherwise, the pelvis less than ``LOW_HEIGHT_FRAC`` × L above the lower ankle, or a
  thigh more than ``LOW_THIGH_DEG`` from hanging straight down (sitting on a chair, crouching,
  kneeling on one knee, lunges);
* ``standing``: the rest (walking, running, bending over at the hips).
"""

from __future__ import annotations

import numpy as np

__all__ = ["POSTURES", "posture_of", "posture_shares", "LYING_TILT_DEG", "FLOOR_HEIGHT_FRAC",
           "LOW_HEIGHT_FRAC", "LOW_THIGH_DEG"]

POSTURES = ("standing", "low", "floor", "lying")
LYING_TILT_DEG = 60.0
FLOOR_HEIGHT_FRAC = 0.45
LOW_HEIGHT_FRAC = 0.8
LOW_THIGH_DEG = 60.0

# h36m17 joints used here
_PELVIS, _THORAX = 0, 8
_LEGS = ((1, 2, 3), (4, 5, 6))  # (hip, knee, ankle), right and left


def _angle_from_down_deg(vec: np.ndarray) -> np.ndarray:
    """``[..., 3]`` → angle (deg) between each vector and -Z."""
    norm = np.maximum(np.linalg.norm(vec, axis=-1), 1e-9)
    return np.degrees(np.arccos(np.clip(-vec[..., 2] / norm, -1.0, 1.0)))


def posture_of(world_mm: np.ndarray) -> np.ndarray:
    """``[N, 17, 3]`` Z-up world poses (h36m17, mm) → ``[N]`` int index into :data:`POSTURES`."""
    p = np.asarray(world_mm, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (17, 3):
        raise ValueError(f"world_mm: expected [N, 17, 3], got {p.shape}")
    leg_mm = np.mean([np.linalg.norm(p[:, h] - p[:, k], axis=-1)
                      + np.linalg.norm(p[:, k] - p[:, a], axis=-1) for h, k, a in _LEGS], axis=0)
    leg_mm = np.maximum(leg_mm, 1.0)
    height = (p[:, _PELVIS, 2] - np.minimum(p[:, 3, 2], p[:, 6, 2])) / leg_mm
    tilt_deg = 180.0 - _angle_from_down_deg(p[:, _THORAX] - p[:, _PELVIS])
    thigh_deg = np.max([_angle_from_down_deg(p[:, k] - p[:, h]) for h, k, _ in _LEGS], axis=0)
    out = np.zeros(len(p), dtype=np.int64)
    out[(height < LOW_HEIGHT_FRAC) | (thigh_deg > LOW_THIGH_DEG)] = POSTURES.index("low")
    out[height < FLOOR_HEIGHT_FRAC] = POSTURES.index("floor")
    out[tilt_deg > LYING_TILT_DEG] = POSTURES.index("lying")
    return out


def posture_shares(labels: np.ndarray) -> dict[str, float]:
    """Fraction of ``labels`` (from :func:`posture_of`) in each posture."""
    labels = np.asarray(labels)
    total = max(len(labels), 1)
    return {name: float((labels == k).sum()) / total for k, name in enumerate(POSTURES)}
