"""Metric and posture helpers for the real-photo checks (``bench_realgt.py``).

All poses are h36m17, ``[17, 3]`` millimetres, camera axes (x right, y down, z forward).
Camera space has no gravity: the posture helpers take the camera's -y axis as "up", which holds
for photos taken with a roughly level camera.
"""

from __future__ import annotations

import numpy as np

from monopose.core.skeleton import H36M17
from monopose.eval.photo_scores import bone_length_sum_mm, per_joint_table, rotation_angle_deg

__all__ = [
    "UP_CAMERA",
    "SEATED_ANGLE_DEG",
    "rotation_angle_deg",
    "bone_length_sum_mm",
    "angle_between_deg",
    "joint_angle_deg",
    "posture",
    "per_joint_table",
]

UP_CAMERA = np.array([0.0, -1.0, 0.0])  # image "up" for a level camera
# Knee and hip both bent below this, or thighs nearer horizontal than vertical, means seated.
SEATED_ANGLE_DEG = 120.0
_J = {name: i for i, name in enumerate(H36M17.joint_names)}


def angle_between_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle (degrees) between two ``[3]`` vectors."""
    cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def joint_angle_deg(pose_mm: np.ndarray, a: str, b: str, c: str) -> float:
    """Angle (degrees) at joint ``b`` between ``b→a`` and ``b→c``: 180° is a straight limb."""
    p = np.asarray(pose_mm, dtype=np.float64)
    return angle_between_deg(p[_J[a]] - p[_J[b]], p[_J[c]] - p[_J[b]])


def posture(pose_mm: np.ndarray, up: np.ndarray = UP_CAMERA) -> dict[str, float | bool]:
    """Lean, height and sitting cues of one ``[17, 3]`` pose (absolute or root-relative).

    Returns:
        ``lean_deg`` (pelvis→thorax vs ``up``) and its two parts for camera axes,
        ``lean_side_deg`` (in the image plane, + = top towards +x) and ``lean_toward_camera_deg``
        (+ = top towards the camera; a pitched camera shows up here), ``head_ankle_up_mm``
        (head top above the mean ankle, along ``up``), ``head_ankle_3d_mm`` (head top to the
        ankle midpoint),
        ``knee_r_deg``/``knee_l_deg`` and ``hip_r_deg``/``hip_l_deg`` (180° = straight;
        the hip angle is between the trunk, pelvis→thorax, and the thigh, hip→knee),
        ``thigh_from_vertical_deg`` (mean over both thighs, 0° = pointing down) and ``seated``.
    """
    p = np.asarray(pose_mm, dtype=np.float64)
    up = np.asarray(up, dtype=np.float64) / np.linalg.norm(up)
    trunk = p[_J["thorax"]] - p[_J["pelvis"]]
    ankle_mid = 0.5 * (p[_J["r_ankle"]] + p[_J["l_ankle"]])
    head = p[_J["head_top"]]
    out: dict[str, float | bool] = {
        "lean_deg": angle_between_deg(trunk, up),
        "lean_side_deg": float(np.degrees(np.arctan2(trunk[0], np.dot(trunk, up)))),
        "lean_toward_camera_deg": float(np.degrees(np.arctan2(-trunk[2], np.dot(trunk, up)))),
        "head_ankle_up_mm": float(np.dot(head - ankle_mid, up)),
        "head_ankle_3d_mm": float(np.linalg.norm(head - ankle_mid)),
    }
    thigh_deg = []
    for side in ("r", "l"):
        hip, knee = p[_J[f"{side}_hip"]], p[_J[f"{side}_knee"]]
        out[f"knee_{side}_deg"] = joint_angle_deg(p, f"{side}_hip", f"{side}_knee",
                                                  f"{side}_ankle")
        out[f"hip_{side}_deg"] = angle_between_deg(trunk, knee - hip)
        thigh_deg.append(angle_between_deg(knee - hip, -up))
    out["thigh_from_vertical_deg"] = float(np.mean(thigh_deg))
    knee = 0.5 * (float(out["knee_r_deg"]) + float(out["knee_l_deg"]))
    hip = 0.5 * (float(out["hip_r_deg"]) + float(out["hip_l_deg"]))
    out["seated"] = bool((knee < SEATED_ANGLE_DEG and hip < SEATED_ANGLE_DEG)
                         or out["thigh_from_vertical_deg"] > 45.0)
    return out
