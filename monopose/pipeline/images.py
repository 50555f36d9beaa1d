"""Reading images for the pipeline: paths or arrays in, ``[H, W, 3]`` uint8 RGB out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "read_image", "as_rgb"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")


def as_rgb(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Convert an ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]`` array to uint8 RGB.

    Raises:
        ValueError: naming ``name`` for an empty image or an unsupported shape/dtype.
    """
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(
            f"{name}: expected an [H, W], [H, W, 3] or [H, W, 4] image, got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name}: the image is empty ({arr.shape[1]}x{arr.shape[0]} px)")
    if arr.shape[2] == 4:
        arr = arr[..., :3]
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating) and np.nanmax(arr) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(np.nan_to_num(arr), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def read_image(image: str | Path | np.ndarray) -> np.ndarray:
    """Read a path (honouring EXIF orientation) or pass an array through :func:`as_rgb`.

    Raises:
        ValueError: naming the file when it is missing, empty or not a readable image.
    """
    if isinstance(image, np.ndarray):
        return as_rgb(image)
    path = Path(image)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes)")
    try:
        from PIL import Image, ImageOps

        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            arr = np.asarray(im.convert("RGB"))
    except Exception as exc:  # PIL raises many types for broken files
        raise ValueError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from exc
    return as_rgb(arr, str(path))
