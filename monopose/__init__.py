"""monopose: metric 3D human poses from photos and videos."""

__version__ = "0.1.0"
