"""Lightning data module: an endless stream of sampled training batches, fixed validation batches.

Training batches are drawn on the fly by a *batch source* (the data layer's ``MocapSampler``, or
any object with ``sample_batch(batch_size, rng) -> PoseBatch``), so every step sees new virtual
cameras, noise and occlusion. Each DDP rank and DataLoader worker draws from its own seed.
Validation batches are drawn once, with a fixed seed, from the validation split.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from monopose.lifting.batches import batch_to_tensors, occlude_random_joints

__all__ = ["BatchSource", "StreamSpec", "SampledStream", "TensorBatches", "PoseDataModule"]


class BatchSource(Protocol):
    """Anything that draws a ``PoseBatch`` of ``batch_size`` windows with a numpy generator."""

    def sample_batch(self, batch_size: int, rng: np.random.Generator) -> Any: ...


@dataclass
class StreamSpec:
    """One window length of the training stream.

    Attributes:
        source: where batches come from.
        batch_size: windows per batch.
    """

    source: BatchSource
    batch_size: int


def _rank() -> int:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return int(torch.distributed.get_rank())
    return 0


class SampledStream(IterableDataset):
    """Endless stream of tensor batches (dicts from :func:`batch_to_tensors`).

    Args:
        specs: one or more streams; batches are drawn from them round-robin (mixed window
            lengths, e.g. single frames and 27-frame windows for MPM pre-training).
        seed: base seed; the DDP rank, the worker id and ``restart`` are mixed in.
        occlude_max_joints: extra tube occlusion of ``U{0..n}`` joints per sample (0 = off).
        occlude_prob: fraction of samples that get it.
        restart: a counter that changes the stream after a resume (e.g. the resumed step).
        input_frame: see :func:`monopose.lifting.batches.batch_to_tensors`.
    """

    def __init__(
        self,
        specs: Sequence[StreamSpec],
        seed: int,
        occlude_max_joints: int = 0,
        occlude_prob: float = 0.5,
        restart: int = 0,
        input_frame: str = "image",
    ) -> None:
        super().__init__()
        if not specs:
            raise ValueError("specs: expected at least one stream")
        self.specs = list(specs)
        self.seed = seed
        self.occlude_max_joints = occlude_max_joints
        self.occlude_prob = occlude_prob
        self.restart = restart
        self.input_frame = input_frame

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        rng = np.random.default_rng([self.seed, _rank(), worker, self.restart])
        i = 0
        while True:
            spec = self.specs[i % len(self.specs)]
            i += 1
            batch = spec.source.sample_batch(spec.batch_size, rng)
            valid = None
            if self.occlude_max_joints > 0:
                valid = occlude_random_joints(
                    batch.valid_2d, self.occlude_max_joints, rng, self.occlude_prob
                )
            yield batch_to_tensors(batch, valid=valid, input_frame=self.input_frame)


class TensorBatches(Dataset):
    """A fixed list of tensor batches (validation)."""

    def __init__(self, batches: Sequence[dict[str, torch.Tensor]]) -> None:
        self.batches = list(batches)

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.batches[index]


class PoseDataModule(L.LightningDataModule):
    """Training stream + fixed validation batches.

    Args:
        train_stream: the training :class:`SampledStream`.
        make_val_batches: called once in ``setup`` to draw the validation batches (PoseBatch
            objects, converted here); None = no validation.
        num_workers: DataLoader workers for the training stream.
    """

    def __init__(
        self,
        train_stream: SampledStream,
        make_val_batches: Callable[[], Sequence[Any]] | None = None,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        self.train_stream = train_stream
        self.make_val_batches = make_val_batches
        self.num_workers = num_workers
        self._val: TensorBatches | None = None

    def setup(self, stage: str | None = None) -> None:
        if self._val is None and self.make_val_batches is not None:
            frame = self.train_stream.input_frame
            self._val = TensorBatches([batch_to_tensors(b, input_frame=frame)
                                       for b in self.make_val_batches()])

    def train_dataloader(self) -> DataLoader:
        return DataLoader(
            self.train_stream,
            batch_size=None,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def val_dataloader(self) -> DataLoader | list:
        if self._val is None:
            return []
        return DataLoader(self._val, batch_size=None, shuffle=False)
