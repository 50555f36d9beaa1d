"""Shared fixtures for the 2D front-end tests: one detector, real photos when available."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def shared_media() -> Path | None:
    root = Path(os.environ.get("MONOPOSE_SHARED", REPO.parent / "shared"))
    media = root / "media"
    return media if media.is_dir() else None


@pytest.fixture(scope="session")
def detector():
    from monopose.detect import BlazePoseDetector

    return BlazePoseDetector()


@pytest.fixture(scope="session")
def standing_photo() -> np.ndarray:
    """A real photo of one standing person (RGB uint8): the sample photo shipped in the package."""
    from monopose.detect import load_image

    return load_image(REPO / "monopose" / "assets" / "sample_person.jpg")


@pytest.fixture(scope="session")
def empty_scene_photo() -> np.ndarray:
    from monopose.detect import load_image

    media = shared_media()
    path = None if media is None else media / "no_person_coffee_cup.jpg"
    if path is None or not path.is_file():
        pytest.skip("real test photo not found: set MONOPOSE_SHARED to the shared folder")
    return load_image(path)
