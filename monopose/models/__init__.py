"""Lifting models (2D keypoints -> root-relative 3D), their registry, weights I/O and inference.

Import the submodules directly (``monopose.models.registry``, ``monopose.models.lifter``, ...);
this package module stays light.
"""
