"""Crop batches from render shards: layout, label geometry, seeding, workers, eval batches."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from monopose.metrabs import image_data
from monopose.metrabs.augment import AugmentConfig
from monopose.metrabs.image_data import (
    PhotometricConfig,
    RenderCropStream,
    color_jitter,
    random_erase,
    render_crop_eval_batches,
)

SIDE = 64  # crop side: small keeps the tests fast
CONFIG = AugmentConfig(size_px=SIDE)
PHOTO = 160  # rendered photo side
PER_SHARD = 6


def _pose(rng: np.random.Generator, depth_mm: float) -> np.ndarray:
    """A loose standing figure (h36m17 order) around a pelvis at ``depth_mm``."""
    y = np.array([0, 0, 450, 850, 0, 450, 850, -250, -500, -600, -750, -480, -250, -50, -480,
                  -250, -50], dtype=np.float64)
    x = np.array([0, -130, -140, -150, 130, 140, 150, 0, 0, 0, 0, 180, 260, 300, -180, -260,
                  -300], dtype=np.float64)
    pose = np.stack([x, y, np.zeros(17)], -1) + rng.normal(0, 30, (17, 3))
    pose[0] = 0.0
    return pose + np.array([rng.uniform(-300, 300), rng.uniform(-200, 200), depth_mm])


def _write_renders(folder: Path, shards: int, seed: int = 0) -> list[float]:
    """Shards in the render format; returns each sample's pelvis distance (mm), unique per
    sample and unchanged by the crop camera's rotation and by flips (an identity tag)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    f = 180.0
    intr = np.array([f, f, (PHOTO - 1) / 2, (PHOTO - 1) / 2], np.float32)
    tags = []
    for k in range(shards):
        blobs, kps, poses, valid = [], [], [], []
        for i in range(PER_SHARD):
            pose = _pose(rng, 3500.0 + 100.0 * (k * PER_SHARD + i))
            kp = pose[:, :2] / pose[:, 2:] * f + intr[2:]
            img = (rng.random((PHOTO, PHOTO, 3)) * 60 + 40).astype(np.uint8)
            for a, b in [(0, 7), (7, 10), (1, 3), (4, 6), (11, 13), (14, 16)]:
                cv2.line(img, tuple(int(v) for v in kp[a]), tuple(int(v) for v in kp[b]),
                         (220, 120, 60), 4)
            ok, buf = cv2.imencode(".jpg", img[..., ::-1])
            assert ok
            blobs.append(buf.tobytes())
            kps.append(kp)
            poses.append(pose)
            valid.append(((kp >= -0.5) & (kp <= PHOTO - 0.5)).all(-1))
            tags.append(float(np.linalg.norm(pose[0])))
        offsets = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64)
        kp_arr = np.stack(kps)[:, None].astype(np.float32)
        np.savez(folder / f"shard-{k:05d}.npz",
                 image_bytes=np.frombuffer(b"".join(blobs), np.uint8), image_offsets=offsets,
                 keypoints_2d_px=kp_arr, keypoints_2d_gt_px=kp_arr.copy(),
                 valid_2d=np.stack(valid)[:, None],
                 pose_3d_cam_mm=np.stack(poses)[:, None].astype(np.float32),
                 intrinsics=np.repeat(intr[None], PER_SHARD, 0),
                 image_size_px=np.full((PER_SHARD, 2), PHOTO, np.float32),
                 visible=np.stack(valid), truncated=~np.stack(valid),
                 ids=np.array([f"test/{k}/{i}" for i in range(PER_SHARD)]))
    return tags


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float]]:
    folder = tmp_path_factory.mktemp("renders") / "val"
    return folder, _write_renders(folder, shards=3)


def _tags(batch: dict) -> np.ndarray:
    return np.linalg.norm(batch["pose3d_mm"][:, 0].double().numpy(), axis=-1)


def _check_layout(batch: dict, b: int) -> None:
    (image,) = batch["inputs"]
    assert image.shape == (b, 3, SIDE, SIDE) and image.dtype == torch.float32
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    expected = {"kp2d_px": ((b, 17, 2), torch.float32), "pose3d_mm": ((b, 17, 3), torch.float32),
                "in_view": ((b, 17), torch.bool), "K": ((b, 3, 3), torch.float32)}
    for key, (shape, dtype) in expected.items():
        assert batch[key].shape == shape and batch[key].dtype == dtype, key


def _reprojection_error_px(batch: dict) -> float:
    p = batch["pose3d_mm"].double()
    proj = p @ batch["K"].double().transpose(1, 2)
    return float((proj[..., :2] / proj[..., 2:] - batch["kp2d_px"].double()).abs().max())


def test_stream_batch_layout_and_labels(renders: tuple[Path, list[float]]) -> None:
    folder, _ = renders
    stream = RenderCropStream(folder, batch_size=5, seed=0, config=CONFIG)
    it = iter(stream)
    for _ in range(3):
        batch = next(it)
        assert set(batch) == {"inputs", "kp2d_px", "pose3d_mm", "in_view", "K"}
        _check_layout(batch, 5)
        assert _reprojection_error_px(batch) < 1e-2
        kp = batch["kp2d_px"]
        inside = ((kp >= -0.5) & (kp <= SIDE - 0.5)).all(-1)
        assert not (batch["in_view"] & ~inside).any()  # in view implies inside the crop
        assert torch.all(batch["pose3d_mm"][..., 2] > 0)


def test_stream_is_reproducible_per_seed_and_epoch(renders: tuple[Path, list[float]]) -> None:
    folder, _ = renders

    def first(seed: int, epoch: int = 0) -> dict:
        s = RenderCropStream(folder, batch_size=4, seed=seed, config=CONFIG)
        s.set_epoch(epoch)
        return next(iter(s))

    a, b, c, d = first(1), first(1), first(2), first(1, epoch=1)
    for key in ("kp2d_px", "pose3d_mm", "in_view", "K"):
        assert torch.equal(a[key], b[key])
    assert torch.equal(a["inputs"][0], b["inputs"][0])
    assert not torch.equal(a["inputs"][0], c["inputs"][0])
    assert not torch.equal(a["kp2d_px"], d["kp2d_px"])


@pytest.mark.parametrize("in_memory", [1, 2, 4])
def test_each_pass_uses_every_sample_once_with_bounded_memory(
        renders: tuple[Path, list[float]], monkeypatch: pytest.MonkeyPatch,
        in_memory: int) -> None:
    folder, tags = renders
    opened: list[int] = []
    original = image_data._ShardCache.get

    def spy(self: image_data._ShardCache, path: Path) -> image_data._Shard:
        shard = original(self, path)
        opened.append(len(self._items))
        return shard

    monkeypatch.setattr(image_data._ShardCache, "get", spy)
    n = len(tags)
    stream = RenderCropStream(folder, batch_size=n, seed=0, config=CONFIG,
                              shards_in_memory=in_memory)
    it = iter(stream)
    for _ in range(3):
        seen = np.sort(_tags(next(it)))
        np.testing.assert_allclose(seen, np.sort(tags), atol=1e-2)
    assert opened and max(opened) == min(in_memory, 3)


def test_workers_and_ranks_draw_different_samples(renders: tuple[Path, list[float]]) -> None:
    folder, _ = renders
    stream = RenderCropStream(folder, batch_size=4, seed=0, config=CONFIG, batches_per_epoch=4)
    loader = DataLoader(stream, batch_size=None, num_workers=2)
    batches = list(loader)
    assert len(batches) == 4  # the epoch's batches are split between the workers
    # DataLoader alternates workers: batches 0 and 1 come from different workers
    w0, w1 = _tags(batches[0]), _tags(batches[1])
    assert not np.isin(np.round(w0, 2), np.round(w1, 2)).all()
    assert not torch.equal(batches[0]["inputs"][0], batches[1]["inputs"][0])

    def first(rank: int, world: int) -> np.ndarray:
        s = RenderCropStream(folder, 4, seed=0, config=CONFIG, rank=rank, world_size=world)
        return np.round(_tags(next(iter(s))), 2)

    # 3 shards, 2 ranks: both read all shards but draw differently
    assert not np.isin(first(0, 2), first(1, 2)).all()
    # 3 shards, 3 ranks: each rank reads its own shard
    r = [first(k, 3) for k in range(3)]
    assert not np.isin(r[0], r[1]).any() and not np.isin(r[1], r[2]).any()
    with pytest.raises(ValueError, match="rank"):
        RenderCropStream(folder, 4, rank=2, world_size=2)


def test_missing_or_empty_folder_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_renders"
    with pytest.raises(ValueError, match="no_such_renders"):
        RenderCropStream(missing)
    empty = tmp_path / "empty_renders"
    empty.mkdir()
    with pytest.raises(ValueError, match="empty_renders"):
        RenderCropStream([empty])
    with pytest.raises(ValueError, match="no_such_renders"):
        render_crop_eval_batches(missing)


def test_colour_and_occlusion_augmentation() -> None:
    rng = np.random.default_rng(0)
    image = rng.random((3, 32, 32), dtype=np.float32) * 0.5 + 0.25
    none = PhotometricConfig(brightness=0.0, contrast=0.0, saturation=0.0)
    np.testing.assert_allclose(color_jitter(image.copy(), rng, none), image, atol=1e-6)
    jittered = color_jitter(image.copy(), rng)
    assert jittered.shape == image.shape and not np.allclose(jittered, image)
    assert jittered.min() >= 0.0 and jittered.max() <= 1.0
    gray = np.repeat(image[:1], 3, axis=0)
    out = color_jitter(gray.copy(), rng)  # saturation cannot colour a gray image
    np.testing.assert_allclose(out[0], out[1], atol=1e-5)
    np.testing.assert_allclose(out[0], out[2], atol=1e-5)

    cfg = PhotometricConfig(occlusion_area=(0.1, 0.2))
    for seed in range(10):
        erased = random_erase(image.copy(), np.random.default_rng(seed), cfg)
        changed = (erased != image).any(0)
        ys, xs = np.nonzero(changed)
        box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
        assert 0.05 * 32 * 32 <= box <= 0.25 * 32 * 32  # one rectangle of the requested area
        assert changed.sum() >= 0.9 * box


def test_stream_without_photometric_matches_eval_pixels(
        renders: tuple[Path, list[float]]) -> None:
    # No jitter anywhere: the stream's crop equals the eval crop of the same sample.
    folder, tags = renders
    plain = AugmentConfig(size_px=SIDE, scale=(1.0, 1.0), shift=0.0, roll_deg=0.0, flip_prob=0.0,
                          partial_prob=0.0)
    batch = next(iter(RenderCropStream(folder, batch_size=len(tags), seed=0, config=plain,
                                       color=False, occlusion_prob=0.0)))
    ev = render_crop_eval_batches(folder, keep_fractions=(1.0,), batch_size=len(tags),
                                  config=plain)[0]
    order_s = np.argsort(_tags(batch))
    order_e = np.argsort(_tags(ev))
    torch.testing.assert_close(batch["inputs"][0][order_s], ev["inputs"][0][order_e])
    torch.testing.assert_close(batch["kp2d_px"][order_s], ev["kp2d_px"][order_e])


def test_eval_batches(renders: tuple[Path, list[float]]) -> None:
    folder, tags = renders
    ev = render_crop_eval_batches(folder, keep_fractions=(1.0, 0.8, 0.5), limit=10, seed=3,
                                  batch_size=4, config=CONFIG)
    assert len(ev) == 3 * 3  # ceil(10 / 4) batches per fraction
    assert ev.keep_fractions_of_batches == [1.0] * 3 + [0.8] * 3 + [0.5] * 3
    batches = list(ev)
    assert [len(b["K"]) for b in batches[:3]] == [4, 4, 2]
    for b in batches:
        assert set(b) == {"inputs", "kp2d_px", "pose3d_mm", "in_view", "K", "truncation"}
        _check_layout(b, len(b["K"]))
        assert b["truncation"].dtype == torch.float32 and b["truncation"].shape == (len(b["K"]),)
        assert _reprojection_error_px(b) < 1e-2
    # samples in shard order, the same samples at every fraction
    np.testing.assert_allclose(_tags(batches[0]), tags[:4], atol=1e-2)
    np.testing.assert_allclose(_tags(batches[3]), tags[:4], atol=1e-2)
    trunc = [torch.cat([b["truncation"] for b in batches[k:k + 3]]) for k in (0, 3, 6)]
    assert float(trunc[0].max()) == 0.0
    assert float(trunc[0].mean()) < float(trunc[1].mean()) < float(trunc[2].mean())
    # rebuilt batches are identical; another seed picks other sides
    again = render_crop_eval_batches(folder, (1.0, 0.8, 0.5), 10, 3, 4, CONFIG)
    torch.testing.assert_close(again[7]["inputs"][0], batches[7]["inputs"][0])
    other = render_crop_eval_batches(folder, (1.0, 0.8, 0.5), 10, 4, 4, CONFIG)
    assert other.sides != ev.sides
    assert not torch.equal(other[7]["kp2d_px"], batches[7]["kp2d_px"])
    # usable as a map-style dataset in worker processes
    loaded = list(DataLoader(ev, batch_size=None, num_workers=1))
    torch.testing.assert_close(loaded[4]["kp2d_px"], batches[4]["kp2d_px"])
    with pytest.raises(ValueError, match="keep_fractions"):
        render_crop_eval_batches(folder, keep_fractions=(0.0,))
