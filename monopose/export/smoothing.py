"""Temporal smoothing of joint trajectories before fitting rotations.

Two filters, both applied per joint and coordinate over the frames, each contiguous run of finite
values on its own (NaN gaps are left as they are):

* ``"savgol"`` (default for export): Savitzky–Golay (``scipy.signal.savgol_filter``), a centred
  local polynomial fit. Offline and without lag; keeps peaks better than a moving average.
  Defaults: window ≈ 0.3 s (9 frames at 30 fps), polynomial order 2.
* ``"one_euro"``: the One-Euro filter (Casiez et al., CHI 2012), causal and adaptive: a low
  cut-off when a joint moves slowly (less jitter), a higher one when it moves fast (less lag).
  Defaults for millimetres: ``min_cutoff`` 1 Hz, ``beta`` 0.005 per mm/s, ``d_cutoff`` 1 Hz.
* ``"off"``: positions unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["SMOOTHING_METHODS", "smooth_positions", "savgol_smooth", "one_euro_smooth",
           "jitter"]

SMOOTHING_METHODS = ("off", "savgol", "one_euro")


def _runs(ok: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` of each run of True in a 1-D bool array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def savgol_smooth(x: np.ndarray, fps: float, window_s: float = 0.3, polyorder: int = 2
                  ) -> np.ndarray:
    """Savitzky–Golay smoothing of ``x [F, ...]`` along frames (NaN-aware by runs).

    The window is ``window_s`` seconds rounded to an odd frame count (at least ``polyorder + 2``);
    runs shorter than that use the longest odd window that fits, runs too short stay raw.
    """
    from scipy.signal import savgol_filter  # heavy: 0.7 s of import, only when smoothing

    x = np.asarray(x, dtype=np.float64)
    out = x.copy()
    flat = out.reshape(x.shape[0], -1)
    src = x.reshape(x.shape[0], -1)
    window = max(polyorder + 2, int(round(window_s * fps)))
    window += 1 - window % 2
    for c in range(flat.shape[1]):
        for a, b in _runs(np.isfinite(src[:, c])):
            w = min(window, b - a if (b - a) % 2 else b - a - 1)
            if w <= polyorder:
                continue
            flat[a:b, c] = savgol_filter(src[a:b, c], w, polyorder, mode="interp")
    return out


def _alpha(cutoff_hz: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2 * math.pi * np.asarray(cutoff_hz))
    return 1.0 / (1.0 + tau / dt)


def one_euro_smooth(x: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = 0.005,
                    d_cutoff: float = 1.0) -> np.ndarray:
    """One-Euro filter of ``x [F, J, D]`` along frames; the speed is the norm over ``D`` (one
    cut-off per joint). A NaN frame restarts the filter of that joint."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x: expected [F, J, D], got {x.shape}")
    dt = 1.0 / fps
    out = x.copy()
    prev = x[0].copy()
    dprev = np.zeros(x.shape[1:])
    a_d = _alpha(d_cutoff, dt)
    for f in range(1, x.shape[0]):
        cur = x[f]
        fresh = ~np.isfinite(prev).all(-1)  # restart after a gap
        dx = (cur - prev) / dt
        dhat = a_d * dx + (1 - a_d) * dprev
        speed = np.linalg.norm(dhat, axis=-1, keepdims=True)
        a = _alpha(min_cutoff + beta * speed, dt)
        y = a * cur + (1 - a) * prev
        y = np.where(fresh[:, None], cur, y)
        dhat = np.where(fresh[:, None] | ~np.isfinite(dhat), 0.0, dhat)
        out[f] = y
        prev, dprev = y, dhat
    return out


def smooth_positions(positions: np.ndarray, fps: float, method: str = "savgol",
                     **params: Any) -> np.ndarray:
    """Smooth ``positions [F, J, 3]`` over frames with ``method`` (see the module docstring).

    Raises:
        ValueError: unknown ``method``, a wrong shape or a non-positive ``fps``.
    """
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[-1] != 3:
        raise ValueError(f"positions: expected [F, J, 3], got {positions.shape}")
    if not fps > 0:
        raise ValueError(f"fps: expected > 0, got {fps}")
    if method == "off" or positions.shape[0] < 3:
        if method not in SMOOTHING_METHODS:
            raise ValueError(f"method: expected one of {SMOOTHING_METHODS}, got {method!r}")
        return positions.copy()
    if method == "savgol":
        return savgol_smooth(positions, fps, **params)
    if method == "one_euro":
        return one_euro_smooth(positions, fps, **params)
    raise ValueError(f"method: expected one of {SMOOTHING_METHODS}, got {method!r}")


def jitter(positions: np.ndarray) -> float:
    """Mean norm of the second difference over frames (acceleration per frame², same unit):
    a simple jitter measure for ``[F, J, 3]``; NaN-free frames only."""
    acc = np.linalg.norm(np.diff(np.asarray(positions, dtype=np.float64), 2, axis=0), axis=-1)
    return float(np.nanmean(acc))
