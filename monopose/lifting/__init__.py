"""Lifters: 2D keypoints → root-relative metric 3D (baseline, PoseFormer, MPM).

* :mod:`.baseline`, :mod:`.poseformer`, :mod:`.mpm` — the networks; :mod:`.masking` — MPM's
  masking; :mod:`.cards` — registry cards;
* :mod:`.lifter` — :class:`~monopose.lifting.lifter.Lifter`, inference with flip test and the
  virtual camera;
* :mod:`.batches`, :mod:`.datamodule`, :mod:`.losses`, :mod:`.module` — training on mocap.

Nothing is imported here, so importing the package stays cheap.
"""
