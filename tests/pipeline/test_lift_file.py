"""`monopose lift`: user keypoint files in, 3D out, clear errors for malformed files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monopose.core.camera import project_points
from monopose.core.skeleton import convert_layout
from monopose.pipeline.lift_file import lift_file, load_keypoints_npz

INTRINSICS = np.array([1000.0, 1000.0, 640.0, 360.0])


def _standing_pose_mm() -> np.ndarray:
    """A rough standing h36m17 pose at 4 m, camera space (y down)."""
    rel = np.array([[0, 0, 0], [-130, 0, 0], [-130, 450, 0], [-130, 880, 0], [130, 0, 0],
                    [130, 450, 0], [130, 880, 0], [0, -230, 0], [0, -480, 0], [0, -590, -30],
                    [0, -700, 0], [170, -470, 0], [190, -220, 0], [200, 20, 0], [-170, -470, 0],
                    [-190, -220, 0], [-200, 20, 0]], dtype=float)
    return rel + np.array([0.0, 0.0, 4000.0])


def test_lifts_coco_keypoints_to_absolute_poses(tmp_path: Path) -> None:
    pose = _standing_pose_mm()
    kp_h36m = project_points(pose, INTRINSICS)
    # COCO lacks pelvis/spine/head joints: write the limbs through the h36m → coco conversion.
    kp_coco, valid_coco, _ = convert_layout(kp_h36m, "h36m17", "coco17")
    kp_coco[~valid_coco] = np.nan
    np.savez(tmp_path / "in.npz", keypoints_2d=np.stack([kp_coco, kp_coco]), layout="coco17",
             intrinsics=INTRINSICS)
    summary = lift_file(tmp_path / "in.npz", tmp_path / "out.npz", "baseline-t1")
    assert "coco17" in summary
    out = np.load(tmp_path / "out.npz")
    assert out["pose_3d_rel_mm"].shape == (2, 17, 3) and out["pose_3d_abs_mm"].shape == (2, 17, 3)
    np.testing.assert_allclose(out["pose_3d_rel_mm"][:, 0], 0, atol=1e-3)
    depth = out["pose_3d_abs_mm"][:, 0, 2]
    assert (depth > 2000).all() and (depth < 8000).all()


def test_malformed_files_name_the_problem(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", points=np.zeros((1, 17, 2)))
    with pytest.raises(ValueError, match="a.npz.*keypoints_2d"):
        load_keypoints_npz(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", keypoints_2d=np.zeros((1, 12, 2)))
    with pytest.raises(ValueError, match="b.npz.*17"):
        load_keypoints_npz(tmp_path / "b.npz")
    np.savez(tmp_path / "c.npz", keypoints_2d=np.zeros((1, 17, 2)), valid=np.ones((1, 16), bool))
    with pytest.raises(ValueError, match="c.npz.*valid"):
        load_keypoints_npz(tmp_path / "c.npz")
    (tmp_path / "d.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="d.npz"):
        load_keypoints_npz(tmp_path / "d.npz")


@pytest.mark.parametrize("model, words", [("capf-blazepose-t1", "feature maps"),
                                          ("metrabs-blazepose", "image model")])
def test_models_that_read_more_than_keypoints_are_refused(tmp_path: Path, model: str,
                                                          words: str) -> None:
    np.savez(tmp_path / "kp.npz", keypoints_2d=np.zeros((1, 17, 2)))
    with pytest.raises(ValueError, match=f"--model: '{model}' .*{words}"):
        lift_file(tmp_path / "kp.npz", tmp_path / "out.npz", model)
    assert not (tmp_path / "out.npz").exists()


def test_absolute_pose_uses_the_one_placement(tmp_path: Path) -> None:
    from monopose.core.geometry import place_in_camera
    from monopose.core.placement import place_poses

    rng = np.random.default_rng(0)
    intr = np.array([1000.0, 1000.0, 640.0, 360.0])
    pose = rng.normal(0, 200, (3, 17, 3)) + [0.0, 0.0, 4000.0]
    kp = project_points(pose, intr)
    valid = np.ones((3, 17), bool)
    valid[2] = False
    valid[2, 0] = True  # one joint: no position
    np.savez(tmp_path / "kp.npz", keypoints_2d=kp, valid=valid, intrinsics=intr)
    lift_file(tmp_path / "kp.npz", tmp_path / "solve.npz", "baseline-t1", placement="solve")
    solved = np.load(tmp_path / "solve.npz")
    for i in range(3):
        want, method = place_in_camera(kp[i], solved["pose_3d_rel_mm"][i].astype(np.float64),
                                       valid[i], intr)
        assert solved["root_method"][i] == method
        np.testing.assert_allclose(solved["pose_3d_abs_mm"][i], want, rtol=1e-3, atol=1.0)
    assert solved["root_method"][2] == "failed" and np.isnan(solved["pose_3d_abs_mm"][2]).all()
    # The default fits the lifted poses to their rays: root-relative poses change too.
    lift_file(tmp_path / "kp.npz", tmp_path / "fit.npz", "baseline-t1")
    fitted = np.load(tmp_path / "fit.npz")
    want_abs, want_rel, methods = place_poses(
        np.where(valid[..., None], kp, 0.0), solved["pose_3d_rel_mm"].astype(np.float64), valid,
        intr)
    np.testing.assert_allclose(fitted["pose_3d_abs_mm"], want_abs, rtol=1e-4, atol=0.1)
    np.testing.assert_allclose(fitted["pose_3d_rel_mm"], want_rel, rtol=1e-4, atol=0.1)
    assert list(fitted["root_method"]) == methods
    assert str(fitted["placement"]) == "ray_fit" and str(solved["placement"]) == "solve"
    moved = np.abs(fitted["pose_3d_rel_mm"][:2] - solved["pose_3d_rel_mm"][:2]).max()
    assert moved > 1.0
    # the unplaceable pose keeps the lifter's answer
    np.testing.assert_array_equal(fitted["pose_3d_rel_mm"][2], solved["pose_3d_rel_mm"][2])


def test_bad_placement_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    np.savez(tmp_path / "kp.npz", keypoints_2d=np.zeros((1, 17, 2)))
    with pytest.raises(ValueError, match="placement: expected one of ray_fit, solve"):
        lift_file(tmp_path / "kp.npz", tmp_path / "out.npz", "baseline-t1", placement="fit")
    assert not (tmp_path / "out.npz").exists()


def test_keypoint_scores_are_read_checked_and_given_to_the_lifter(tmp_path: Path,
                                                                  monkeypatch) -> None:
    import monopose.pipeline.lift_file as lift_file_module
    from monopose.pipeline.lift_file import load_keypoint_scores

    kp = project_points(_standing_pose_mm(), INTRINSICS)[None]
    scores = np.ones((1, 17))
    scores[0, 5] = 0.25
    np.savez(tmp_path / "in.npz", keypoints_2d=kp, scores=scores)

    class Spy:
        needs = "keypoints"
        seen: list = []

        def lift(self, kp2d, valid, *, intrinsics=None, scores=None):  # noqa: ANN001, ANN202
            Spy.seen.append(scores)
            return np.zeros((*kp2d.shape[:-1], 3))

    monkeypatch.setattr(lift_file_module, "keypoint_model", lambda name, floor_lifter=True: Spy())
    real_open, opened = lift_file_module._open_npz, []
    monkeypatch.setattr(lift_file_module, "_open_npz",
                        lambda path: opened.append(path) or real_open(path))
    lift_file(tmp_path / "in.npz", tmp_path / "out.npz", "any")
    np.testing.assert_array_equal(Spy.seen[-1], scores)
    assert opened == [tmp_path / "in.npz"]  # keypoints and scores from one read of the file
    np.savez(tmp_path / "none.npz", keypoints_2d=kp)
    lift_file(tmp_path / "none.npz", tmp_path / "out2.npz", "any")
    assert Spy.seen[-1] is None  # no scores: fully confident

    # BlazePose's 33 scores become h36m17's: a derived joint takes its keypoints' lowest
    blaze = np.ones((1, 33))
    blaze[0, 25] = 0.3  # the left knee keypoint
    np.savez(tmp_path / "b.npz", keypoints_2d=np.zeros((1, 33, 2)), scores=blaze)
    mapped = load_keypoint_scores(tmp_path / "b.npz", (1, 33), "blazepose33")
    assert mapped.shape == (1, 17) and mapped[0, 5] == pytest.approx(0.3)
    assert (np.delete(mapped[0], 5) == 1.0).all()
    for name, arr, layout, words in (("s.npz", np.ones((1, 16)), "h36m17", "shape"),
                                     ("r.npz", np.full((1, 17), 1.5), "h36m17", r"\[0, 1\]"),
                                     ("c.npz", np.ones((1, 17)), "coco17", "h36m17 and")):
        np.savez(tmp_path / name, keypoints_2d=np.zeros((1, 17, 2)), scores=arr)
        with pytest.raises(ValueError, match=f"{name}.*{words}"):
            load_keypoint_scores(tmp_path / name, (1, 17), layout)
