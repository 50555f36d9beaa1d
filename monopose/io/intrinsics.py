"""Choosing the camera intrinsics for an input: given, from a file, from EXIF, or a default FOV."""

from __future__ import annotations

import json
import math
from pathlib import Path

from PIL import Image

from monopose.core.camera import DEFAULT_FOV_DEG  # MeTRAbs' default, longer image side
from monopose.io.results import CameraInfo

__all__ = ["DEFAULT_FOV_DEG", "FOV_RANGE_DEG", "resolve_intrinsics", "intrinsics_from_exif",
           "read_intrinsics_file", "check_intrinsics"]

# Plausible field of view of the longer image side: a 1,000 mm tele lens on full frame is ~2.5°,
# a fisheye beyond 170° is not a pinhole camera.
FOV_RANGE_DEG = (1.0, 170.0)
# The principal point may lie off-centre (crops, shifted lenses), but not far outside the image.
PRINCIPAL_POINT_MARGIN = 0.5  # fraction of the image size on each side
MAX_ASPECT = 4.0  # fx / fy of real pixels is close to 1

# EXIF tags (numbers from the EXIF 2.3 standard).
_TAG_EXIF_IFD = 0x8769
_TAG_FOCAL_LENGTH = 0x920A
_TAG_FOCAL_35MM = 0xA405
_TAG_FOCAL_PLANE_XRES = 0xA20E
_TAG_FOCAL_PLANE_UNIT = 0xA210
_MM_PER_UNIT = {2: 25.4, 3: 10.0, 4: 1.0, 5: 0.001}


def check_intrinsics(fx: float, fy: float, cx: float, cy: float, width: int, height: int,
                     argument: str = "intrinsics") -> tuple[float, float, float, float]:
    """Check that ``(fx, fy, cx, cy)`` px are finite and plausible for a ``width × height`` image.

    Raises:
        ValueError: naming ``argument``, the bad value and the accepted range.
    """
    values = tuple(float(v) for v in (fx, fy, cx, cy))
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{argument}: fx, fy, cx, cy must be finite numbers, got {values}")
    fx, fy, cx, cy = values
    longer = max(width, height)
    lo_deg, hi_deg = FOV_RANGE_DEG
    f_min = 0.5 * longer / math.tan(math.radians(hi_deg) / 2)
    f_max = 0.5 * longer / math.tan(math.radians(lo_deg) / 2)
    for name, f in (("fx", fx), ("fy", fy)):
        if not f_min <= f <= f_max:
            raise ValueError(
                f"{argument}: {name}={f:g} px is not a plausible focal length for a "
                f"{width}x{height} image; expected {f_min:.0f}-{f_max:.0f} px (a field of view "
                f"of {lo_deg:g}-{hi_deg:g} degrees on the longer side)")
    if not 1 / MAX_ASPECT <= fx / fy <= MAX_ASPECT:
        raise ValueError(f"{argument}: fx/fy = {fx / fy:.2f}; expected pixels close to square "
                         f"(between {1 / MAX_ASPECT:g} and {MAX_ASPECT:g})")
    m = PRINCIPAL_POINT_MARGIN
    for name, c, size in (("cx", cx, width), ("cy", cy, height)):
        if not -m * size <= c <= (1 + m) * size:
            raise ValueError(
                f"{argument}: {name}={c:g} px is far outside the {width}x{height} image; "
                f"expected {-m * size:g} to {(1 + m) * size:g} px")
    return fx, fy, cx, cy


def _from_fov(width: int, height: int, fov_deg: float) -> CameraInfo:
    if not 0 < fov_deg < 180:
        raise ValueError(f"fov_deg: expected a value in (0, 180), got {fov_deg}")
    f = 0.5 * max(width, height) / math.tan(math.radians(fov_deg) / 2)
    return CameraInfo(f, f, (width - 1) / 2, (height - 1) / 2, width, height, "default_fov",
                      fov_deg)


def intrinsics_from_exif(image_path: Path, width: int, height: int) -> CameraInfo | None:
    """Intrinsics from the EXIF focal length of ``image_path``, or None when EXIF lacks it.

    Uses the 35 mm-equivalent focal length (36 mm film width ↔ the longer image side) if present,
    else the focal length with the focal-plane resolution.
    """
    try:
        with Image.open(image_path) as im:
            exif = im.getexif()
            sub = exif.get_ifd(_TAG_EXIF_IFD)
    except Exception:
        return None
    tags = {**dict(exif), **dict(sub)}
    f_px = None
    f35 = tags.get(_TAG_FOCAL_35MM)
    if f35 and float(f35) > 0:
        f_px = float(f35) / 36.0 * max(width, height)
    else:
        f_mm, xres = tags.get(_TAG_FOCAL_LENGTH), tags.get(_TAG_FOCAL_PLANE_XRES)
        unit = _MM_PER_UNIT.get(int(tags.get(_TAG_FOCAL_PLANE_UNIT, 2)))
        if f_mm and xres and unit and float(f_mm) > 0 and float(xres) > 0:
            f_px = float(f_mm) * float(xres) / unit
    if f_px is None:
        return None
    try:  # a broken EXIF focal length is ignored, not trusted
        check_intrinsics(f_px, f_px, (width - 1) / 2, (height - 1) / 2, width, height, "EXIF")
    except ValueError:
        return None
    return CameraInfo(f_px, f_px, (width - 1) / 2, (height - 1) / 2, width, height, "exif")


def read_intrinsics_file(path: Path, width: int, height: int) -> CameraInfo:
    """Read ``{"fx":..,"fy":..,"cx":..,"cy":..}`` (JSON) from ``path``.

    Raises:
        ValueError: naming the file and the missing or non-positive key.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"intrinsics file {path}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"intrinsics file {path}: expected a JSON object with fx, fy, cx, cy")
    missing = [k for k in ("fx", "fy", "cx", "cy") if k not in data]
    if missing:
        raise ValueError(f"intrinsics file {path}: missing key(s) {', '.join(missing)}")
    try:
        raw = [float(data[k]) for k in ("fx", "fy", "cx", "cy")]
    except (TypeError, ValueError):
        raise ValueError(f"intrinsics file {path}: fx, fy, cx, cy must be numbers") from None
    fx, fy, cx, cy = check_intrinsics(raw[0], raw[1], raw[2], raw[3], width, height,
                                      f"intrinsics file {path}")
    return CameraInfo(fx, fy, cx, cy, width, height, "file")


def resolve_intrinsics(
    width: int,
    height: int,
    intrinsics: tuple[float, float, float, float] | None = None,
    intrinsics_file: Path | None = None,
    image_path: Path | None = None,
    fov_deg: float = DEFAULT_FOV_DEG,
) -> CameraInfo:
    """Pick intrinsics in order: given ``(fx, fy, cx, cy)``, a file, EXIF, default field of view."""
    if intrinsics is not None:
        if len(intrinsics) != 4:
            raise ValueError(f"intrinsics: expected (fx, fy, cx, cy), got {intrinsics!r}")
        fx, fy, cx, cy = check_intrinsics(*intrinsics, width, height)
        return CameraInfo(fx, fy, cx, cy, width, height, "given")
    if intrinsics_file is not None:
        return read_intrinsics_file(intrinsics_file, width, height)
    if image_path is not None:
        found = intrinsics_from_exif(image_path, width, height)
        if found is not None:
            return found
    return _from_fov(width, height, fov_deg)
