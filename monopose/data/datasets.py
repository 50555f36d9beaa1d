"""Torch datasets over the mocap sampler and fixed evaluation sets.

* :class:`MocapBatchDataset` — an ``IterableDataset`` yielding *ready batches* (dicts of tensors);
  use it with ``DataLoader(ds, batch_size=None, num_workers=k)``. Each worker draws from its own
  generator seeded by ``(seed, epoch, worker id)``, so a run is reproducible for a given
  ``num_workers``; the workers split the epoch's batches between them.
* :class:`PoseBatchDataset` — a map-style dataset over a fixed :class:`PoseBatch` (e.g. from
  :func:`monopose.data.sampler.make_eval_batch`), with :func:`collate_samples`.

Tensor dict keys: ``keypoints_2d_px [B,T,J,2]``, ``keypoints_2d_gt_px``, ``valid_2d [B,T,J]``
(bool), ``pose_3d_cam_mm [B,T,J,3]``, ``intrinsics [B,4]``, ``image_size_px [B,2]``,
``dist [B,5]``, plus ``ids`` and ``licence`` (lists of str). With ``lifter_inputs=True`` also
``keypoints_2d_norm [B,T,J,2]`` (:func:`monopose.core.normalize.normalize_keypoints` of the
noisy 2D), ``center_px [B,2]``, ``scale_px [B]`` and ``pose_3d_rel_m [B,T,J,3]`` (root-relative,
metres: the lifter target).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from monopose.core.normalize import normalize_keypoints
from monopose.data.mocap_store import MocapCache
from monopose.data.sample import PoseBatch
from monopose.data.sampler import MocapSampler, SamplerConfig

__all__ = ["batch_to_tensors", "MocapBatchDataset", "PoseBatchDataset", "collate_samples"]

_ARRAYS = ("keypoints_2d_px", "keypoints_2d_gt_px", "valid_2d", "pose_3d_cam_mm", "intrinsics",
           "image_size_px", "dist")


def batch_to_tensors(batch: PoseBatch, lifter_inputs: bool = True) -> dict[str, Any]:
    """A :class:`PoseBatch` as a dict of tensors (see the module docstring for the keys)."""
    out: dict[str, Any] = {k: torch.from_numpy(np.ascontiguousarray(getattr(batch, k)))
                           for k in _ARRAYS}
    out["ids"] = list(batch.ids)
    out["licence"] = list(batch.licence)
    if lifter_inputs:
        norm, center, scale = normalize_keypoints(batch.keypoints_2d_px, batch.valid_2d)
        out["keypoints_2d_norm"] = torch.from_numpy(norm.astype(np.float32))
        out["center_px"] = torch.from_numpy(np.asarray(center, np.float32))
        out["scale_px"] = torch.from_numpy(np.asarray(scale, np.float32))
        rel_m = batch.pose_3d_rel_mm / 1000.0
        out["pose_3d_rel_m"] = torch.from_numpy(rel_m.astype(np.float32))
    return out


class MocapBatchDataset(IterableDataset):
    """Endless or fixed-length stream of sampled batches.

    Args:
        cache_path: Mocap cache (``mocap.npz`` or its folder).
        split: Split name(s).
        window: Frames per sample.
        batch_size: Samples per yielded batch.
        config: Sampler settings.
        seed: Base seed.
        batches_per_epoch: Batches per epoch over all workers; None streams forever.
        lifter_inputs: Add normalised 2D and the metric root-relative target.
    """

    def __init__(
        self,
        cache_path: str | Path,
        split: str | Sequence[str] = "train",
        window: int = 1,
        batch_size: int = 256,
        config: SamplerConfig | None = None,
        seed: int = 0,
        batches_per_epoch: int | None = 1000,
        lifter_inputs: bool = True,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
        if batches_per_epoch is not None and batches_per_epoch < 1:
            raise ValueError(f"batches_per_epoch: expected >= 1 or None, got {batches_per_epoch}")
        self.cache_path = cache_path
        self.split = split
        self.window = window
        self.batch_size = batch_size
        self.config = config or SamplerConfig()
        self.seed = seed
        self.batches_per_epoch = batches_per_epoch
        self.lifter_inputs = lifter_inputs
        self.epoch = 0
        self._sampler: MocapSampler | None = None

    def set_epoch(self, epoch: int) -> None:
        """Change the stream for a new epoch (call before iterating)."""
        self.epoch = int(epoch)

    def _get_sampler(self) -> MocapSampler:
        # Built lazily so that each worker process loads the cache itself.
        if self._sampler is None:
            cache = MocapCache.load(self.cache_path)
            self._sampler = MocapSampler(cache, self.split, self.window, self.config, self.seed)
        return self._sampler

    def __len__(self) -> int:
        if self.batches_per_epoch is None:
            raise TypeError("an endless MocapBatchDataset has no length")
        return self.batches_per_epoch

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        worker, n_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, self.epoch, worker]))
        sampler = self._get_sampler()
        if self.batches_per_epoch is None:
            count = None
        else:
            count = self.batches_per_epoch // n_workers + (worker < self.batches_per_epoch
                                                            % n_workers)
        k = 0
        while count is None or k < count:
            yield batch_to_tensors(sampler.sample_batch(self.batch_size, rng), self.lifter_inputs)
            k += 1


class PoseBatchDataset(Dataset):
    """Map-style dataset over a fixed :class:`PoseBatch`; items are single samples."""

    def __init__(self, batch: PoseBatch, lifter_inputs: bool = True) -> None:
        self.tensors = batch_to_tensors(batch, lifter_inputs)
        self.size = batch.batch_size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -self.size <= index < self.size:
            raise IndexError(f"index {index} out of range for {self.size} samples")
        return {k: v[index] for k, v in self.tensors.items()}


def collate_samples(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack single samples (from :class:`PoseBatchDataset`) into a batch dict."""
    if not items:
        raise ValueError("items: expected at least one sample")
    out: dict[str, Any] = {}
    for key, first in items[0].items():
        vals = [it[key] for it in items]
        out[key] = torch.stack(vals) if isinstance(first, torch.Tensor) else list(vals)
    return out
