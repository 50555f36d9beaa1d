"""MeTRAbs: metric-scale truncation-robust heatmaps and absolute 3D of every person.

Modules: ``model`` (:class:`~monopose.metrabs.model.MetrabsNet`), ``resnet`` (trainable
backbone), ``cards`` (registry cards), ``crop`` (crop cameras), ``augment`` (training crops),
``cache`` (frozen-network feature cache), ``image_data`` (on-the-fly crops for the trainable
backbone), ``losses``, ``training`` (the training task), ``inference``
(:class:`~monopose.metrabs.inference.MetrabsEstimator`). Evaluation is in
:mod:`monopose.eval.metrabs`. Nothing is imported here, so importing the package stays cheap.
"""
