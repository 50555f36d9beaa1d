"""Joint placement and proportions of Human3.6M's skeleton for the mocap targets.

The mocap rigs place joints as animation rigs do: femur heads 65–97 mm from the pelvis where
Human3.6M's hip joints are 133 mm out, shoulders 100–183 mm from the thorax where Human3.6M has
151 mm, and each source has one fixed body (Bandai's is small, CMU's retarget is tall). A lifter
trained on those targets outputs something that is called ``h36m17`` but is not Human3.6M's
skeleton, and the 2D of real people is out of its training distribution.

:func:`to_reference_proportions` keeps every bone's *direction* from the rig (the motion) and
sets its *length* to Human3.6M's reference skeleton (walking the tree from the pelvis), so the
joint placement (hip width, shoulder width, neck and head) and the proportions follow Human3.6M.
Body-size variation is added later by the sampler's bone and global scale augmentation.

Reference lengths (:data:`H36M_BONE_LENGTHS_MM`): the Human3.6M 32-joint skeleton offsets
distributed with the Human3.6M motion-prediction code of Martinez, Black and Romero, "On human
motion prediction using recurrent neural networks", CVPR 2017 (``src/forward_kinematics.py`` of
github.com/una-dinosauria/human-motion-prediction), read on the 17 joints of the lifting
protocol (joints 0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27): pelvis→hip
132.95, hip→knee 442.89, knee→ankle 454.21, pelvis→spine 233.48 (233.38 plus a collinear
0.1 mm stub), spine→thorax 257.08, thorax→neck/nose 121.13, neck/nose→head 115.00,
thorax→shoulder 151.03, shoulder→elbow 278.88, elbow→wrist 251.73 (mm; left and right agree
within 0.01 mm).
"""

from __future__ import annotations

import numpy as np

from monopose.core.skeleton import H36M17

__all__ = [
    "H36M_BONE_LENGTHS_MM",
    "bone_lengths_mm",
    "to_reference_proportions",
    "limb_scale",
    "place_h36m_trunk",
    "keep_lowest_ankle",
]

# Bone lengths by the bone's child joint (h36m17 names), mm. See the module docstring.
H36M_BONE_LENGTHS_MM: dict[str, float] = {
    "r_hip": 132.95, "r_knee": 442.89, "r_ankle": 454.21,
    "l_hip": 132.95, "l_knee": 442.89, "l_ankle": 454.21,
    "spine": 233.48, "thorax": 257.08, "neck_nose": 121.13, "head_top": 115.00,
    "l_shoulder": 151.03, "l_elbow": 278.88, "l_wrist": 251.73,
    "r_shoulder": 151.03, "r_elbow": 278.88, "r_wrist": 251.73,
}

_PARENTS = np.asarray(H36M17.parents)
_ANKLES = [H36M17.index("l_ankle"), H36M17.index("r_ankle")]


def bone_lengths_mm(poses_mm: np.ndarray) -> dict[str, np.ndarray]:
    """Length of every h36m17 bone, by child joint name.

    Args:
        poses_mm: ``[..., 17, 3]``.

    Returns:
        ``{child_name: [...]}`` in mm.
    """
    poses_mm = np.asarray(poses_mm, dtype=np.float64)
    return {H36M17.joint_names[j]: np.linalg.norm(poses_mm[..., j, :] - poses_mm[..., p, :],
                                                  axis=-1)
            for j, p in enumerate(_PARENTS) if p >= 0}


def to_reference_proportions(poses_mm: np.ndarray,
                             lengths_mm: dict[str, float] | None = None) -> np.ndarray:
    """Rebuild h36m17 poses with the reference bone lengths, keeping every bone's direction.

    Args:
        poses_mm: ``[..., 17, 3]`` poses (any frame, any units of mm).
        lengths_mm: bone length by child joint; default :data:`H36M_BONE_LENGTHS_MM`.

    Returns:
        ``[..., 17, 3]`` float64 with the same pelvis positions; a bone of zero length in the
        input keeps zero length (its direction is unknown).
    """
    lengths_mm = H36M_BONE_LENGTHS_MM if lengths_mm is None else lengths_mm
    poses_mm = np.asarray(poses_mm, dtype=np.float64)
    if poses_mm.shape[-2:] != (H36M17.num_joints, 3):
        raise ValueError(f"poses_mm: expected [..., 17, 3], got {poses_mm.shape}")
    out = np.empty_like(poses_mm)
    for j, p in enumerate(_PARENTS):  # parents come before children in h36m17
        if p < 0:
            out[..., j, :] = poses_mm[..., j, :]
            continue
        unit = _unit(poses_mm[..., j, :] - poses_mm[..., p, :])
        out[..., j, :] = out[..., p, :] + lengths_mm[H36M17.joint_names[j]] * unit
    return out


# Bones whose far joint is an anatomical joint centre that rigs, bodies and Human3.6M agree on
# (knee, ankle, elbow, wrist): they measure a body's size.
_LIMB_JOINTS = ("r_knee", "r_ankle", "l_knee", "l_ankle", "l_elbow", "l_wrist", "r_elbow",
                "r_wrist")
# Joints a rig places differently from Human3.6M (hip and shoulder width, spine split, neck and
# head), in tree order; each is re-placed from its Human3.6M parent.
_TRUNK_JOINTS = ("r_hip", "l_hip", "spine", "thorax", "neck_nose", "head_top")
_SHOULDER_ELBOW = (("l_shoulder", "l_elbow"), ("r_shoulder", "r_elbow"))


def limb_scale(rig_mm: np.ndarray) -> np.ndarray:
    """A body's size relative to Human3.6M's reference skeleton, from its limbs.

    Args:
        rig_mm: ``[..., 17, 3]`` joints of one or more bodies (any placement of the trunk joints).

    Returns:
        ``[...]`` the mean over thighs, shins, upper arms and forearms of length / reference
        length (1.0 = the reference subject's limbs).
    """
    lengths = bone_lengths_mm(rig_mm)
    ratios = [lengths[n] / H36M_BONE_LENGTHS_MM[n] for n in _LIMB_JOINTS]
    return np.mean(ratios, axis=0)


def place_h36m_trunk(rig_mm: np.ndarray, scale: np.ndarray | float | None = None) -> np.ndarray:
    """Re-place a body's trunk joints as Human3.6M places them, keeping its limbs where they are.

    Rendered bodies have their own limbs (the pixels show them), so knees, ankles, elbows and
    wrists stay; hips, spine, thorax, neck/nose and head top keep the *direction* of the rig's
    bone and get Human3.6M's length times the body's :func:`limb_scale`. A shoulder goes to the
    point nearest the rig's shoulder that is Human3.6M's thorax→shoulder length (times the
    scale) from the new thorax and keeps the rig's upper-arm length to the elbow (where the two
    spheres do not meet: along the rig's direction from the thorax). The pelvis stays.

    Args:
        rig_mm: ``[..., 17, 3]`` joints as the body rig places them.
        scale: ``[...]`` body size (default :func:`limb_scale` of ``rig_mm``).

    Returns:
        ``[..., 17, 3]`` float64.
    """
    rig = np.asarray(rig_mm, dtype=np.float64)
    if rig.shape[-2:] != (H36M17.num_joints, 3):
        raise ValueError(f"rig_mm: expected [..., 17, 3], got {rig.shape}")
    s = limb_scale(rig) if scale is None else np.asarray(scale, dtype=np.float64)
    s = np.broadcast_to(s, rig.shape[:-2])[..., None]
    out = rig.copy()
    for name in _TRUNK_JOINTS:
        j = H36M17.index(name)
        p = int(_PARENTS[j])
        unit = _unit(rig[..., j, :] - rig[..., p, :])
        out[..., j, :] = out[..., p, :] + H36M_BONE_LENGTHS_MM[name] * s * unit
    thorax = out[..., H36M17.index("thorax"), :]
    for name, elbow_name in _SHOULDER_ELBOW:
        j, e = H36M17.index(name), H36M17.index(elbow_name)
        out[..., j, :] = _shoulder_point(thorax, rig[..., e, :], rig[..., j, :],
                                         H36M_BONE_LENGTHS_MM[name] * s[..., 0])
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, n, out=np.zeros_like(v), where=n > 1e-9)


def _shoulder_point(thorax: np.ndarray, elbow: np.ndarray, rig_shoulder: np.ndarray,
                    radius_mm: np.ndarray) -> np.ndarray:
    """``[..., 3]`` the point ``radius_mm`` from ``thorax`` and as far from ``elbow`` as the rig's
    shoulder is, nearest ``rig_shoulder`` (the circle where the two spheres meet)."""
    upper_arm = np.linalg.norm(rig_shoulder - elbow, axis=-1)
    axis = elbow - thorax
    d = np.linalg.norm(axis, axis=-1)
    n = _unit(axis)
    along = (d ** 2 + radius_mm ** 2 - upper_arm ** 2) / np.maximum(2.0 * d, 1e-9)
    r2 = radius_mm ** 2 - along ** 2
    centre = thorax + along[..., None] * n
    off = rig_shoulder - centre
    off = _unit(off - np.sum(off * n, axis=-1, keepdims=True) * n)
    on_circle = centre + np.sqrt(np.maximum(r2, 0.0))[..., None] * off
    fallback = thorax + radius_mm[..., None] * _unit(rig_shoulder - thorax)
    ok = (r2 > 0) & (d > 1e-6) & (np.linalg.norm(off, axis=-1) > 0.5)
    return np.where(ok[..., None], on_circle, fallback)


def keep_lowest_ankle(before_mm: np.ndarray, after_mm: np.ndarray, up_axis: int = 2
                      ) -> np.ndarray:
    """Shift a clip vertically so its lowest ankle is as high as before (feet stay on the floor).

    Args:
        before_mm, after_mm: ``[F, 17, 3]`` one clip before and after a change of proportions.
        up_axis: the world's up axis (monopose's world is Z up).

    Returns:
        ``after_mm`` shifted along ``up_axis`` by one constant for the whole clip.
    """
    shift = (np.min(before_mm[:, _ANKLES, up_axis]) - np.min(after_mm[:, _ANKLES, up_axis]))
    out = np.array(after_mm, dtype=np.float64, copy=True)
    out[..., up_axis] += shift
    return out
