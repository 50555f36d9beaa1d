import math

import numpy as np
import pytest

from monopose.detect.landmarks import refine_from_heatmap
from monopose.detect.roi import (
    crop_image,
    crop_to_image,
    image_to_crop,
    letterbox_rect,
    rect_from_alignment_points,
    rect_iou,
    roi_from_alignment_points,
)
from monopose.detect.types import RotatedRect


@pytest.mark.parametrize("seed", range(5))
def test_image_crop_round_trip(seed):
    rng = np.random.default_rng(seed)
    rect = RotatedRect(tuple(rng.uniform(0, 500, 2)), (rng.uniform(50, 400),) * 2,
                       rng.uniform(-math.pi, math.pi))
    pts = rng.uniform(-100, 600, (20, 2))
    crop = image_to_crop(pts, rect, (256, 256))
    assert np.allclose(crop_to_image(crop, rect, (256, 256)), pts, atol=1e-9)
    # the rect's centre is the crop's centre, its corners the crop's corners
    assert np.allclose(image_to_crop(np.array(rect.center_px), rect, (256, 256)), [128, 128])
    corners = image_to_crop(rect.corners_px, rect, (256, 256))
    assert np.allclose(corners, [[0, 0], [256, 0], [256, 256], [0, 256]], atol=1e-9)


def test_alignment_rect_rotation_and_size():
    upright = rect_from_alignment_points(np.array([100.0, 200.0]), np.array([100.0, 100.0]))
    assert upright.rotation_rad == pytest.approx(0.0)
    assert upright.size_px == pytest.approx((200.0, 200.0))
    # person lying with the head to the right: rotate by +90° (head maps to crop top)
    lying = rect_from_alignment_points(np.array([100.0, 200.0]), np.array([150.0, 200.0]))
    assert lying.rotation_rad == pytest.approx(math.pi / 2)
    head_in_crop = image_to_crop(np.array([150.0, 200.0]), lying, (256, 256))
    assert head_in_crop == pytest.approx([128.0, 0.0])  # scale point = top edge
    roi = roi_from_alignment_points(np.array([100.0, 200.0]), np.array([100.0, 100.0]))
    assert roi.size_px == pytest.approx((250.0, 250.0))


def test_crop_samples_the_rotated_rect():
    img = np.zeros((300, 400, 3), np.uint8)
    img[140:160, 240:260] = 255  # a white square around (250, 150)
    rect = rect_from_alignment_points(np.array([200.0, 150.0]), np.array([300.0, 150.0]))
    crop = crop_image(img, rect, (128, 128))
    ys, xs = np.nonzero(crop[..., 0] > 128)
    centre = image_to_crop(np.array([249.5, 149.5]), rect, (128, 128))
    assert np.hypot(xs.mean() - centre[0], ys.mean() - centre[1]) < 1.0
    assert crop.dtype == np.uint8 and crop.shape == (128, 128, 3)


def test_letterbox_rect_landscape():
    rect, pad = letterbox_rect((640, 320), (224, 224))
    assert rect.size_px == (640, 640) and rect.center_px == (320, 160)
    assert pad == pytest.approx((0.0, 0.25, 0.0, 0.25))


def test_rect_iou():
    a = RotatedRect((0.0, 0.0), (2.0, 2.0), 0.0)
    assert rect_iou(a, a) == pytest.approx(1.0)
    b = RotatedRect((1.0, 0.0), (2.0, 2.0), 0.0)
    assert rect_iou(a, b) == pytest.approx(2 / 6)
    c = RotatedRect((0.0, 0.0), (2.0, 2.0), math.pi / 4)
    assert 0.7 < rect_iou(a, c) < 0.9


def test_heatmap_refinement_moves_to_peak_only_when_confident():
    hm = np.full((64, 64, 2), -10.0, np.float32)
    hm[20, 30, 0] = 5.0  # confident peak for landmark 0
    hm[40, 10, 1] = -1.0  # weak peak for landmark 1 (sigmoid 0.27)
    xy = np.array([[31.5 / 64, 21.7 / 64], [11.0 / 64, 41.0 / 64]])
    out = refine_from_heatmap(xy, hm)
    assert out[0] == pytest.approx([30 / 64, 20 / 64], abs=2e-3)
    assert np.allclose(out[1], xy[1])
