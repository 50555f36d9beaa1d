"""Registry cards of the MeTRAbs image models (registered by :mod:`monopose.zoo`)."""

from __future__ import annotations

from torch import nn

from monopose.metrabs.model import MetrabsNet
from monopose.models.card import RENDERED_PEOPLE, ModelCard

__all__ = ["METRABS_BLAZEPOSE_CONFIG", "ARCHITECTURES", "CARDS"]

METRABS_BLAZEPOSE_CONFIG = dict(backbone="blazepose", head="metro", width=128, num_joints=17,
                                depth_bins=8, box_size_mm=2200.0, crop_size_px=256, resnet={},
                                neck=dict(branch=64, blocks=2, separable=False))

ARCHITECTURES: dict[str, type[nn.Module]] = {"metrabs": MetrabsNet}

CARDS = (
    ModelCard(
        name="metrabs-blazepose", architecture="metrabs", config=METRABS_BLAZEPOSE_CONFIG,
        window=1, training_data=("cmu", "bandai"), trained_on=RENDERED_PEOPLE,
        description="MeTRAbs: metric-scale truncation-robust heatmaps (2D + 8 metric depth "
        "bins in a 2.2 m cube) on the frozen BlazePose landmark network's 32²/16²/8² maps of "
        "a homography-warped person crop; absolute 3D from its own 2D by the root solve. "
        "Trained on rendered people labelled in Human3.6M's joint placement. Use through "
        "monopose.metrabs.inference.MetrabsEstimator.",
    ),
)
