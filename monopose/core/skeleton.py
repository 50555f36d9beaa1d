"""Joint layouts and conversions between them.

Every layout is a :class:`JointLayout` (names, parents, left/right pairs). The canonical layout of
monopose is ``"h36m17"``. Conversions are *linear*: each target joint is a weighted sum of source
joints, so the same matrix converts 2D pixels and 3D millimetres alike. A target joint that the
source lacks is either *derived* (a combination such as pelvis = mid-hip, flagged as derived) or
*unavailable* (its validity is False and its coordinates are zero).

Shapes: poses are ``[..., J, D]`` with D = 2 or 3; masks are ``[..., J]`` booleans.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = [
    "JointLayout",
    "LayoutConversion",
    "LAYOUTS",
    "H36M17",
    "COCO17",
    "BLAZEPOSE33",
    "MPI3DHP17",
    "MPI3DHP28",
    "get_layout",
    "get_conversion",
    "convert_layout",
    "flip_pose",
]


@dataclass(frozen=True)
class JointLayout:
    """A named joint layout.

    Attributes:
        name: Layout id such as ``"h36m17"``.
        joint_names: One name per joint, ``J`` entries.
        parents: Parent index per joint, ``-1`` for the root of the tree.
        left: Indices of the left-side joints, paired element-wise with ``right``.
        right: Indices of the right-side joints.
        root: Index of the joint that root-relative poses are centred on.
    """

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    root: int

    def __post_init__(self) -> None:
        n = len(self.joint_names)
        if len(self.parents) != n:
            raise ValueError(f"layout {self.name}: {len(self.parents)} parents for {n} joints")
        if len(self.left) != len(self.right):
            raise ValueError(f"layout {self.name}: left and right lists differ in length")
        if sum(p < 0 for p in self.parents) != 1:
            raise ValueError(f"layout {self.name}: expected exactly one root (parent -1)")

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def bones(self) -> tuple[tuple[int, int], ...]:
        """(child, parent) index pairs, one per non-root joint, in joint order."""
        return tuple((j, p) for j, p in enumerate(self.parents) if p >= 0)

    @property
    def flip_permutation(self) -> np.ndarray:
        """Index array ``[J]`` that swaps left and right joints (an involution)."""
        perm = np.arange(self.num_joints)
        perm[list(self.left)] = self.right
        perm[list(self.right)] = self.left
        return perm

    def index(self, joint_name: str) -> int:
        try:
            return self.joint_names.index(joint_name)
        except ValueError:
            raise ValueError(
                f"joint {joint_name!r} is not in layout {self.name!r}; "
                f"expected one of {', '.join(self.joint_names)}"
            ) from None


H36M17 = JointLayout(
    name="h36m17",
    joint_names=(
        "pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "spine",
        "thorax", "neck_nose", "head_top", "l_shoulder", "l_elbow", "l_wrist",
        "r_shoulder", "r_elbow", "r_wrist",
    ),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    left=(4, 5, 6, 11, 12, 13),
    right=(1, 2, 3, 14, 15, 16),
    root=0,
)

COCO17 = JointLayout(
    name="coco17",
    joint_names=(
        "nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow",
        "r_elbow", "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle",
        "r_ankle",
    ),
    # COCO has no pelvis; the tree hangs from the nose (used for drawing and traversal only).
    parents=(-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
    left=(1, 3, 5, 7, 9, 11, 13, 15),
    right=(2, 4, 6, 8, 10, 12, 14, 16),
    root=0,
)

BLAZEPOSE33 = JointLayout(
    name="blazepose33",
    joint_names=(
        "nose", "l_eye_inner", "l_eye", "l_eye_outer", "r_eye_inner", "r_eye", "r_eye_outer",
        "l_ear", "r_ear", "mouth_l", "mouth_r", "l_shoulder", "r_shoulder", "l_elbow",
        "r_elbow", "l_wrist", "r_wrist", "l_pinky", "r_pinky", "l_index", "r_index", "l_thumb",
        "r_thumb", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle", "l_heel",
        "r_heel", "l_foot_index", "r_foot_index",
    ),
    parents=(
        -1, 0, 1, 2, 0, 4, 5, 3, 6, 0, 0, 0, 0, 11, 12, 13, 14, 15, 16, 15, 16, 15, 16,
        11, 12, 23, 24, 25, 26, 27, 28, 27, 28,
    ),
    left=(1, 2, 3, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31),
    right=(4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32),
    root=0,
)

# MPI-INF-3DHP "all" set, 28 joints (0-based from the official 1-based lists).
MPI3DHP28 = JointLayout(
    name="mpi3dhp28",
    joint_names=(
        "spine3", "spine4", "spine2", "spine", "pelvis", "neck", "head", "head_top",
        "l_clavicle", "l_shoulder", "l_elbow", "l_wrist", "l_hand", "r_clavicle",
        "r_shoulder", "r_elbow", "r_wrist", "r_hand", "l_hip", "l_knee", "l_ankle", "l_foot",
        "l_toe", "r_hip", "r_knee", "r_ankle", "r_foot", "r_toe",
    ),
    parents=(
        2, 0, 3, 4, -1, 1, 5, 6, 5, 8, 9, 10, 11, 5, 13, 14, 15, 16, 4, 18, 19, 20, 21, 4,
        23, 24, 25, 26,
    ),
    left=(8, 9, 10, 11, 12, 18, 19, 20, 21, 22),
    right=(13, 14, 15, 16, 17, 23, 24, 25, 26, 27),
    root=4,
)

# MPI-INF-3DHP / MuPoTS 17-joint test order; pelvis (root) is index 14.
MPI3DHP17 = JointLayout(
    name="mpi3dhp17",
    joint_names=(
        "head_top", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow",
        "l_wrist", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "pelvis",
        "spine", "head",
    ),
    parents=(1, 15, 1, 2, 3, 1, 5, 6, 14, 8, 9, 14, 11, 12, -1, 14, 1),
    left=(5, 6, 7, 11, 12, 13),
    right=(2, 3, 4, 8, 9, 10),
    root=14,
)

LAYOUTS: dict[str, JointLayout] = {
    lay.name: lay for lay in (H36M17, COCO17, BLAZEPOSE33, MPI3DHP17, MPI3DHP28)
}


def get_layout(name: str | JointLayout) -> JointLayout:
    """Return the layout called ``name`` (or ``name`` itself if it already is a layout)."""
    if isinstance(name, JointLayout):
        return name
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(
            f"unknown joint layout {name!r}; expected one of {', '.join(sorted(LAYOUTS))}"
        ) from None


@dataclass(frozen=True)
class LayoutConversion:
    """A linear map from one layout to another.

    Attributes:
        source: Source layout name.
        target: Target layout name.
        weights: ``[J_target, J_source]``; row j gives target joint j as a weighted sum of source
            joints. Rows of available joints sum to 1 (affine combinations), so the map commutes
            with translation and works in pixels and millimetres alike.
        available: ``[J_target]`` bool; False where the source has no information for the joint.
        derived: ``[J_target]`` bool; True where the joint is a combination rather than a copy.
    """

    source: str
    target: str
    weights: np.ndarray
    available: np.ndarray
    derived: np.ndarray

    def then(self, other: LayoutConversion) -> LayoutConversion:
        """Compose ``self`` (a→b) with ``other`` (b→c) into a→c."""
        if other.source != self.target:
            raise ValueError(f"cannot chain {self.source}->{self.target} with {other.source}")
        weights = other.weights @ self.weights
        # A composed joint is available only if every source row it uses is available.
        uses = np.abs(other.weights) > 0
        available = other.available & ~(uses & ~self.available[None, :]).any(axis=1)
        derived_from = (uses & self.derived[None, :]).any(axis=1)
        derived = available & (other.derived | derived_from)
        weights = np.where(available[:, None], weights, 0.0)
        return LayoutConversion(self.source, other.target, weights, available, derived)


def _build(source: JointLayout, target: JointLayout, spec: dict[str, dict[str, float] | str]
           ) -> LayoutConversion:
    """Build a conversion from ``{target_joint: source_joint | {source_joint: weight}}``."""
    weights = np.zeros((target.num_joints, source.num_joints))
    available = np.zeros(target.num_joints, dtype=bool)
    derived = np.zeros(target.num_joints, dtype=bool)
    for tname, rule in spec.items():
        t = target.index(tname)
        if isinstance(rule, str):
            weights[t, source.index(rule)] = 1.0
        else:
            for sname, w in rule.items():
                weights[t, source.index(sname)] += w
            derived[t] = True
            if not np.isclose(weights[t].sum(), 1.0):
                raise AssertionError(f"weights for {tname} do not sum to 1")
        available[t] = True
    return LayoutConversion(source.name, target.name, weights, available, derived)


def _mid(a: str, b: str) -> dict[str, float]:
    return {a: 0.5, b: 0.5}


_SAME_NAMES = ("l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist",
               "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle")


def _direct_specs() -> dict[tuple[str, str], dict[str, dict[str, float] | str]]:
    limbs: dict[str, dict[str, float] | str] = {n: n for n in _SAME_NAMES}
    blaze_to_h36m: dict[str, dict[str, float] | str] = {
        **limbs,
        "pelvis": _mid("l_hip", "r_hip"),
        "thorax": _mid("l_shoulder", "r_shoulder"),
        # Spine: midway between pelvis and thorax.
        "spine": {"l_hip": 0.25, "r_hip": 0.25, "l_shoulder": 0.25, "r_shoulder": 0.25},
        # H36M's "neck/nose" joint sits inside the head, between nose and ears.
        "neck_nose": {"nose": 0.5, "l_ear": 0.25, "r_ear": 0.25},
        # Head top: above the ears by 1.5x the mouth-to-eyes vector (about 10 cm on an adult).
        "head_top": {"l_ear": 0.5, "r_ear": 0.5, "l_eye": 0.75, "r_eye": 0.75,
                     "mouth_l": -0.75, "mouth_r": -0.75},
    }
    coco_to_h36m: dict[str, dict[str, float] | str] = {
        **limbs,
        "pelvis": _mid("l_hip", "r_hip"),
        "thorax": _mid("l_shoulder", "r_shoulder"),
        "spine": {"l_hip": 0.25, "r_hip": 0.25, "l_shoulder": 0.25, "r_shoulder": 0.25},
        "neck_nose": {"nose": 0.5, "l_ear": 0.25, "r_ear": 0.25},
        # COCO has no mouth: extrapolate above the ears along nose->eyes (about 10 cm).
        "head_top": {"l_ear": 0.5, "r_ear": 0.5, "l_eye": 1.25, "r_eye": 1.25, "nose": -2.5},
    }
    blaze_to_coco: dict[str, dict[str, float] | str] = {
        n: n for n in ("nose", "l_eye", "r_eye", "l_ear", "r_ear", *_SAME_NAMES)
    }
    h36m_to_coco: dict[str, dict[str, float] | str] = dict(limbs)
    mpi17_names = {
        "pelvis": "pelvis", "r_hip": "r_hip", "r_knee": "r_knee", "r_ankle": "r_ankle",
        "l_hip": "l_hip", "l_knee": "l_knee", "l_ankle": "l_ankle", "spine": "spine",
        "thorax": "neck", "neck_nose": "head", "head_top": "head_top",
        "l_shoulder": "l_shoulder", "l_elbow": "l_elbow", "l_wrist": "l_wrist",
        "r_shoulder": "r_shoulder", "r_elbow": "r_elbow", "r_wrist": "r_wrist",
    }
    h36m_to_mpi17: dict[str, dict[str, float] | str] = {v: k for k, v in mpi17_names.items()}
    mpi17_to_h36m: dict[str, dict[str, float] | str] = dict(mpi17_names)
    mpi28_to_mpi17: dict[str, dict[str, float] | str] = {n: n for n in MPI3DHP17.joint_names}
    return {
        ("blazepose33", "h36m17"): blaze_to_h36m,
        ("coco17", "h36m17"): coco_to_h36m,
        ("blazepose33", "coco17"): blaze_to_coco,
        ("h36m17", "coco17"): h36m_to_coco,
        ("h36m17", "mpi3dhp17"): h36m_to_mpi17,
        ("mpi3dhp17", "h36m17"): mpi17_to_h36m,
        ("mpi3dhp28", "mpi3dhp17"): mpi28_to_mpi17,
    }


@cache
def get_conversion(source: str, target: str) -> LayoutConversion:
    """The conversion ``source → target``: declared directly, or chained along the shortest path
    of declared conversions (e.g. mpi3dhp28 → mpi3dhp17 → h36m17).

    Raises:
        ValueError: if either layout is unknown or no path between them exists.
    """
    src, tgt = get_layout(source), get_layout(target)
    if src.name == tgt.name:
        eye = np.eye(src.num_joints)
        ones = np.ones(src.num_joints, dtype=bool)
        return LayoutConversion(src.name, tgt.name, eye, ones, ~ones)
    specs = _direct_specs()
    # Breadth-first search over declared conversions.
    previous: dict[str, str] = {src.name: ""}
    frontier = [src.name]
    while frontier and tgt.name not in previous:
        nxt = []
        for node in frontier:
            for a, b in specs:
                if a == node and b not in previous:
                    previous[b] = node
                    nxt.append(b)
        frontier = nxt
    if tgt.name not in previous:
        raise ValueError(f"no conversion from layout {src.name!r} to {tgt.name!r}")
    path = [tgt.name]
    while previous[path[-1]]:
        path.append(previous[path[-1]])
    path.reverse()
    conv = _build(get_layout(path[0]), get_layout(path[1]), specs[(path[0], path[1])])
    for a, b in zip(path[1:-1], path[2:], strict=True):
        conv = conv.then(_build(get_layout(a), get_layout(b), specs[(a, b)]))
    return conv


def convert_layout(
    points: np.ndarray,
    source: str,
    target: str,
    valid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert joints between layouts.

    Args:
        points: ``[..., J_source, D]`` coordinates (px or mm; any D).
        source: Source layout name.
        target: Target layout name.
        valid: Optional ``[..., J_source]`` bool mask of source joints that are present.

    Returns:
        ``(points_target [..., J_target, D], valid_target [..., J_target], derived [J_target])``.
        A target joint is valid only if every source joint it uses is valid; invalid joints are 0.
    """
    conv = get_conversion(source, target)
    points = np.asarray(points, dtype=np.float64)
    j_src = conv.weights.shape[1]
    if points.ndim < 2 or points.shape[-2] != j_src:
        raise ValueError(
            f"points: expected shape [..., {j_src}, D] for layout {source!r}, got {points.shape}"
        )
    if valid is None:
        valid_src = np.ones(points.shape[:-1], dtype=bool)
    else:
        valid_src = np.asarray(valid, dtype=bool)
        if valid_src.shape != points.shape[:-1]:
            raise ValueError(
                f"valid: expected shape {points.shape[:-1]}, got {valid_src.shape}"
            )
    safe = np.where(valid_src[..., None], points, 0.0)
    out = np.einsum("ts,...sd->...td", conv.weights, safe)
    uses = np.abs(conv.weights) > 0  # [T, S]
    missing_src = ~valid_src  # [..., S]
    broken = np.einsum("ts,...s->...t", uses.astype(np.int32), missing_src.astype(np.int32)) > 0
    valid_out = conv.available & ~broken
    out = np.where(valid_out[..., None], out, 0.0)
    return out, valid_out, conv.derived.copy()


def flip_pose(pose: np.ndarray, layout: str | JointLayout, image_width_px: float | None = None
              ) -> np.ndarray:
    """Mirror a pose horizontally and swap left/right joints.

    Args:
        pose: ``[..., J, D]``. x is negated (3D, or normalised 2D) or mirrored as
            ``image_width_px - 1 - x`` when ``image_width_px`` is given (pixel 2D).
        layout: Layout of ``pose``.
        image_width_px: Image width for pixel coordinates; None to negate x.

    Returns:
        ``[..., J, D]`` mirrored pose.
    """
    lay = get_layout(layout)
    pose = np.asarray(pose)
    if pose.ndim < 2 or pose.shape[-2] != lay.num_joints:
        raise ValueError(
            f"pose: expected shape [..., {lay.num_joints}, D] for {lay.name}, got {pose.shape}"
        )
    out = pose[..., lay.flip_permutation, :].copy()
    if image_width_px is None:
        out[..., 0] = -out[..., 0]
    else:
        out[..., 0] = image_width_px - 1 - out[..., 0]
    return out
