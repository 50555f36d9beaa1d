"""The detector's 2D on rendered people as training pairs: the detection file, the batches drawn
from it (keypoint map, validity, mirroring) and the mixed source."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from monopose.core.skeleton import H36M17
from monopose.data.detected_renders import (
    DETECTIONS_FILE,
    DetectedRenders,
    MixedSource,
    detect_renders,
    lost_people,
)
from monopose.data.sample import PoseBatch
from monopose.data.synthetic.shards import encode_image, pack_blobs
from monopose.detect.keypoint_map import resolve_keypoint_map

ASSETS = Path(__file__).resolve().parents[2] / "monopose" / "assets"
WIDTH_PX = 320.0


def _poses(n: int, rng: np.random.Generator) -> np.ndarray:
    """``[n, 17, 3]`` camera-space poses (mm): a random body ~4 m in front of the camera."""
    pose = rng.normal(0.0, 250.0, (n, 17, 3))
    pose[..., 2] += 4000.0
    return pose


def _project(pose_mm: np.ndarray, intr: np.ndarray) -> np.ndarray:
    fx, fy, cx, cy = (intr[:, k, None] for k in range(4))
    return np.stack([fx * pose_mm[..., 0] / pose_mm[..., 2] + cx,
                     fy * pose_mm[..., 1] / pose_mm[..., 2] + cy], axis=-1)


def _write_detections(folder: Path, n: int, seed: int = 0, **edit) -> dict[str, np.ndarray]:
    """A ``detections.npz`` whose 33 keypoints map (learned map) close to the true 2D."""
    rng = np.random.default_rng(seed)
    intr = np.tile([300.0, 300.0, 150.0, 130.0], (n, 1))
    intr[:, 2] += rng.uniform(-20, 20, n)  # off-centre principal points: mirroring must move them
    pose = _poses(n, rng)
    gt = _project(pose, intr)
    weights = resolve_keypoint_map("learned").weights
    kp33 = np.einsum("kj,njd->nkd", np.linalg.pinv(weights), gt)
    arrays = {
        "kp33_px": kp33, "visibility33": np.ones((n, 33)), "presence33": np.ones((n, 33)),
        "found": np.ones(n, bool), "kp_gt_px": gt, "inside": np.ones((n, 17), bool),
        "visible": np.ones((n, 17), bool), "pose3d_cam_mm": pose, "intrinsics": intr,
        "image_size_px": np.tile([WIDTH_PX, 260.0], (n, 1)),
        "ids": np.array([f"cmu/clip/act/{i}" for i in range(n)]),
    }
    arrays.update(edit)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / DETECTIONS_FILE, **arrays)
    return arrays


def test_pairs_reproject_with_and_without_mirroring(tmp_path):
    raw = _write_detections(tmp_path / "a", 40)
    src = DetectedRenders([tmp_path / "a"], flip_prob=0.5)
    batch = src.sample_batch(400, np.random.default_rng(1))
    assert isinstance(batch, PoseBatch) and batch.keypoints_2d_px.shape == (400, 1, 17, 2)
    pose, intr = batch.pose_3d_cam_mm[:, 0].astype(np.float64), batch.intrinsics
    np.testing.assert_allclose(batch.keypoints_2d_gt_px[:, 0], _project(pose, intr), atol=1e-2)
    # some were mirrored: their principal point moved to W - cx
    ids = np.array([int(i.rsplit("/", 1)[1]) for i in batch.ids])
    mirrored = np.abs(intr[:, 2] - raw["intrinsics"][ids, 2]) > 1e-3
    assert 0.3 < mirrored.mean() < 0.7
    np.testing.assert_allclose(intr[mirrored, 2], WIDTH_PX - raw["intrinsics"][ids[mirrored], 2],
                               atol=1e-3)
    # the detector's keypoints went through the learned map, and through the mirror with the
    # labels: a mirrored left knee is the original right knee at W - x
    mapped = resolve_keypoint_map("learned").apply(raw["kp33_px"])[ids]
    kp = batch.keypoints_2d_px[:, 0]
    np.testing.assert_allclose(kp[~mirrored], mapped[~mirrored], atol=1e-2)
    lk, rk = H36M17.index("l_knee"), H36M17.index("r_knee")
    np.testing.assert_allclose(kp[mirrored, lk, 0], WIDTH_PX - mapped[mirrored, rk, 0], atol=1e-2)
    np.testing.assert_allclose(kp[mirrored, lk, 1], mapped[mirrored, rk, 1], atol=1e-2)
    np.testing.assert_allclose(pose[mirrored, lk, 0], -raw["pose3d_cam_mm"][ids[mirrored], rk, 0],
                               atol=1e-2)


def test_absent_keypoints_make_their_joints_missing_and_zero(tmp_path):
    presence = np.ones((5, 33))
    kmap = resolve_keypoint_map("learned")
    knee_sources = np.flatnonzero(kmap.uses[H36M17.index("l_knee")])
    presence[:, knee_sources] = 0.1
    _write_detections(tmp_path / "a", 5, presence33=presence)
    batch = DetectedRenders([tmp_path / "a"], flip_prob=0.0).sample_batch(
        10, np.random.default_rng(0))
    knee = H36M17.index("l_knee")
    assert not batch.valid_2d[:, 0, knee].any() and batch.valid_2d[:, 0, 0].all()
    assert (batch.keypoints_2d_px[:, 0, knee] == 0).all()


def test_pairs_carry_the_detectors_scores_through_the_mirror(tmp_path):
    """A doubtful left knee (its BlazePose keypoint's visibility 0.2) scores 0.2 as the left knee
    of an unmirrored pair and as the right knee of a mirrored one; other joints score 1."""
    visibility = np.ones((6, 33))
    visibility[:, 25] = 0.2  # BlazePose 25: left knee
    raw = _write_detections(tmp_path / "a", 6, visibility33=visibility)
    batch = DetectedRenders([tmp_path / "a"], flip_prob=0.5).sample_batch(
        200, np.random.default_rng(2))
    ids = np.array([int(i.rsplit("/", 1)[1]) for i in batch.ids])
    mirrored = np.abs(batch.intrinsics[:, 2] - raw["intrinsics"][ids, 2]) > 1e-3
    assert 0 < mirrored.sum() < len(ids)
    lk, rk = H36M17.index("l_knee"), H36M17.index("r_knee")
    scores = batch.scores_2d[:, 0]
    want = np.ones_like(scores)
    want[~mirrored, lk], want[mirrored, rk] = 0.2, 0.2
    np.testing.assert_allclose(scores, want, atol=1e-6)


def test_lost_people_are_not_training_pairs(tmp_path):
    arrays = _write_detections(tmp_path / "a", 6)
    found = arrays["found"].copy()
    found[0] = False
    kp33 = arrays["kp33_px"].copy()
    kp33[1] += 300.0  # someone else
    _write_detections(tmp_path / "a", 6, found=found, kp33_px=kp33)
    src = DetectedRenders([tmp_path / "a"])
    assert len(src) == 4 and not {"cmu/clip/act/0", "cmu/clip/act/1"} & set(src.ids)
    gt = arrays["kp_gt_px"]
    assert lost_people(gt + 2.0, gt, np.ones(6, bool)).sum() == 0
    assert lost_people(gt, gt, found)[0]


def test_several_sets_load_together_and_a_missing_file_says_what_to_run(tmp_path):
    _write_detections(tmp_path / "a", 5)
    _write_detections(tmp_path / "b", 7, seed=1)
    assert len(DetectedRenders([tmp_path / "a", tmp_path / "b"])) == 12
    (tmp_path / "c").mkdir()
    with pytest.raises(FileNotFoundError, match=r"monopose data detect .*c"):
        DetectedRenders([tmp_path / "a", tmp_path / "c"])


class _Tagged:
    """A source whose every sample id is its tag."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def sample_batch(self, batch_size: int, rng: np.random.Generator) -> PoseBatch:
        z = np.zeros((batch_size, 1, 17, 2), np.float32)
        return PoseBatch(z, z.copy(), np.ones((batch_size, 1, 17), bool),
                         np.ones((batch_size, 1, 17, 3), np.float32),
                         np.tile(np.float32([300, 300, 128, 128]), (batch_size, 1)),
                         np.full((batch_size, 2), 256, np.float32),
                         ids=[f"{self.tag}/x"] * batch_size)


@pytest.mark.parametrize("share", [0.0, 0.25, 1.0])
def test_the_mixed_source_draws_its_share(share):
    mixed = MixedSource(_Tagged("base"), _Tagged("extra"), share)
    rng = np.random.default_rng(0)
    ids = [i for _ in range(40) for i in mixed.sample_batch(64, rng).ids]
    assert len(ids) == 40 * 64
    got = np.mean([i.startswith("extra") for i in ids])
    assert abs(got - share) < 0.03
    with pytest.raises(ValueError, match="detected_share"):
        MixedSource(_Tagged("a"), _Tagged("b"), 1.5)


def _write_shard(folder: Path, images: list[np.ndarray], gt_px: np.ndarray) -> None:
    n = len(images)
    data, off = pack_blobs([encode_image(im, ".jpg", 95) for im in images])
    masks, moff = pack_blobs([encode_image(np.zeros(im.shape[:2], np.uint8), ".png")
                              for im in images])
    h, w = images[0].shape[:2]
    pose = _poses(n, np.random.default_rng(0)).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "shard-00000.npz", image_bytes=data, image_offsets=off, mask_bytes=masks,
             mask_offsets=moff, keypoints_2d_px=gt_px[:, None], keypoints_2d_gt_px=gt_px[:, None],
             valid_2d=np.ones((n, 1, 17), bool), pose_3d_cam_mm=pose[:, None],
             pose_3d_world_mm=pose, visible=np.ones((n, 17), bool),
             truncated=np.zeros((n, 17), bool),
             intrinsics=np.tile(np.float32([w, w, w / 2, h / 2]), (n, 1)),
             image_size_px=np.tile(np.float32([w, h]), (n, 1)),
             ids=np.array([f"cmu/c/a/{i}" for i in range(n)]))


def test_detect_renders_writes_the_detector_output_beside_the_labels(tmp_path):
    person = cv2.imread(str(ASSETS / "sample_person.jpg"))[..., ::-1]
    scale = 384 / max(person.shape[:2])
    person = cv2.resize(person, None, fx=scale, fy=scale)
    blank = np.full_like(person, 128)
    h, w = person.shape[:2]
    gt = np.tile(np.float32([w / 2, h / 2]), (2, 17, 1))
    _write_shard(tmp_path / "set", [person, blank], gt)
    rep = detect_renders(tmp_path / "set", progress=False)
    assert not rep.reused and rep.samples == 2 and rep.found == 1
    with np.load(tmp_path / "set" / DETECTIONS_FILE) as z:
        assert z["found"].tolist() == [True, False]
        kp = z["kp33_px"]
        assert kp.shape == (2, 33, 2) and (kp[1] == 0).all()
        # the person's keypoints lie on the person: within the image, spread over its height
        assert (kp[0, :, 1] > 0).all() and (kp[0, :, 1] < h).all()
        assert np.ptp(kp[0, :, 1]) > 0.4 * h
        np.testing.assert_array_equal(z["kp_gt_px"], gt)
        assert z["ids"].tolist() == ["cmu/c/a/0", "cmu/c/a/1"]
    again = detect_renders(tmp_path / "set", progress=False)
    assert again.reused and again.found == 1
    with pytest.raises(FileNotFoundError, match="render_dir"):
        detect_renders(tmp_path / "nothing", progress=False)


def test_training_configs_mix_detected_pairs_into_training_batches_only(tiny_mocap, tmp_path):
    from monopose.data.mocap_cache import build_mocap_cache
    from monopose.data.sampler import MocapSampler
    from monopose.lifting.batches import batch_to_tensors
    from monopose.lifting.training import mocap_source
    from monopose.train.config import ConfigError, config_from_dict

    build_mocap_cache([tiny_mocap], tmp_path / "c", progress=False)
    _write_detections(tmp_path / "r", 30)
    cfg = config_from_dict({"name": "x", "data": {
        "cache": str(tmp_path / "c"), "detected_renders": [str(tmp_path / "r")],
        "detected_share": 0.5}})
    train = mocap_source(cfg.data, "train", 1, 0)
    assert isinstance(train, MixedSource) and isinstance(train.extra, DetectedRenders)
    assert isinstance(mocap_source(cfg.data, "val", 1, 0), MocapSampler)
    batch = train.sample_batch(64, np.random.default_rng(0))
    rendered = np.array([i.startswith("cmu/clip/act/") for i in batch.ids])
    assert 0 < rendered.sum() < 64
    tensors = batch_to_tensors(batch, input_frame="virtual_camera")
    assert tensors["pose3d"].shape == (64, 1, 17, 3) and bool(tensors["pose3d"].isfinite().all())
    with pytest.raises(ConfigError, match="single frames"):
        mocap_source(cfg.data, "train", 27, 0)
    with pytest.raises(ConfigError, match="detected_share"):
        config_from_dict({"name": "x", "data": {"detected_share": 1.5,
                                                 "detected_renders": ["r"]}})
    with pytest.raises(ConfigError, match="names no render set"):
        config_from_dict({"name": "x", "data": {"detected_share": 0.2}})


def test_each_landmark_network_has_its_own_detections_file(tmp_path):
    """Heavy detections sit beside the full network's, are read only when asked for, and a
    missing heavy file names the command that makes it."""
    from monopose.data.detected_renders import detections_file

    assert detections_file("full") == DETECTIONS_FILE
    assert detections_file("heavy") == "detections-heavy.npz"
    with pytest.raises(ValueError, match="landmark_model"):
        detections_file("huge")
    full = _write_detections(tmp_path / "a", 5)
    with pytest.raises(FileNotFoundError, match=r"monopose data detect --landmarks heavy .*a"):
        DetectedRenders([tmp_path / "a"], landmark_model="heavy")
    (tmp_path / "a" / DETECTIONS_FILE).rename(tmp_path / "a" / "detections-heavy.npz")
    _write_detections(tmp_path / "a", 3, seed=1)  # a different full file beside it
    assert len(DetectedRenders([tmp_path / "a"], landmark_model="heavy")) == len(full["ids"])
    assert len(DetectedRenders([tmp_path / "a"])) == 3
