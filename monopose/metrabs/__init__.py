"""MeTRAbs: metric-scale truncation-robust heatmaps and absolute 3D of every person.

Modules: ``crop`` (crop cameras), ``augment`` (training crops), ``cache`` (frozen-network
feature cache), ``image_data`` (on-the-fly crops for the trainable backbone), ``losses``,
``train`` (Lightning), ``inference`` (:class:`MetrabsEstimator`), ``evaluate``. The network itself
is :class:`monopose.models.metrabs.MetrabsNet`.
"""

from monopose.metrabs.crop import CropCamera, box_crop_camera
from monopose.metrabs.inference import MetrabsEstimator, MetrabsPerson

__all__ = ["CropCamera", "box_crop_camera", "MetrabsEstimator", "MetrabsPerson"]
