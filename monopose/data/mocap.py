"""Mapping BVH skeletons to H36M-17 and converting mocap to world millimetres.

Each supported source declares, by joint *name*, which BVH joint gives which H36M-17 joint
(:data:`MAPPINGS`). Joints that the rigs do not have are derived, with the same definitions as the
inference-time conversions in :mod:`monopose.core.skeleton` (BlazePose/COCO → H36M-17):

* ``pelvis`` = midpoint of the two hip joints (femur heads), as in H36M.
* ``thorax`` = midpoint of the two shoulder joints (upper-arm heads), i.e. the neck base between
  the shoulders.
* ``spine`` = midpoint of pelvis and thorax.
* The head is described in a head frame attached to the rig's head joint (its global rotation from
  forward kinematics): ``u`` = the head's up axis (neck → crown), ``f`` = the direction the face
  points. ``E`` is the centre between the eyes (CMU: the rig's eye joints; Bandai: a stated
  offset from its head joint, which sits low on the neck, about 8 cm below and 8 cm behind ``E``).

  * ``neck_nose`` = ``E − 3.0 cm·u − 2.5 cm·f``: inside the head at nose height, halfway between
    the nose tip and the ear canals (skeleton.py uses 0.5·nose + 0.25·(l_ear + r_ear)).
  * ``head_top`` = ``E + 11.0 cm·u − 5.0 cm·f``: the top of the skull, above the ear canals.

World frame (millimetres, right-handed, **Z up**): ``x_w = 10·x_bvh``, ``y_w = −10·z_bvh``,
``z_w = 10·y_bvh`` for the Y-up centimetre BVH files. The floor is ``z_w ≈ 0``. Each clip is
shifted horizontally so that its first pelvis lies over the origin. Cameras are placed later
(:mod:`monopose.data.sampler`), looking at the person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monopose.core.skeleton import H36M17
from monopose.data.bvh import BvhMotion, forward_kinematics

__all__ = [
    "SkeletonMapping",
    "MAPPINGS",
    "MappingError",
    "detect_source",
    "map_to_h36m17",
    "bvh_to_world_mm",
    "BVH_CM_TO_WORLD_MM",
    "NECK_NOSE_FROM_EYES_CM",
    "HEAD_TOP_FROM_EYES_CM",
]

# (up, forward) offsets of the derived head joints from the eye centre E, in cm.
NECK_NOSE_FROM_EYES_CM = (-3.0, -2.5)
HEAD_TOP_FROM_EYES_CM = (11.0, -5.0)

# Y-up centimetres → Z-up millimetres (a proper rotation, det = +1, times 10).
BVH_CM_TO_WORLD_MM = 10.0 * np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


class MappingError(ValueError):
    """A BVH skeleton lacks a joint the mapping needs (the message names it)."""


@dataclass(frozen=True)
class SkeletonMapping:
    """How one mocap source maps onto H36M-17.

    Attributes:
        source: Source id, also the licence tag (``"cmu"``: commercial use allowed, not resale;
            ``"bandai"``: CC BY-NC 4.0, non-commercial only).
        commercial_ok: Whether models trained on it may be used commercially.
        position_mode: How position channels combine with OFFSETs (see :mod:`.bvh`).
        direct: H36M-17 joint name → BVH joint name for the joints the rig has.
        head: BVH head joint carrying the head frame.
        head_up_local: Head up axis ``u`` in the head joint's local frame.
        head_forward_local: Face direction ``f`` in the head joint's local frame.
        eyes: BVH eye joints whose midpoint is ``E`` (None: use ``eye_centre_local_cm``).
        eye_centre_local_cm: ``E`` in the head joint's local frame, cm (when ``eyes`` is None).
    """

    source: str
    commercial_ok: bool
    position_mode: str
    direct: dict[str, str]
    head: str
    head_up_local: tuple[float, float, float]
    head_forward_local: tuple[float, float, float]
    eyes: tuple[str, str] | None = None
    eye_centre_local_cm: tuple[float, float, float] | None = None

    @property
    def required_joints(self) -> list[str]:
        names = list(self.direct.values()) + [self.head]
        if self.eyes:
            names += list(self.eyes)
        return names


# CMU retargeted onto the Reallusion CC rig. Root displacements are relative to the root OFFSET.
# Head local frame (measured on standing frames): +Y runs up the neck, +Z points out of the face.
CMU_MAPPING = SkeletonMapping(
    source="cmu",
    commercial_ok=True,
    position_mode="add",
    direct={
        "r_hip": "CC_Base_R_Thigh", "r_knee": "CC_Base_R_Calf", "r_ankle": "CC_Base_R_Foot",
        "l_hip": "CC_Base_L_Thigh", "l_knee": "CC_Base_L_Calf", "l_ankle": "CC_Base_L_Foot",
        "l_shoulder": "CC_Base_L_Upperarm", "l_elbow": "CC_Base_L_Forearm",
        "l_wrist": "CC_Base_L_Hand",
        "r_shoulder": "CC_Base_R_Upperarm", "r_elbow": "CC_Base_R_Forearm",
        "r_wrist": "CC_Base_R_Hand",
    },
    head="CC_Base_Head",
    head_up_local=(0.0, 1.0, 0.0),
    head_forward_local=(0.0, 0.0, 1.0),
    eyes=("CC_Base_L_Eye", "CC_Base_R_Eye"),
)

# Bandai Namco: every joint has 6 channels whose positions replace the OFFSETs; bones run along
# local +X, so the head's +X runs up the neck and +Y points out of the face (+Z to the left).
BANDAI_MAPPING = SkeletonMapping(
    source="bandai",
    commercial_ok=False,
    position_mode="replace",
    direct={
        "r_hip": "UpperLeg_R", "r_knee": "LowerLeg_R", "r_ankle": "Foot_R",
        "l_hip": "UpperLeg_L", "l_knee": "LowerLeg_L", "l_ankle": "Foot_L",
        "l_shoulder": "UpperArm_L", "l_elbow": "LowerArm_L", "l_wrist": "Hand_L",
        "r_shoulder": "UpperArm_R", "r_elbow": "LowerArm_R", "r_wrist": "Hand_R",
    },
    head="Head",
    head_up_local=(1.0, 0.0, 0.0),
    head_forward_local=(0.0, 1.0, 0.0),
    eye_centre_local_cm=(8.0, 8.0, 0.0),
)

MAPPINGS: dict[str, SkeletonMapping] = {m.source: m for m in (CMU_MAPPING, BANDAI_MAPPING)}


def detect_source(path: str | Path, joint_names: Sequence[str] | None = None) -> str:
    """Mocap source id of a file: from a ``cmu``/``bandai`` folder in its path, else from the
    joint names (``CC_Base_Hip`` → cmu, ``Hips`` → bandai).

    Raises:
        MappingError: if neither identifies a known source.
    """
    parts = [p.lower() for p in Path(path).parts]
    for src in MAPPINGS:
        if src in parts:
            return src
    names = set(joint_names or ())
    if "CC_Base_Hip" in names:
        return "cmu"
    if "Hips" in names:
        return "bandai"
    raise MappingError(f"{Path(path).name}: unknown mocap source (expected cmu or bandai)")


def map_to_h36m17(motion: BvhMotion, mapping: SkeletonMapping) -> np.ndarray:
    """H36M-17 joints for every frame, in the BVH frame and units.

    Args:
        motion: Parsed BVH.
        mapping: The source's mapping.

    Returns:
        ``[F, 17, 3]`` float64 in file units (cm), BVH axes (Y up).

    Raises:
        MappingError: if the skeleton lacks a joint the mapping needs.
    """
    names = set(motion.skeleton.names)
    missing = [n for n in mapping.required_joints if n not in names]
    if missing:
        raise MappingError(
            f"{motion.source}: joint(s) {', '.join(missing)} missing for the "
            f"{mapping.source} mapping"
        )
    wanted = mapping.required_joints
    pos, rot = forward_kinematics(
        motion, wanted, position_mode=mapping.position_mode,  # type: ignore[arg-type]
        return_rotations=True,
    )
    by_name = {n: pos[:, k] for k, n in enumerate(wanted)}
    head_k = wanted.index(mapping.head)
    r_head = rot[:, head_k]  # [F, 3, 3]
    head = pos[:, head_k]
    up = r_head @ np.asarray(mapping.head_up_local)
    fwd = r_head @ np.asarray(mapping.head_forward_local)
    if mapping.eyes:
        eye = 0.5 * (by_name[mapping.eyes[0]] + by_name[mapping.eyes[1]])
    else:
        eye = head + r_head @ np.asarray(mapping.eye_centre_local_cm)

    out = np.zeros((motion.num_frames, H36M17.num_joints, 3))
    for h36m_name, bvh_name in mapping.direct.items():
        out[:, H36M17.index(h36m_name)] = by_name[bvh_name]
    j = H36M17.index
    out[:, j("pelvis")] = 0.5 * (out[:, j("l_hip")] + out[:, j("r_hip")])
    out[:, j("thorax")] = 0.5 * (out[:, j("l_shoulder")] + out[:, j("r_shoulder")])
    out[:, j("spine")] = 0.5 * (out[:, j("pelvis")] + out[:, j("thorax")])
    du, df = NECK_NOSE_FROM_EYES_CM
    out[:, j("neck_nose")] = eye + du * up + df * fwd
    du, df = HEAD_TOP_FROM_EYES_CM
    out[:, j("head_top")] = eye + du * up + df * fwd
    return out


def bvh_to_world_mm(points_cm: np.ndarray) -> np.ndarray:
    """Y-up centimetres (BVH) → Z-up millimetres (monopose world), see the module docstring.

    Args:
        points_cm: ``[..., 3]``.

    Returns:
        ``[..., 3]`` float64 mm.
    """
    points_cm = np.asarray(points_cm, dtype=np.float64)
    if points_cm.shape[-1] != 3:
        raise ValueError(f"points_cm: expected [..., 3], got {points_cm.shape}")
    return points_cm @ BVH_CM_TO_WORLD_MM.T
