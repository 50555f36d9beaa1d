"""Reading images: paths or arrays in, ``[H, W, 3]`` uint8 RGB out.

The one image reader of the package (the 2D front end's ``load_image`` delegates here). Files are
decoded with Pillow, frame 0 for animations, with the EXIF orientation applied. Conversions:

* 16-bit samples are scaled to 8 bits (``/ 257``), never clipped (a clipped 16-bit photo is white).
* Gray, 1-bit, palette and CMYK become RGB; transparency (alpha, or a palette/tRNS transparent
  colour) is composited on white, which is what an image viewer shows behind a cut-out.
* Anything unreadable - missing, empty, truncated, not an image, a format this installation lacks,
  or a decompression-bomb sized image - raises :class:`ValueError` naming the file.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError, features

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "ImageInput", "read_image", "load_image", "as_rgb"]

# A path to an image file, or an already-decoded array.
ImageInput = str | os.PathLike | np.ndarray

# Pillow reads AVIF natively only when built with libavif.
_AVIF = "avif" in features.modules and bool(features.check_module("avif"))
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif") + (
    (".avif",) if _AVIF else ())
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
EXPECTED_FORMATS = "JPEG, PNG, BMP, WebP, TIFF, GIF" + (", AVIF" if _AVIF else "")

# Floats are taken as [0, 1]; a little overshoot (resampling) is clipped, more means 0-255 data.
_FLOAT_MAX = 2.0
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
_ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")
_CONTROL_BYTES = bytes(sorted(set(range(32)) - {9, 10, 12, 13}))  # absent from text files
# ISO-BMFF brands (bytes 8-12 after "ftyp") of still-image formats Pillow may lack.
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")
_AVIF_BRANDS = (b"avif", b"avis")


def as_rgb(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Bring an image array to contiguous ``[H, W, 3]`` uint8 RGB.

    Args:
        image: ``[H, W]`` / ``[H, W, 1]`` gray, ``[H, W, 3]`` RGB or ``[H, W, 4]`` RGBA (alpha
            composited on white). uint8 is taken as is; uint16 is scaled by ``1 / 257``; floats
            are taken as [0, 1] (NaN -> 0, small overshoot clipped); bool is 0 / 255; other
            integer types are clipped to [0, 255].
        name: Named in error messages (the file, when the array came from one).

    Raises:
        ValueError: naming ``name`` for an empty image, an unsupported shape or dtype, or float
            values far above 1 (0-255 data that would otherwise turn white).
    """
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(f"{name}: expected an [H, W], [H, W, 1], [H, W, 3] (RGB) or "
                         f"[H, W, 4] (RGBA) image, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name}: the image is empty ({arr.shape[1]}x{arr.shape[0]} px)")
    arr = _to_uint8(arr, name)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    elif arr.shape[2] == 4:
        arr = _on_white(arr)
    return np.ascontiguousarray(arr)


def read_image(image: str | os.PathLike | np.ndarray) -> np.ndarray:
    """Read an image file (frame 0, EXIF orientation applied) or pass an array to :func:`as_rgb`.

    Returns:
        ``[H, W, 3]`` uint8 RGB.

    Raises:
        ValueError: naming the file when it is missing, empty, truncated, not an image, in a
            format this installation cannot decode, or too large to decode safely.
    """
    if isinstance(image, np.ndarray):
        return as_rgb(image)
    if not isinstance(image, (str, os.PathLike)):
        raise ValueError(f"image: expected a path or a numpy array, got {type(image).__name__}")
    path = Path(image)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not an image file")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not data:
        raise ValueError(f"{path}: the file is empty (0 bytes), no image in it")
    return _pixels(_open(data, str(path)), str(path))


def load_image(source: ImageInput) -> np.ndarray:
    """:func:`read_image`, but a missing path is a :class:`FileNotFoundError` (the 2D front
    end's contract).

    Returns:
        ``[H, W, 3]`` RGB uint8.
    """
    if isinstance(source, str | os.PathLike) and not Path(source).exists():
        raise FileNotFoundError(f"image file not found: {Path(source)}")
    return read_image(source)


def _to_uint8(arr: np.ndarray, name: str) -> np.ndarray:
    """Scale any supported dtype to uint8, shape unchanged."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * np.uint8(255)
    if arr.dtype == np.uint16:
        return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)  # rounded 65535 -> 255
    if np.issubdtype(arr.dtype, np.floating):
        arr = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        peak = float(arr.max())
        if peak > _FLOAT_MAX:
            raise ValueError(f"{name}: float images must hold values in [0, 1], got values up "
                             f"to {peak:g}; divide 0-255 data by 255 or pass uint8")
        return (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        return np.clip(arr, 0, 255).astype(np.uint8)
    raise ValueError(f"{name}: unsupported pixel type {arr.dtype}; expected uint8, uint16, "
                     f"float or bool")


def _on_white(rgba: np.ndarray) -> np.ndarray:
    """``[H, W, 4]`` uint8 RGBA -> ``[H, W, 3]`` uint8 RGB composited on white (rounded)."""
    if (rgba[..., 3] == 255).all():
        return rgba[..., :3]
    colour = rgba[..., :3].astype(np.uint32)
    alpha = rgba[..., 3:].astype(np.uint32)
    return ((colour * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)


def _open(data: bytes, name: str) -> Image.Image:
    """Decode frame 0 of an encoded image and apply its EXIF orientation."""
    try:
        im = Image.open(io.BytesIO(data))
        im.load()  # decode now so a truncated or corrupt file fails here, with its name
    except Image.DecompressionBombError as exc:
        raise ValueError(f"{name}: the image is too large to decode safely ({exc}); "
                         f"downscale it first") from exc
    except UnidentifiedImageError as exc:
        raise ValueError(f"{name}: not a readable image: {_describe_unreadable(data)}; "
                         f"expected {EXPECTED_FORMATS}") from exc
    except Exception as exc:  # Pillow raises OSError, SyntaxError, EOFError, ... for bad data
        if isinstance(exc, EOFError) or "truncated" in str(exc).lower():
            raise ValueError(f"{name}: not a readable image: the file is truncated (an "
                             f"incomplete download or copy?); copy or export it again") from exc
        raise ValueError(f"{name}: not a readable image ({type(exc).__name__}: {exc})") from exc
    try:
        return ImageOps.exif_transpose(im)
    except Exception:  # a malformed EXIF block should not cost the pixels
        return im


def _pixels(im: Image.Image, name: str) -> np.ndarray:
    """A decoded Pillow image -> ``[H, W, 3]`` uint8 RGB."""
    mode = im.mode
    try:
        if mode in _SIXTEEN_BIT_MODES:
            arr = np.asarray(im)  # uint16; as_rgb scales by 1 / 257
        elif mode == "I":  # 32-bit int: how Pillow holds 16-bit gray from some encoders
            arr = np.clip(np.asarray(im), 0, 65535).astype(np.uint16)
        elif mode in ("1", "L", "F"):
            arr = np.asarray(im)
        elif mode in _ALPHA_MODES or "transparency" in im.info:
            arr = np.asarray(im.convert("RGBA"))  # P, L, RGB with a transparent colour too
        else:  # RGB, P, CMYK (Adobe-inverted JPEGs are handled by Pillow), YCbCr, ...
            arr = np.asarray(im.convert("RGB"))
    except ValueError as exc:  # Pillow: "conversion from X to RGB not supported"
        raise ValueError(f"{name}: unsupported colour mode {mode} ({exc})") from exc
    return as_rgb(arr, name)


def _describe_unreadable(data: bytes) -> str:
    """Name what a file Pillow cannot identify looks like, from its first bytes."""
    head = data[:1024]
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "HEIC/HEIF is not supported by this installation (convert it to JPEG)"
        if brand in _AVIF_BRANDS:
            return "AVIF is not supported by this installation (convert it to JPEG or PNG)"
        return "this looks like a video (MP4/MOV); videos are read frame by frame, not as images"
    if head.startswith(b"\x1a\x45\xdf\xa3") or (head[:4] == b"RIFF" and head[8:12] == b"AVI "):
        return "this looks like a video (Matroska/WebM/AVI), not an image"
    if head.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")):
        return "JPEG XL is not supported by this installation (convert it to JPEG or PNG)"
    if head.startswith(b"%PDF"):
        return "this is a PDF document, not an image"
    if b"<svg" in head.lower():
        return "SVG vector graphics are not supported (export it to PNG)"
    if head.translate(None, _CONTROL_BYTES) == head:
        return "the file holds text, not image data"
    return "unknown or corrupt format"
