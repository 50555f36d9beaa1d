"""Lifting 2D keypoints from a user's NPZ file (``monopose lift``).

Input NPZ keys:
    keypoints_2d: ``[N, J, 2]`` (N people/frames) or ``[N, T, J, 2]`` (N windows of T frames), px.
    layout: optional string, ``"h36m17"`` (default), ``"coco17"`` or ``"blazepose33"``.
    valid: optional ``[N, J]`` / ``[N, T, J]`` bool; without it, NaN joints count as missing.
    intrinsics: optional ``(4,)`` or ``[N, 4]`` (fx, fy, cx, cy) px, for the absolute pose.

Output NPZ keys: ``pose_3d_rel_mm`` ``[N, 17, 3]`` (``[N, T, 17, 3]`` for windows), ``layout``
("h36m17"), ``joint_names``; with intrinsics also ``pose_3d_abs_mm`` and ``root_method``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from monopose.core.geometry import reconstruct_absolute
from monopose.core.skeleton import H36M17, convert_layout, get_layout
from monopose.pipeline.schema import write_npz_atomic

__all__ = ["lift_file", "load_keypoints_npz"]


def load_keypoints_npz(path: Path, layout: str | None = None
                       ) -> tuple[np.ndarray, np.ndarray, str, np.ndarray | None]:
    """Read and check a keypoint NPZ. Returns ``(keypoints_px, valid, layout, intrinsics)``.

    Raises:
        ValueError: naming the file and the key that is missing or malformed.
    """
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from exc
    with data:
        if "keypoints_2d" not in data:
            raise ValueError(f"{path}: missing key 'keypoints_2d' (found: {', '.join(data.files)})")
        kp = np.asarray(data["keypoints_2d"], dtype=np.float64)
        name = layout or (str(data["layout"]) if "layout" in data else "h36m17")
        lay = get_layout(name)
        if kp.ndim not in (3, 4) or kp.shape[-1] != 2 or kp.shape[-2] != lay.num_joints:
            raise ValueError(f"{path}: keypoints_2d must be [N, {lay.num_joints}, 2] or "
                             f"[N, T, {lay.num_joints}, 2] for layout {lay.name}, got {kp.shape}")
        if "valid" in data:
            valid = np.asarray(data["valid"], dtype=bool)
            if valid.shape != kp.shape[:-1]:
                raise ValueError(
                    f"{path}: valid must have shape {kp.shape[:-1]}, got {valid.shape}")
            if np.isnan(kp[valid]).any():
                raise ValueError(f"{path}: keypoints_2d has NaN in joints marked valid")
        else:
            valid = ~np.isnan(kp).any(axis=-1)
        intr = None
        if "intrinsics" in data:
            intr = np.asarray(data["intrinsics"], dtype=np.float64)
            if intr.shape not in ((4,), (kp.shape[0], 4)):
                raise ValueError(f"{path}: intrinsics must be (4,) or [{kp.shape[0]}, 4], "
                                 f"got {intr.shape}")
    return np.nan_to_num(kp), valid, lay.name, intr


def lift_file(input_path: Path, output_path: Path, model: str, layout: str | None = None,
              intrinsics: tuple[float, float, float, float] | None = None) -> str:
    """Lift the keypoints of ``input_path`` with ``model`` and write ``output_path``.

    Returns:
        A one-line summary for the user.
    """
    from monopose.models.lifter import Lifter

    kp, valid, lay, intr = load_keypoints_npz(Path(input_path), layout)
    if intrinsics is not None:
        intr = np.asarray(intrinsics, dtype=np.float64)
    kp17, valid17, _ = convert_layout(kp, lay, H36M17.name, valid)
    lifter = Lifter(model)
    rel = lifter.lift(kp17, valid17)
    out: dict[str, np.ndarray] = {
        "pose_3d_rel_mm": rel.astype(np.float32),
        "layout": np.array(H36M17.name),
        "joint_names": np.array(H36M17.joint_names),
    }
    if intr is not None:
        intr_n = np.broadcast_to(intr, (kp.shape[0], 4))
        centre = (slice(None), kp17.shape[1] // 2) if kp17.ndim == 4 else (slice(None),)
        kp_c, rel_c, val_c = kp17[centre], rel[centre], valid17[centre]
        absolute = np.zeros_like(rel_c)
        methods = []
        for i in range(kp.shape[0]):
            solve = reconstruct_absolute(kp_c[i], rel_c[i], intr_n[i], valid=val_c[i],
                                         return_details=True)
            absolute[i] = solve.pose3d_abs_mm
            methods.append(str(solve.method))
        out["pose_3d_abs_mm"] = absolute.astype(np.float32)
        out["root_method"] = np.array(methods)
    write_npz_atomic(Path(output_path), out)
    return (f"lifted {kp.shape[0]} poses ({lay} → h36m17) with {model}; wrote {output_path}"
            + ("" if intr is not None else " (no intrinsics: root-relative only)"))
