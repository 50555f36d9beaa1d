"""Fixtures for the export tests."""

from __future__ import annotations

import pytest

from monopose.io.results import CameraInfo
from tests.export.synthetic import make_camera


@pytest.fixture
def camera() -> CameraInfo:
    return make_camera()
