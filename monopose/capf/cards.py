"""Registry cards of the context lifters (registered by :mod:`monopose.zoo`)."""

from __future__ import annotations

from torch import nn

from monopose.capf.model import ContextAwarePoseFormer
from monopose.models.card import RENDERED_PEOPLE, ModelCard

__all__ = ["CAPF_T1_CONFIG", "ARCHITECTURES", "CARDS"]

# Small enough to train on a CPU in minutes; the authors' H36M model is C=128, 4+4 blocks.
CAPF_T1_CONFIG = dict(num_joints=17, level_channels=[48, 48, 88, 144], patch=5, dim=32,
                      context_heads=4, context_points=4, fusion_depth=2, joint_depth=4,
                      heads=8, mlp_ratio=2.0, dropout=0.0, drop_path=0.1)

ARCHITECTURES: dict[str, type[nn.Module]] = {"capf": ContextAwarePoseFormer}

CARDS = (
    ModelCard(
        name="capf-blazepose-t1", architecture="capf", config=CAPF_T1_CONFIG, window=1,
        input_frame="virtual_camera",
        training_data=("cmu", "bandai"), trained_on=RENDERED_PEOPLE,
        description="Context-Aware PoseFormer: one BlazePose 2D pose plus deformable sampling of "
        "the frozen landmark network's feature maps (strides 4-32) around each joint; trained "
        "on rendered people labelled in Human3.6M's joint placement, lifting in a virtual "
        "camera turned towards the person. Needs detect(..., with_features=True) and "
        "monopose.capf.inference.lift_with_context.",
    ),
    ModelCard(
        name="poseformer-ctxfree-synth", architecture="poseformer",
        config=dict(num_joints=17, dim=64, depth=4, heads=8, mlp_ratio=2.0, dropout=0.0,
                    drop_path=0.1),
        window=1, training_data=("cmu", "bandai"), trained_on=RENDERED_PEOPLE,
        input_frame="virtual_camera",
        description="Control for capf-blazepose-t1: the single-frame PoseFormer trained "
        "identically on the same rendered people and detector 2D inputs, without context.",
    ),
)
