"""Reading and normalising input images for the 2D front end."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

__all__ = ["ImageInput", "load_image", "as_rgb_uint8"]

ImageInput = str | os.PathLike | np.ndarray


def as_rgb_uint8(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Bring an array to contiguous ``[H, W, 3]`` RGB uint8.

    Accepts ``[H, W]`` / ``[H, W, 1]`` grayscale, ``[H, W, 3]`` RGB and ``[H, W, 4]`` RGBA (alpha
    dropped). uint8 is taken as is; floats are taken as [0, 1] and scaled; uint16 is scaled down
    by 257; other integer and bool types are clipped to [0, 255].

    Raises:
        ValueError: empty image, wrong number of dimensions or channels.
    """
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(
            f"{name}: expected [H, W], [H, W, 1], [H, W, 3] (RGB) or [H, W, 4] (RGBA), "
            f"got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name}: empty image of shape {arr.shape}")
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating):
            arr = np.clip(np.nan_to_num(arr) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        elif arr.dtype == np.uint16:
            arr = (arr // 257).astype(np.uint8)
        else:
            arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = cv2.cvtColor(arr, cv2.COLOR_GRAY2RGB)
    elif arr.shape[2] == 4:
        arr = arr[:, :, :3]
    return np.ascontiguousarray(arr)


def load_image(source: ImageInput) -> np.ndarray:
    """Read a path (any format OpenCV reads; EXIF orientation applied) or take an array.

    Returns:
        ``[H, W, 3]`` RGB uint8.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the file cannot be decoded, or the array is not an image (see
            :func:`as_rgb_uint8`).
    """
    if isinstance(source, np.ndarray):
        return as_rgb_uint8(source)
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(f"image: expected a path or a numpy array, got {type(source).__name__}")
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    data = np.fromfile(path, dtype=np.uint8)  # survives non-ASCII paths, unlike cv2.imread
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None or bgr.size == 0:
        raise ValueError(f"image: cannot decode {path} (unreadable or not an image)")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
