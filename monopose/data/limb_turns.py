"""Limb turns: more poses from the few the mocap has of people who are not standing.

The mocap is 98 % standing and walking (``docs/sampler.md``): legs mostly hang and swing in the
sagittal plane, and the 226 training frames on the floor are seen again and again. A limb turn
swings a whole arm (at the shoulder) or leg (at the hip) as a rigid chain by a random rotation,
the same in every frame of a window: the elbow's and knee's bend and every bone length stay, the
limb points somewhere the mocap rarely had it (a leg stretched towards the camera, an arm
reaching sideways). A turn that would push a joint below the window's lowest joint (by more
than ``floor_margin_mm``) is not made, so feet and hands do not sink into the floor.

This is a sampler step (:class:`monopose.data.sampler.MocapSampler`, after the flip); with
``SamplerConfig.limb_turn_prob = 0`` nothing is drawn and earlier configurations sample exactly
as before.
"""

from __future__ import annotations

import numpy as np

from monopose.core.rotations import axis_angle_to_matrix
from monopose.core.skeleton import H36M17

__all__ = ["LIMBS", "turn_limbs"]

# limb → (the joint it turns about, the joints it moves), h36m17 indices
LIMBS: dict[str, tuple[int, tuple[int, ...]]] = {
    "right_leg": (H36M17.index("r_hip"), (H36M17.index("r_knee"), H36M17.index("r_ankle"))),
    "left_leg": (H36M17.index("l_hip"), (H36M17.index("l_knee"), H36M17.index("l_ankle"))),
    "left_arm": (H36M17.index("l_shoulder"), (H36M17.index("l_elbow"), H36M17.index("l_wrist"))),
    "right_arm": (H36M17.index("r_shoulder"),
                  (H36M17.index("r_elbow"), H36M17.index("r_wrist"))),
}


def turn_limbs(world_mm: np.ndarray, rng: np.random.Generator, prob: float,
               max_deg: float, floor_margin_mm: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """Turn each limb of each window with probability ``prob``.

    Args:
        world_mm: ``[B, T, 17, 3]`` Z-up world poses (h36m17, mm).
        rng: The sampler's generator.
        prob: Probability that a given limb of a window is turned (each limb drawn on its own).
        max_deg: Largest turn; the axis is uniform on the sphere, the angle uniform in
            ``[0, max_deg]``.
        floor_margin_mm: How far a turned joint may go below the window's lowest joint.

    Returns:
        ``([B, T, 17, 3]`` poses, ``[B, 4]`` bool: which limbs of :data:`LIMBS` were turned).
    """
    b = world_mm.shape[0]
    out = world_mm.copy()
    turned = np.zeros((b, len(LIMBS)), dtype=bool)
    if prob <= 0 or max_deg <= 0:
        return out, turned
    floor = world_mm[..., 2].min(axis=(1, 2)) - floor_margin_mm  # [B]
    for k, (root, joints) in enumerate(LIMBS.values()):
        want = np.asarray(rng.random(b) < prob)
        axis = rng.normal(size=(b, 3))
        axis /= np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-12)
        angle = np.deg2rad(rng.uniform(0.0, max_deg, b))
        if not want.any():
            continue
        rot = axis_angle_to_matrix(axis[want] * angle[want, None])  # [W, 3, 3]
        chosen = out[want]  # [W, T, 17, 3]
        pivot = chosen[:, :, root : root + 1]
        moved = np.einsum("wij,wtkj->wtki", rot, chosen[:, :, list(joints)] - pivot) + pivot
        ok = moved[..., 2].min(axis=(1, 2)) >= floor[want]
        idx = np.flatnonzero(want)[ok]
        out[np.ix_(idx, np.arange(out.shape[1]), np.asarray(joints))] = moved[ok]
        turned[idx, k] = True
    return out, turned
