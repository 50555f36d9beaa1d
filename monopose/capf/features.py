"""Context features for the Context-Aware PoseFormer: patches of the detector's feature maps.

For every joint and every feature level, a small square patch of the level is read around the
joint: ``P × P`` points (``P = 2r + 1``) at the joint's own map position plus integer cell
offsets ``-r..r`` along the map's rows and columns (the ROI's frame, so the patch turns with the
person's ROI). Every point is sampled bilinearly with the same border rule as
:meth:`monopose.detect.types.FeatureMap.sample` (outside the map: the nearest border cell), so the
patch centre *is* ``FeatureMap.sample(joint)``. The model's deformable sampling then happens inside
the patch, with offsets bounded to ±r cells.

One code path serves the training cache (:mod:`monopose.capf.dataset`) and inference
(:func:`monopose.capf.inference.lift_with_context`): :func:`extract_patches`.

The levels are those the 2D front end returns by default (``DEFAULT_FEATURE_MAPS``); they were
picked per scale with a joint-identity probe on the landmark network's activations (see
``monopose/detect/blazepose.py``), one per stride 4/8/16/32 — the same multi-scale pyramid CA-PF
reads from HRNet (strides 4..32).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from monopose.core.skeleton import get_layout
from monopose.detect.keypoint_map import h36m_scores_from_blazepose
from monopose.detect.types import FeatureMap, PersonDetection

__all__ = [
    "CROP_SIZE_PX",
    "LevelSpec",
    "LEVELS",
    "DEFAULT_PATCH",
    "ContextInputs",
    "check_feature_maps",
    "extract_patches",
    "context_inputs",
    "flip_patches",
    "lifter_validity",
    "FLIP_PERMUTATION",
]

CROP_SIZE_PX = 256  # the landmark network's input side
DEFAULT_PATCH = 5  # P: patch side in map cells (±2 cells around the joint)
FLIP_PERMUTATION = np.asarray(get_layout("h36m17").flip_permutation)

# Same rule as the Estimator: keypoints scoring below this are missing for the lifter, and at
# least this many joints are kept (the best-scoring ones) so the person can still be placed.
KEYPOINT_SCORE_THRESHOLD = 0.3
MIN_VALID_JOINTS = 6


@dataclass(frozen=True)
class LevelSpec:
    """One feature level the model reads: tensor name, map side (cells) and channels."""

    name: str
    side: int
    channels: int

    @property
    def stride(self) -> int:
        """Crop pixels per cell."""
        return CROP_SIZE_PX // self.side


LEVELS: tuple[LevelSpec, ...] = (
    LevelSpec("model_1/model/add_11/add", 64, 48),
    LevelSpec("model_1/model/add_10/add", 32, 48),
    LevelSpec("model_1/model/add_5/add", 16, 88),
    LevelSpec("model_1/model/add_8/add", 8, 144),
)


@dataclass
class ContextInputs:
    """Everything the context lifter needs for N people (numpy, pixels).

    Attributes:
        keypoints_px: ``[N, 17, 2]`` detector keypoints (h36m17), image pixels.
        valid: ``[N, 17]`` bool, joints given to the lifter.
        patches: one ``[N, 17, P, P, C_l]`` float array per level (order of ``LEVELS``).
        inside: ``[N, 17]`` bool; False = the joint lies outside the landmark crop, its patch was
            read with border clamping and carries no information about the joint.
    """

    keypoints_px: np.ndarray
    valid: np.ndarray
    patches: list[np.ndarray]
    inside: np.ndarray

    def __len__(self) -> int:
        return int(self.keypoints_px.shape[0])


def check_feature_maps(maps: Mapping[str, FeatureMap],
                       levels: Sequence[LevelSpec] = LEVELS) -> list[FeatureMap]:
    """The maps of ``levels``, in order, after checking names and shapes.

    Raises:
        ValueError: a level is missing (the detector was run without ``with_features=True`` or
            with other ``feature_maps``), or a map has another shape (another landmark model).
    """
    if not maps:
        raise ValueError("feature_maps: empty; run the detector with detect(..., "
                         "with_features=True) for a context model")
    out = []
    for spec in levels:
        fm = maps.get(spec.name)
        if fm is None:
            raise ValueError(f"feature_maps: missing {spec.name!r} (have {sorted(maps)}); the "
                             "context model needs the detector's default feature maps")
        shape = tuple(np.shape(fm.data))
        if shape != (spec.side, spec.side, spec.channels):
            raise ValueError(f"feature_maps[{spec.name!r}]: expected shape "
                             f"{(spec.side, spec.side, spec.channels)}, got {shape} "
                             "(another landmark model version?)")
        h = np.asarray(fm.image_to_map, dtype=np.float64)
        if h.shape != (3, 3) or not np.isfinite(h).all():
            raise ValueError(f"feature_maps[{spec.name!r}]: image_to_map must be a finite 3x3")
        out.append(fm)
    return out


def _bilinear(data: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Sample ``data [H, W, C]`` at ``cells [..., 2]`` (col, row) — FeatureMap.sample's rule."""
    h, w = data.shape[:2]
    flat = cells.reshape(-1, 2)
    col = np.clip(flat[:, 0], 0, w - 1)
    row = np.clip(flat[:, 1], 0, h - 1)
    c0 = np.minimum(np.floor(col).astype(np.int64), max(w - 2, 0))
    r0 = np.minimum(np.floor(row).astype(np.int64), max(h - 2, 0))
    fc = (col - c0)[:, None]
    fr = (row - r0)[:, None]
    c1 = np.minimum(c0 + 1, w - 1)
    r1 = np.minimum(r0 + 1, h - 1)
    top = data[r0, c0] * (1 - fc) + data[r0, c1] * fc
    bottom = data[r1, c0] * (1 - fc) + data[r1, c1] * fc
    out = top * (1 - fr) + bottom * fr
    return out.reshape(*cells.shape[:-1], data.shape[2]).astype(np.float32)


def extract_patches(maps: Mapping[str, FeatureMap], points_px: np.ndarray,
                    patch: int = DEFAULT_PATCH, levels: Sequence[LevelSpec] = LEVELS
                    ) -> tuple[list[np.ndarray], np.ndarray]:
    """Read a ``patch × patch`` grid of every level around each point.

    Args:
        maps: One person's feature maps (``PersonDetection.feature_maps``).
        points_px: ``[J, 2]`` image pixels (the person's joints).
        patch: P, odd, >= 1.
        levels: Which maps, in which order.

    Returns:
        ``(patches, inside)``: ``patches[l]`` is ``[J, P, P, C_l]`` float32 with
        ``patches[l][j, r, r] == maps[l].sample(points_px[j])`` (``r = P // 2``); axis 1 runs
        along the map's rows (down), axis 2 along its columns (right). ``inside [J]`` is True for
        points inside the landmark crop.

    Raises:
        ValueError: bad ``points_px`` or ``patch``, or missing / wrong maps.
    """
    if patch < 1 or patch % 2 == 0:
        raise ValueError(f"patch: expected an odd side >= 1, got {patch}")
    pts = np.asarray(points_px, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points_px: expected [J, 2], got {pts.shape}")
    if not np.isfinite(pts).all():
        raise ValueError("points_px: NaN or inf")
    fms = check_feature_maps(maps, levels)
    r = patch // 2
    grid = np.arange(-r, r + 1, dtype=np.float64)
    # offsets [P, P, 2] as (col, row): first patch axis = rows, second = columns
    offsets = np.stack(np.meshgrid(grid, grid, indexing="ij")[::-1], axis=-1)
    patches = []
    inside = np.ones(len(pts), dtype=bool)
    for spec, fm in zip(levels, fms, strict=True):
        hmat = np.asarray(fm.image_to_map, dtype=np.float64)
        cells = pts @ hmat[:2, :2].T + hmat[:2, 2]  # [J, 2] (col, row); the map is affine
        crop = cells * spec.stride
        inside &= ((crop >= 0) & (crop < CROP_SIZE_PX)).all(axis=1)
        patches.append(_bilinear(np.asarray(fm.data, dtype=np.float32),
                                 cells[:, None, None, :] + offsets[None]))
    return patches, inside


def lifter_validity(det: PersonDetection,
                    threshold: float = KEYPOINT_SCORE_THRESHOLD) -> np.ndarray:
    """``[17]`` joints given to the lifter: present and scoring ≥ ``threshold`` (a derived joint
    takes the lowest score of its keypoints); the best ``MIN_VALID_JOINTS`` are kept if fewer
    pass. The same rule as the Estimator's, so training and inference agree."""
    s33 = np.asarray(det.visibility, np.float64) * np.asarray(det.presence, np.float64)
    scores = h36m_scores_from_blazepose(s33)
    valid = np.asarray(det.valid_h36m, dtype=bool) & (scores >= threshold)
    if valid.sum() < MIN_VALID_JOINTS:
        valid = np.argsort(-scores).argsort() < MIN_VALID_JOINTS
    return valid


def context_inputs(detections: Sequence[PersonDetection], patch: int = DEFAULT_PATCH,
                   valid: np.ndarray | None = None,
                   levels: Sequence[LevelSpec] = LEVELS) -> ContextInputs:
    """Keypoints, validity, patches and inside flags of N detected people.

    Args:
        detections: People from ``BlazePoseDetector.detect(..., with_features=True)``.
        patch: P (odd).
        valid: ``[N, 17]`` override of the lifter validity (default :func:`lifter_validity`).

    Raises:
        ValueError: feature maps missing or of another detector version; bad ``valid``.
    """
    n = len(detections)
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != (n, 17):
            raise ValueError(f"valid: expected shape {(n, 17)}, got {valid.shape}")
    kps, oks, ins = [], [], []
    per_level: list[list[np.ndarray]] = [[] for _ in levels]
    for i, det in enumerate(detections):
        kp = np.asarray(det.keypoints_h36m_px, dtype=np.float64)
        if kp.shape != (17, 2):
            raise ValueError(f"detections[{i}].keypoints_h36m_px: expected [17, 2], "
                             f"got {kp.shape}")
        try:
            patches, inside = extract_patches(det.feature_maps, kp, patch, levels)
        except ValueError as err:
            raise ValueError(f"detections[{i}]: {err}") from None
        for lst, p in zip(per_level, patches, strict=True):
            lst.append(p)
        kps.append(kp)
        oks.append(lifter_validity(det) if valid is None else valid[i])
        ins.append(inside)
    if n == 0:
        return ContextInputs(np.zeros((0, 17, 2)), np.zeros((0, 17), bool),
                             [np.zeros((0, 17, patch, patch, s.channels), np.float32)
                              for s in levels], np.zeros((0, 17), bool))
    return ContextInputs(np.stack(kps), np.stack(oks), [np.stack(p) for p in per_level],
                         np.stack(ins))


def flip_patches(patches: np.ndarray, axis_joints: int = -4) -> np.ndarray:
    """Mirror patches ``[..., J, P, P, C]``: reverse the column axis and swap left/right joints.

    This mirrors the *layout* of the context; the channels keep their meaning (the detector is
    not re-run on a mirrored image), so it is an approximation of a true image flip.
    """
    a = np.asarray(patches)
    if a.ndim < 4:
        raise ValueError(f"patches: expected [..., J, P, P, C], got {a.shape}")
    return np.take(a[..., ::-1, :], FLIP_PERMUTATION, axis=axis_joints)
