"""Random backgrounds (uint8 RGB): crops of photographs and procedural textures.

The photographs are those bundled inside scikit-image (``skimage/data``; only files present in the
wheel — images fetched on demand are never used; the two photos that show people are excluded);
the procedural textures are value noise, stripes, gradients and checkerboards. Every draw takes a
``numpy.random.Generator``, so a background is a pure function of its generator's state.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import imageio.v3 as iio
import numpy as np

from monopose.data.synthetic.render import require_render_extra

__all__ = ["BackgroundBank", "BUNDLED_PHOTOS"]

# Photos in scikit-image's wheel (not downloaded on demand); astronaut and camera show people.
BUNDLED_PHOTOS: tuple[str, ...] = (
    "brick.png", "chelsea.png", "coffee.png", "grass.png", "gravel.png",
    "hubble_deep_field.jpg", "motorcycle_left.png", "motorcycle_right.png", "rocket.jpg",
    "coins.png", "moon.png", "page.png", "text.png", "color.png", "clock_motion.png", "cell.png",
    "retina.jpg", "ihc.png", "chessboard_RGB.png",
)


class BackgroundBank:
    """Random background images of a given size (uint8 RGB).

    Args:
        use_photos: Load the bundled scikit-image photographs (:data:`BUNDLED_PHOTOS`); without
            scikit-image, or with False, only procedural textures are made.
    """

    def __init__(self, use_photos: bool = True) -> None:
        self.photos: list[np.ndarray] = []
        if use_photos:
            skimage = require_render_extra("skimage")
            folder = Path(skimage.__file__).parent / "data"
            for name in BUNDLED_PHOTOS:
                path = folder / name
                if not path.is_file():
                    continue
                img = np.asarray(iio.imread(path))
                if img.ndim == 2:
                    img = np.repeat(img[..., None], 3, axis=2)
                self.photos.append(np.ascontiguousarray(img[..., :3].astype(np.uint8)))

    def sample(self, rng: np.random.Generator, size_wh: tuple[int, int],
               photo_prob: float = 0.6) -> np.ndarray:
        """``[H, W, 3]`` uint8 background."""
        w, h = size_wh
        if self.photos and rng.random() < photo_prob:
            return self._photo(rng, w, h)
        kind = rng.integers(4)
        if kind == 0:
            img = _value_noise(rng, w, h)
        elif kind == 1:
            img = _stripes(rng, w, h)
        elif kind == 2:
            img = _gradient(rng, w, h)
        else:
            img = _checker(rng, w, h)
        return np.clip(img * 255.0, 0, 255).astype(np.uint8)

    def _photo(self, rng: np.random.Generator, w: int, h: int) -> np.ndarray:
        src = self.photos[rng.integers(len(self.photos))]
        sh, sw = src.shape[:2]
        scale = rng.uniform(0.4, 1.0)
        cw, ch = max(8, int(sw * scale)), max(8, int(sh * scale))
        side = min(cw, ch)
        cw = ch = side  # square crop, then resize to the output aspect ratio
        x0 = rng.integers(0, sw - cw + 1)
        y0 = rng.integers(0, sh - ch + 1)
        crop = src[y0:y0 + ch, x0:x0 + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        img = cv2.resize(np.ascontiguousarray(crop), (w, h), interpolation=cv2.INTER_AREA)
        gain = rng.uniform(0.88, 1.12, 3) * rng.uniform(0.75, 1.15)  # mild tint, exposure
        return np.clip(img.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def _two_colors(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    a = rng.uniform(0.05, 0.95, 3)
    b = np.clip(a + rng.normal(0.0, 0.35, 3), 0, 1)
    return a, b


def _value_noise(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    acc = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    cells = int(rng.integers(2, 6))
    for _ in range(4):
        grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
        acc += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
        cells *= 2
    t = np.clip(acc / total, 0, 1)[..., None]
    a, b = _two_colors(rng)
    return a * (1 - t) + b * t


def _stripes(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, np.pi)
    period = rng.uniform(6.0, 60.0)
    phase = (xx * np.cos(ang) + yy * np.sin(ang)) / period
    t = (0.5 + 0.5 * np.sin(2 * np.pi * phase)) if rng.random() < 0.5 else (
        np.floor(phase) % 2)
    a, b = _two_colors(rng)
    return a * (1 - t[..., None]) + b * t[..., None]


def _gradient(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    p = xx * np.cos(ang) + yy * np.sin(ang)
    t = ((p - p.min()) / max(float(p.max() - p.min()), 1e-6))[..., None]
    a, b = _two_colors(rng)
    return a * (1 - t) + b * t


def _checker(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    s = int(rng.integers(8, 48))
    t = (((xx // s) + (yy // s)) % 2).astype(np.float32)[..., None]
    a, b = _two_colors(rng)
    return a * (1 - t) + b * t
