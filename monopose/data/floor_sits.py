"""Floor sits: people sitting and kneeling on the floor, built from the mocap's upper bodies.

The mocap has nobody sitting on the floor: its ``floor`` posture (``monopose.data.postures``,
0.2 % of the training frames) is mostly jumps with the legs tucked. Photos often show people
sitting on the floor, seen from above. A floor sit keeps a window's upper body (spine, thorax,
head, arms, as captured), leans the trunk to a drawn angle, puts the pelvis just over the floor
and lays the legs out in one of the usual ways of sitting on the floor (:data:`SIT_KINDS`):

* ``long``: both legs stretched out, knees nearly straight, heels on the floor;
* ``bent``: knees up, feet flat on the floor in front;
* ``mixed``: one leg stretched, the other bent;
* ``crossed``: thighs out to the sides, shins crossed in front on the floor;
* ``heels``: kneeling and sitting back on the heels (shins on the floor under the thighs);
* ``kneel``: kneeling upright, thighs near vertical, shins on the floor behind.

Bone lengths stay as they were (every bone: a leg is re-aimed, never stretched). Arms that
would reach into the floor are swung up about the shoulder until the hand rests on it. The legs
and pelvis keep the first frame's place over the whole window (a sitting person does not walk),
the upper body moves as captured.

This is a sampler step (:class:`monopose.data.sampler.MocapSampler`, after the limb turns); with
``SamplerConfig.floor_sit_prob = 0`` nothing is drawn and earlier configurations sample exactly
as before.
"""

from __future__ import annotations

import numpy as np

from monopose.core.rotations import axis_angle_to_matrix
from monopose.core.skeleton import H36M17

__all__ = ["SIT_KINDS", "sit_on_floor"]

SIT_KINDS = ("long", "bent", "mixed", "crossed", "heels", "kneel")
_SIT_KIND_PROBS = np.array([0.25, 0.25, 0.15, 0.15, 0.12, 0.08])

_PELVIS = H36M17.index("pelvis")
_HIPS = (H36M17.index("r_hip"), H36M17.index("l_hip"))
_LEGS = ((H36M17.index("r_hip"), H36M17.index("r_knee"), H36M17.index("r_ankle")),
         (H36M17.index("l_hip"), H36M17.index("l_knee"), H36M17.index("l_ankle")))
_UPPER = tuple(range(H36M17.index("spine"), H36M17.num_joints))  # spine .. r_wrist
_THORAX = H36M17.index("thorax")
_ARMS = ((H36M17.index("l_shoulder"), (H36M17.index("l_elbow"), H36M17.index("l_wrist"))),
         (H36M17.index("r_shoulder"), (H36M17.index("r_elbow"), H36M17.index("r_wrist"))))
_UP = np.array([0.0, 0.0, 1.0])

# Heights over the floor (z = 0) for a body of the mocap's size (mm). The mocap skeleton's ankle
# rests 117 mm over the floor when standing; a heel on the floor puts it about as high.
_ANKLE_MM = (95.0, 130.0)
_KNEE_ON_FLOOR_MM = (55.0, 85.0)
_PELVIS_SIT_MM = (100.0, 170.0)  # hip joints over the floor, sitting on the buttocks
_PELVIS_HEELS_MM = (230.0, 330.0)  # sitting back on the heels
_HAND_CLEARANCE_MM = 30.0  # a wrist or elbow resting on the floor is this high


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _direction(forward: np.ndarray, out: np.ndarray, azimuth_deg: np.ndarray,
               elevation_deg: np.ndarray) -> np.ndarray:
    """``[W, 3]`` unit vectors ``azimuth`` from ``forward`` towards ``out`` (both horizontal,
    ``[W, 3]``) and ``elevation`` above the floor."""
    az, el = np.deg2rad(azimuth_deg)[:, None], np.deg2rad(elevation_deg)[:, None]
    horizontal = np.cos(az) * forward + np.sin(az) * out
    return np.cos(el) * horizontal + np.sin(el) * _UP


def _shin_to_height(knee: np.ndarray, shin_mm: np.ndarray, horizontal: np.ndarray,
                    ankle_height_mm: np.ndarray) -> np.ndarray:
    """``[W, 3]`` ankle: the shin from ``knee`` along ``horizontal``, tilted so the ankle is at
    ``ankle_height_mm`` (or as near as the shin's length allows)."""
    drop = np.clip((knee[:, 2] - ankle_height_mm) / shin_mm, -0.99, 0.99)
    el = -np.arcsin(drop)[:, None]
    return knee + shin_mm[:, None] * (np.cos(el) * horizontal + np.sin(el) * _UP)


def _lay_legs(kind: np.ndarray, hips: np.ndarray, lengths: np.ndarray, forward: np.ndarray,
              outward: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Knees and ankles ``[W, 2 legs, 2, 3]`` for hips ``[W, 2, 3]`` already at their height.

    ``lengths``: ``[W, 2 legs, 2]`` thigh and shin (mm); ``outward``: ``[W, 2, 3]`` horizontal,
    from the pelvis towards each hip."""
    w = len(kind)
    out = np.empty((w, 2, 2, 3))
    # per leg: bent (knee up) or stretched, for the kinds that mix them
    bent = np.stack([kind == SIT_KINDS.index("bent")] * 2, axis=1)
    mixed = kind == SIT_KINDS.index("mixed")
    which = rng.integers(2, size=w)
    bent[mixed, which[mixed]] = True
    for leg in range(2):
        hip, thigh_mm, shin_mm = hips[:, leg], lengths[:, leg, 0], lengths[:, leg, 1]
        o = outward[:, leg]
        azimuth = rng.uniform(-10.0, 30.0, w)
        elevation = np.where(bent[:, leg], rng.uniform(25.0, 70.0, w), rng.uniform(-5.0, 15.0, w))
        shin_turn = rng.uniform(-10.0, 10.0, w)  # shin's azimuth from the thigh's
        ankle_z = rng.uniform(*_ANKLE_MM, w)
        crossed = kind == SIT_KINDS.index("crossed")
        azimuth[crossed] = rng.uniform(40.0, 75.0, crossed.sum())
        elevation[crossed] = rng.uniform(0.0, 25.0, crossed.sum())
        shin_turn[crossed] = -rng.uniform(110.0, 160.0, crossed.sum())  # back across the front
        # kneeling: the knee on the floor in front of or under the hip, the shin back
        kneeling = (kind == SIT_KINDS.index("heels")) | (kind == SIT_KINDS.index("kneel"))
        knee_z = rng.uniform(*_KNEE_ON_FLOOR_MM, w)
        drop = np.clip((hip[:, 2] - knee_z) / thigh_mm, 0.0, 0.99)
        elevation[kneeling] = -np.degrees(np.arcsin(drop[kneeling]))
        azimuth[kneeling] = rng.uniform(-5.0, 20.0, kneeling.sum())
        shin_turn[kneeling] = 180.0 + rng.uniform(-10.0, 10.0, kneeling.sum())
        thigh_dir = _direction(forward, o, azimuth, elevation)
        knee = hip + thigh_mm[:, None] * thigh_dir
        shin_h = _direction(forward, o, azimuth + shin_turn, np.zeros(w))
        out[:, leg, 0] = knee
        out[:, leg, 1] = _shin_to_height(knee, shin_mm, shin_h, ankle_z)
    return out


def _lift_arms(pose: np.ndarray, clearance_mm: float) -> np.ndarray:
    """Swing each arm ``[N, 17, 3]`` up about its shoulder (in the vertical plane through the
    shoulder and the hand) by the least of 0°, 5°, …, 120° that keeps its elbow and wrist
    ``clearance_mm`` over the floor."""
    pose = pose.copy()
    for shoulder, joints in _ARMS:
        idx = list(joints)
        arm = pose[:, idx] - pose[:, shoulder : shoulder + 1]  # [N, 2, 3]
        low = pose[:, idx, 2].min(axis=1) < clearance_mm
        if not low.any():
            continue
        reach = arm[low, -1]  # shoulder → wrist
        axis = _unit(np.cross(reach, _UP))  # turning about it moves the hand up
        flat = np.linalg.norm(axis, axis=-1) < 0.5  # hand straight below: any level axis
        axis[flat] = np.array([1.0, 0.0, 0.0])
        chosen = np.zeros(low.sum())
        todo = np.ones(low.sum(), dtype=bool)
        for deg in np.arange(0.0, 125.0, 5.0):
            rot = axis_angle_to_matrix(axis * np.deg2rad(deg))
            moved = np.einsum("nij,nkj->nki", rot, arm[low]) + pose[low, shoulder][:, None]
            ok = todo & (moved[..., 2].min(axis=1) >= clearance_mm)
            chosen[ok] = deg
            todo &= ~ok
        chosen[todo] = 120.0
        rot = axis_angle_to_matrix(axis * np.deg2rad(chosen)[:, None])
        pose[np.ix_(np.flatnonzero(low), np.asarray(idx))] = (
            np.einsum("nij,nkj->nki", rot, arm[low]) + pose[low, shoulder][:, None])
    return pose


def sit_on_floor(world_mm: np.ndarray, rng: np.random.Generator, prob: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Sit each window on the floor with probability ``prob``.

    Args:
        world_mm: ``[B, T, 17, 3]`` Z-up world poses (h36m17, mm, floor at z = 0), bodies of
            the mocap's size (the sampler scales them afterwards).
        rng: The sampler's generator.
        prob: Probability that a window becomes a floor sit.

    Returns:
        ``([B, T, 17, 3]`` poses, ``[B]`` int: the index into :data:`SIT_KINDS` of each window's
        sit, -1 where the window was left as it was).
    """
    b, t = world_mm.shape[:2]
    out = np.array(world_mm, dtype=np.float64, copy=True)
    kinds = np.full(b, -1, dtype=np.int64)
    if prob <= 0 or b == 0:
        return out, kinds
    want = np.flatnonzero(rng.random(b) < prob)
    w = len(want)
    if w == 0:
        return out, kinds
    kind = rng.choice(len(SIT_KINDS), size=w, p=_SIT_KIND_PROBS)
    first = out[want, 0]  # [W, 17, 3]
    lateral = first[:, _HIPS[0]] - first[:, _HIPS[1]]  # left hip → right hip
    lateral[:, 2] = 0.0
    lateral = _unit(lateral)
    forward = np.cross(_UP, lateral)  # the way the pelvis faces
    outward = np.stack([lateral, -lateral], axis=1)  # [W, 2, 3]: right hip out, left hip out

    pelvis_z = np.where(kind == SIT_KINDS.index("heels"), rng.uniform(*_PELVIS_HEELS_MM, w),
                        rng.uniform(*_PELVIS_SIT_MM, w))
    # kneeling upright: the hips a near-vertical thigh over the knees
    kneel = kind == SIT_KINDS.index("kneel")
    lengths = np.stack([np.stack([np.linalg.norm(first[:, h] - first[:, k], axis=-1),
                                  np.linalg.norm(first[:, k] - first[:, a], axis=-1)], axis=-1)
                        for h, k, a in _LEGS], axis=1)  # [W, 2 legs, 2]: thigh, shin
    thigh_mm = lengths[..., 0]
    tilt = np.deg2rad(rng.uniform(0.0, 30.0, w))
    pelvis_z[kneel] = (np.mean(_KNEE_ON_FLOOR_MM)
                       + thigh_mm[kneel].min(axis=1) * np.cos(tilt[kneel]) - 10.0)
    pelvis_at = first[:, _PELVIS].copy()
    pelvis_at[:, 2] = pelvis_z
    # hips side by side at the pelvis' level, each as far from it as captured
    offset = first[:, list(_HIPS)] - first[:, _PELVIS : _PELVIS + 1]  # [W, 2, 3]
    hips = (pelvis_at[:, None] + outward * np.linalg.norm(offset, axis=-1, keepdims=True))

    legs = _lay_legs(kind, hips, lengths, forward, outward, rng)

    # the trunk: leaned to a drawn angle from vertical about the hip axis (positive: forward)
    upright = np.isin(kind, [SIT_KINDS.index("heels"), SIT_KINDS.index("kneel")])
    lean_deg = np.where(upright, rng.uniform(-10.0, 25.0, w), rng.uniform(-25.0, 35.0, w))
    axis = np.cross(_UP, forward)  # turning about it moves up towards forward
    for f in range(t):
        frame = out[want, f]  # [W, 17, 3]
        trunk = frame[:, _THORAX] - frame[:, _PELVIS]
        now_deg = np.degrees(np.arctan2(np.einsum("wi,wi->w", trunk, forward), trunk[:, 2]))
        rot = axis_angle_to_matrix(axis * np.deg2rad(lean_deg - now_deg)[:, None])
        upper = frame[:, list(_UPPER)] - frame[:, _PELVIS : _PELVIS + 1]
        sat = np.empty_like(frame)
        sat[:, _PELVIS] = pelvis_at
        sat[:, list(_UPPER)] = np.einsum("wij,wkj->wki", rot, upper) + pelvis_at[:, None]
        sat[:, list(_HIPS)] = hips
        for leg, (_, k, a) in enumerate(_LEGS):
            sat[:, k], sat[:, a] = legs[:, leg, 0], legs[:, leg, 1]
        out[want, f] = _lift_arms(sat, _HAND_CLEARANCE_MM)
    kinds[want] = kind
    return out, kinds
