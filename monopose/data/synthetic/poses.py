"""The poses a synthetic dataset renders: world poses with one id each, e.g. a mocap split."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monopose.data.mocap_cache import MocapCache

__all__ = ["PoseSource"]


@dataclass
class PoseSource:
    """World poses to render: ``poses_mm [N, 17, 3]`` (h36m17, Z up, mm) and one id per pose
    (``"source/clip/action/frame"``; the first part is the licence tag)."""

    poses_mm: np.ndarray
    ids: list[str]
    name: str = "poses"

    def __post_init__(self) -> None:
        p = np.asarray(self.poses_mm, dtype=np.float32)
        if p.ndim != 3 or p.shape[1:] != (17, 3):
            raise ValueError(f"poses_mm: expected [N, 17, 3], got {p.shape}")
        if len(p) == 0:
            raise ValueError("poses_mm: the pose source is empty (no pose to render)")
        if len(self.ids) != len(p):
            raise ValueError(f"ids: expected {len(p)} entries, got {len(self.ids)}")
        self.poses_mm = p

    @classmethod
    def from_cache(cls, path: str | Path, split: str = "train",
                   sources: Sequence[str] | None = None) -> PoseSource:
        """The de-duplicated frames of ``split`` in a mocap cache (``mocap.npz`` or its folder).

        Raises:
            FileNotFoundError: no cache. ValueError: the split has no frames.
        """
        cache = MocapCache.load(path)
        clips = cache.select_clips(split, sources)
        frames = cache.window_starts(clips, 1, single_frame_index=True)
        if len(frames) == 0:
            raise ValueError(f"split {split!r}: the mocap cache {path} has no frames for it")
        c = cache.frame_clip[frames]
        ids = [f"{cache.clip_source[k]}/{cache.clip_name[k]}/{cache.clip_action[k]}/"
               f"{int(cache.frame_index[f])}" for k, f in zip(c, frames, strict=True)]
        return cls(cache.poses_mm[frames], ids, name=f"{Path(path).name}:{split}")

    def digest(self) -> str:
        h = hashlib.sha1(np.ascontiguousarray(self.poses_mm).tobytes())
        h.update("\n".join(self.ids).encode())
        return h.hexdigest()[:16]
