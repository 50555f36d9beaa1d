"""Where lifted people stand: each root-relative pose placed in the camera that saw its 2D.

Two placements (:data:`PLACEMENTS`):

* ``"solve"``: the pose as lifted; the root by the least-squares solve of
  :func:`monopose.core.geometry.place_in_camera` (the joints inside the image, else every valid
  joint), every joint weighted alike.
* ``"ray_fit"`` (the default of the lifters): that solve, then the pose and its root fitted
  together to the 2D rays of the joints inside the image (:func:`monopose.core.ray_fit.
  fit_to_rays`), so the returned root-relative pose changes too; the fitted pose is then placed
  by the solve again, each h36m17 joint weighted by :data:`ROOT_JOINT_WEIGHTS`.
"""

from __future__ import annotations

import numpy as np

from monopose.core.geometry import in_picture, place_in_camera
from monopose.core.projection import pixels_to_normalized
from monopose.core.ray_fit import RayFitSettings, fit_to_rays
from monopose.core.skeleton import get_layout

__all__ = ["PLACEMENTS", "ROOT_JOINT_WEIGHTS", "check_placement", "place_poses"]

PLACEMENTS: tuple[str, ...] = ("ray_fit", "solve")

# Weights of the h36m17 joints in the root solve: the inverse variance of each joint's
# reprojection error (mm at the true depth) of the default lifter's truly sized poses at the
# true root, from the detector's 2D of rendered people the lifter was not trained on, divided by
# the largest. The trunk is placed more surely than the limbs' ends, whose depth the lifter
# knows least. Printed by `benchmarks/bench_lift_variants.py --tables 2` (cache/capf2/renders/
# train_b); BENCHMARKS.md "Placement: the lifted pose fitted to its 2D rays".
ROOT_JOINT_WEIGHTS = np.array([
    1.00,              # pelvis
    0.87, 0.59, 0.28,  # right hip, knee, ankle
    0.85, 0.60, 0.29,  # left hip, knee, ankle
    0.83, 0.48, 0.40, 0.26,  # spine, thorax, neck/nose, head top
    0.33, 0.52, 0.39,  # left shoulder, elbow, wrist
    0.33, 0.52, 0.39,  # right shoulder, elbow, wrist
])


def check_placement(placement: str, name: str = "placement") -> str:
    """``placement`` if it is one of :data:`PLACEMENTS`.

    Raises:
        ValueError: naming ``name`` (the argument or option) and the choices.
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"{name}: expected one of {', '.join(PLACEMENTS)}, got {placement!r}")
    return placement


def place_poses(kp_px: np.ndarray, rel_mm: np.ndarray, valid: np.ndarray,
                intrinsics: np.ndarray, image_size_wh: tuple[int, int] | None = None,
                placement: str = "ray_fit", layout: str = "h36m17",
                settings: RayFitSettings | None = None, scores: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Place ``N`` lifted people of one image (or of images with their own intrinsics).

    Args:
        kp_px: ``[N, J, 2]`` pixels (invalid joints may hold NaN).
        rel_mm: ``[N, J, 3]`` root-relative poses, mm.
        valid: ``[N, J]`` bool.
        intrinsics: ``(fx, fy, cx, cy)`` px, ``[4]`` or ``[N, 4]``.
        image_size_wh: ``(W, H)`` px; None: every joint counts as inside the image.
        placement: one of :data:`PLACEMENTS`.
        layout: the joints' layout (the ray fit keeps its bones and, for h36m17, weights the
            joints of its last root solve by :data:`ROOT_JOINT_WEIGHTS`).
        settings: the ray fit's σs; default :class:`~monopose.core.ray_fit.RayFitSettings`.
        scores: ``[N, J]`` the detector's confidence per joint in [0, 1]: with ``"ray_fit"``,
            each joint's weight in the fit and in its last root solve; None: equal weights.

    Returns:
        ``(pose_3d_abs_mm [N, J, 3], pose_3d_rel_mm [N, J, 3], root_methods [N])``: absolute
        poses (NaN where the method is ``"failed"``), the root-relative poses they are made of
        (fitted ones with ``"ray_fit"``) and each person's root method (``"perspective"``,
        ``"weak_perspective"`` or ``"failed"``).
    """
    check_placement(placement)
    kp = np.asarray(kp_px, dtype=np.float64)
    rel = np.asarray(rel_mm, dtype=np.float64)
    ok = np.asarray(valid, dtype=bool)
    n = len(rel)
    intr = np.broadcast_to(np.asarray(intrinsics, dtype=np.float64), (n, 4))
    placed = [place_in_camera(kp[i], rel[i], ok[i], intr[i], image_size_wh) for i in range(n)]
    abs_mm = np.stack([p[0] for p in placed]) if n else np.zeros(rel.shape)
    methods = [p[1] for p in placed]
    if placement == "solve" or n == 0:
        return abs_mm, rel, methods
    use = ok if image_size_wh is None else ok & in_picture(kp, image_size_wh)
    xy = pixels_to_normalized(np.where(use[..., None], kp, 0.0), intr)
    lay = get_layout(layout)
    conf = None if scores is None else np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    rel_fit, _ = fit_to_rays(xy, rel, use, abs_mm[:, 0], lay.bones, settings, confidence=conf)
    base = ROOT_JOINT_WEIGHTS if lay.name == "h36m17" else None
    abs_out, rel_out = abs_mm.copy(), rel.copy()
    for i in range(n):
        if methods[i] == "failed":
            continue
        # a joint scored 0 still counts a little: the solve needs its joints' spread
        weights = base if conf is None else \
            (1.0 if base is None else base) * np.maximum(conf[i], 1e-3)
        pose_mm, method = place_in_camera(kp[i], rel_fit[i], ok[i], intr[i], image_size_wh,
                                          joint_weights=weights)
        if method != "failed":  # else the solved placement of the lifted pose stays
            abs_out[i], rel_out[i], methods[i] = pose_mm, rel_fit[i], method
    return abs_out, rel_out, methods
