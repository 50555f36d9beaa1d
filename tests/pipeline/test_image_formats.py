"""The one image reader reads every accepted format right, and refuses broken files by name.

Every file is written at test time from the bundled photo (downscaled), with Pillow or OpenCV.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, features

from monopose.io.images import IMAGE_SUFFIXES, as_rgb, load_image, read_image

SAMPLE = Path(__file__).resolve().parents[2] / "monopose" / "assets" / "sample_person.jpg"
WIDTH_PX = 160

# Displayed image from the stored one, per EXIF orientation (1-8).
ORIENT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """The sample photo at 160 px wide, ``[H, W, 3]`` uint8 RGB (no ICC profile, no EXIF)."""
    with Image.open(SAMPLE) as im:
        height_px = round(WIDTH_PX * im.height / im.width)
        return np.asarray(im.convert("RGB").resize((WIDTH_PX, height_px), Image.Resampling.LANCZOS))


@pytest.fixture(scope="module")
def gray(photo: np.ndarray) -> np.ndarray:
    """``[H, W]`` uint8 luma of :func:`photo`."""
    return np.asarray(Image.fromarray(photo).convert("L"))


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int32) - b.astype(np.int32))


def _to_16bit(a: np.ndarray, seed: int = 0) -> np.ndarray:
    """uint8 -> uint16 (x 257) with sub-step noise, so that rounding, not clipping, is tested."""
    noise = np.random.default_rng(seed).integers(-128, 129, a.shape)
    return np.clip(a.astype(np.int64) * 257 + noise, 0, 65535).astype(np.uint16)


def _check_rgb(out: np.ndarray, shape: tuple[int, int]) -> None:
    assert out.shape == (*shape, 3) and out.dtype == np.uint8 and out.flags.c_contiguous


# --- formats -------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix, options", [
    (".png", {}), (".bmp", {}), (".tif", {}), (".webp", {"lossless": True}),
])
def test_lossless_formats_are_exact(tmp_path: Path, photo: np.ndarray, suffix: str,
                                    options: dict) -> None:
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(photo).save(path, **options)
    out = read_image(path)
    _check_rgb(out, photo.shape[:2])
    assert np.array_equal(out, photo)


@pytest.mark.parametrize("writer", ["pillow", "opencv"])
def test_16bit_gray_png_is_scaled_not_white(tmp_path: Path, gray: np.ndarray, writer: str) -> None:
    path = tmp_path / "gray16.png"
    if writer == "pillow":
        Image.fromarray(_to_16bit(gray)).save(path)
        assert Image.open(path).mode.startswith("I")  # really 16-bit on disk
    else:
        assert cv2.imwrite(str(path), _to_16bit(gray))
    out = read_image(path)
    _check_rgb(out, gray.shape)
    assert out.mean() < 250 and out.std() > 10  # the old reader returned pure white
    assert _diff(out, gray[..., None]).max() <= 2


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_rgb_png_and_tiff(tmp_path: Path, photo: np.ndarray, suffix: str) -> None:
    path = tmp_path / f"rgb16{suffix}"
    assert cv2.imwrite(str(path), _to_16bit(photo)[..., ::-1])  # OpenCV writes BGR
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    out = read_image(path)
    _check_rgb(out, photo.shape[:2])
    assert _diff(out, photo).max() <= 2


def test_16bit_gray_tiff(tmp_path: Path, gray: np.ndarray) -> None:
    path = tmp_path / "gray16.tif"
    Image.fromarray(_to_16bit(gray)).save(path)
    assert _diff(read_image(path), gray[..., None]).max() <= 2


def test_8bit_gray(tmp_path: Path, gray: np.ndarray) -> None:
    path = tmp_path / "gray.png"
    Image.fromarray(gray).save(path)
    out = read_image(path)
    _check_rgb(out, gray.shape)
    assert all(np.array_equal(out[..., c], gray) for c in range(3))


def _alpha_ramp(shape: tuple[int, int]) -> np.ndarray:
    """``[H, W]`` uint8 alpha: opaque left third, half-transparent middle, transparent right."""
    alpha = np.full(shape, 255, np.uint8)
    third = shape[1] // 3
    alpha[:, third:2 * third] = 128
    alpha[:, 2 * third:] = 0
    return alpha


def _on_white(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha[..., None].astype(np.float64) / 255.0
    return np.round(colour * a + 255.0 * (1.0 - a))


def test_gray_alpha_is_composited_on_white(tmp_path: Path, gray: np.ndarray) -> None:
    alpha = _alpha_ramp(gray.shape)
    path = tmp_path / "gray_alpha.png"
    Image.fromarray(np.dstack([gray, alpha]), mode="LA").save(path)
    out = read_image(path)
    _check_rgb(out, gray.shape)
    assert _diff(out, _on_white(gray[..., None], alpha)).max() <= 1
    assert (out[alpha == 0] == 255).all()


def test_rgba_is_composited_on_white(tmp_path: Path, photo: np.ndarray) -> None:
    alpha = _alpha_ramp(photo.shape[:2])
    path = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([photo, alpha])).save(path)
    out = read_image(path)
    assert np.array_equal(out[alpha == 255], photo[alpha == 255])
    assert _diff(out, _on_white(photo, alpha)).max() <= 1


def test_palette_with_transparency(tmp_path: Path, photo: np.ndarray) -> None:
    pal = Image.fromarray(photo).quantize(colors=32)
    index = np.asarray(pal)
    clear = int(index[0, 0])  # the top-left colour becomes transparent
    path = tmp_path / "palette.png"
    pal.save(path, transparency=clear)
    out = read_image(path)
    colours = np.asarray(pal.convert("RGB"))
    assert (out[index == clear] == 255).all()
    assert np.array_equal(out[index != clear], colours[index != clear])
    assert _diff(out[index != clear], photo[index != clear]).mean() < 12  # 32 colours


def test_one_bit(tmp_path: Path, gray: np.ndarray) -> None:
    bits = Image.fromarray(gray).convert("1")
    path = tmp_path / "bits.png"
    bits.save(path)
    out = read_image(path)
    assert set(np.unique(out)) <= {0, 255}
    assert np.array_equal(out[..., 0], np.asarray(bits).astype(np.uint8) * 255)


def test_cmyk_jpeg_is_not_inverted(tmp_path: Path, photo: np.ndarray) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(photo).convert("CMYK").save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    out = read_image(path)
    _check_rgb(out, photo.shape[:2])
    assert _diff(out.mean(axis=(0, 1)), photo.mean(axis=(0, 1))).max() <= 3
    assert _diff(out, photo).mean() < 4
    opencv = cv2.imread(str(path))[..., ::-1]  # an independent decoder agrees
    assert _diff(out, opencv).mean() < 3


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation(tmp_path: Path, photo: np.ndarray, orientation: int) -> None:
    image = Image.fromarray(photo)
    exif = image.getexif()
    exif[0x0112] = orientation
    path = tmp_path / f"orient{orientation}.jpg"
    image.save(path, quality=95, exif=exif)
    out = read_image(path)
    expected = ORIENT[orientation](photo)
    assert out.shape == expected.shape
    if orientation in (5, 6, 7, 8):
        assert out.shape[:2] == photo.shape[1::-1]  # width and height swapped
    assert _diff(out, expected).mean() < 3
    # Of all 8 ways to show the stored pixels, the expected one matches best.
    errors = {o: _diff(out, f(photo)).mean() for o, f in ORIENT.items()
              if f(photo).shape == out.shape}
    assert min(errors, key=errors.get) == orientation


def test_animated_gif_first_frame(tmp_path: Path, photo: np.ndarray) -> None:
    first, second = Image.fromarray(photo), Image.fromarray(255 - photo)
    path = tmp_path / "anim.gif"
    first.save(path, save_all=True, append_images=[second], duration=100, loop=0)
    assert Image.open(path).n_frames == 2
    out = read_image(path)
    _check_rgb(out, photo.shape[:2])
    assert _diff(out, photo).mean() < 8  # 256-colour palette
    assert _diff(out, 255 - photo).mean() > 50


def test_lossy_webp(tmp_path: Path, photo: np.ndarray) -> None:
    path = tmp_path / "photo.webp"
    Image.fromarray(photo).save(path, quality=90)
    assert _diff(read_image(path), photo).mean() < 5


@pytest.mark.skipif(".avif" not in IMAGE_SUFFIXES, reason="this Pillow has no AVIF support")
def test_avif(tmp_path: Path, photo: np.ndarray) -> None:
    assert features.check_module("avif")
    path = tmp_path / "photo.avif"
    Image.fromarray(photo).save(path, quality=90)
    assert _diff(read_image(path), photo).mean() < 6


def test_suffixes() -> None:
    accepted = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}
    assert accepted <= set(IMAGE_SUFFIXES)


def test_heic_without_support_is_named(tmp_path: Path) -> None:
    path = tmp_path / "IMG_0001.heic"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200))
    with pytest.raises(ValueError, match=r"IMG_0001\.heic.*HEIC.*expected JPEG"):
        read_image(path)


# --- broken files --------------------------------------------------------------------------------

def test_missing_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nothere\.jpg.*no such file"):
        read_image(tmp_path / "nothere.jpg")
    with pytest.raises(ValueError, match="folder"):
        read_image(tmp_path)


def test_zero_byte(tmp_path: Path) -> None:
    (tmp_path / "zero.png").write_bytes(b"")
    with pytest.raises(ValueError, match=r"zero\.png.*empty"):
        read_image(tmp_path / "zero.png")


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_is_refused(tmp_path: Path, photo: np.ndarray, suffix: str) -> None:
    whole = tmp_path / f"whole{suffix}"
    Image.fromarray(photo).save(whole)
    data = whole.read_bytes()
    for fraction in (0.6, 0.05):
        path = tmp_path / f"cut{suffix}"
        path.write_bytes(data[:int(len(data) * fraction)])
        with pytest.raises(ValueError, match=rf"cut\{suffix}.*truncated"):
            read_image(path)


def test_garbage_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.jpg"
    path.write_bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match=r"noise\.jpg.*not a readable image"):
        read_image(path)


def test_text_renamed_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("shopping list:\n- milk\n- eggs\n" * 20, encoding="utf-8")
    with pytest.raises(ValueError, match=r"notes\.png.*not a readable image.*text"):
        read_image(path)


def test_decompression_bomb(tmp_path: Path) -> None:
    """A PNG whose header claims 60000 x 60000 px (10 GB of RGB) is refused before decoding."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    with pytest.raises(ValueError, match=r"bomb\.png.*too large"):
        read_image(path)


# --- the 2D front end reads through the same reader ----------------------------------------------

def test_load_image_delegates(tmp_path: Path, photo: np.ndarray) -> None:
    path = tmp_path / "gray16.png"
    Image.fromarray(_to_16bit(photo[..., 1])).save(path)
    assert np.array_equal(load_image(path), read_image(path))
    assert np.array_equal(load_image(str(path)), read_image(path))
    assert np.array_equal(load_image(photo), photo)
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "missing.jpg")
    (tmp_path / "junk.jpg").write_bytes(b"\x00\x01junk")
    with pytest.raises(ValueError, match="junk"):
        load_image(tmp_path / "junk.jpg")
    with pytest.raises(ValueError):
        load_image(42)  # type: ignore[arg-type]


# --- arrays --------------------------------------------------------------------------------------

def test_array_conversions() -> None:
    assert np.array_equal(as_rgb(np.array([[0, 257, 65535]], np.uint16))[0, :, 0], [0, 1, 255])
    assert np.array_equal(as_rgb(np.array([[0.0, np.nan, 0.5, 1.0, 1.2]], np.float32))[0, :, 0],
                          [0, 0, 128, 255, 255])
    assert np.array_equal(as_rgb(np.array([[True, False]]))[0, :, 0], [255, 0])
    assert np.array_equal(as_rgb(np.array([[-5, 300]], np.int32))[0, :, 0], [0, 255])
    transparent = np.zeros((2, 2, 4), np.uint8)
    assert (as_rgb(transparent) == 255).all()  # alpha 0 -> the white behind
    with pytest.raises(ValueError, match=r"frame\.npy.*divide 0-255 data by 255"):
        as_rgb(np.full((2, 2, 3), 200.0), "frame.npy")
    with pytest.raises(ValueError, match="empty"):
        as_rgb(np.zeros((0, 7, 3), np.uint8))
    with pytest.raises(ValueError, match="pixel type"):
        as_rgb(np.zeros((2, 2, 3), np.complex64))


_SIDE = st.integers(1, 6)
_DTYPES = st.sampled_from([np.uint8, np.uint16, np.float32, np.bool_])


def _elements(dtype: type) -> st.SearchStrategy:
    if dtype is np.float32:
        return st.floats(0.0, 1.0, width=32) | st.just(float("nan"))
    return hnp.from_dtype(np.dtype(dtype))


@st.composite
def _images(draw: st.DrawFn) -> np.ndarray:
    dtype = draw(_DTYPES)
    shape = (draw(_SIDE), draw(_SIDE)) + draw(st.sampled_from([(), (1,), (3,), (4,)]))
    return draw(hnp.arrays(dtype, shape, elements=_elements(dtype)))


@settings(deadline=None, max_examples=150)
@given(_images())
def test_as_rgb_accepts_images(image: np.ndarray) -> None:
    out = as_rgb(image)
    _check_rgb(out, image.shape[:2])
    if image.ndim == 2 or image.shape[2] == 1:
        assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 0], out[..., 2])
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        assert np.array_equal(out, image)


@st.composite
def _bad_shapes(draw: st.DrawFn) -> tuple[int, ...]:
    ndim = draw(st.sampled_from([0, 1, 3, 4]))
    if ndim == 3:
        return (draw(_SIDE), draw(_SIDE), draw(st.sampled_from([0, 2, 5, 6])))
    return tuple(draw(_SIDE) for _ in range(ndim))


@settings(deadline=None, max_examples=100)
@given(_bad_shapes(), _DTYPES)
def test_as_rgb_refuses_other_shapes(shape: tuple[int, ...], dtype: type) -> None:
    with pytest.raises(ValueError, match="expected an"):
        as_rgb(np.zeros(shape, dtype))
