"""The mocap cache file ``mocap.npz`` loaded: H36M-17 world poses in mm, clip by clip, with the
single-frame index and the split of every clip (written by
:func:`monopose.data.mocap_cache.build_mocap_cache`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["CACHE_NAME", "SPLITS", "CacheBuildReport", "MocapCache"]

CACHE_NAME = "mocap.npz"
SPLITS = ("train", "val", "test")


@dataclass
class CacheBuildReport:
    """What a build did. ``skipped`` lists ``(file name, reason)``."""

    path: Path
    rebuilt: bool
    num_files: int = 0
    num_clips: int = 0
    num_frames: int = 0
    num_single: int = 0
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    frames_per_split: dict[str, int] = field(default_factory=dict)
    single_per_split: dict[str, int] = field(default_factory=dict)


class MocapCache:
    """A loaded mocap cache (arrays as written by
    :func:`~monopose.data.mocap_cache.build_mocap_cache`).

    Attributes:
        poses_mm: ``[N, 17, 3]`` float32 world poses of all clips, concatenated.
        keep: ``[N]`` bool single-frame index mask.
        clip_start, clip_length: ``[C]`` int64 slices of each clip in ``poses_mm``.
        clip_*: ``[C]`` per-clip metadata (name, source, subject, action, style, split, fps).
        meta: Build metadata (hash, options, skipped files, axis convention).
    """

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        required = ("poses_mm", "keep", "clip_start", "clip_length", "clip_source",
                    "clip_split", "clip_name", "meta_json")
        for key in required:
            if key not in arrays:
                raise ValueError(f"mocap cache: missing array {key!r}")
        self.poses_mm = np.asarray(arrays["poses_mm"], dtype=np.float32)
        self.frame_index = np.asarray(arrays.get("frame_index", np.arange(len(self.poses_mm))))
        self.keep = np.asarray(arrays["keep"], dtype=bool)
        self.clip_start = np.asarray(arrays["clip_start"], dtype=np.int64)
        self.clip_length = np.asarray(arrays["clip_length"], dtype=np.int64)
        n_clips = len(self.clip_start)
        empty = np.array([""] * n_clips)
        self.clip_fps = np.asarray(arrays.get("clip_fps", np.zeros(n_clips)), dtype=np.float32)
        self.clip_name = np.asarray(arrays["clip_name"]).astype(str)
        self.clip_source = np.asarray(arrays["clip_source"]).astype(str)
        self.clip_subject = np.asarray(arrays.get("clip_subject", empty)).astype(str)
        self.clip_action = np.asarray(arrays.get("clip_action", empty)).astype(str)
        self.clip_style = np.asarray(arrays.get("clip_style", empty)).astype(str)
        self.clip_split = np.asarray(arrays["clip_split"]).astype(str)
        self.meta: dict = json.loads(str(arrays["meta_json"]))
        # Clip id of every frame.
        self.frame_clip = np.repeat(np.arange(n_clips), self.clip_length)

    @classmethod
    def load(cls, path: str | Path) -> MocapCache:
        """Load ``path`` (a ``mocap.npz`` or the folder holding it)."""
        path = Path(path)
        if path.is_dir():
            path = path / CACHE_NAME
        if not path.exists():
            raise FileNotFoundError(
                f"mocap cache {path} does not exist; build it with `monopose data mocap`"
            )
        with np.load(path, allow_pickle=False) as z:
            return cls({k: z[k] for k in z.files})

    def select_clips(self, split: str | Sequence[str] | None = None,
                     sources: Sequence[str] | None = None) -> np.ndarray:
        """Indices of the clips in ``split`` (name or names; None = all) from ``sources``."""
        mask = np.ones(len(self.clip_start), dtype=bool)
        if split is not None:
            splits = [split] if isinstance(split, str) else list(split)
            for s in splits:
                if s not in SPLITS:
                    raise ValueError(f"split: expected one of {SPLITS}, got {s!r}")
            mask &= np.isin(self.clip_split, splits)
        if sources is not None:
            mask &= np.isin(self.clip_source, list(sources))
        return np.flatnonzero(mask)

    def window_starts(self, clips: np.ndarray, window: int, stride: int = 1,
                      single_frame_index: bool = False) -> np.ndarray:
        """Global frame indices where a window of ``window`` frames, ``stride`` apart, fits
        inside one clip. With ``single_frame_index`` (only for ``window == 1``) only the frames
        kept by duplicate dropping are returned."""
        if window < 1 or stride < 1:
            raise ValueError(f"window/stride: expected >= 1, got {window}/{stride}")
        span = (window - 1) * stride
        out = []
        for c in clips:
            s, n = int(self.clip_start[c]), int(self.clip_length[c])
            if n > span:
                idx = np.arange(s, s + n - span)
                if single_frame_index and window == 1:
                    idx = idx[self.keep[idx]]
                out.append(idx)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def report(self, path: Path, rebuilt: bool) -> CacheBuildReport:
        frames_split = {s: int(self.clip_length[self.clip_split == s].sum()) for s in SPLITS}
        single_split = {s: int(self.keep[np.isin(self.frame_clip,
                                                  np.flatnonzero(self.clip_split == s))].sum())
                        for s in SPLITS}
        return CacheBuildReport(
            path=path,
            rebuilt=rebuilt,
            num_files=int(self.meta.get("num_files", 0)),
            num_clips=len(self.clip_start),
            num_frames=int(len(self.poses_mm)),
            num_single=int(self.keep.sum()),
            skipped=[(str(x[0]), str(x[1])) for x in self.meta.get("skipped", [])],
            frames_per_split=frames_split,
            single_per_split=single_split,
        )
