"""Joint rotations from joint positions (inverse kinematics) for an H36M-17-based rig.

The rig (:data:`RIG`) has one BVH joint per H36M-17 joint that has children, plus zero-length
*link* joints (``pelvis_to_r_hip``, ``thorax_to_l_shoulder``, ...) for the bones that leave a
joint with several children. The leaf joints (ankles, wrists, head top) are ``End Site``\\ s.

* ``pelvis`` and ``thorax`` get a full orientation from their child bones (hips + spine; neck +
  shoulders) by Kabsch on the unit directions: the body's frame.
* Every other joint (and every link) aims its one bone: the smallest rotation, in its parent's
  frame, that takes the rest direction to the observed direction (no twist about the bone).
* Hierarchically: ``local = parent_world⁻¹ · world``.

With the links, every bone's direction is reproduced exactly; with fixed (median) bone lengths
the only round-trip error is the per-frame bone-length variation of the input.

Rest pose (T-pose, BVH frame: Y up, the person faces +Z, their left is +X): legs and spine
vertical, arms horizontal. Units are whatever the positions use (the writer uses centimetres).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monopose.core.rotations import kabsch_rotation, swing_rotation
from monopose.core.skeleton import H36M17

__all__ = [
    "RigJoint",
    "RIG",
    "REST_DIRECTIONS",
    "DEFAULT_BONE_LENGTHS_MM",
    "IkResult",
    "median_bone_lengths",
    "rest_offsets",
    "solve_ik",
    "forward_rig",
]

_J = H36M17.index

# Unit direction of the bone (parent → joint) of every H36M-17 joint in the rest pose.
REST_DIRECTIONS = np.zeros((17, 3))
for _name, _d in {
    "r_hip": (-1, 0, 0), "r_knee": (0, -1, 0), "r_ankle": (0, -1, 0),
    "l_hip": (1, 0, 0), "l_knee": (0, -1, 0), "l_ankle": (0, -1, 0),
    "spine": (0, 1, 0), "thorax": (0, 1, 0), "neck_nose": (0, 1, 0), "head_top": (0, 1, 0),
    "l_shoulder": (1, 0, 0), "l_elbow": (1, 0, 0), "l_wrist": (1, 0, 0),
    "r_shoulder": (-1, 0, 0), "r_elbow": (-1, 0, 0), "r_wrist": (-1, 0, 0),
}.items():
    REST_DIRECTIONS[_J(_name)] = _d

# Typical adult bone lengths (parent → joint), used when a bone is never observed.
DEFAULT_BONE_LENGTHS_MM = np.zeros(17)
for _name, _mm in {
    "r_hip": 132, "r_knee": 442, "r_ankle": 454, "l_hip": 132, "l_knee": 442, "l_ankle": 454,
    "spine": 233, "thorax": 257, "neck_nose": 121, "head_top": 115,
    "l_shoulder": 151, "l_elbow": 278, "l_wrist": 252,
    "r_shoulder": 151, "r_elbow": 278, "r_wrist": 252,
}.items():
    DEFAULT_BONE_LENGTHS_MM[_J(_name)] = _mm


@dataclass(frozen=True)
class RigJoint:
    """One BVH joint of the rig.

    Attributes:
        name: BVH joint name.
        parent: Index of the parent rig joint (-1 for the root).
        at: H36M-17 joint this rig joint sits on.
        offset_bone: H36M-17 joint whose bone (from its parent) is this joint's OFFSET; None for
            a zero offset (the root and the links).
        aims: H36M-17 joints whose bones this joint orients: one (aim) or several (Kabsch).
        end: H36M-17 leaf joint written as this joint's ``End Site``, or None.
    """

    name: str
    parent: int
    at: int
    offset_bone: int | None
    aims: tuple[int, ...]
    end: int | None = None


def _build_rig() -> tuple[RigJoint, ...]:
    joints: list[RigJoint] = []
    parents = H36M17.parents
    children = {j: [c for c in range(17) if parents[c] == j] for j in range(17)}

    def add(h36m: int, rig_parent: int, offset_bone: int | None) -> None:
        kids = children[h36m]
        name = H36M17.joint_names[h36m]
        if len(kids) == 1:
            (kid,) = kids
            leaf = not children[kid]
            joints.append(RigJoint(name, rig_parent, h36m, offset_bone, (kid,),
                                   kid if leaf else None))
            if not leaf:
                add(kid, len(joints) - 1, kid)
            return
        joints.append(RigJoint(name, rig_parent, h36m, offset_bone, tuple(kids)))
        me = len(joints) - 1
        for kid in kids:
            link = f"{name}_to_{H36M17.joint_names[kid]}"
            joints.append(RigJoint(link, me, h36m, None, (kid,),
                                   kid if not children[kid] else None))
            if children[kid]:
                add(kid, len(joints) - 1, kid)

    add(H36M17.root, -1, None)
    return tuple(joints)


RIG: tuple[RigJoint, ...] = _build_rig()


def median_bone_lengths(poses: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Median length of every bone (parent → joint) over the frames where both ends are finite.

    Args:
        poses: ``[F, 17, 3]`` (any length unit).

    Returns:
        ``(lengths [17], unobserved)``: lengths in the poses' unit (root entry 0) and the joints
        whose bone was never observed (they get :data:`DEFAULT_BONE_LENGTHS_MM`, converted by the
        median ratio of the observed bones to the defaults, or taken as mm if none was seen).
    """
    poses = np.asarray(poses, dtype=np.float64)
    par = np.array(H36M17.parents)
    lengths = np.zeros(17)
    unobserved: list[int] = []
    for j in range(17):
        if par[j] < 0:
            continue
        d = np.linalg.norm(poses[:, j] - poses[:, par[j]], axis=-1)
        d = d[np.isfinite(d) & (d > 0)]
        if d.size:
            lengths[j] = float(np.median(d))
        else:
            unobserved.append(j)
    if unobserved:
        seen = [j for j in range(17) if par[j] >= 0 and j not in unobserved]
        ratio = float(np.median(lengths[seen] / DEFAULT_BONE_LENGTHS_MM[seen])) if seen else 1.0
        lengths[unobserved] = DEFAULT_BONE_LENGTHS_MM[unobserved] * ratio
    return lengths, unobserved


def rest_offsets(bone_lengths: np.ndarray) -> np.ndarray:
    """``[len(RIG), 3]`` OFFSET of every rig joint, and ``[len(RIG), 3]`` End Site offsets.

    Returns:
        ``[len(RIG), 2, 3]``: ``[:, 0]`` the joint OFFSET, ``[:, 1]`` its End Site offset (zero
        where it has none).
    """
    out = np.zeros((len(RIG), 2, 3))
    for k, joint in enumerate(RIG):
        if joint.offset_bone is not None:
            out[k, 0] = REST_DIRECTIONS[joint.offset_bone] * bone_lengths[joint.offset_bone]
        if joint.end is not None:
            out[k, 1] = REST_DIRECTIONS[joint.end] * bone_lengths[joint.end]
    return out


@dataclass
class IkResult:
    """Rotations of every rig joint over the frames.

    Attributes:
        local: ``[F, len(RIG), 3, 3]`` local rotations (``parent_world⁻¹ · world``).
        root: ``[F, 3]`` root (pelvis) position, held where the input had none.
        held: ``[F, len(RIG)]`` bool, True where a rotation was held from a neighbouring frame
            (missing joints).
        held_root: ``[F]`` bool, True where the root position was held.
    """

    local: np.ndarray
    root: np.ndarray
    held: np.ndarray
    held_root: np.ndarray


def _hold(values: np.ndarray, ok: np.ndarray, default: np.ndarray) -> np.ndarray:
    """Replace entries where ``ok`` is False by the last valid one (before the first valid:
    the first valid one; never valid: ``default``). ``values [F, ...]``, ``ok [F]``."""
    if ok.all():
        return values
    if not ok.any():
        return np.broadcast_to(default, values.shape).copy()
    idx = np.where(ok, np.arange(len(ok)), -1)
    idx = np.maximum.accumulate(idx)
    idx[idx < 0] = int(np.argmax(ok))
    return values[idx]


def solve_ik(positions: np.ndarray) -> IkResult:
    """Fit the rig's rotations to joint positions, frame by frame (vectorised over frames).

    Args:
        positions: ``[F, 17, 3]`` H36M-17 joint positions in the rig frame (BVH: Y up). NaN marks
            a missing joint; rotations that need it are held from the last frame that had it.

    Returns:
        :class:`IkResult`.
    """
    p = np.asarray(positions, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (17, 3):
        raise ValueError(f"positions: expected [F, 17, 3] (h36m17), got {p.shape}")
    n = p.shape[0]
    if n == 0:
        raise ValueError("positions: no frame")
    par = H36M17.parents
    finite: np.ndarray = np.asarray(np.isfinite(p).all(axis=-1))  # [F, 17]
    bone = p - p[:, list(max(q, 0) for q in par)]  # [F, 17, 3]; root row is zero
    length = np.linalg.norm(bone, axis=-1)
    bone_ok = finite & finite[:, [max(q, 0) for q in par]] & (length > 1e-9)
    unit = np.where(bone_ok[..., None], bone / np.where(length > 1e-9, length, 1.0)[..., None],
                    0.0)
    eye = np.eye(3)
    world = np.zeros((n, len(RIG), 3, 3))
    local = np.zeros((n, len(RIG), 3, 3))
    held = np.zeros((n, len(RIG)), dtype=bool)
    for k, joint in enumerate(RIG):
        parent_world = world[:, joint.parent] if joint.parent >= 0 else np.broadcast_to(eye,
                                                                                      (n, 3, 3))
        kids = list(joint.aims)
        ok = bone_ok[:, kids].all(axis=1)
        if len(kids) == 1:
            target = np.einsum("fji,fj->fi", parent_world, unit[:, kids[0]])  # parent frame
            rot = swing_rotation(REST_DIRECTIONS[kids[0]], np.where(ok[:, None], target,
                                                                     REST_DIRECTIONS[kids[0]]))
        else:
            w_rot = kabsch_rotation(np.broadcast_to(REST_DIRECTIONS[kids], (n, len(kids), 3)),
                                    np.where(ok[:, None, None], unit[:, kids],
                                             REST_DIRECTIONS[kids]))
            rot = np.swapaxes(parent_world, -1, -2) @ w_rot
        rot = _hold(rot, ok, eye)
        held[:, k] = ~ok
        local[:, k] = rot
        world[:, k] = parent_world @ rot
    root_ok = finite[:, H36M17.root]
    root = _hold(p[:, H36M17.root], root_ok, np.zeros(3))
    return IkResult(local=local, root=root, held=held, held_root=~root_ok)


def forward_rig(local: np.ndarray, root: np.ndarray, bone_lengths: np.ndarray) -> np.ndarray:
    """Forward kinematics of the rig: ``local [F, R, 3, 3]``, ``root [F, 3]`` → H36M-17 positions
    ``[F, 17, 3]`` (for checks; the written BVH is read back with :mod:`monopose.data.bvh`)."""
    offsets = rest_offsets(bone_lengths)
    n = local.shape[0]
    out = np.zeros((n, 17, 3))
    world = np.zeros_like(local)
    pos = np.zeros((n, len(RIG), 3))
    for k, joint in enumerate(RIG):
        if joint.parent < 0:
            world[:, k], pos[:, k] = local[:, k], root
        else:
            pw = world[:, joint.parent]
            pos[:, k] = pos[:, joint.parent] + pw @ offsets[k, 0]
            world[:, k] = pw @ local[:, k]
        out[:, joint.at] = pos[:, k]
        if joint.end is not None:
            out[:, joint.end] = pos[:, k] + world[:, k] @ offsets[k, 1]
    return out
