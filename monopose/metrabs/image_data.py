"""Image batches for the trainable MeTRAbs backbone, straight from render shards.

* :class:`RenderCropStream` — an ``IterableDataset`` of ready training batches: each sample is a
  random crop (:func:`monopose.metrabs.augment.make_training_crop`: framing, partial visibility,
  roll, flip) plus colour jitter and random-erasing occlusion. Use it with
  ``DataLoader(stream, batch_size=None, num_workers=k)``.
* :func:`render_crop_eval_batches` — fixed evaluation batches: the plain padded box of every
  sample (no jitter, no flip, no colour change), each cut to a given share of the body.

Batch dict (``B`` samples, crop side ``S``):

* ``"inputs"``: ``[image]`` with ``image [B, 3, S, S]`` float32 RGB in [0, 1] (a list, so a
  model is called as ``model(*batch["inputs"])``);
* ``"kp2d_px"`` ``[B, 17, 2]`` float32: joint projections in crop pixels (also outside the crop);
* ``"pose3d_mm"`` ``[B, 17, 3]`` float32: joints in the crop camera (h36m17, not root-relative);
* ``"in_view"`` ``[B, 17]`` bool: inside the crop and inside the rendered photo;
* ``"K"`` ``[B, 3, 3]`` float32: crop camera intrinsics (``kp2d_px`` is ``K`` · ``pose3d_mm``
  after the perspective division);
* evaluation batches add ``"truncation"`` ``[B]`` float32 (share of the joints outside the crop).

Shards are opened lazily and at most ``shards_in_memory`` of them are held per worker (their
JPEG bytes and labels only; images are decoded per sample when drawn). Every stream — one per
DataLoader worker and per distributed rank — has its own generator seeded by
``(seed, epoch, rank, worker)``; when the number of shards is a multiple of the number of
streams, each stream also reads its own subset of the shards (otherwise all streams read all
shards, each in its own order).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from monopose.data.synthetic.generate import read_shard
from monopose.metrabs.augment import SIDES, AugmentConfig, TrainingCrop, make_training_crop

__all__ = [
    "PhotometricConfig",
    "RenderCropStream",
    "RenderCropEvalBatches",
    "render_crop_eval_batches",
    "find_shards",
    "color_jitter",
    "random_erase",
]

SHARD_PATTERN = "shard-*.npz"
_GRAY = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class PhotometricConfig:
    """Colour jitter and random-erasing ranges.

    ``brightness``, ``contrast``, ``saturation``: factors drawn from ``[1 - v, 1 + v]``;
    ``occlusion_area``: share of the crop a rectangle covers; ``occlusion_aspect``: its
    height / width (log-uniform).
    """

    brightness: float = 0.3
    contrast: float = 0.3
    saturation: float = 0.3
    occlusion_area: tuple[float, float] = (0.02, 0.25)
    occlusion_aspect: tuple[float, float] = (0.3, 3.3)


def find_shards(render_dirs: str | Path | Sequence[str | Path]) -> list[Path]:
    """The shard files (``shard-*.npz``) of one or more render folders, sorted per folder.

    Raises:
        ValueError: a folder that does not exist or holds no shard.
    """
    dirs = [render_dirs] if isinstance(render_dirs, (str, Path)) else list(render_dirs)
    if not dirs:
        raise ValueError("render_dirs: expected at least one render folder")
    shards: list[Path] = []
    for d in dirs:
        p = Path(d)
        if not p.is_dir():
            raise ValueError(f"render_dirs: render folder {p} does not exist")
        found = sorted(p.glob(SHARD_PATTERN))
        if not found:
            raise ValueError(f"render_dirs: render folder {p} holds no {SHARD_PATTERN} files")
        shards += found
    return shards


class _Shard:
    """What a crop needs from a shard: JPEG bytes and labels (masks and extras dropped)."""

    def __init__(self, path: Path) -> None:
        shard = read_shard(path)
        b = shard.batch
        self.path = path
        self._shard = shard
        # Masks are not used here; drop them to keep per-worker memory small.
        for key in ("mask_bytes", "mask_offsets", "pose_3d_world_mm", "phenotypes"):
            shard.extras.pop(key, None)
        self.kp2d_px = np.asarray(b.keypoints_2d_gt_px[:, 0], np.float64)
        self.pose3d_mm = np.asarray(b.pose_3d_cam_mm[:, 0], np.float64)
        self.inside = np.asarray(b.valid_2d[:, 0], bool)
        self.intrinsics = np.asarray(b.intrinsics, np.float64)

    def __len__(self) -> int:
        return len(self.kp2d_px)

    def crop(self, i: int, rng: np.random.Generator, config: AugmentConfig,
             keep_fraction: float | None = None, side: str | None = None, jitter: bool = True,
             flip: bool | None = None) -> TrainingCrop:
        return make_training_crop(self._shard.image(i), self.intrinsics[i], self.kp2d_px[i],
                                  self.pose3d_mm[i], self.inside[i], rng, config,
                                  keep_fraction=keep_fraction, side=side, jitter=jitter,
                                  flip=flip)


class _ShardCache:
    """Least-recently-used cache of opened shards."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(int(capacity), 1)
        self._items: OrderedDict[Path, _Shard] = OrderedDict()

    def get(self, path: Path) -> _Shard:
        if path in self._items:
            self._items.move_to_end(path)
            return self._items[path]
        while len(self._items) >= self.capacity:
            self._items.popitem(last=False)
        shard = _Shard(path)
        self._items[path] = shard
        return shard

    def drop(self, path: Path) -> None:
        self._items.pop(path, None)


def color_jitter(image: np.ndarray, rng: np.random.Generator,
                 config: PhotometricConfig = PhotometricConfig()) -> np.ndarray:
    """Random saturation, contrast and brightness of ``image [3, S, S]`` float32 RGB in [0, 1]
    (in place; returned). The three are linear, so they are applied in one pass."""
    s = rng.uniform(1 - config.saturation, 1 + config.saturation)
    c = rng.uniform(1 - config.contrast, 1 + config.contrast)
    b = rng.uniform(1 - config.brightness, 1 + config.brightness)
    gray = _GRAY[0] * image[0]
    gray += _GRAY[1] * image[1]
    gray += _GRAY[2] * image[2]
    mean = float(gray.mean())
    # saturation (blend with gray), then contrast (blend with the mean gray), then brightness
    image *= np.float32(b * c * s)
    gray *= np.float32(b * c * (1 - s))
    image += gray
    image += np.float32(b * (1 - c) * mean)
    return np.clip(image, 0.0, 1.0, out=image)


def random_erase(image: np.ndarray, rng: np.random.Generator,
                 config: PhotometricConfig = PhotometricConfig()) -> np.ndarray:
    """Cover a random rectangle of ``image [3, S, S]`` float32 with a flat colour or noise
    (in place; returned). Labels stay: the joints behind it are still to be predicted."""
    h_img, w_img = image.shape[1:]
    area = rng.uniform(*config.occlusion_area) * h_img * w_img
    aspect = np.exp(rng.uniform(np.log(config.occlusion_aspect[0]),
                                np.log(config.occlusion_aspect[1])))
    h = int(np.clip(round(np.sqrt(area * aspect)), 1, h_img))
    w = int(np.clip(round(np.sqrt(area / aspect)), 1, w_img))
    y, x = int(rng.integers(0, h_img - h + 1)), int(rng.integers(0, w_img - w + 1))
    if rng.random() < 0.5:
        image[:, y:y + h, x:x + w] = rng.random((3, 1, 1), dtype=np.float32)
    else:
        image[:, y:y + h, x:x + w] = rng.random((3, h, w), dtype=np.float32)
    return image


def _to_chw(crop: np.ndarray, out: np.ndarray) -> np.ndarray:
    """uint8 ``[S, S, 3]`` → float32 ``[3, S, S]`` in [0, 1], written into ``out``."""
    return np.multiply(crop.transpose(2, 0, 1), np.float32(1 / 255), out=out)


def _collate(crops: Sequence[TrainingCrop], images: np.ndarray) -> dict:
    """Batch dict from crops and their float images ``[B, 3, S, S]``."""
    return {
        "inputs": [torch.from_numpy(images)],
        "kp2d_px": torch.from_numpy(np.stack([c.kp2d_px for c in crops]).astype(np.float32)),
        "pose3d_mm": torch.from_numpy(np.stack([c.pose3d_mm for c in crops]).astype(np.float32)),
        "in_view": torch.from_numpy(np.stack([c.in_view for c in crops]).astype(bool)),
        "K": torch.from_numpy(np.stack([c.camera.K_crop for c in crops]).astype(np.float32)),
    }


def _distributed_position() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class RenderCropStream(IterableDataset):
    """Endless (or fixed-length) stream of augmented crop batches from render shards.

    Args:
        render_dirs: Render folder(s) written by
            :func:`monopose.data.synthetic.generate.write_dataset`.
        batch_size: Samples per yielded batch.
        seed: Base seed.
        config: Geometric augmentation (also sets the crop side).
        color: Apply colour jitter.
        occlusion_prob: Probability of one random-erasing rectangle per crop.
        photometric: Colour and occlusion ranges.
        batches_per_epoch: Batches per epoch over all workers of this rank; None streams forever.
        shards_in_memory: Shards held open per worker; samples are drawn from these, and a
            shard is replaced by the next one of the stream's shuffled order once all of its
            samples were used.
        rank, world_size: Distributed position; None reads ``torch.distributed`` when it is
            initialised (else a single process).

    Iteration order: every sample of the stream's shards once per pass, passes reshuffled.
    """

    def __init__(self, render_dirs: str | Path | Sequence[str | Path], batch_size: int = 32,
                 seed: int = 0, config: AugmentConfig = AugmentConfig(), color: bool = True,
                 occlusion_prob: float = 0.3,
                 photometric: PhotometricConfig = PhotometricConfig(),
                 batches_per_epoch: int | None = None, shards_in_memory: int = 4,
                 rank: int | None = None, world_size: int | None = None) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
        if not 0.0 <= occlusion_prob <= 1.0:
            raise ValueError(f"occlusion_prob: expected in [0, 1], got {occlusion_prob}")
        if batches_per_epoch is not None and batches_per_epoch < 1:
            raise ValueError(f"batches_per_epoch: expected >= 1 or None, got {batches_per_epoch}")
        if shards_in_memory < 1:
            raise ValueError(f"shards_in_memory: expected >= 1, got {shards_in_memory}")
        if (rank is None) != (world_size is None):
            raise ValueError("rank, world_size: give both or neither")
        if rank is not None and world_size is not None and not 0 <= rank < world_size:
            raise ValueError(f"rank: expected in [0, {world_size}), got {rank}")
        self.shards = find_shards(render_dirs)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.config = config
        self.color = bool(color)
        self.occlusion_prob = float(occlusion_prob)
        self.photometric = photometric
        self.batches_per_epoch = batches_per_epoch
        self.shards_in_memory = int(shards_in_memory)
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Change the stream for a new epoch (call before iterating)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        if self.batches_per_epoch is None:
            raise TypeError("an endless RenderCropStream has no length")
        return self.batches_per_epoch

    def _position(self) -> tuple[int, int, int, int]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        if self.rank is not None and self.world_size is not None:
            rank, world = self.rank, self.world_size
        else:
            rank, world = _distributed_position()
        return rank, world, worker, workers

    def __iter__(self) -> Iterator[dict]:
        rank, world, worker, workers = self._position()
        stream, streams = rank * workers + worker, world * workers
        rng = np.random.default_rng([self.seed, self.epoch, rank, worker])
        # Disjoint shard subsets only when they come out equal: an uneven split would
        # over-sample the shards of the streams that got fewer.
        own = self.shards[stream::streams] if len(self.shards) % streams == 0 else self.shards
        if self.batches_per_epoch is None:
            count = None
        else:
            count = self.batches_per_epoch // workers + (worker < self.batches_per_epoch
                                                         % workers)
        samples = self._samples(own, rng)
        k = 0
        while count is None or k < count:
            yield self._batch([next(samples) for _ in range(self.batch_size)], rng)
            k += 1

    def _samples(self, shards: list[Path], rng: np.random.Generator
                 ) -> Iterator[tuple[_Shard, int]]:
        """Endless (shard, index) draws from a pool of open shards."""
        cache = _ShardCache(self.shards_in_memory)
        active = min(self.shards_in_memory, len(shards))
        order: list[Path] = []
        pool: list[tuple[_Shard, list[int]]] = []
        while True:
            if not order and not pool:  # a new pass over the stream's shards
                order = [shards[i] for i in rng.permutation(len(shards))]
            while len(pool) < active and order:
                shard = cache.get(order.pop())
                pool.append((shard, list(rng.permutation(len(shard)))))
            # draw in proportion to what is left, so each shard drains at the same pace
            weights = np.array([len(left) for _, left in pool], dtype=np.float64)
            j = int(rng.choice(len(pool), p=weights / weights.sum()))
            shard, left = pool[j]
            yield shard, int(left.pop())
            if not left:
                pool.pop(j)
                if len(shards) > active:
                    cache.drop(shard.path)

    def _batch(self, draws: list[tuple[_Shard, int]], rng: np.random.Generator) -> dict:
        s = self.config.size_px
        images = np.empty((len(draws), 3, s, s), np.float32)
        crops = []
        for b, (shard, i) in enumerate(draws):
            crop = shard.crop(i, rng, self.config)
            img = _to_chw(crop.image, images[b])
            if self.color:
                color_jitter(img, rng, self.photometric)
            if self.occlusion_prob > 0 and rng.random() < self.occlusion_prob:
                random_erase(img, rng, self.photometric)
            crops.append(crop)
        return _collate(crops, images)


def _shard_sizes(shards: Sequence[Path]) -> list[int]:
    sizes = []
    for p in shards:
        with np.load(p, allow_pickle=False) as z:  # reads only this member
            sizes.append(len(z["image_offsets"]) - 1)
    return sizes


class RenderCropEvalBatches(Sequence[dict]):
    """Fixed evaluation batches, built on demand (see :func:`render_crop_eval_batches`).

    ``len()`` batches; batch ``k`` is the same every time it is built. Batches do not mix
    keep fractions: ``keep_fractions_of_batches[k]`` is the share of the body kept in batch
    ``k``.
    """

    def __init__(self, render_dir: str | Path, keep_fractions: Sequence[float],
                 limit: int | None, seed: int, batch_size: int, config: AugmentConfig) -> None:
        self.shards = find_shards(render_dir)
        sizes = _shard_sizes(self.shards)
        total = int(sum(sizes))
        n = total if limit is None else min(int(limit), total)
        starts = np.concatenate([[0], np.cumsum(sizes)])
        flat = np.arange(n)
        self._shard_of = np.searchsorted(starts, flat, side="right") - 1
        self._index_in_shard = flat - starts[self._shard_of]
        self.sides = [SIDES[k] for k in np.random.default_rng(seed).integers(len(SIDES), size=n)]
        self.config = config
        self.batch_size = int(batch_size)
        self.num_samples = n
        self._batches: list[tuple[float, int, int]] = []
        for f in keep_fractions:
            for a in range(0, n, self.batch_size):
                self._batches.append((float(f), a, min(a + self.batch_size, n)))
        self.keep_fractions_of_batches = [f for f, _, _ in self._batches]
        self._cache = _ShardCache(2)

    def __getstate__(self) -> dict:
        # DataLoader workers get a copy without the parent's open shards.
        state = self.__dict__.copy()
        state["_cache"] = _ShardCache(self._cache.capacity)
        return state

    def __len__(self) -> int:
        return len(self._batches)

    def __getitem__(self, k: int) -> dict:  # type: ignore[override]
        if not -len(self) <= k < len(self):
            raise IndexError(f"batch {k} of {len(self)}")
        fraction, a, b = self._batches[k]
        unused = np.random.default_rng(0)  # no random choice is left without jitter and flip
        s = self.config.size_px
        images = np.empty((b - a, 3, s, s), np.float32)
        crops = []
        for row, i in enumerate(range(a, b)):
            shard = self._cache.get(self.shards[int(self._shard_of[i])])
            crop = shard.crop(int(self._index_in_shard[i]), unused, self.config,
                              keep_fraction=fraction, side=self.sides[i], jitter=False,
                              flip=False)
            _to_chw(crop.image, images[row])
            crops.append(crop)
        out = _collate(crops, images)
        out["truncation"] = torch.tensor([c.truncation for c in crops], dtype=torch.float32)
        return out


def render_crop_eval_batches(render_dir: str | Path,
                             keep_fractions: Sequence[float] = (1.0, 0.8, 0.6),
                             limit: int | None = None, seed: int = 0, batch_size: int = 64,
                             config: AugmentConfig = AugmentConfig()) -> RenderCropEvalBatches:
    """Fixed evaluation batches of a render folder at several truncation levels.

    Every sample (the first ``limit`` in shard order, or all) is framed by its padded joint box
    (``config.padding``, no scale/shift/roll jitter, no flip, no colour change), cut to
    ``keep_fraction`` of the box from one side; the side is drawn once per sample from
    ``("bottom", "top", "left", "right")`` with ``default_rng(seed)`` and kept for every
    fraction. Batches hold ``batch_size`` samples of one keep fraction, fractions in the given
    order. Batches are built when indexed (memory stays bounded); wrap in ``list()`` to keep
    them (≈ 0.8 MB per 256² sample).

    Returns:
        A sequence of batch dicts (the keys of the module docstring plus ``"truncation"``).

    Raises:
        ValueError: missing or empty folder, a keep fraction outside (0, 1], bad limit or
            batch size.
    """
    fractions = [float(f) for f in keep_fractions]
    if not fractions or not all(0.0 < f <= 1.0 for f in fractions):
        raise ValueError(f"keep_fractions: expected values in (0, 1], got {keep_fractions}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit: expected >= 1 or None, got {limit}")
    if batch_size < 1:
        raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
    return RenderCropEvalBatches(render_dir, fractions, limit, seed, batch_size, config)
