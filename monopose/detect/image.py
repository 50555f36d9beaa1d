"""Input images for the 2D front end: the names it has always used, one reader underneath.

Decoding and conversion live in :mod:`monopose.io.images`; this module keeps the front end's
API (``load_image`` raises :class:`FileNotFoundError` for a missing path).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from monopose.io.images import as_rgb, read_image

__all__ = ["ImageInput", "load_image", "as_rgb_uint8"]

ImageInput = str | os.PathLike | np.ndarray


def as_rgb_uint8(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Bring an array to contiguous ``[H, W, 3]`` RGB uint8.

    The rules (dtypes, alpha on white) are :func:`monopose.io.images.as_rgb`'s.

    Raises:
        ValueError: empty image, wrong number of dimensions or channels, unsupported dtype.
    """
    return as_rgb(image, name)


def load_image(source: ImageInput) -> np.ndarray:
    """Read a path (frame 0, EXIF orientation applied) or take an array.

    Returns:
        ``[H, W, 3]`` RGB uint8.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the file cannot be decoded, or the array is not an image (see
            :func:`~monopose.io.images.read_image`).
    """
    if isinstance(source, (str, os.PathLike)) and not Path(source).exists():
        raise FileNotFoundError(f"image file not found: {Path(source)}")
    return read_image(source)
