"""Training on a synthetic batch source: loss goes down, checkpoints resume, export round-trips."""

from __future__ import annotations

import copy

import lightning as L
import numpy as np
import pytest
import torch

from monopose.lifting.batches import batch_to_tensors, occlude_random_joints
from monopose.lifting.training import build_lifter, train
from monopose.models.weights_io import load_weights
from monopose.train.checkpoints import CHECKPOINT_KEY
from monopose.train.engine import auto_precision, init_model_from, read_checkpoint


def _val_error_mm(model: torch.nn.Module, source) -> float:
    batch = batch_to_tensors(source(1).sample_batch(256, np.random.default_rng(99)))
    model.eval()
    with torch.no_grad():
        pred = model(batch["kp2d"], batch["valid"])
    return float(torch.linalg.vector_norm(pred - batch["pose3d"], dim=-1).mean() * 1000)


def test_training_reduces_the_error(make_config, source_factory, synthetic_source):
    cfg = make_config(**{"trainer.max_steps": 60})
    L.seed_everything(0)
    untrained = _val_error_mm(build_lifter(cfg), synthetic_source)
    result = train(cfg, source_factory=source_factory, export=False)
    trained = _val_error_mm(result.module.model, synthetic_source)
    assert result.global_step == 60
    assert trained < 0.6 * untrained, (untrained, trained)
    assert "val/mpjpe" in result.val_metrics
    # logs and summary are written
    assert (result.run_dir / "logs" / "version_0" / "metrics.csv").is_file()
    assert any((result.run_dir / "tb").iterdir())
    assert (result.run_dir / "summary.json").is_file()


class _StartStep(L.Callback):
    def __init__(self) -> None:
        self.start_step: int | None = None

    def on_train_start(self, trainer, pl_module) -> None:
        self.start_step = trainer.global_step


def test_checkpoint_and_resume_continue_from_the_saved_step(make_config, source_factory):
    cfg = make_config(**{"trainer.max_steps": 8})
    first = train(cfg, source_factory=source_factory, export=False)
    assert first.global_step == 8
    saved = read_checkpoint(first.checkpoint)
    assert saved["global_step"] == 8
    saved_weights = {k: v.clone() for k, v in first.module.model.state_dict().items()}

    with pytest.raises(FileExistsError, match="resume"):
        train(cfg, source_factory=source_factory, export=False)

    cfg2 = make_config(**{"trainer.max_steps": 14})
    probe = _StartStep()

    class _Weights(L.Callback):
        def on_train_start(self, trainer, pl_module) -> None:
            self.same = all(torch.equal(v, saved_weights[k])
                            for k, v in pl_module.model.state_dict().items())

    weights = _Weights()
    second = train(cfg2, resume=True, source_factory=source_factory, export=False,
                   callbacks=[probe, weights])
    assert probe.start_step == 8
    assert weights.same
    assert second.global_step == 14
    assert read_checkpoint(second.checkpoint)["global_step"] == 14
    # the clock goes on from the checkpoint's (time after the last checkpoint is lost work)
    saved_time_s = saved[CHECKPOINT_KEY]["train_time_s"]
    assert 0.0 < saved_time_s <= first.train_time_s
    assert second.train_time_s > saved_time_s


def test_export_gives_loadable_weights_with_the_same_outputs(make_config, source_factory,
                                                             synthetic_source):
    cfg = make_config(**{"trainer.max_steps": 5, "export.name": "baseline-t1"})
    result = train(cfg, source_factory=source_factory)
    assert result.exported is not None and result.exported.is_file()
    loaded, info = load_weights(result.exported)
    meta = info["metadata"]
    assert meta["steps"] == 5 and meta["data_sources"] == ["cmu", "bandai"]
    assert meta["wall_time_s"] >= 0 and "val/mpjpe" in meta["final_val_metrics"]
    assert info["card"]["licence"].endswith("CC BY-NC 4.0")
    batch = batch_to_tensors(synthetic_source().sample_batch(32, np.random.default_rng(1)))
    trained = result.module.model.eval()
    with torch.no_grad():
        a = trained(batch["kp2d"], batch["valid"])
        b = loaded(batch["kp2d"], batch["valid"])
    assert torch.equal(a, b)


def test_mpm_pretrain_then_finetune(make_config, source_factory):
    pre = make_config(task="mpm_pretrain", arch="mpm",
                      **{"trainer.max_steps": 4, "data.window": 3, "data.mix_windows": [1],
                         "data.val_batch_size": 16})
    result = train(pre, source_factory=source_factory, export=False)
    assert np.isfinite(result.val_metrics["val/complete3d"])
    ft = make_config(arch="mpm", **{"trainer.max_steps": 3,
                                    "model.config": {"dim": 16, "depth": 1, "heads": 2,
                                                     "max_frames": 1, "decoder_depth": 0},
                                    "model.init_from": str(result.checkpoint),
                                    "masking.occlude_max_joints": 6})
    tuned = train(ft, source_factory=source_factory, export=False)
    assert tuned.global_step == 3


def test_init_from_rejects_another_architecture(make_config, source_factory):
    pre = make_config(arch="mpm", **{"trainer.max_steps": 1})
    result = train(pre, source_factory=source_factory, export=False)
    from monopose.zoo import create_model

    with pytest.raises(ValueError, match="architecture 'mpm'"):
        init_model_from(create_model("baseline", width=32), result.checkpoint)
    # same architecture: the centre of a longer temporal table fits a shorter one
    small = create_model("mpm", dim=16, depth=1, heads=2, max_frames=1, decoder_depth=0)
    counts = init_model_from(copy.deepcopy(small), result.checkpoint)
    assert counts["resized"] == 2 and counts["skipped"] == 0


def test_occlusion_hides_exactly_k_joints_in_all_frames():
    rng = np.random.default_rng(0)
    valid = occlude_random_joints(np.ones((50, 4, 17), bool), 0, rng, exact=4)
    assert (valid.sum(axis=2) == 13).all()
    assert (valid == valid[:, :1]).all()
    some = occlude_random_joints(np.ones((2000, 1, 17), bool), 6, rng, prob=0.5)
    hidden = 17 - some.sum(axis=(1, 2))
    assert hidden.max() == 6 and 0.4 < (hidden == 0).mean() < 0.7


def test_precision_is_chosen_by_device():
    expected = "32-true" if not torch.cuda.is_available() else auto_precision("auto")
    assert auto_precision("auto") == expected
    assert auto_precision("bf16-mixed") == "bf16-mixed"


def test_export_checkpoint_matches_the_run_export(make_config, source_factory, tmp_path):
    from monopose.lifting.cards import CARDS
    from monopose.train.export import export_checkpoint

    cfg = make_config(**{"trainer.max_steps": 3, "export.name": "baseline-t1"})
    result = train(cfg, source_factory=source_factory)
    card = next(c for c in CARDS if c.name == "baseline-t1")
    again = export_checkpoint(result.checkpoint, weights_dir=tmp_path / "again", card=card)
    model_a, first = load_weights(result.exported)
    model_b, second = load_weights(again)
    for (name, a), b in zip(model_a.state_dict().items(), model_b.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    assert second["metadata"]["steps"] == 3
    assert second["metadata"]["final_val_metrics"] == first["metadata"]["final_val_metrics"]
    assert second["card"]["name"] == first["card"]["name"] == "baseline-t1"
    assert second["card"]["num_parameters"] == first["card"]["num_parameters"] > 0


def test_completion_term_trains_mpm_completion_while_lifting(make_config, source_factory,
                                                             synthetic_source):
    """loss.complete3d > 0 adds MPM's 3D completion to lifting: its error falls and is logged;
    a model without complete_3d is refused by name."""
    from monopose.lifting.masking import COMPLETION_PARTS, body_part_mask

    def completion_mm(model) -> float:
        batch = batch_to_tensors(synthetic_source(1).sample_batch(128, np.random.default_rng(7)))
        gt = batch["pose3d"]
        hidden = body_part_mask(128, 1, COMPLETION_PARTS[0], 17)
        model.eval()
        with torch.no_grad():
            pred = model.complete_3d(gt, ~hidden, keep_observed=False)
        return float(torch.linalg.vector_norm(pred - gt, dim=-1)[hidden].mean() * 1000)

    mpm = {"dim": 16, "depth": 1, "heads": 2, "max_frames": 1, "decoder_depth": 0}
    cfg = make_config(arch="mpm", **{"trainer.max_steps": 60, "model.config": mpm,
                                     "loss.complete3d": 1.0})
    L.seed_everything(0)
    before = completion_mm(build_lifter(cfg))
    result = train(cfg, source_factory=source_factory, export=False)
    assert np.isfinite(result.val_metrics["val/complete3d"])
    assert completion_mm(result.module.model) < 0.7 * before
    bad = make_config(**{"trainer.max_steps": 1, "loss.complete3d": 1.0})
    with pytest.raises(ValueError, match="complete_3d"):
        train(bad, source_factory=source_factory, export=False)


def test_depth_weight_and_bone_vector_terms_enter_the_lifting_loss(make_config, synthetic_source):
    """loss.depth_weight scales the depth part of the lifting MPJPE and loss.bone_vector adds
    the bone-vector error, each to the total; the plain recipe has neither."""
    from monopose.core.skeleton import get_layout
    from monopose.lifting.losses import bone_vector_loss
    from monopose.lifting.module import build_module

    batch = batch_to_tensors(synthetic_source(1).sample_batch(32, np.random.default_rng(3)))
    parts = {}
    for key, overrides in {"plain": {}, "depth": {"loss.depth_weight": 3.0},
                           "bones": {"loss.bone_vector": 2.0}}.items():
        cfg = make_config(**overrides)
        torch.manual_seed(0)
        module = build_module(build_lifter(cfg), cfg)
        with torch.no_grad():
            parts[key] = module.losses(batch)
            pred_mm = module.predict_mm(batch)
    gt_mm = batch["pose3d"] * 1000.0
    err = (pred_mm - gt_mm).numpy()
    err[..., 2] *= 3.0
    assert float(parts["depth"]["mpjpe"]) == pytest.approx(
        np.linalg.norm(err, axis=-1).mean(), rel=1e-5)
    assert float(parts["depth"]["mpjpe"]) > float(parts["plain"]["mpjpe"])
    assert "bone_vector" not in parts["plain"]
    want = float(bone_vector_loss(pred_mm, gt_mm, get_layout("h36m17").bones))
    assert float(parts["bones"]["bone_vector"]) == pytest.approx(want, rel=1e-5)
    assert float(parts["bones"]["loss"]) == pytest.approx(
        float(parts["plain"]["loss"]) + 2.0 * want, rel=1e-5)


def test_a_size_input_lifter_trains_its_size_embedding(tmp_path, synthetic_source):
    """With ``model.config.size_input`` the training batches' angular size reaches the model:
    the loss depends on it and its embedding gets a gradient."""
    from monopose.lifting.module import build_module
    from tests.train.conftest import tiny_config

    cfg = tiny_config(tmp_path, arch="mpm", **{"model.config.size_input": True,
                                                "data.input_frame": "virtual_camera"})
    torch.manual_seed(0)
    module = build_module(build_lifter(cfg), cfg)
    batch = batch_to_tensors(synthetic_source(1).sample_batch(32, np.random.default_rng(4)),
                             input_frame="virtual_camera")
    module.losses(batch)["loss"].backward()
    assert float(module.model.embed_size.weight.grad.abs().sum()) > 0
    with torch.no_grad():
        module.model.embed_size.weight.fill_(1.0)
        far = {**batch, "angular_size": batch["angular_size"] / 4}
        assert not torch.allclose(module.predict_mm(batch), module.predict_mm(far))


def test_a_score_input_lifter_trains_its_score_embedding(tmp_path, synthetic_source):
    """With ``model.config.score_input`` the training batches' keypoint scores reach the model:
    doubtful keypoints give its embedding a gradient and change the prediction."""
    from monopose.lifting.module import build_module
    from tests.train.conftest import tiny_config

    cfg = tiny_config(tmp_path, arch="mpm", **{"model.config.score_input": True})
    torch.manual_seed(0)
    module = build_module(build_lifter(cfg), cfg)
    batch = batch_to_tensors(synthetic_source(1).sample_batch(32, np.random.default_rng(4)))
    assert (batch["scores"] == 1.0).all()  # the sampler's 2D: no detector, fully confident
    doubtful = {**batch, "scores": torch.rand(batch["scores"].shape)}
    module.losses(doubtful)["loss"].backward()
    assert float(module.model.embed_score.weight.grad.abs().sum()) > 0
    with torch.no_grad():
        module.model.embed_score.weight.fill_(1.0)
        assert not torch.allclose(module.predict_mm(batch), module.predict_mm(doubtful))


def test_an_up_input_lifter_trains_its_up_embedding(tmp_path, synthetic_source):
    """With ``model.config.up_input`` the training batches' image up (seen by the virtual
    camera) reaches the model: the loss depends on it and its embedding gets a gradient."""
    from monopose.lifting.module import build_module
    from tests.train.conftest import tiny_config

    cfg = tiny_config(tmp_path, arch="mpm", **{"model.config.up_input": True,
                                                "data.input_frame": "virtual_camera"})
    torch.manual_seed(0)
    module = build_module(build_lifter(cfg), cfg)
    batch = batch_to_tensors(synthetic_source(1).sample_batch(32, np.random.default_rng(4)),
                             input_frame="virtual_camera")
    assert batch["camera_up"].shape == (32, 3)
    module.losses(batch)["loss"].backward()
    assert float(module.model.embed_up.weight.grad.abs().sum()) > 0
    with torch.no_grad():
        module.model.embed_up.weight.fill_(1.0)
        level = {**batch, "camera_up": torch.tensor([[0.0, -1.0, 0.0]]).expand(32, 3)}
        assert not torch.allclose(module.predict_mm(batch), module.predict_mm(level))
