"""Retarget H36M-17 mocap poses (world mm, Z up) onto the anny skeleton.

The result is one world rotation per anny bone relative to its rest pose (see
:mod:`monopose.data.synthetic.body`), found top-down so every rotation is composed on its
parent's:

* **root** (pelvis, lower spine): the frame spanned by the torso axis (pelvis → thorax) and the
  hip line (right hip → left hip) is aligned with the same frame of the rest body;
* **chest** (``spine02``, ``spine01``): the same with the shoulder line; the twist between root
  and chest is spread over ``spine04``/``spine03`` (1/3 and 2/3 of it);
* **thighs / upper arms**: the bone direction is aligned exactly; the twist about it comes from
  the plane of the limb (the shin or forearm direction orthogonal to the bone), which tells
  which way the knee or elbow bends. When the limb is nearly straight that plane is undefined:
  the twist fades to the minimal rotation from the parent's frame;
* **shins / forearms**: the minimal rotation from the bone's current world direction (after its
  parent's rotation) to the target direction;
* **neck and head**: the frame spanned by thorax → head_top and thorax → neck_nose, spread over
  ``neck01`` (1/3), ``neck02`` (2/3) and ``neck03``/``head`` (all);
* everything else (clavicles, hands, fingers, feet, toes, eyes) follows its parent.

Mocap joint positions are not copied: the body keeps its own bone lengths (its phenotype), so
the H36M-17 ground truth must be read from the posed body
(:meth:`~monopose.data.synthetic.body.AnnyBody.h36m17_mm`), not from the mocap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from monopose.data.synthetic.body import AnnyBody, RestBody

__all__ = ["RetargetResult", "retarget_h36m17", "rotation_between", "frame_rotation"]

# h36m17 joint indices
_PELVIS, _RHIP, _RKNEE, _RANKLE, _LHIP, _LKNEE, _LANKLE = 0, 1, 2, 3, 4, 5, 6
_THORAX, _NECK_NOSE, _HEAD_TOP = 8, 9, 10
_LSHO, _LELB, _LWRI, _RSHO, _RELB, _RWRI = 11, 12, 13, 14, 15, 16

# How straight (|orthogonal part| / length of the distal bone) a limb may be before its
# bending plane is trusted fully.
_PLANE_FULL = 0.25


@dataclass
class RetargetResult:
    """Retargeted pose: ``rotations [104, 3, 3]`` (world, relative to rest) and ``root_m [3]``."""

    rotations: np.ndarray
    root_m: np.ndarray


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-12 else np.zeros_like(v)


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation ``[3, 3]`` taking direction ``a`` to direction ``b``."""
    a, b = _unit(np.asarray(a, float)), _unit(np.asarray(b, float))
    axis = np.cross(a, b)
    s, c = float(np.linalg.norm(axis)), float(np.dot(a, b))
    if s < 1e-9:
        if c > 0:
            return np.eye(3)
        # Opposite: turn half a circle about any axis orthogonal to a.
        other = np.array([1.0, 0.0, 0.0]) if abs(a[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        return Rotation.from_rotvec(np.pi * _unit(np.cross(a, other))).as_matrix()
    return Rotation.from_rotvec(axis / s * np.arctan2(s, c)).as_matrix()


def _frame(d: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Orthonormal frame (columns) with e1 along d and e2 in the (d, s) plane."""
    e1 = _unit(d)
    e2 = _unit(s - np.dot(s, e1) * e1)
    if not np.any(e2):
        raise ValueError("frame: the second vector is parallel to the first")
    return np.stack([e1, e2, np.cross(e1, e2)], axis=1)


def frame_rotation(d_from: np.ndarray, s_from: np.ndarray, d_to: np.ndarray,
                   s_to: np.ndarray) -> np.ndarray:
    """Rotation taking ``d_from`` exactly to ``d_to`` and the plane (d, s) onto (d, s)."""
    return _frame(d_to, s_to) @ _frame(d_from, s_from).T


def _slerp_from(base: np.ndarray, target: np.ndarray, frac: float) -> np.ndarray:
    """``frac`` of the way from rotation ``base`` to ``target`` (both world rotations)."""
    rel = Rotation.from_matrix(target @ base.T).as_rotvec()
    return Rotation.from_rotvec(rel * frac).as_matrix() @ base


def _limb_twist(d_rest: np.ndarray, s_rest: np.ndarray, parent_rot: np.ndarray,
                d_target: np.ndarray, distal_target: np.ndarray) -> np.ndarray:
    """World rotation of a proximal limb bone (thigh, upper arm); see the module docstring."""
    d_hat = _unit(d_target)
    current = parent_rot @ d_rest
    minimal = rotation_between(current, d_target) @ parent_rot
    s_fallback = minimal @ s_rest
    s_fallback = _unit(s_fallback - np.dot(s_fallback, d_hat) * d_hat)
    ortho = distal_target - np.dot(distal_target, d_hat) * d_hat
    length = float(np.linalg.norm(distal_target))
    w = float(np.clip(np.linalg.norm(ortho) / max(_PLANE_FULL * length, 1e-9), 0.0, 1.0))
    s = w * _unit(ortho) + (1.0 - w) * s_fallback
    if np.linalg.norm(s - np.dot(s, d_hat) * d_hat) < 1e-6:  # opposite halves cancelled
        s = s_fallback
    return frame_rotation(d_rest, s_rest, d_target, s)


def _rest_points(body: AnnyBody, rest: RestBody) -> dict[str, np.ndarray]:
    h, b = rest.heads_m, body.bone
    pts = {
        "r_hip": h[b("upperleg01.R")], "l_hip": h[b("upperleg01.L")],
        "r_knee": h[b("lowerleg01.R")], "l_knee": h[b("lowerleg01.L")],
        "r_ankle": h[b("foot.R")], "l_ankle": h[b("foot.L")],
        "r_sho": h[b("upperarm01.R")], "l_sho": h[b("upperarm01.L")],
        "r_elb": h[b("lowerarm01.R")], "l_elb": h[b("lowerarm01.L")],
        "r_wri": h[b("wrist.R")], "l_wri": h[b("wrist.L")],
    }
    pts["pelvis"] = 0.5 * (pts["r_hip"] + pts["l_hip"])
    pts["thorax"] = 0.5 * (pts["r_sho"] + pts["l_sho"])
    eye = 0.5 * (h[b("eye.L")] + h[b("eye.R")])
    pts["neck_nose"] = eye + np.array([0.0, 0.025, -0.03])  # −3 cm up, −2.5 cm forward (−y)
    pts["head_top"] = rest.vertices_m[body.head_top_vertices].mean(axis=0)
    return pts


def retarget_h36m17(body: AnnyBody, rest: RestBody, target_mm: np.ndarray) -> RetargetResult:
    """Rotations that pose ``rest`` like the H36M-17 pose ``target_mm [17, 3]`` (world, Z up).

    The pelvis (midpoint of the hips) is placed at the target's pelvis.

    Raises:
        ValueError: ``target_mm`` is not ``[17, 3]`` finite, or is degenerate (coincident hips
            or shoulders).
    """
    t = np.asarray(target_mm, dtype=np.float64)
    if t.shape != (17, 3) or not np.isfinite(t).all():
        raise ValueError(f"target_mm: expected a finite [17, 3] pose, got shape {t.shape}")
    t = t / 1000.0
    r = _rest_points(body, rest)
    b = body.bone
    nb = len(body.bone_names)
    rot = np.tile(np.eye(3), (nb, 1, 1))
    assigned = np.zeros(nb, dtype=bool)

    def put(name: str, value: np.ndarray) -> None:
        rot[b(name)] = value
        assigned[b(name)] = True

    # root and chest
    g_root = frame_rotation(r["thorax"] - r["pelvis"], r["l_hip"] - r["r_hip"],
                            t[_THORAX] - t[_PELVIS], t[_LHIP] - t[_RHIP])
    g_chest = frame_rotation(r["thorax"] - r["pelvis"], r["l_sho"] - r["r_sho"],
                             t[_THORAX] - t[_PELVIS], t[_LSHO] - t[_RSHO])
    put("root", g_root)
    put("spine05", g_root)
    put("spine04", _slerp_from(g_root, g_chest, 1.0 / 3.0))
    put("spine03", _slerp_from(g_root, g_chest, 2.0 / 3.0))
    put("spine02", g_chest)
    put("spine01", g_chest)

    # neck and head
    g_head = frame_rotation(r["head_top"] - r["thorax"], r["neck_nose"] - r["thorax"],
                            t[_HEAD_TOP] - t[_THORAX], t[_NECK_NOSE] - t[_THORAX])
    put("neck01", _slerp_from(g_chest, g_head, 1.0 / 3.0))
    put("neck02", _slerp_from(g_chest, g_head, 2.0 / 3.0))
    put("neck03", g_head)
    put("head", g_head)

    # legs: the knee bends backwards (+y in the rest frame)
    back = np.array([0.0, 1.0, 0.0])
    for side, hip, knee, ankle in (("R", _RHIP, _RKNEE, _RANKLE), ("L", _LHIP, _LKNEE, _LANKLE)):
        s = side.lower()
        put(f"pelvis.{side}", g_root)
        d_rest = r[f"{s}_knee"] - r[f"{s}_hip"]
        g_thigh = _limb_twist(d_rest, back, g_root, t[knee] - t[hip], t[ankle] - t[knee])
        put(f"upperleg01.{side}", g_thigh)
        put(f"upperleg02.{side}", g_thigh)
        shin_rest = r[f"{s}_ankle"] - r[f"{s}_knee"]
        g_shin = rotation_between(g_thigh @ shin_rest, t[ankle] - t[knee]) @ g_thigh
        put(f"lowerleg01.{side}", g_shin)

    # arms: the elbow's rest bend gives the bending plane
    for side, sho, elb, wri in (("R", _RSHO, _RELB, _RWRI), ("L", _LSHO, _LELB, _LWRI)):
        s = side.lower()
        d_rest = r[f"{s}_elb"] - r[f"{s}_sho"]
        fore_rest = r[f"{s}_wri"] - r[f"{s}_elb"]
        g_upper = _limb_twist(d_rest, fore_rest, g_chest, t[elb] - t[sho], t[wri] - t[elb])
        put(f"upperarm01.{side}", g_upper)
        put(f"upperarm02.{side}", g_upper)
        g_fore = rotation_between(g_upper @ fore_rest, t[wri] - t[elb]) @ g_upper
        put(f"lowerarm01.{side}", g_fore)

    # the rest follow their parents
    for c in range(1, nb):
        if not assigned[c]:
            rot[c] = rot[body.parents[c]]
    root_m = t[_PELVIS] - g_root @ (r["pelvis"] - rest.heads_m[0])
    return RetargetResult(rotations=rot, root_m=root_m)
