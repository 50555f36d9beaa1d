"""More views of the same real pixels: the realgt photos mirrored, reframed and shrunk.

Two photos make a noisy smoke test: a method's score moves by several millimetres with a few
pixels of detector jitter. Each view below is the same photo seen through another camera whose
truth follows exactly, so the mean over the views is a steadier reading of the same two people,
and the spread between views shows what the framing alone does to a method:

* ``mirror``: the photo flipped left to right. The camera's x axis flips, the 3D truth's x
  flips with it and left and right joints swap.
* ``centre`` / ``corner``: a square crop of half the photo's side with the person in its middle,
  or in its top-left corner (far from the optical axis). The principal point moves with the
  crop; the 3D truth does not change.
* ``corner-mirror``: the corner crop mirrored (the person in the top-right corner).
* ``half``: the whole photo at half resolution (focal length and principal point halved).
* ``roll15`` / ``roll-15`` (on request, not in the default set): the photo turned by 15° about
  the principal point, counter-clockwise / clockwise, as a camera held tilted sees it; the 3D
  truth turns about the optical axis. Exact for square pixels (fx = fy); the realgt cameras'
  fx and fy differ by 0.04 %, a fraction of a pixel here. The corners the turn uncovers are
  black.

Pixel centres sit at integer coordinates (OpenCV's convention). The views are written as PNG
(lossless) under a cache folder, never into the package: the photos are research-only.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from monopose.core.camera import project_points
from monopose.core.skeleton import flip_pose

__all__ = ["VIEW_NAMES", "ROLL_VIEWS", "make_views", "view_of", "views_table"]

VIEW_NAMES = ("orig", "mirror", "centre", "corner", "corner-mirror", "half")
ROLL_VIEWS = ("roll15", "roll-15")
CROP_FRACTION = 0.5  # the crops' side, as a fraction of the photo's shorter side
CORNER_MARGIN = 0.08  # the person's box from the crop's corner, as a fraction of the crop


def _crop(image: np.ndarray, truth, x0: int, y0: int, side: int):  # type: ignore[no-untyped-def]
    fx, fy, cx, cy = truth.intrinsics
    view = image[y0:y0 + side, x0:x0 + side]
    return view, replace(truth, kp2d_px=truth.kp2d_px - [x0, y0],
                         intrinsics=(fx, fy, cx - x0, cy - y0))


def _mirror(image: np.ndarray, truth):  # type: ignore[no-untyped-def]
    fx, fy, cx, cy = truth.intrinsics
    w = image.shape[1]
    kp = flip_pose(truth.kp2d_px, "h36m17", image_width_px=w)
    abs_mm = flip_pose(truth.abs_mm, "h36m17")
    return image[:, ::-1], replace(truth, kp2d_px=kp, abs_mm=abs_mm,
                                   intrinsics=(fx, fy, (w - 1) - cx, cy))


def _half(image: np.ndarray, truth):  # type: ignore[no-untyped-def]
    fx, fy, cx, cy = truth.intrinsics
    h, w = image.shape[:2]
    view = cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    s = 0.5
    return view, replace(truth, kp2d_px=(truth.kp2d_px + 0.5) * s - 0.5,
                         intrinsics=(fx * s, fy * s, (cx + 0.5) * s - 0.5, (cy + 0.5) * s - 0.5))


def _roll(image: np.ndarray, truth, degrees: float):  # type: ignore[no-untyped-def]
    """The photo turned counter-clockwise by ``degrees`` about the principal point."""
    fx, fy, cx, cy = truth.intrinsics
    h, w = image.shape[:2]
    turn = cv2.getRotationMatrix2D((cx, cy), degrees, 1.0)  # [2, 3]: image px -> view px
    view = cv2.warpAffine(image, turn, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    c, s = turn[0, 0], turn[0, 1]
    about_axis = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    abs_mm = truth.abs_mm @ about_axis.T
    kp = project_points(abs_mm, np.array([fx, fy, cx, cy]))
    return view, replace(truth, abs_mm=abs_mm, kp2d_px=kp)


def _crop_origin(image: np.ndarray, truth, where: str) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """``(x0, y0, side)`` of a square crop with the person's box centred or in the top left."""
    h, w = image.shape[:2]
    side = int(CROP_FRACTION * min(h, w))
    lo, hi = truth.kp2d_px.min(axis=0), truth.kp2d_px.max(axis=0)
    if np.any(hi - lo > side * (1.0 - 2 * CORNER_MARGIN)):
        raise ValueError(f"{truth.path.name}: the person ({hi - lo} px) does not fit a "
                         f"{side} px crop")
    if where == "centre":
        x0, y0 = (lo + hi) / 2 - side / 2
    else:  # the box's top-left corner a margin from the crop's
        x0, y0 = lo - CORNER_MARGIN * side
    x0 = int(np.clip(round(x0), 0, w - side))
    y0 = int(np.clip(round(y0), 0, h - side))
    return x0, y0, side


def _view(image: np.ndarray, truth, name: str):  # type: ignore[no-untyped-def]
    if name == "orig":
        return image, truth
    if name == "mirror":
        return _mirror(image, truth)
    if name == "half":
        return _half(image, truth)
    if name.startswith("roll"):
        return _roll(image, truth, float(name[4:]))
    where = "centre" if name == "centre" else "corner"
    view, t = _crop(image, truth, *_crop_origin(image, truth, where))
    return _mirror(view, t) if name == "corner-mirror" else (view, t)


def make_views(truths: list, out_dir: Path, names: tuple[str, ...] = VIEW_NAMES) -> list:
    """Every view of every truth, as truths of images written under ``out_dir``.

    Args:
        truths: ``bench_realgt.Truth`` items (``path``, ``abs_mm [17, 3]``, ``kp2d_px [17, 2]``,
            ``intrinsics``).
        out_dir: where the view images go (created; existing files are rewritten).
        names: which views, from :data:`VIEW_NAMES` and :data:`ROLL_VIEWS`.

    Returns:
        One truth per (photo, view), photo by photo, its ``path`` named ``<stem>@<view>.png``.
    """
    unknown = sorted(set(names) - set(VIEW_NAMES) - set(ROLL_VIEWS))
    if unknown:
        raise ValueError(f"unknown views {unknown}; expected some of "
                         f"{', '.join(VIEW_NAMES + ROLL_VIEWS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for truth in truths:
        image = cv2.imread(str(truth.path))
        if image is None:
            raise FileNotFoundError(f"{truth.path}: not a readable image")
        for name in names:
            view, t = _view(image, truth, name)
            path = out_dir / f"{truth.path.stem}@{name}.png"
            tmp = path.with_suffix(".tmp.png")
            if not cv2.imwrite(str(tmp), np.ascontiguousarray(view)):
                raise OSError(f"{path}: could not write the view")
            tmp.replace(path)
            out.append(replace(t, path=path))
    return out


def view_of(photo: str) -> str:
    """The view named in a row's photo (``<stem>@<view>``); ``orig`` for a plain photo."""
    return photo.rsplit("@", 1)[1] if "@" in photo else "orig"


def views_table(rows: list[dict]) -> str:
    """Per method and view, the mean over the photos: MPJPE / P-MPJPE / root error (mm)."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    views = list(dict.fromkeys(view_of(r["photo"]) for r in rows))
    lines = ["| method | " + " | ".join(views) + " | spread of P-MPJPE |",
             "|---|" + "---|" * (len(views) + 1)]
    for method in methods:
        cells, p_means = [], []
        for view in views:
            scored = [r for r in rows if r["method"] == method and view_of(r["photo"]) == view
                      and "mpjpe_mm" in r]
            if not scored:
                cells.append("none found")
                continue
            roots = [r["root_error_mm"] for r in scored]
            p_means.append(float(np.mean([r["p_mpjpe_mm"] for r in scored])))
            root = "none" if None in roots else f"{np.mean(roots):.0f}"
            cells.append(f"{np.mean([r['mpjpe_mm'] for r in scored]):.0f} / {p_means[-1]:.0f} / "
                         f"{root}" + ("" if len(scored) == len(
                             {r['photo'] for r in rows if view_of(r['photo']) == view})
                             else f" ({len(scored)} found)"))
        spread = f"{max(p_means) - min(p_means):.0f}" if p_means else "none"
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {spread} |")
    return "\n".join(lines)
