"""Random backgrounds: procedural textures (no extra needed) and scikit-image photos."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.data.synthetic.backgrounds import BackgroundBank


def test_procedural_backgrounds_are_deterministic():
    bank = BackgroundBank(use_photos=False)
    a = bank.sample(np.random.default_rng(5), (40, 30))
    b = bank.sample(np.random.default_rng(5), (40, 30))
    assert a.shape == (30, 40, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    imgs = [bank.sample(np.random.default_rng(s), (40, 30)) for s in range(8)]
    assert len({im.tobytes() for im in imgs}) == 8


def test_bundled_photos_load_offline():
    pytest.importorskip("skimage")
    bank = BackgroundBank(use_photos=True)
    assert len(bank.photos) >= 10
    img = bank.sample(np.random.default_rng(0), (64, 48), photo_prob=1.0)
    assert img.shape == (48, 64, 3) and img.std() > 1.0
