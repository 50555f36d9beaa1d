"""SSD anchors for the BlazePose person detector.

The detector's tflite file stores no anchors; MediaPipe generates them with its
``SsdAnchorsCalculator``. Options of the pose detection graph (read from the installed
MediaPipe graph): input 224x224, 5 layers with strides (8, 16, 32, 32, 32), one aspect ratio
(1.0) plus the interpolated-scale anchor, offsets 0.5 and ``fixed_anchor_size`` (every anchor is
1x1 in normalised units). Layers that share a stride share one grid, so the last three layers
give 6 anchors per cell of the 7x7 grid: 28²·2 + 14²·2 + 7²·6 = 2254 anchors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["SsdAnchorOptions", "POSE_DETECTOR_ANCHORS", "ssd_anchors"]


@dataclass(frozen=True)
class SsdAnchorOptions:
    """The subset of MediaPipe's ``SsdAnchorsCalculatorOptions`` the pose detector uses."""

    input_size_wh: tuple[int, int] = (224, 224)
    strides: tuple[int, ...] = (8, 16, 32, 32, 32)
    min_scale: float = 0.1484375
    max_scale: float = 0.75
    anchor_offset: tuple[float, float] = (0.5, 0.5)
    aspect_ratios: tuple[float, ...] = (1.0,)
    interpolated_scale_aspect_ratio: float = 1.0
    fixed_anchor_size: bool = True


POSE_DETECTOR_ANCHORS = SsdAnchorOptions()


def _scale(min_scale: float, max_scale: float, index: int, count: int) -> float:
    if count == 1:
        return (min_scale + max_scale) * 0.5
    return min_scale + (max_scale - min_scale) * index / (count - 1.0)


def ssd_anchors(options: SsdAnchorOptions = POSE_DETECTOR_ANCHORS) -> np.ndarray:
    """Generate SSD anchors.

    Returns:
        ``[N, 4]`` float32 anchors ``(x_center, y_center, width, height)`` in normalised input
        coordinates, ordered layer group → row → column → anchor, as the model outputs them.
    """
    strides: Sequence[int] = options.strides
    if not strides:
        raise ValueError("options.strides: expected at least one stride")
    n_layers = len(strides)
    in_w, in_h = options.input_size_wh
    out: list[np.ndarray] = []
    layer = 0
    while layer < n_layers:
        sizes: list[tuple[float, float]] = []  # (w, h) per anchor in a cell
        last = layer
        # Layers with the same stride share one feature map.
        while last < n_layers and strides[last] == strides[layer]:
            scale = _scale(options.min_scale, options.max_scale, last, n_layers)
            for ratio in options.aspect_ratios:
                sizes.append((scale * math.sqrt(ratio), scale / math.sqrt(ratio)))
            if options.interpolated_scale_aspect_ratio > 0.0:
                nxt = 1.0 if last == n_layers - 1 else _scale(
                    options.min_scale, options.max_scale, last + 1, n_layers)
                s = math.sqrt(scale * nxt)
                r = options.interpolated_scale_aspect_ratio
                sizes.append((s * math.sqrt(r), s / math.sqrt(r)))
            last += 1
        stride = strides[layer]
        fw = math.ceil(in_w / stride)
        fh = math.ceil(in_h / stride)
        ys, xs = np.meshgrid(
            (np.arange(fh) + options.anchor_offset[1]) / fh,
            (np.arange(fw) + options.anchor_offset[0]) / fw,
            indexing="ij",
        )
        n_a = len(sizes)
        grid = np.empty((fh, fw, n_a, 4), dtype=np.float64)
        grid[..., 0] = xs[..., None]
        grid[..., 1] = ys[..., None]
        if options.fixed_anchor_size:
            grid[..., 2:] = 1.0
        else:
            wh = np.asarray(sizes)
            grid[..., 2] = wh[:, 0]
            grid[..., 3] = wh[:, 1]
        out.append(grid.reshape(-1, 4))
        layer = last
    return np.concatenate(out).astype(np.float32)
