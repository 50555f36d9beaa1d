"""Lifting 2D keypoints from a user's NPZ file (``monopose lift``).

Input NPZ keys:
    keypoints_2d: ``[N, J, 2]`` (N people/frames) or ``[N, T, J, 2]`` (N windows of T frames), px;
        real numbers, N ≥ 1.
    layout: optional string, ``"h36m17"`` (default), ``"coco17"`` or ``"blazepose33"``.
    valid: optional ``[N, J]`` / ``[N, T, J]`` bool (or 0/1 integers); without it, NaN joints
        count as missing. A joint marked valid must be finite; infinity never means missing.
    intrinsics: optional ``(4,)`` or ``[N, 4]`` (fx, fy, cx, cy) px, finite with fx, fy > 0, for
        the absolute pose.
    scores: optional, shaped as ``valid``: the detector's confidence in each keypoint, in [0, 1]
        (BlazePose's visibility × presence), for the layouts ``h36m17`` and ``blazepose33``
        (a derived joint takes its keypoints' lowest score). Lifters that read scores use them;
        without them every keypoint counts as fully confident.

Output NPZ keys: ``pose_3d_rel_mm`` ``[N, 17, 3]`` (``[N, T, 17, 3]`` for windows), ``layout``
("h36m17"), ``joint_names``; with intrinsics also ``pose_3d_abs_mm`` ``[N, 17, 3]`` and
``root_method`` ``[N]`` ("perspective", "weak_perspective", or "failed": that pose's position
could not be solved and its ``pose_3d_abs_mm`` is NaN) and ``placement`` ("ray_fit": the single
poses were fitted to their 2D rays, ``pose_3d_rel_mm`` included; "solve": as lifted). No other
value is ever NaN or infinite.
"""

from __future__ import annotations

import dataclasses
import zipfile
import zlib
from pathlib import Path

import numpy as np

from monopose.core.placement import check_placement, place_poses
from monopose.core.skeleton import H36M17, convert_layout, get_layout
from monopose.detect.keypoint_map import h36m_scores_from_blazepose
from monopose.io.schema import write_npz_atomic
from monopose.lifting.floor_gate import FLOOR_LIFTERS, FloorGatedLifter
from monopose.models.interface import PoseModel
from monopose.pipeline.model_loading import DEFAULT_OPTIONS, ModelLoader

__all__ = ["MAX_ABS_PX", "lift_file", "load_keypoints_npz", "load_keypoint_scores",
           "keypoint_model"]

# Keypoints beyond this are not pixel coordinates (and overflow float32 on the way to the model).
MAX_ABS_PX = 1e6
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first member / an empty zip
_NPY_MAGIC = b"\x93NUMPY"
_CONTROL_BYTES = bytes(sorted(set(range(32)) - {9, 10, 12, 13}))  # absent from text files
# What numpy and zipfile raise on damaged archives and members.
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


def _open_npz(path: Path) -> np.lib.npyio.NpzFile:
    """Open ``path`` as an NPZ archive, refusing anything else before numpy guesses at it."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc.strerror or exc})") from exc
    if not head:
        raise ValueError(f"{path}: not a readable .npz file: the file is empty (0 bytes)")
    if head.startswith(_NPY_MAGIC):
        raise ValueError(f"{path}: not a readable .npz file: it holds a single .npy array; "
                         "write it with np.savez(path, keypoints_2d=...)")
    if not head.startswith(_ZIP_MAGIC):
        what = ("the file holds text" if head.translate(None, _CONTROL_BYTES) == head
                else "unknown data")
        raise ValueError(f"{path}: not a readable .npz file: {what}; expected an archive "
                         "written by np.savez")
    try:
        data = np.load(path, allow_pickle=False)
    except _READ_ERRORS as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from exc
    if not isinstance(data, np.lib.npyio.NpzFile):  # pragma: no cover - magic checked above
        raise ValueError(f"{path}: not a readable .npz file")
    return data


def _member(data: np.lib.npyio.NpzFile, key: str, path: Path, kinds: str) -> np.ndarray:
    """Array ``key`` of the archive; its dtype kind must be one of ``kinds`` (numpy codes)."""
    try:
        arr = data[key]
    except _READ_ERRORS as exc:
        if "allow_pickle" in str(exc):
            raise ValueError(f"{path}: {key} holds Python objects (a pickled object array); "
                             "expected numbers") from exc
        raise ValueError(f"{path}: {key} cannot be read (damaged archive? {exc})") from exc
    if arr.dtype.kind not in kinds:
        expected = ("numbers" if "f" in kinds else "bool (or 0/1 integers)" if "b" in kinds
                    else "a string")
        raise ValueError(f"{path}: {key} must hold {expected}, got dtype {arr.dtype}")
    return arr


def _layout_name(data: np.lib.npyio.NpzFile, path: Path) -> str:
    raw = _member(data, "layout", path, "US")
    if raw.size != 1:
        raise ValueError(f"{path}: layout must be one string such as 'h36m17', got shape "
                         f"{raw.shape}")
    name = raw.reshape(()).item()
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _check_keypoints(kp: np.ndarray, valid: np.ndarray, path: Path) -> None:
    """Every valid joint finite and pixel-sized; every pose (window) with a valid joint."""
    bad = valid & ~np.isfinite(kp).all(axis=-1)
    if bad.any():
        raise ValueError(f"{path}: keypoints_2d has NaN or inf in joints marked valid (first: "
                         f"index {_first(bad)}); mark missing joints False in `valid`")
    huge = valid & (np.abs(np.where(valid[..., None], kp, 0.0)) > MAX_ABS_PX).any(axis=-1)
    if huge.any():
        raise ValueError(f"{path}: keypoints_2d has values beyond ±{MAX_ABS_PX:g} px (first: "
                         f"index {_first(huge)}); expected pixel coordinates")
    empty = ~valid.reshape(valid.shape[0], -1).any(axis=1)
    if empty.any():
        raise ValueError(f"{path}: pose {int(np.argmax(empty))} has no valid joint (all NaN or "
                         "marked invalid); remove it from the file")


def _intrinsics(data: np.lib.npyio.NpzFile, n: int, path: Path) -> np.ndarray:
    intr = _member(data, "intrinsics", path, "iuf").astype(np.float64)
    if intr.shape not in ((4,), (n, 4)):
        raise ValueError(f"{path}: intrinsics must be (4,) or [{n}, 4], got {intr.shape}")
    if not np.isfinite(intr).all() or (intr[..., :2] <= 0).any():
        raise ValueError(f"{path}: intrinsics must be finite (fx, fy, cx, cy) px with fx, fy > "
                         f"0, got {np.array2string(intr, threshold=8)}")
    return intr


def load_keypoints_npz(path: Path, layout: str | None = None
                       ) -> tuple[np.ndarray, np.ndarray, str, np.ndarray | None]:
    """Read and check a keypoint NPZ (keys: see the module docstring).

    Args:
        layout: Overrides the file's ``layout`` key.

    Returns:
        ``(keypoints_px [N, J, 2] or [N, T, J, 2] (invalid joints 0), valid [N, J] or
        [N, T, J], layout name, intrinsics (4,) or [N, 4] or None)``.

    Raises:
        ValueError: naming the file and what is missing or malformed; never another type.
    """
    path = Path(path)
    with _open_npz(path) as data:
        return _keypoints(data, path, layout)


def _keypoints(data: np.lib.npyio.NpzFile, path: Path, layout: str | None
               ) -> tuple[np.ndarray, np.ndarray, str, np.ndarray | None]:
    """:func:`load_keypoints_npz` of an open file."""
    if "keypoints_2d" not in data.files:
        found = ", ".join(data.files) or "nothing"
        raise ValueError(f"{path}: missing key 'keypoints_2d' (found: {found})")
    kp = _member(data, "keypoints_2d", path, "iuf").astype(np.float64)
    if layout is None:
        layout = _layout_name(data, path) if "layout" in data.files else "h36m17"
        where = str(path)
    else:
        where = "layout"  # the caller's override, not the file
    try:
        lay = get_layout(layout)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if kp.ndim not in (3, 4) or kp.shape[-1] != 2 or kp.shape[-2] != lay.num_joints:
        raise ValueError(f"{path}: keypoints_2d must be [N, {lay.num_joints}, 2] or "
                         f"[N, T, {lay.num_joints}, 2] for layout {lay.name}, got {kp.shape}")
    if kp.shape[0] == 0 or (kp.ndim == 4 and kp.shape[1] == 0):
        raise ValueError(f"{path}: keypoints_2d holds 0 poses (shape {kp.shape}); "
                         "nothing to lift")
    if "valid" in data.files:
        valid = _member(data, "valid", path, "biu").astype(bool)
        if valid.shape != kp.shape[:-1]:
            raise ValueError(
                f"{path}: valid must have shape {kp.shape[:-1]}, got {valid.shape}")
    else:
        infinite = np.asarray(np.isinf(kp).any(axis=-1))
        if infinite.any():
            raise ValueError(f"{path}: keypoints_2d has inf (first: index "
                             f"{_first(infinite)}); mark missing joints with NaN or a "
                             "`valid` mask")
        valid = np.asarray(~np.isnan(kp).any(axis=-1))
    _check_keypoints(kp, valid, path)
    intr = _intrinsics(data, kp.shape[0], path) if "intrinsics" in data.files else None
    return np.where(valid[..., None], kp, 0.0), valid, lay.name, intr


def load_keypoint_scores(path: Path, shape: tuple[int, ...], layout: str) -> np.ndarray | None:
    """The file's optional ``scores`` (module docstring) for ``shape`` (``keypoints_2d``'s
    ``[N, J]`` or ``[N, T, J]`` in ``layout``), as h36m17 joint scores; None without the key.

    Raises:
        ValueError: naming the file: scores of another shape, outside [0, 1], or for a layout
            other than h36m17 and blazepose33.
    """
    path = Path(path)
    with _open_npz(path) as data:
        return _scores(data, path, shape, layout)


def _scores(data: np.lib.npyio.NpzFile, path: Path, shape: tuple[int, ...], layout: str
            ) -> np.ndarray | None:
    """:func:`load_keypoint_scores` of an open file."""
    if "scores" not in data.files:
        return None
    scores = _member(data, "scores", path, "iuf").astype(np.float64)
    if scores.shape != tuple(shape):
        raise ValueError(f"{path}: scores must have shape {tuple(shape)} (as valid), "
                         f"got {scores.shape}")
    if not (np.isfinite(scores) & (scores >= 0.0) & (scores <= 1.0)).all():
        raise ValueError(f"{path}: scores must be confidences in [0, 1]")
    if layout == H36M17.name:
        return scores
    if layout == "blazepose33":
        return h36m_scores_from_blazepose(scores)
    raise ValueError(f"{path}: scores are read for the layouts h36m17 and blazepose33, "
                     f"not {layout}; remove them or give h36m17 keypoints")


def keypoint_model(name: str, floor_lifter: bool = True) -> PoseModel:
    """The registered model ``name``, refused unless it lifts 2D keypoints alone.

    ``floor_lifter``: ``mpm-lift-t1`` hands the poses it lifts as on the floor to
    ``mpm-lift-t1-floorsit`` (:mod:`monopose.lifting.floor_gate`).

    Raises:
        ValueError: unknown name, or a model that reads images or feature maps.
    """
    options = dataclasses.replace(DEFAULT_OPTIONS, floor_lifter=floor_lifter)
    model = ModelLoader(options).load(name)  # the ONNX twin where one ships
    if model.needs != "keypoints":
        what = ("is an image model: it reads photos" if model.needs == "image"
                else "reads the detector's feature maps")
        raise ValueError(f"--model: {name!r} {what}, not 2D keypoints alone; use it with "
                         f"`monopose predict --model {name}`")
    return model


def lift_file(input_path: Path, output_path: Path, model: str, layout: str | None = None,
              intrinsics: tuple[float, float, float, float] | None = None,
              placement: str = "ray_fit", floor_lifter: bool = True) -> str:
    """Lift the keypoints of ``input_path`` with ``model`` and write ``output_path``.

    ``floor_lifter``: see :func:`keypoint_model`.

    With intrinsics, each pose is placed in the camera (:func:`~monopose.core.placement.
    place_poses`; no image size, so every valid joint counts) by ``placement``; single poses
    ``[N, J, 2]`` then get the fitted root-relative poses too, windows ``[N, T, J, 2]`` are
    placed at their centre frame by ``"solve"`` (their other frames have no absolute pose).

    Returns:
        A one-line summary for the user.

    Raises:
        ValueError: naming the input for a malformed file or keypoints the lifter refuses;
            nothing is written then.
    """
    input_path = Path(input_path)
    check_placement(placement)
    with _open_npz(input_path) as data:  # read once: keypoints, then their scores
        kp, valid, lay, intr = _keypoints(data, input_path, layout)
        scores = _scores(data, input_path, valid.shape, lay)
    if intrinsics is not None:
        intr = np.asarray(intrinsics, dtype=np.float64)
    kp17, valid17, _ = convert_layout(kp, lay, H36M17.name, valid)
    lifter = keypoint_model(model, floor_lifter)
    try:
        # Perspective-aware lifters turn each pose towards a virtual camera with these.
        rel_mm = lifter.lift(kp17, valid17, intrinsics=intr, scores=scores)
    except ValueError as exc:
        raise ValueError(f"{input_path}: {exc}") from exc
    broken = ~np.isfinite(rel_mm.astype(np.float32)).reshape(rel_mm.shape[0], -1).all(axis=1)
    if broken.any():
        raise ValueError(f"{input_path}: {model} gave non-finite 3D for {int(broken.sum())} "
                         f"pose(s) (first: {int(np.argmax(broken))}); nothing written")
    out: dict[str, np.ndarray] = {"layout": np.array(H36M17.name),
                                  "joint_names": np.array(H36M17.joint_names)}
    failed = 0
    if intr is not None:
        windows = kp17.ndim == 4
        centre = (slice(None), kp17.shape[1] // 2) if windows else (slice(None),)
        used = "solve" if windows else placement
        absolute, placed_rel, methods = place_poses(
            kp17[centre], rel_mm[centre], valid17[centre],
            np.broadcast_to(intr, (kp.shape[0], 4)), placement=used)
        if not windows:
            rel_mm = placed_rel
        absolute = absolute.astype(np.float32)
        # float32 may overflow where float64 did not: such a pose counts as failed too
        lost = ~np.isfinite(absolute).reshape(len(absolute), -1).all(axis=1)
        methods = ["failed" if bad else m for m, bad in zip(methods, lost, strict=True)]
        absolute[lost] = np.nan
        out["pose_3d_abs_mm"] = absolute
        out["root_method"] = np.array(methods)
        out["placement"] = np.array(used)
        failed = methods.count("failed")
    out["pose_3d_rel_mm"] = rel_mm.astype(np.float32)
    handed = np.zeros(len(rel_mm), dtype=bool)
    if isinstance(lifter, FloorGatedLifter) and kp.ndim == 3:
        # which lifter answered each pose: people on the floor went to the floor-sit lifter
        handed = lifter.last_handed_over
        out["lifted_by"] = np.where(handed, FLOOR_LIFTERS[model], model)
    write_npz_atomic(Path(output_path), out)
    notes = []
    if handed.any():
        notes.append(f"{int(handed.sum())} on the floor, lifted by {FLOOR_LIFTERS[model]}")
    if intr is None:
        notes.append("no intrinsics: root-relative only")
    if failed:
        notes.append(f"no absolute position for {failed} of {kp.shape[0]} poses "
                     "(root_method 'failed', NaN)")
    return (f"lifted {kp.shape[0]} poses ({lay} → h36m17) with {model}; wrote {output_path}"
            + (f" ({'; '.join(notes)})" if notes else ""))
