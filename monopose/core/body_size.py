"""Body size from the evidence of the image: scaling a lifted pose to a metric size estimate.

A lifter trained on 2D that is centred and scaled per person cannot see how tall the person
is; it outputs a body of about the training set's average size, and the root solve then puts a
small person too near and a tall one too far. Other evidence of size: the 2D detector's own
metric 3D (BlazePose's world landmarks, trained by its authors on real people) or a metric
head. :func:`rescale_to_size` keeps the lifted pose's shape and gives it the size of such a
reference, measured on the bones both agree on best (torso and limbs, not the head).
"""

from __future__ import annotations

import numpy as np

from monopose.core.skeleton import H36M17

__all__ = ["SIZE_BONES", "WORLD_LANDMARK_SIZE_SCALE", "skeleton_size_mm", "rescale_to_size"]

# Bones (by child joint) that define body size: head joints are placed differently by every
# skeleton convention, so they are left out.
SIZE_BONES: tuple[str, ...] = (
    "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "spine", "thorax",
    "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist",
)
# BlazePose's world landmarks (mapped to h36m17) give nearly one body size whoever the person
# is, and it is smaller than the truth: on rendered people of every size their skeleton size
# hardly follows the true one and is biased low. This scale, the median of true / world size
# on training renders, makes them unbiased (``benchmarks/fit_world_size.py``, BENCHMARKS.md).
WORLD_LANDMARK_SIZE_SCALE = 1.125
_CHILD = np.array([H36M17.index(n) for n in SIZE_BONES])
_PARENT = np.array([H36M17.parents[j] for j in _CHILD])


def skeleton_size_mm(pose_mm: np.ndarray) -> np.ndarray:
    """Sum of the :data:`SIZE_BONES` lengths of ``[..., 17, 3]`` poses → ``[...]`` (mm)."""
    pose = np.asarray(pose_mm, dtype=np.float64)
    return np.linalg.norm(pose[..., _CHILD, :] - pose[..., _PARENT, :], axis=-1).sum(axis=-1)


def rescale_to_size(rel_mm: np.ndarray, reference_mm: np.ndarray,
                    max_change: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """Scale root-relative poses to the skeleton size of a reference.

    Args:
        rel_mm: ``[N, 17, 3]`` root-relative lifted poses.
        reference_mm: ``[N, 17, 3]`` poses whose size is trusted (any root, any orientation);
            a non-finite reference leaves its pose unchanged.
        max_change: the factor is clipped to ``[1 - max_change, 1 + max_change]``: a wildly
            different reference is more likely a failed estimate than a giant.

    Returns:
        ``(rescaled [N, 17, 3], factor [N])``.
    """
    rel = np.asarray(rel_mm, dtype=np.float64)
    ref_size = skeleton_size_mm(reference_mm)
    own_size = skeleton_size_mm(rel)
    with np.errstate(all="ignore"):
        factor = ref_size / own_size
    factor = np.where(np.isfinite(factor) & (factor > 0), factor, 1.0)
    factor = np.clip(factor, 1 - max_change, 1 + max_change)
    return rel * factor[:, None, None], factor
