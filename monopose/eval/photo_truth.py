"""Photos with 3D ground truth: the labels file that ``monopose evaluate-photos`` reads.

A labels file is JSON with one item per labelled person (a photo may have several items)::

    {"items": [{"image": "S4_Seq2_Cam0_001033.jpg",          # relative to the labels file
                "layout": "mpi3dhp17",                        # or h36m17, h36m32, mpi3dhp28
                "pose3d_camera_mm": [[x, y, z], ...],         # [J, 3], camera axes, mm
                "camera": {"fx": 1497.7, "fy": 1497.1, "cx": 1024.7, "cy": 1051.4},
                "keypoints2d_px": [[u, v], ...],              # optional [J, 2]; else projected
                "group": "Sitting"}]}                         # optional: means per group too

Camera axes are x right, y down, z forward (OpenCV's). The truth is converted to h36m17, the
layout every monopose model answers in; ``h36m32`` (Human3.6M's raw 32 joints, as its files
hold them) is reduced to h36m17 by Human3.6M's usual selection. An item that cannot be read is
skipped with a note that names it and what was expected; the rest are scored.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from monopose.core.projection import project_points
from monopose.core.skeleton import H36M17, LAYOUTS, convert_layout
from monopose.data.h36m import H36M32_TO_17
from monopose.io.intrinsics import check_intrinsics

__all__ = ["Intrinsics", "PhotoTruth", "PhotoTruths", "LAYOUT_ALIASES", "load_photo_truths"]

Intrinsics = tuple[float, float, float, float]  # (fx, fy, cx, cy) px

# Names the datasets' own tools use for the same layouts.
LAYOUT_ALIASES = {"mpi_inf_3dhp_17": "mpi3dhp17", "mpi_inf_3dhp_28": "mpi3dhp28",
                  "human36m_17": "h36m17", "h36m_17": "h36m17"}
# Human3.6M's raw 32 joints (as in its files), of which h36m17 is a selection.
H36M32 = "h36m32"


@dataclass(frozen=True)
class PhotoTruth:
    """One labelled person in a photo.

    Attributes:
        path: the image file.
        abs_mm: ``[17, 3]`` h36m17 joints in camera space, mm.
        kp2d_px: ``[17, 2]`` h36m17 joints in the image, px (given or projected).
        intrinsics: ``(fx, fy, cx, cy)`` px.
        label: ``<image stem>`` or ``<image stem>#<k>`` when the photo has several items.
        group: the item's ``group`` (e.g. a dataset's activity), "" if none: the report also
            gives the means per group.
    """

    path: Path
    abs_mm: np.ndarray
    kp2d_px: np.ndarray
    intrinsics: Intrinsics
    label: str = ""
    group: str = ""

    @property
    def rel_mm(self) -> np.ndarray:
        """``[17, 3]`` root-relative (pelvis at 0), mm."""
        return self.abs_mm - self.abs_mm[0]


@dataclass
class PhotoTruths:
    """The readable items of a labels file and a note per item that was skipped."""

    items: list[PhotoTruth]
    skipped: list[str] = field(default_factory=list)


def load_photo_truths(labels_path: str | os.PathLike[str]) -> PhotoTruths:
    """Read a labels file (module docstring), converting every item to h36m17.

    Raises:
        FileNotFoundError: the labels file does not exist.
        ValueError: it is not JSON with an ``items`` list, or no item in it can be read.
    """
    path = Path(labels_path)
    if not path.is_file():
        raise FileNotFoundError(f"labels: {path} does not exist (expected a JSON labels file)")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"labels: {path} is not JSON ({exc})") from None
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise ValueError(f"labels: {path} needs a non-empty 'items' list of labelled people")
    out = PhotoTruths([])
    per_image: dict[str, int] = {}
    for k, item in enumerate(items):
        try:
            truth = _read_item(item, path.parent)
        except ValueError as exc:
            out.skipped.append(f"{path.name} item {k}: {exc}; skipped")
            continue
        n = per_image.get(truth.path.stem, 0)
        per_image[truth.path.stem] = n + 1
        label = truth.path.stem if n == 0 else f"{truth.path.stem}#{n + 1}"
        out.items.append(dataclasses.replace(truth, label=label))
    if not out.items:
        raise ValueError(f"labels: no item of {path} could be read: " + "; ".join(out.skipped))
    return out


def _read_item(item: object, root: Path) -> PhotoTruth:
    """One item → :class:`PhotoTruth` (label unset); ValueError says what is wrong."""
    if not isinstance(item, Mapping):
        raise ValueError("expected an object with image, layout, pose3d_camera_mm and camera")
    missing = [k for k in ("image", "pose3d_camera_mm", "camera") if k not in item]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    image = root / str(item["image"])
    if not image.is_file():
        raise ValueError(f"image {image} does not exist")
    layout = _layout(str(item.get("layout", "h36m17")))
    intrinsics = _intrinsics(item["camera"], image)
    joints = 32 if layout == H36M32 else len(LAYOUTS[layout].joint_names)
    pose = _array(item["pose3d_camera_mm"], (joints, 3), "pose3d_camera_mm", layout)
    if np.any(pose[:, 2] <= 0):
        raise ValueError("pose3d_camera_mm: every joint needs z > 0 (in front of the camera; "
                         "camera axes x right, y down, z forward, mm)")
    if "keypoints2d_px" in item and item["keypoints2d_px"] is not None:
        kp = _array(item["keypoints2d_px"], (joints, 2), "keypoints2d_px", layout)
    else:
        kp = project_points(pose, np.asarray(intrinsics))
    if layout == H36M32:
        pose, kp, layout = pose[list(H36M32_TO_17)], kp[list(H36M32_TO_17)], H36M17.name
    abs_mm, valid, _ = convert_layout(pose, layout, H36M17.name)
    kp_h36m, _, _ = convert_layout(kp, layout, H36M17.name)
    if not valid.all():
        absent = [H36M17.joint_names[j] for j in np.flatnonzero(~valid)]
        raise ValueError(f"layout {layout!r} does not give the h36m17 joints {absent}")
    group = item.get("group")
    return PhotoTruth(image, abs_mm, kp_h36m, intrinsics, group="" if group is None
                      else str(group))


def _layout(name: str) -> str:
    layout = LAYOUT_ALIASES.get(name, name)
    if layout not in LAYOUTS and layout != H36M32:
        known = sorted(set(LAYOUTS) | set(LAYOUT_ALIASES) | {H36M32})
        raise ValueError(f"layout {name!r} is unknown; expected one of {', '.join(known)}")
    return layout


def _intrinsics(camera: object, image: Path) -> Intrinsics:
    """The item's camera, checked against its image's size as ``predict`` checks intrinsics (the
    image's header only is read)."""
    keys = ("fx", "fy", "cx", "cy")
    if not isinstance(camera, Mapping) or any(k not in camera for k in keys):
        raise ValueError("camera: expected an object with fx, fy, cx, cy (px)")
    try:
        fx, fy, cx, cy = (float(camera[k]) for k in keys)
    except (TypeError, ValueError):
        raise ValueError("camera: fx, fy, cx, cy must be numbers (px)") from None
    if not all(math.isfinite(v) for v in (fx, fy, cx, cy)) or fx <= 0 or fy <= 0:
        raise ValueError(f"camera: expected finite fx, fy > 0, got {(fx, fy, cx, cy)}")
    try:
        with Image.open(image) as im:
            width, height = im.size
    except (OSError, ValueError) as exc:
        raise ValueError(f"image {image} is not a readable image ({exc})") from None
    return check_intrinsics(fx, fy, cx, cy, width, height, argument="camera")


def _array(value: object, shape: tuple[int, int], name: str, layout: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected numbers of shape {list(shape)}") from None
    if arr.shape != shape:
        raise ValueError(f"{name}: expected shape {list(shape)} for layout {layout!r}, "
                         f"got {list(arr.shape)}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: every value must be a finite number")
    return arr
