"""Human3.6M (VideoPose3D files) and MPI-INF-3DHP test-set readers on generated fixtures."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from monopose.core.skeleton import get_conversion
from monopose.data.h36m import (
    H36M32_TO_17,
    canonical_action,
    h36m_batch,
    h36m_camera,
    load_h36m_2d,
    load_h36m_3d,
    load_h36m_sequences,
)
from monopose.data.mpi3dhp import MPI3DHP_ACTIVITIES, load_3dhp_test, mpi3dhp_batch


def _person_m(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 32, 3) metres: a body ~1.7 m tall standing near the H36M world origin (Z up)."""
    base = rng.normal(0.0, 0.15, (32, 3))
    base[:, 2] = np.linspace(0.1, 1.7, 32)
    drift = np.cumsum(rng.normal(0.0, 0.01, (n, 1, 3)), axis=0)
    return (base[None] + drift).astype(np.float32)


@pytest.fixture
def h36m_files(tmp_path):
    rng = np.random.default_rng(0)
    lengths = {("S9", "Directions 1"): 130, ("S9", "TakingPhoto"): 70,
               ("S9", "WalkingDog 1"): 65, ("S11", "Directions"): 50,
               ("S11", "Directions 1"): 64, ("S1", "Walking"): 20}
    pos3d: dict = {}
    pos2d: dict = {}
    for (subj, act), n in lengths.items():
        pos3d.setdefault(subj, {})[act] = _person_m(n, rng)
        # Detections: camera 0 has 3 more frames than the mocap, camera 1 two fewer.
        pos2d.setdefault(subj, {})[act] = [
            rng.uniform(0, 1000, (n + (3 if c == 0 else -2 if c == 1 else 0), 17, 2))
            .astype(np.float32) for c in range(4)]
    p3 = tmp_path / "data_3d_h36m.npz"
    p2 = tmp_path / "data_2d_h36m_cpn_ft_h36m_dbb.npz"
    np.savez_compressed(p3, positions_3d=pos3d)
    meta = {"layout_name": "h36m", "num_joints": 17,
            "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]}
    np.savez_compressed(p2, positions_2d=pos2d, metadata=meta)
    return p3, p2, pos3d, pos2d


def test_h36m_3d_round_trip_and_quirks(h36m_files) -> None:
    p3, _, pos3d, _ = h36m_files
    data = load_h36m_3d(p3)
    assert set(data["S9"]) == {"Directions 1", "Photo", "WalkDog 1"}
    assert set(data["S11"]) == {"Directions 1"}  # S11 "Directions" dropped
    np.testing.assert_allclose(data["S9"]["Photo"], pos3d["S9"]["TakingPhoto"] * 1000.0,
                               rtol=1e-6)
    assert canonical_action("WalkingDog 2") == ("WalkDog", "2")
    assert canonical_action("Walking") == ("Walking", "")


def test_h36m_sequences_gt_projection(h36m_files) -> None:
    p3, _, pos3d, _ = h36m_files
    seqs = load_h36m_sequences(p3, None, subjects=["S9"], cameras=[0, 3])
    assert len(seqs) == 3 * 2
    s = next(q for q in seqs if q.action == "Directions 1" and q.camera == 3)
    world_mm = pos3d["S9"]["Directions 1"][:, list(H36M32_TO_17)] * 1000.0
    cam = h36m_camera("S9", 3)
    np.testing.assert_allclose(s.pose_3d_cam_mm, world_mm @ cam.R.T + cam.t, atol=1e-2)
    # A person at the world origin is 3.5-6 m in front of every camera and inside its image.
    for q in seqs:
        assert 3000 < np.median(q.pose_3d_cam_mm[..., 2]) < 6500
        assert (q.keypoints_2d_px >= 0).all() and (q.keypoints_2d_px[..., 0] < 1000).all()
        assert (q.keypoints_2d_px[:, 10, 1] < q.keypoints_2d_px[:, 0, 1]).all()  # head up


def test_h36m_2d_truncation_and_subsets(h36m_files) -> None:
    p3, p2, _, pos2d = h36m_files
    kp, meta = load_h36m_2d(p2)
    assert meta["num_joints"] == 17 and "Directions" not in kp["S11"]
    seqs = load_h36m_sequences(p3, p2, subjects=["S9", "S11"])
    by = {(q.subject, q.action, q.camera): q for q in seqs}
    assert by[("S9", "Directions 1", 0)].num_frames == 130  # 2D longer: cut to the mocap
    assert len(by[("S9", "Directions 1", 0)].keypoints_2d_px) == 130
    assert by[("S9", "Directions 1", 1)].num_frames == 128  # 2D shorter: mocap cut
    np.testing.assert_allclose(by[("S9", "Photo", 2)].keypoints_2d_px,
                               pos2d["S9"]["TakingPhoto"][2])
    every = h36m_batch(seqs, window=1, frame_step=1)
    assert every.batch_size == sum(q.num_frames for q in seqs)
    sub = h36m_batch(seqs, window=1, frame_step=64)
    assert sub.batch_size == sum(len(range(0, q.num_frames, 64)) for q in seqs)
    assert all(int(i.rsplit("/", 1)[1]) % 64 == 0 for i in sub.ids)
    win = h36m_batch([by[("S11", "Directions 1", 0)]], window=5)
    assert win.keypoints_2d_px.shape == (64, 5, 17, 2)
    # Centred windows with repeated edges: frame 0's window starts with frame 0 twice.
    np.testing.assert_array_equal(win.pose_3d_cam_mm[0, 0], win.pose_3d_cam_mm[0, 2])
    np.testing.assert_array_equal(win.pose_3d_cam_mm[10, 2], win.pose_3d_cam_mm[12, 0])
    assert win.ids[0].startswith("h36m/S11.54138969/Directions 1/")


def test_h36m_bad_files_name_file_and_key(tmp_path, h36m_files) -> None:
    bad = tmp_path / "data_3d_bad.npz"
    np.savez(bad, poses=np.zeros(3))
    with pytest.raises(ValueError, match=r"data_3d_bad\.npz.*positions_3d"):
        load_h36m_3d(bad)
    shape = tmp_path / "data_3d_shape.npz"
    np.savez(shape, positions_3d={"S9": {"Walking": np.zeros((4, 17, 3))}})
    with pytest.raises(ValueError, match=r"\(N, 32, 3\)"):
        load_h36m_3d(shape)
    with pytest.raises(FileNotFoundError):
        load_h36m_3d(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="S7"):
        load_h36m_sequences(h36m_files[0], subjects=["S7"])


def _write_3dhp(path, n: int, rng: np.random.Generator, drop: str | None = None) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "annot2": rng.uniform(0, 2000, (n, 1, 17, 2)),
        "annot3": rng.normal(0, 300, (n, 1, 17, 3)) + [0, 0, 4000],
        "univ_annot3": rng.normal(0, 300, (n, 1, 17, 3)) + [0, 0, 4000],
        "valid_frame": (np.arange(n) % 3 != 0).astype(float)[:, None],
        "activity_annotation": (np.arange(n) % 7 + 1).astype(float)[:, None],
    }
    with h5py.File(path, "w") as fh:
        for k, v in arrays.items():
            if k != drop:
                fh.create_dataset(k, data=v)
    return arrays


def test_3dhp_round_trip(tmp_path) -> None:
    rng = np.random.default_rng(0)
    a1 = _write_3dhp(tmp_path / "TS1" / "annot_data.mat", 12, rng)
    _write_3dhp(tmp_path / "TS5" / "annot_data.mat", 9, rng)
    seqs = load_3dhp_test(tmp_path, ["TS1", "TS5"])
    s1 = seqs[0]
    perm = get_conversion("mpi3dhp17", "h36m17").weights.argmax(axis=1)
    np.testing.assert_allclose(s1.pose_3d_univ_mm, a1["univ_annot3"][:, 0, perm])
    # h36m pelvis (0) is 3DHP joint 14; h36m head_top (10) is 3DHP joint 0.
    np.testing.assert_allclose(s1.keypoints_2d_px[:, 0], a1["annot2"][:, 0, 14])
    np.testing.assert_allclose(s1.keypoints_2d_px[:, 10], a1["annot2"][:, 0, 0])
    assert s1.image_size == (2048, 2048) and seqs[1].image_size == (1920, 1080)
    assert np.all(s1.dist == 0) and seqs[1].dist[0] < 0
    batch = mpi3dhp_batch(seqs)
    assert batch.batch_size == int(s1.valid.sum() + seqs[1].valid.sum()) == 8 + 6
    assert batch.ids[0] == f"3dhp/TS1/{MPI3DHP_ACTIVITIES[2]}/1"
    native = load_3dhp_test(tmp_path, ["TS1"], layout="mpi3dhp17")[0]
    np.testing.assert_allclose(native.pose_3d_cam_mm, a1["annot3"][:, 0])
    allf = mpi3dhp_batch([native], window=3, universal=False, valid_only=False)
    assert allf.layout == "mpi3dhp17" and allf.pose_3d_cam_mm.shape == (12, 3, 17, 3)


def test_3dhp_errors_name_file_and_key(tmp_path) -> None:
    rng = np.random.default_rng(0)
    _write_3dhp(tmp_path / "TS2" / "annot_data.mat", 5, rng, drop="univ_annot3")
    with pytest.raises(ValueError, match=r"TS2/annot_data\.mat.*univ_annot3"):
        load_3dhp_test(tmp_path, ["TS2"])
    (tmp_path / "TS3").mkdir()
    (tmp_path / "TS3" / "annot_data.mat").write_bytes(b"MATLAB 5.0 MAT-file, not HDF5")
    with pytest.raises(ValueError, match="HDF5"):
        load_3dhp_test(tmp_path, ["TS3"])
    with pytest.raises(FileNotFoundError):
        load_3dhp_test(tmp_path, ["TS4"])
    with pytest.raises(ValueError, match="TS9"):
        load_3dhp_test(tmp_path, ["TS9"])
