"""Evaluation: every metric and condition is reported; bad checkpoints give clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from monopose.eval.evaluate import (
    EvalSet,
    evaluate_model,
    format_comparison,
    format_report,
    load_lifter,
)
from monopose.models.weights_io import save_weights
from monopose.zoo import create_model


@pytest.fixture
def evalset(synthetic_source) -> EvalSet:
    batch = synthetic_source(window=3, noise_px=3.0).sample_batch(60, np.random.default_rng(0))
    return EvalSet.from_pose_batch(batch)


class _Oracle(torch.nn.Module):
    """Returns a fixed 3D pose sequence, to check the scoring against known errors."""

    max_frames = None

    def __init__(self, poses_m: torch.Tensor) -> None:
        super().__init__()
        self.poses = poses_m
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, kp2d, valid):
        return self.poses[: kp2d.shape[0], : kp2d.shape[1]]


def test_scores_of_a_perfect_and_an_offset_lifter(evalset):
    c = evalset.window // 2
    gt = torch.from_numpy(evalset.pose3d_rel_mm[:, c : c + 1] / 1000.0).float()
    perfect = evaluate_model(_Oracle(gt), evalset, window=1, conditions=["gt2d"])
    assert perfect.conditions["gt2d"].frame_mean["mpjpe"] < 1e-3
    assert perfect.conditions["gt2d"].frame_mean["pck150"] == pytest.approx(100.0)
    shifted = gt.clone()
    shifted[..., 1:, 0] += 0.05  # every non-root joint 50 mm off
    off = evaluate_model(_Oracle(shifted), evalset, window=1, conditions=["gt2d"])
    tab = off.conditions["gt2d"]
    assert tab.frame_mean["mpjpe"] == pytest.approx(50.0 * 16 / 17, rel=1e-4)
    assert tab.frame_mean["p_mpjpe"] < tab.frame_mean["mpjpe"]
    assert set(tab.per_action) == {"synth/action0", "synth/action1"}


def test_ray_fit_placement_scores_the_poses_the_product_outputs(evalset):
    """With ``placement="ray_fit"`` the lifted poses are fitted to the 2D before scoring: a
    perfect lifter stays perfect, an offset one is pulled towards the truth."""
    import dataclasses

    c = evalset.window // 2
    gt = torch.from_numpy(evalset.pose3d_rel_mm[:, c : c + 1] / 1000.0).float()
    perfect = evaluate_model(_Oracle(gt), evalset, window=1, conditions=["gt2d"],
                             placement="ray_fit")
    assert perfect.conditions["gt2d"].frame_mean["mpjpe"] < 1.0
    noisy = gt + 0.04 * torch.randn(gt.shape, generator=torch.Generator().manual_seed(0))
    noisy[..., 0, :] = 0.0  # a lifter's error: every joint 40 mm off at random, root at 0
    solve = evaluate_model(_Oracle(noisy), evalset, window=1, conditions=["gt2d"])
    fitted = evaluate_model(_Oracle(noisy), evalset, window=1, conditions=["gt2d"],
                            placement="ray_fit")
    assert fitted.conditions["gt2d"].frame_mean["mpjpe"] < \
        0.9 * solve.conditions["gt2d"].frame_mean["mpjpe"]
    no_camera = dataclasses.replace(evalset, intrinsics=None)
    with pytest.raises(ValueError, match="needs the evaluation data's intrinsics"):
        evaluate_model(_Oracle(gt), no_camera, window=1, placement="ray_fit")
    with pytest.raises(ValueError, match="placement: expected one of"):
        evaluate_model(_Oracle(gt), evalset, window=1, placement="fit")


def test_report_prints_all_metrics_conditions_and_actions(evalset):
    torch.manual_seed(0)
    model = create_model("mpm", dim=16, depth=1, heads=2, max_frames=3, decoder_depth=0)
    report = evaluate_model(model, evalset, name="tiny-mpm")
    assert report.window == 3 and report.completion is not None
    text = format_report(report)
    for word in ("MPJPE", "P-MPJPE", "N-MPJPE", "PCK@150", "AUC", "(frames)", "(actions)",
                 "gt2d", "noisy2d", "missing2", "missing4", "missing6", "synth/action0",
                 "3D completion"):
        assert word in text
    base = create_model("baseline", width=32, num_blocks=1)
    table = format_comparison([report, evaluate_model(base, evalset, name="tiny-base")])
    assert "tiny-mpm" in table and "tiny-base" in table and table.count("\n") == 3


def test_missing_joint_masks_are_fixed_per_seed(evalset):
    a, b = evalset.missing_mask(4, seed=1), evalset.missing_mask(4, seed=1)
    assert np.array_equal(a, b) and (a.sum(axis=2) == 13).all()
    assert not np.array_equal(a, evalset.missing_mask(4, seed=2))


def test_load_lifter_errors_name_the_file(tmp_path):
    bad = tmp_path / "broken.ckpt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="broken.ckpt"):
        load_lifter(str(bad))
    with pytest.raises(FileNotFoundError):
        load_lifter(str(tmp_path / "missing.ckpt"))
    # weights of one architecture presented as another: the tensors do not fit
    model = create_model("baseline", width=32, num_blocks=1)
    path = save_weights(model, {"architecture": "baseline", "config": model.config},
                        tmp_path / "w")
    loaded, _, window = load_lifter(str(path))
    assert window == 1
    other = create_model("poseformer", dim=16, depth=1, heads=2)
    save_weights(other, {"architecture": "poseformer", "config": other.config}, tmp_path / "p")
    (tmp_path / "w.safetensors").write_bytes((tmp_path / "p.safetensors").read_bytes())
    with pytest.raises(ValueError, match="w.safetensors"):
        load_lifter(str(path))


def test_evaluate_command_prints_metrics(tmp_path, evalset, monkeypatch, make_config,
                                         source_factory):
    from monopose.cli.evaluate import evaluate_command
    from monopose.eval import evaluate as ev
    from monopose.lifting.training import train

    result = train(make_config(**{"trainer.max_steps": 2}), source_factory=source_factory,
                   export=False)
    monkeypatch.setattr(ev, "mocap_eval_set", lambda *a, **k: evalset)
    import typer

    app = typer.Typer()
    app.command()(evaluate_command)
    out = CliRunner().invoke(app, [str(result.checkpoint), "--data", str(tmp_path),
                                   "--window", "3"])
    assert out.exit_code == 0, out.output
    assert "N-MPJPE" in out.output and "missing6" in out.output
    bad = CliRunner().invoke(app, [str(tmp_path / "nope.ckpt"), "--data", str(tmp_path)])
    assert bad.exit_code == 2 and "nope.ckpt" in bad.output
    fitted = CliRunner().invoke(app, [str(result.checkpoint), "--data", str(tmp_path),
                                      "--window", "3", "--placement", "ray_fit"])
    assert fitted.exit_code == 0, fitted.output
    assert fitted.output != out.output  # the fitted poses score otherwise
    wrong = CliRunner().invoke(app, [str(result.checkpoint), "--data", str(tmp_path),
                                     "--window", "3", "--placement", "fit"])
    assert wrong.exit_code == 2 and "placement: expected one of" in wrong.output


def _write_h36m_npz(tmp_path, rng):
    """Tiny VideoPose3D-format files: S9/S11, two trials of one action, 40 frames."""
    from monopose.data.h36m import H36M32_TO_17, load_h36m_sequences

    base = np.array([[0, 0, 0], [-.13, 0, 0], [-.13, 0, -.45], [-.13, 0, -.88], [.13, 0, 0],
                     [.13, 0, -.45], [.13, 0, -.88], [0, 0, .23], [0, 0, .48], [0, .03, .58],
                     [0, 0, .70], [.17, 0, .46], [.18, 0, .18], [.19, 0, -.08], [-.17, 0, .46],
                     [-.18, 0, .18], [-.19, 0, -.08]])
    data3d = {}
    for subject in ("S9", "S11"):
        data3d[subject] = {}
        for action in ("Walking 1", "Walking 2", "Eating"):
            pose = np.zeros((40, 32, 3))
            pose[:, list(H36M32_TO_17)] = base + rng.normal(0, 0.03, (40, 17, 3))
            pose += np.array([0.0, 0.0, 0.95])
            data3d[subject][action] = pose.astype(np.float32)
    p3 = tmp_path / "data_3d_h36m.npz"
    np.savez(p3, positions_3d=np.array(data3d, dtype=object))
    data2d: dict = {}
    for seq in load_h36m_sequences(p3):
        data2d.setdefault(seq.subject, {}).setdefault(seq.action, [None] * 4)
        data2d[seq.subject][seq.action][seq.camera] = (
            seq.keypoints_2d_gt_px + rng.normal(0, 2.0, seq.keypoints_2d_gt_px.shape))
    p2 = tmp_path / "data_2d_h36m_test.npz"
    np.savez(p2, positions_2d=np.array(data2d, dtype=object),
             metadata=np.array({"num_joints": 17, "layout_name": "h36m"}, dtype=object))
    return p3, p2


def test_evaluate_on_human36m_format_files(tmp_path):
    import typer

    from monopose.cli.evaluate import evaluate_command
    from monopose.eval.evaluate import h36m_eval_set

    p3, p2 = _write_h36m_npz(tmp_path, np.random.default_rng(0))
    data = h36m_eval_set(str(p3), str(p2), window=3, frame_step=4)
    assert set(data.groups) == {"h36m/Walking", "h36m/Eating"}  # trials pooled
    assert data.size == 2 * 3 * 4 * 10 and data.window == 3
    assert not np.allclose(data.kp2d_px, data.kp2d_gt_px)

    model = create_model("baseline", width=32, num_blocks=1)
    weights = save_weights(model, {"architecture": "baseline", "config": model.config},
                           tmp_path / "base")
    app = typer.Typer()
    app.command()(evaluate_command)
    out = CliRunner().invoke(app, [str(weights), "--data", str(p3), "--data-2d", str(p2),
                                   "--frame-step", "8", "--window", "1"])
    assert out.exit_code == 0, out.output
    assert "h36m/Walking" in out.output and "P-MPJPE" in out.output


def test_evaluation_lifts_perspective_aware_models_in_their_virtual_camera() -> None:
    import torch

    from monopose.core.virtual_camera import to_virtual_camera
    from monopose.eval.evaluate import lift as eval_lift

    class Constant(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            pose = torch.zeros(17, 3)
            pose[10, 1] = -0.5  # head top straight up in whatever frame the model works in
            self.pose = pose

        def forward(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            return self.pose.expand(*x.shape[:-1], 3) + 0 * self.w

    rng = np.random.default_rng(0)
    kp = rng.uniform(900, 1200, (2, 1, 17, 2))  # a person near the right edge
    intr = np.array([[800.0, 800.0, 640.0, 360.0]] * 2)
    model = Constant()
    plain = eval_lift(model, kp, np.ones((2, 1, 17), bool), intrinsics=intr)
    model.input_frame = "virtual_camera"  # type: ignore[assignment]
    turned = eval_lift(model, kp, np.ones((2, 1, 17), bool), intrinsics=intr)
    _, rot = to_virtual_camera(kp, None, intr)
    np.testing.assert_allclose(plain[:, 0, 10], [[0, -500, 0]] * 2, atol=1e-4)
    expected = np.einsum("nj,nji->ni", plain[:, 0, 10], rot)
    np.testing.assert_allclose(turned[:, 0, 10], expected, atol=1e-3)
    assert np.abs(turned[:, 0, 10] - plain[:, 0, 10]).max() > 10
