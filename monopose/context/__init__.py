"""Context for lifters: the frozen detector's feature maps around each joint (CA-PF).

* :mod:`.features` — patch extraction from ``PersonDetection.feature_maps`` (training cache and
  inference share it), flipping, validation of the maps;
* :mod:`.dataset` — the feature cache of rendered people and training batches;
* :mod:`.inference` — :func:`lift_with_context`, the product's entry point;
* :mod:`.train` — training context and context-free lifters on the same cache.

Submodules are imported on use, so importing this package stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["lift_with_context"]


def lift_with_context(*args: Any, **kwargs: Any) -> Any:
    """See :func:`monopose.context.inference.lift_with_context`."""
    from monopose.context.inference import lift_with_context as _lift

    return _lift(*args, **kwargs)
