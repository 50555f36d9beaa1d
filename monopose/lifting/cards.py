"""Architectures and registry cards of the lifters (registered by :mod:`monopose.zoo`)."""

from __future__ import annotations

from torch import nn

from monopose.lifting.baseline import BaselineLifter
from monopose.lifting.mpm import MPMLifter
from monopose.lifting.poseformer import PoseFormerLifter
from monopose.models.card import ModelCard

__all__ = ["ARCHITECTURES", "CARDS", "MPM_T1_CONFIG"]

ARCHITECTURES: dict[str, type[nn.Module]] = {
    "baseline": BaselineLifter,
    "poseformer": PoseFormerLifter,
    "mpm": MPMLifter,
}

_DATA = ("cmu", "bandai")
# The lifters trained on the mocap lift in a camera turned towards the person.
_VC = "virtual_camera"
MPM_T1_CONFIG = dict(num_joints=17, dim=128, depth=4, heads=8, mlp_ratio=2.0, max_frames=1,
                     decoder_depth=1, dropout=0.0, drop_path=0.1)

CARDS = (
    ModelCard(
        name="baseline-t1", input_frame=_VC, architecture="baseline",
        config=dict(num_joints=17, width=1024, num_blocks=2, dropout=0.25),
        window=1, training_data=_DATA,
        description="Fully connected residual lifter (Martinez et al. 2017 style) with a "
        "valid-mask input channel; one frame.",
    ),
    ModelCard(
        name="poseformer-t1", input_frame=_VC, architecture="poseformer",
        config=dict(num_joints=17, dim=64, depth=4, heads=8, mlp_ratio=2.0, dropout=0.0,
                    drop_path=0.1),
        window=1, training_data=_DATA,
        description="Single-frame PoseFormer-style spatial transformer over joint tokens.",
    ),
    ModelCard(
        name="mpm-lift-t1", input_frame=_VC, architecture="mpm", config=MPM_T1_CONFIG, window=1,
        training_data=_DATA,
        description="MPM pretrained by masked 2D and 3D pose modelling, fine-tuned for "
        "lifting, then with a quarter of its pairs from the detector's own 2D on rendered "
        "people: the keypoints of BlazePose Heavy's final look, which monopose predict gives "
        "photos (monopose.data.detected_renders; the average of two seeds); single frame; also "
        "completes 3D poses.",
    ),
    ModelCard(
        name="mpm-lift-t27", input_frame=_VC, architecture="mpm",
        config={**MPM_T1_CONFIG, "max_frames": 27}, window=27, training_data=_DATA,
        description="MPM over 27-frame windows (factorised spatial/temporal attention), started "
        "from mpm-lift-t1 with its temporal blocks as the identity and fine-tuned on mocap "
        "windows at 30, 15 and 10 fps (position and velocity); a track is lifted window by "
        "window, every 9 frames.",
    ),
    ModelCard(
        name="mpm-lift-t1-floorsit", input_frame=_VC, architecture="mpm",
        config=dict(MPM_T1_CONFIG), window=1, training_data=_DATA,
        description="mpm-lift-t1 fine-tuned once more with a tenth of its mocap poses sat on the "
        "floor (sitting, kneeling; monopose.data.floor_sits) and a quarter of its pairs from "
        "the detector's own 2D on rendered people, floor sitters among them "
        "(monopose.data.detected_renders), then again with those pairs from BlazePose Heavy's "
        "final look, the keypoints photos get; each stage the average of two seeds. For people "
        "on the floor: mpm-lift-t1 hands them to it in `monopose lift` and `predict "
        "--floor-lifter` (monopose.lifting.floor_gate; BENCHMARKS.md).",
    ),
    ModelCard(
        name="mpm-lift-t1-scratch", input_frame=_VC, architecture="mpm",
        config=dict(MPM_T1_CONFIG), window=1, training_data=_DATA,
        description="Ablation: the mpm-lift-t1 network trained for lifting without "
        "pretraining.",
    ),
)
