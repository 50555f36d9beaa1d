"""BlazePose-33 → h36m17, learned on rendered people the detector ran on.

BlazePose's keypoints are not Human3.6M's joints: its hips sit on the skin of the hip (Human3.6M's
hip joints are wider apart), its shoulders on the top of the arm, and it has no thorax, spine,
neck or head top. The fixed conversion (:func:`monopose.core.skeleton.get_conversion`) guesses
those joints from midpoints and face keypoints. :class:`KeypointMap` instead holds weights
learned from data: each h36m17 joint is an affine combination (weights summing to 1, so the map
commutes with translation and scale and works on pixels and on metres alike) of a few BlazePose
keypoints near it (:data:`SUPPORT`), fitted by least squares on rendered people whose true
h36m17 joints (Human3.6M's placement) are known, with a ridge pull towards the fixed map and
every person also seen mirrored (so left and right get mirror weights).

``monopose/detect/blazepose_h36m17_map.json`` is the shipped fit; ``fit_keypoint_map`` makes a
new one (``benchmarks/fit_keypoint_map.py``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from monopose.core.skeleton import BLAZEPOSE33, H36M17, get_conversion
from monopose.io.files import write_json_atomic

__all__ = ["SUPPORT", "KeypointMap", "KeypointMapSpec", "DEFAULT_KEYPOINT_MAP",
           "fixed_keypoint_map", "fit_keypoint_map", "load_keypoint_map", "save_keypoint_map",
           "resolve_keypoint_map", "LEARNED_MAP_PATH", "h36m_scores_from_blazepose"]

LEARNED_MAP_PATH = Path(__file__).with_name("blazepose_h36m17_map.json")

_FACE = ("nose", "l_eye_inner", "l_eye", "l_eye_outer", "r_eye_inner", "r_eye", "r_eye_outer",
         "l_ear", "r_ear", "mouth_l", "mouth_r")
_TRUNK = ("l_hip", "r_hip", "l_shoulder", "r_shoulder")


def _side(s: str) -> dict[str, tuple[str, ...]]:
    o = "l" if s == "r" else "r"
    return {
        f"{s}_hip": (*_TRUNK, f"{s}_knee"),
        f"{s}_knee": (f"{s}_knee",),
        f"{s}_ankle": (f"{s}_knee", f"{s}_ankle", f"{s}_heel", f"{s}_foot_index"),
        f"{s}_shoulder": (*_TRUNK, f"{s}_elbow", "nose", f"{s}_ear", f"{o}_ear"),
        f"{s}_elbow": (f"{s}_elbow",),
        f"{s}_wrist": (f"{s}_wrist",),
    }


#: The BlazePose keypoints each h36m17 joint may use: the ones around it on the body. Knees,
#: elbows and wrists are BlazePose's own (neighbours did not lower their error on held-out
#: renders: ``benchmarks/fit_keypoint_map.py``).
SUPPORT: dict[str, tuple[str, ...]] = {
    "pelvis": _TRUNK,
    "spine": _TRUNK,
    "thorax": (*_TRUNK, *_FACE),
    "neck_nose": (*_FACE, "l_shoulder", "r_shoulder"),
    "head_top": (*_FACE, "l_shoulder", "r_shoulder"),
    **_side("r"),
    **_side("l"),
}


@dataclass(frozen=True)
class KeypointMap:
    """An affine-combination map from BlazePose-33 to h36m17.

    Attributes:
        weights: ``[17, 33]``; every row sums to 1.
        uses: ``[17, 33]`` bool, the keypoints a joint's validity depends on (the fixed map's
            sources: a joint is valid when they are present).
        name: ``"learned"`` or ``"fixed"``.
        provenance: how the weights were made (data, sample count, errors).
    """

    weights: np.ndarray
    uses: np.ndarray
    name: str = "fixed"
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        w = np.asarray(self.weights, dtype=np.float64)
        if w.shape != (17, 33) or not np.isfinite(w).all():
            raise ValueError(f"weights: expected a finite [17, 33] array, got {w.shape}")
        if not np.allclose(w.sum(axis=1), 1.0, atol=1e-6):
            raise ValueError("weights: every row must sum to 1 (an affine combination)")

    def apply(self, points: np.ndarray) -> np.ndarray:
        """``[..., 33, D]`` BlazePose points (pixels or metres) → ``[..., 17, D]`` h36m17."""
        p = np.asarray(points, dtype=np.float64)
        if p.shape[-2] != 33:
            raise ValueError(f"points: expected [..., 33, D], got {p.shape}")
        return np.einsum("jk,...kd->...jd", self.weights, p)

    def valid(self, present: np.ndarray) -> np.ndarray:
        """``[..., 33]`` bool keypoint presence → ``[..., 17]`` joint validity."""
        pr = np.asarray(present, dtype=bool)
        return ~(self.uses & ~pr[..., None, :]).any(axis=-1)


def fixed_keypoint_map() -> KeypointMap:
    """The hand-written conversion of :mod:`monopose.core.skeleton` as a :class:`KeypointMap`."""
    conv = get_conversion("blazepose33", "h36m17")
    return KeypointMap(conv.weights, np.abs(conv.weights) > 0, "fixed",
                       {"source": "monopose.core.skeleton (hand-written midpoints)"})


# the keypoints each h36m17 joint is made of in the fixed conversion: its score is their lowest
_BLAZE_TO_H36M_USES = fixed_keypoint_map().uses  # [17, 33]


def h36m_scores_from_blazepose(scores_33: np.ndarray) -> np.ndarray:
    """``[..., 33]`` BlazePose keypoint scores → ``[..., 17]``: a derived joint gets the lowest
    score of the keypoints it is made of (the same rule for the pipeline and for training)."""
    s = np.asarray(scores_33, dtype=np.float64)[..., None, :]
    return np.where(_BLAZE_TO_H36M_USES, s, np.inf).min(axis=-1)


def _support_mask() -> np.ndarray:
    mask = np.zeros((17, 33), dtype=bool)
    for jname, names in SUPPORT.items():
        for k in names:
            mask[H36M17.index(jname), BLAZEPOSE33.index(k)] = True
    return mask


def _mirror(src: np.ndarray, tgt: np.ndarray, ok: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fs, ft = list(BLAZEPOSE33.flip_permutation), list(H36M17.flip_permutation)
    sign = np.array([-1.0, 1.0])
    return src[:, fs] * sign, tgt[:, ft] * sign, ok[:, ft]


def fit_keypoint_map(source_px: np.ndarray, target_px: np.ndarray, ok: np.ndarray,
                     scale_px: np.ndarray, ridge: float = 1.0,
                     provenance: dict[str, Any] | None = None) -> KeypointMap:
    """Least-squares affine-combination weights from BlazePose keypoints to true joints.

    Each sample is centred on its mid-hip and divided by ``scale_px`` so every person counts the
    same; mirrored copies are added. Per joint ``j`` with support ``S`` (:data:`SUPPORT`), the
    weights minimise ``Σ_n |Σ_k w_k x_nk − y_nj|² / N_j + ridge · |w − w_fixed|²`` subject to
    ``Σ_k w_k = 1``.

    Args:
        source_px: ``[N, 33, 2]`` detector keypoints.
        target_px: ``[N, 17, 2]`` true h36m17 projections.
        ok: ``[N, 17]`` bool, the samples that count for each joint (inside the image, detector
            not lost).
        scale_px: ``[N]`` person size (pixels), > 0.
        ridge: pull towards the fixed map (per unit of normalised squared error).
        provenance: stored with the map.

    Raises:
        ValueError: shapes disagree, or a joint has fewer than 50 samples.
    """
    src = np.asarray(source_px, np.float64)
    tgt = np.asarray(target_px, np.float64)
    okm = np.asarray(ok, bool)
    sc = np.asarray(scale_px, np.float64)
    n = len(src)
    if src.shape != (n, 33, 2) or tgt.shape != (n, 17, 2) or okm.shape != (n, 17) \
            or sc.shape != (n,):
        raise ValueError(f"expected [N,33,2], [N,17,2], [N,17], [N]; got {src.shape}, "
                         f"{tgt.shape}, {okm.shape}, {sc.shape}")
    if not (sc > 0).all():
        raise ValueError("scale_px: every person size must be > 0")
    centre = 0.5 * (src[:, BLAZEPOSE33.index("l_hip")] + src[:, BLAZEPOSE33.index("r_hip")])
    src = (src - centre[:, None]) / sc[:, None, None]
    tgt = (tgt - centre[:, None]) / sc[:, None, None]
    ms, mt, mo = _mirror(src, tgt, okm)
    src, tgt, okm = np.concatenate([src, ms]), np.concatenate([tgt, mt]), np.concatenate([okm, mo])
    prior = fixed_keypoint_map()
    support = _support_mask() | (np.abs(prior.weights) > 0)
    weights = np.zeros((17, 33))
    for j in range(17):
        rows = okm[:, j]
        if rows.sum() < 50:
            raise ValueError(f"joint {H36M17.joint_names[j]}: {int(rows.sum())} samples, "
                             "need >= 50")
        s_idx = np.flatnonzero(support[j])
        x = src[rows][:, s_idx]  # [M, S, 2]
        a = x.transpose(0, 2, 1).reshape(-1, len(s_idx))  # [2M, S]
        y = tgt[rows, j].reshape(-1)  # [2M]
        m = float(rows.sum())
        w0 = prior.weights[j, s_idx]
        # KKT system of the equality-constrained ridge least squares
        h = a.T @ a / m + ridge * np.eye(len(s_idx))
        g = a.T @ y / m + ridge * w0
        kkt = np.block([[2 * h, np.ones((len(s_idx), 1))], [np.ones((1, len(s_idx))), 0]])
        sol = np.linalg.solve(kkt, np.concatenate([2 * g, [1.0]]))
        weights[j, s_idx] = sol[:-1]
    return KeypointMap(weights, prior.uses, "learned", dict(provenance or {}))


def save_keypoint_map(kmap: KeypointMap, path: str | Path) -> None:
    """Write a map as JSON (written whole)."""
    payload = {"source": "blazepose33", "target": "h36m17", "name": kmap.name,
               "weights": np.round(kmap.weights, 6).tolist(),
               "uses": kmap.uses.astype(int).tolist(), "provenance": kmap.provenance}
    write_json_atomic(Path(path), payload)


def load_keypoint_map(path: str | Path | None = None) -> KeypointMap:
    """Read a map written by :func:`save_keypoint_map` (default: the shipped learned map).

    Raises:
        FileNotFoundError: no such file. ValueError: not a BlazePose-33 → h36m17 map.
    """
    p = LEARNED_MAP_PATH if path is None else Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"keypoint map: no file {p}")
    try:
        d = json.loads(p.read_text())
        if (d.get("source"), d.get("target")) != ("blazepose33", "h36m17"):
            raise ValueError("not a blazepose33 → h36m17 map")
        w = np.asarray(d["weights"], np.float64)
        w = w / w.sum(axis=1, keepdims=True)  # undo the rounding of the stored weights
        return KeypointMap(w, np.asarray(d["uses"], bool), str(d.get("name", "learned")),
                           dict(d.get("provenance", {})))
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as err:
        raise ValueError(f"keypoint map {p}: {err}") from None


#: ``"learned"`` (the shipped fit), ``"fixed"`` (hand-written midpoints) or a map.
KeypointMapSpec = str | KeypointMap
DEFAULT_KEYPOINT_MAP = "learned"


def resolve_keypoint_map(spec: KeypointMapSpec) -> KeypointMap:
    """The map a detector uses, by name or as given.

    Raises:
        ValueError: an unknown name.
    """
    if isinstance(spec, KeypointMap):
        return spec
    if spec == "fixed":
        return fixed_keypoint_map()
    if spec == "learned":
        return _learned()
    raise ValueError(f"keypoint_map: expected 'learned', 'fixed' or a KeypointMap, got {spec!r}")


@functools.cache
def _learned() -> KeypointMap:
    return load_keypoint_map()  # read once per process
