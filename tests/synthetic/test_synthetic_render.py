"""The rasterizer on tiny meshes (no body model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.core.camera import project_points
from monopose.data.synthetic.render import MeshRenderer, require_render_extra


def _quad(z: float, half: float, centre=(0.0, 0.0)) -> np.ndarray:
    cx, cy = centre
    return np.array([[cx - half, cy - half, z], [cx + half, cy - half, z],
                     [cx + half, cy + half, z], [cx - half, cy + half, z]])


QUAD_FACES = np.array([[0, 1, 2], [0, 2, 3]])


def test_missing_extra_names_the_install_command():
    with pytest.raises(ImportError, match=r"pip install 'monopose\[render\]'"):
        require_render_extra("monopose_no_such_module_for_test")


def test_quad_lands_where_the_camera_projects_it(gl_available):
    r = MeshRenderer(QUAD_FACES)
    intr = np.array([120.0, 100.0, 30.0, 25.0])
    v = _quad(1000.0, 100.0, centre=(53.0, -37.0))  # edges off pixel centres
    res = r.render(v, np.full((4, 3), 0.5), intr, (64, 48))
    corners = project_points(v, intr)
    ys, xs = np.nonzero(res.mask)
    # pixel centres covered: exactly those strictly inside the projected square
    assert xs.min() == int(np.ceil(corners[:, 0].min()))
    assert xs.max() == int(np.floor(corners[:, 0].max()))
    assert ys.min() == int(np.ceil(corners[:, 1].min()))
    assert ys.max() == int(np.floor(corners[:, 1].max()))
    np.testing.assert_allclose(res.depth_mm[res.mask], 1000.0, rtol=1e-5)
    assert np.isinf(res.depth_mm[~res.mask]).all()
    assert res.rgb.shape == (48, 64, 3) and res.rgb.dtype == np.uint8
    r.release()


def test_nearer_surface_wins_and_depth_is_linear(gl_available):
    faces = np.concatenate([QUAD_FACES, QUAD_FACES + 4])
    far = _quad(2000.0, 400.0)
    near = _quad(1500.0, 100.0)
    colors = np.concatenate([np.tile([1.0, 0.0, 0.0], (4, 1)), np.tile([0.0, 0.0, 1.0], (4, 1))])
    r = MeshRenderer(faces)
    res = r.render(np.concatenate([far, near]), colors, (100.0, 100.0, 31.5, 31.5), (64, 64),
                   light_dir=(0, 0, -1), light_rgb=(1, 1, 1), ambient_rgb=(0, 0, 0))
    assert res.depth_mm[31, 31] == pytest.approx(1500.0, rel=1e-5)
    assert res.depth_mm[15, 31] == pytest.approx(2000.0, rel=1e-5)
    assert res.rgb[31, 31, 2] > 200 and res.rgb[31, 31, 0] < 30  # the near blue quad
    assert res.rgb[15, 31, 0] > 200  # the far red one around it
    r.release()


def test_bad_camera_settings_raise(gl_available):
    r = MeshRenderer(QUAD_FACES)
    v, c = _quad(1000.0, 100.0), np.full((4, 3), 0.5)
    with pytest.raises(ValueError, match="focal"):
        r.render(v, c, (0.0, 100.0, 10.0, 10.0), (32, 32))
    with pytest.raises(ValueError, match="focal"):
        r.render(v, c, (-5.0, -5.0, 10.0, 10.0), (32, 32))
    with pytest.raises(ValueError, match="size_wh"):
        r.render(v, c, (100.0, 100.0, 10.0, 10.0), (0, 32))
    with pytest.raises(ValueError, match="colors"):
        r.render(v, c[:3], (100.0, 100.0, 10.0, 10.0), (32, 32))
    r.release()
    with pytest.raises(ValueError, match="faces"):
        MeshRenderer(np.zeros((0, 3), int))


def test_two_renderers_in_one_process_do_not_interfere(gl_available):
    v, c = _quad(1000.0, 100.0, centre=(13.0, 7.0)), np.full((4, 3), 0.7)
    intr = (100.0, 100.0, 31.5, 31.5)
    first = MeshRenderer(QUAD_FACES)
    before = first.render(v, c, intr, (64, 64))
    second = MeshRenderer(QUAD_FACES)
    other = second.render(v * [1, 1, 2], c * 0.5, intr, (64, 64))
    after = first.render(v, c, intr, (64, 64))
    second.release()
    last = first.render(v, c, intr, (64, 64))
    for res in (after, last):
        np.testing.assert_array_equal(res.rgb, before.rgb)
        np.testing.assert_array_equal(res.depth_mm, before.depth_mm)
    assert other.mask.sum() < before.mask.sum()
    first.release()
