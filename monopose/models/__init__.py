"""Model machinery shared by every family: cards, the registry, weights I/O, transformer layers.

The families themselves live in ``monopose.lifting``, ``monopose.capf`` and ``monopose.metrabs``;
:mod:`monopose.zoo` registers them. Import the submodules directly; this package module stays
light.
"""
