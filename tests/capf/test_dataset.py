"""The feature cache reader and training batches (a cache file is written by the test)."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.capf.dataset import load_feature_cache
from monopose.capf.features import FLIP_PERMUTATION, LEVELS, flip_patches


def write_cache(folder, rng, n=6, patch=3, missing=(1,)):
    found = np.ones(n, bool)
    found[list(missing)] = False
    arrays = {
        "num_samples": np.array(n), "patch": np.array(patch), "found": found,
        "kp_px": rng.uniform(20, 230, size=(n, 17, 2)).astype(np.float32),
        "valid": rng.random((n, 17)) > 0.2, "inside": rng.random((n, 17)) > 0.1,
        "pose3d_cam_mm": (rng.normal(size=(n, 17, 3)) * 300 + [0, 0, 4000]).astype(np.float32),
        "kp_gt_px": rng.uniform(20, 230, size=(n, 17, 2)).astype(np.float32),
        "intrinsics": np.tile([300.0, 300.0, 128.0, 128.0], (n, 1)).astype(np.float32),
        "ids": np.asarray([f"cmu/c/a/{i}" for i in range(n)]),
        "level_names": np.asarray([s.name for s in LEVELS]),
    }
    for li, s in enumerate(LEVELS):
        arrays[f"level{li}"] = rng.normal(size=(n, 17, patch, patch, s.channels)).astype(
            np.float16)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "features-00000.npz", **arrays)
    return arrays


def test_load_drops_missing_people_and_batches(tmp_path, rng):
    raw = write_cache(tmp_path, rng)
    data = load_feature_cache(tmp_path)
    assert len(data) == 5 and data.num_missing == 1 and data.ids[1] == "cmu/c/a/2"
    b = data.batch(np.arange(5))
    assert b["kp2d"].shape == (5, 1, 17, 2) and b["valid"].shape == (5, 1, 17)
    assert [tuple(f.shape) for f in b["features"]] == [(5, 17, 3, 3, s.channels) for s in LEVELS]
    assert np.abs(b["kp2d"].numpy()).max() <= 1.0 + 1e-6
    pose = b["pose3d"].numpy()[:, 0]
    assert np.all(pose[:, 0] == 0)
    gt = raw["pose3d_cam_mm"][0]
    np.testing.assert_allclose(pose[0] * 1000, gt - gt[0], atol=1e-2)
    np.testing.assert_array_equal(b["feature_valid"].numpy(), data.inside & data.valid)
    light = load_feature_cache(tmp_path, with_levels=False)
    assert light.levels[0].size == 0 and len(light) == 5


def test_flipped_batch_is_the_mirror_of_the_plain_one(tmp_path, rng):
    write_cache(tmp_path, rng)
    data = load_feature_cache(tmp_path)
    idx = np.arange(5)
    flip = np.array([True, False, True, False, False])
    a, b = data.batch(idx), data.batch(idx, flip)
    p = FLIP_PERMUTATION
    for i in range(5):
        kp_a, kp_b = a["kp2d"][i, 0].numpy(), b["kp2d"][i, 0].numpy()
        if flip[i]:
            np.testing.assert_allclose(kp_b, kp_a[p] * [-1, 1], atol=1e-6)
            np.testing.assert_allclose(b["pose3d"][i, 0].numpy(),
                                       a["pose3d"][i, 0].numpy()[p] * [-1, 1, 1], atol=1e-6)
            np.testing.assert_array_equal(b["valid"][i, 0].numpy(), a["valid"][i, 0].numpy()[p])
            np.testing.assert_array_equal(b["features"][2][i].numpy(),
                                          flip_patches(a["features"][2][i].numpy()))
        else:
            np.testing.assert_array_equal(kp_b, kp_a)
    assert data.levels[0].dtype == np.float16  # batches copy, the cache is not changed
    np.testing.assert_array_equal(data.batch(idx)["features"][0].numpy(),
                                  a["features"][0].numpy())


def test_missing_cache_raises(tmp_path, rng):
    with pytest.raises(FileNotFoundError):
        load_feature_cache(tmp_path)
    write_cache(tmp_path / "a", rng, patch=3)
    raw = write_cache(tmp_path / "b", rng, patch=5)
    (tmp_path / "b" / "features-00000.npz").rename(tmp_path / "a" / "features-00001.npz")
    assert raw["patch"] == 5
    with pytest.raises(ValueError, match="patch"):
        load_feature_cache(tmp_path / "a")


def test_virtual_camera_batches_see_an_off_centre_person_head_on(tmp_path, rng):
    """The same person placed on the optical axis and far off it gives the same virtual-camera
    batch (2D and 3D), while the image-frame batches differ; rotating the 3D back recovers the
    camera's pose."""
    from monopose.capf.dataset import ContextArrays
    from monopose.core.rotations import axis_rotation
    from monopose.core.virtual_camera import to_virtual_camera

    body = rng.normal(size=(17, 3)) * 250.0
    body -= body[0]
    intr = np.array([500.0, 500.0, 320.0, 240.0])
    on_axis = body + [0.0, 0.0, 4000.0]
    turn = axis_rotation(1, np.radians(35.0))
    off_axis = on_axis @ turn.T  # the whole scene turned 35° about the camera centre
    poses = np.stack([on_axis, off_axis])
    kp = poses[..., :2] / poses[..., 2:] * intr[:2] + intr[2:]
    n = 2
    data = ContextArrays(kp.astype(np.float32), np.ones((n, 17), bool), np.ones((n, 17), bool),
                         poses.astype(np.float32), kp.astype(np.float32),
                         [np.zeros((n, 17, 0, 0, 0), np.float16)], ["a", "b"], 0,
                         np.tile(intr, (n, 1)).astype(np.float32), "virtual_camera")
    b = data.batch(np.arange(n))
    # (the virtual camera looks at the box centre, which shifts a little on the body)
    np.testing.assert_allclose(b["kp2d"][0].numpy(), b["kp2d"][1].numpy(), atol=1e-2)
    np.testing.assert_allclose(b["pose3d"][0].numpy(), b["pose3d"][1].numpy(), atol=0.01)
    data.input_frame = "image"
    img = data.batch(np.arange(n))
    assert np.abs(img["pose3d"][0].numpy() - img["pose3d"][1].numpy()).max() > 0.05
    _, rot = to_virtual_camera(kp[1][None, None], None, intr)
    back = b["pose3d"][1, 0].numpy().astype(np.float64) @ rot[0]
    np.testing.assert_allclose(back * 1000.0, off_axis - off_axis[0], atol=1.0)
    data.input_frame = "sideways"
    with pytest.raises(ValueError, match="input_frame"):
        data.batch(np.arange(n))
