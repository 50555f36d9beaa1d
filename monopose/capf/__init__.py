"""Context-Aware PoseFormer: one 2D pose plus the frozen detector's feature maps around each joint.

* :mod:`.model` — :class:`~monopose.capf.model.ContextAwarePoseFormer`;
* :mod:`.cards` — registry cards (CA-PF and its context-free control);
* :mod:`.features` — patch extraction from ``PersonDetection.feature_maps`` (training cache and
  inference share it), flipping, validation of the maps;
* :mod:`.dataset` — the feature cache of rendered people and training batches;
* :mod:`.inference` — :func:`~monopose.capf.inference.lift_with_context`;
* :mod:`.training` — the training task (context and context-free lifters on the same cache).

Nothing is imported here, so importing the package stays cheap.
"""
