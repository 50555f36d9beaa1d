"""Training and evaluation data.

* :mod:`.bvh` — BVH parsing and forward kinematics.
* :mod:`.mocap` — BVH rigs (CMU, Bandai) → H36M-17, world frame in mm.
* :mod:`.mocap_cache` — the cache builder (``monopose data mocap``) and loader.
* :mod:`.sample` — :class:`~monopose.data.sample.PoseBatch`, the one sample type.
* :mod:`.sampler` — virtual cameras, augmentation and 2D noise on the fly; fixed eval sets.
* :mod:`.datasets` — torch datasets.
* :mod:`.h36m`, :mod:`.mpi3dhp` — benchmark readers.

Nothing is imported here, so ``import monopose.data`` stays cheap (no torch).
"""
