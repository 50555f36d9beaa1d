"""The poses a synthetic dataset renders: world poses with one id each, e.g. a mocap split."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monopose.data.floor_sits import sit_on_floor
from monopose.data.mocap_cache import MocapCache
from monopose.data.postures import POSTURES, posture_of

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
                   sources: Sequence[str] | None = None,
                   postures: Sequence[str] | None = None) -> PoseSource:
        """The de-duplicated frames of ``split`` in a mocap cache (``mocap.npz`` or its folder).

        Args:
            path: The cache.
            split: ``train``, ``val`` or ``test``.
            sources: Keep only these licence tags; None keeps all.
            postures: Keep only frames of these postures (:data:`monopose.data.postures.POSTURES`,
                e.g. ``("low", "floor", "lying")`` for people not standing); None keeps all.

        Raises:
            FileNotFoundError: no cache. ValueError: an unknown posture, or no frames left.
        """
        cache = MocapCache.load(path)
        clips = cache.select_clips(split, sources)
        frames = cache.window_starts(clips, 1, single_frame_index=True)
        name = f"{Path(path).name}:{split}"
        if postures is not None:
            unknown = sorted(set(postures) - set(POSTURES))
            if unknown or not postures:
                raise ValueError(f"postures: expected some of {', '.join(POSTURES)}, got "
                                 f"{', '.join(postures) or 'none'}")
            wanted = [POSTURES.index(p) for p in postures]
            frames = frames[np.isin(posture_of(cache.poses_mm[frames]), wanted)]
            name += ":" + "+".join(postures)
        if len(frames) == 0:
            raise ValueError(f"split {split!r}: the mocap cache {path} has no frames for it"
                             + ("" if postures is None else f" in postures {list(postures)}"))
        c = cache.frame_clip[frames]
        ids = [f"{cache.clip_source[k]}/{cache.clip_name[k]}/{cache.clip_action[k]}/"
               f"{int(cache.frame_index[f])}" for k, f in zip(c, frames, strict=True)]
        return cls(cache.poses_mm[frames], ids, name=name)

    def sat_on_floor(self, seed: int) -> PoseSource:
        """Every pose's upper body on legs laid out on the floor (sitting or kneeling,
        :func:`monopose.data.floor_sits.sit_on_floor`), drawn from ``seed``; ids end in
        ``/floor-sit``."""
        sat, _ = sit_on_floor(self.poses_mm[:, None].astype(np.float64),
                              np.random.default_rng(seed), prob=1.0)
        return PoseSource(sat[:, 0], [f"{i}/floor-sit" for i in self.ids],
                          name=f"{self.name}:floor-sits")

    def digest(self) -> str:
        h = hashlib.sha1(np.ascontiguousarray(self.poses_mm).tobytes())
        h.update("\n".join(self.ids).encode())
        return h.hexdigest()[:16]
