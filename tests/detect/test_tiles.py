import cv2
import numpy as np
import pytest

from monopose.detect import BlazePoseDetector, PoseTracker
from monopose.detect.tiles import (
    auto_grid,
    body_extent_px,
    cut_by_border,
    image_to_tile,
    inside_fraction,
    resolve_tiles,
    tile_grid,
    tile_to_image,
)


# ----------------------------------------------------------------------------- geometry
@pytest.mark.parametrize(("wh", "rows", "cols", "overlap"),
                         [((768, 576), 2, 3, 0.25), ((1080, 720), 3, 4, 0.2),
                          ((500, 900), 4, 2, 0.0), ((640, 480), 1, 3, 0.35)])
def test_tiles_cover_the_image_with_the_configured_overlap(wh, rows, cols, overlap):
    boxes = tile_grid(wh, rows, cols, overlap)
    assert boxes.shape == (rows * cols, 4)
    w, h = wh
    assert boxes[:, :2].min() == pytest.approx(0.0)
    assert boxes[:, 2].max() == pytest.approx(w) and boxes[:, 3].max() == pytest.approx(h)
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()
    # every point of the image lies in some tile
    ys, xs = np.mgrid[0:h:7.3, 0:w:7.3]
    pts = np.stack([xs.ravel(), ys.ravel()], 1)
    inside = ((pts[:, None, 0] >= boxes[None, :, 0]) & (pts[:, None, 0] <= boxes[None, :, 2])
              & (pts[:, None, 1] >= boxes[None, :, 1]) & (pts[:, None, 1] <= boxes[None, :, 3]))
    assert inside.any(axis=1).all()
    grid = boxes.reshape(rows, cols, 4)
    tw, th = grid[0, 0, 2] - grid[0, 0, 0], grid[0, 0, 3] - grid[0, 0, 1]
    if cols > 1:  # horizontal neighbours share `overlap` of the tile width
        shared = grid[0, 0, 2] - grid[0, 1, 0]
        assert shared / tw == pytest.approx(overlap)
    if rows > 1:
        shared = grid[0, 0, 3] - grid[1, 0, 1]
        assert shared / th == pytest.approx(overlap)


def test_tile_mapping_round_trips():
    rng = np.random.default_rng(0)
    tile = np.array([120.5, 40.0, 420.5, 330.0])
    pts = rng.uniform(-50, 600, (30, 2))
    assert np.allclose(tile_to_image(image_to_tile(pts, tile), tile), pts)
    assert np.allclose(tile_to_image(np.array([[0.0, 0.0], [1.0, 1.0]]), tile),
                       tile.reshape(2, 2))


def test_auto_grid_and_resolve():
    rows, cols = auto_grid((768, 576), tile_px=200, overlap=0.25)
    tiles = tile_grid((768, 576), rows, cols, 0.25)
    assert (tiles[:, 2:] - tiles[:, :2]).max() <= 200 + 1e-6
    smaller = tile_grid((768, 576), rows, cols - 1, 0.25) if cols > 1 else tiles
    assert (smaller[:, 2] - smaller[:, 0]).max() > 200  # minimal: one column fewer is too wide
    assert resolve_tiles("off", (4000, 3000)) is None
    assert resolve_tiles("auto", (320, 240)) is None  # small image: whole pass only
    assert resolve_tiles("auto", (320, 240), force=True) == auto_grid((320, 240), 200, 0.25)
    assert resolve_tiles("auto", (180, 150), force=True) is None  # already one tile
    assert resolve_tiles("auto", (768, 576)) == (rows, cols)
    assert resolve_tiles((2, 2), (100, 100)) == (2, 2)
    for bad in ("on", (0, 2), (2,), 3, (2.0, 2)):
        with pytest.raises(ValueError, match="tiles"):
            resolve_tiles(bad, (768, 576))
    with pytest.raises(ValueError, match="overlap"):
        tile_grid((768, 576), 2, 2, 1.0)
    with pytest.raises(ValueError, match="tiles"):
        BlazePoseDetector(tiles="sometimes")


def test_cut_by_inner_border_only():
    image_wh = (800, 600)
    tile = np.array([300.0, 0.0, 600.0, 300.0])  # inner borders: left, right, bottom
    body = np.array([[570.0, 100.0, 670.0, 250.0],  # 70% beyond the right (inner) border
                     [400.0, 100.0, 500.0, 250.0],  # well inside
                     [400.0, -60.0, 500.0, 90.0]])  # beyond the top = image border: fine
    assert cut_by_border(body, tile, image_wh).tolist() == [True, False, False]
    # body extent from detector keypoints: upright person, hips at (100, 200), head at y=150
    kp = np.array([[[100.0, 200.0], [100.0, 150.0], [100.0, 170.0], [100.0, 160.0]]])
    ext = body_extent_px(kp)[0]
    assert ext[1] == pytest.approx(150.0) and ext[3] == pytest.approx(250.0)
    assert ext[0] < 100 < ext[2]
    assert inside_fraction(ext[None], np.array([0, 0, 1000, 1000.0]))[0] == pytest.approx(1.0)
    assert inside_fraction(ext[None], np.array([0, 0, 1000, 200.0]))[0] == pytest.approx(0.5)


# ----------------------------------------------------------------------------- composites
def _person_crop(detector, photo, height_px):
    person = BlazePoseDetector.detect(detector, photo)[0]
    x0, y0, x1, y1 = person.box_xyxy_px
    m = 0.12 * (y1 - y0)
    crop = photo[int(max(0, y0 - m)):int(min(photo.shape[0], y1 + m)),
                 int(max(0, x0 - m)):int(min(photo.shape[1], x1 + m))]
    s = height_px / crop.shape[0]
    return cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)


SPOTS = ((0.2, 0.3), (0.45, 0.7), (0.7, 0.35), (0.85, 0.75))


def _composite(small, dx=0, dy=0, canvas_hw=(576, 768)):
    """Four small copies of the person on a smooth background; returns image and centres."""
    h, w = canvas_hw
    yy, xx = np.mgrid[0:h, 0:w]
    bg = np.stack([90 + 60 * xx / w, 110 + 40 * yy / h, 100 + 0 * xx], -1).astype(np.uint8)
    centres = []
    sh, sw = small.shape[:2]
    for fx, fy in SPOTS:
        cx, cy = int(fx * w) + dx, int(fy * h) + dy
        bg[cy - sh // 2:cy - sh // 2 + sh, cx - sw // 2:cx - sw // 2 + sw] = small
        centres.append((cx, cy))
    return bg, np.array(centres, dtype=np.float64)


@pytest.fixture(scope="module")
def small_person(detector, standing_photo):
    return _person_crop(detector, standing_photo, 100)


def _found(people, centres, tol):
    """For each centre, whether a person's box centre lies within tol px."""
    if not people:
        return np.zeros(len(centres), bool)
    c = np.array([p.box_xyxy_px.reshape(2, 2).mean(0) for p in people])
    d = np.linalg.norm(c[:, None] - centres[None], axis=-1)
    return d.min(axis=0) < tol


def test_tiles_find_small_people(detector, small_person):
    image, centres = _composite(small_person)
    with_tiles = detector.detect(image)  # "auto": 768x576 is large for 100-px people
    assert detector.tiles == "auto"
    assert _found(with_tiles, centres, 30).all()
    assert len(with_tiles) == 4  # and nobody twice
    without = BlazePoseDetector(tiles="off").detect(image)
    assert _found(without, centres, 30).sum() < 4
    # explicit grid
    assert len(detector.detect_people(image, tiles=(4, 5))) >= 4


def test_one_large_person_unchanged_by_tiles(detector, standing_photo):
    off = BlazePoseDetector(tiles="off")
    assert len(detector.tile_boxes(standing_photo.shape[1::-1])) > 1  # tiles do run
    a, b = detector.detect(standing_photo), off.detect(standing_photo)
    assert len(a) == len(b) == 1
    assert np.array_equal(a[0].keypoints_px, b[0].keypoints_px)
    da, db = detector.detect_people(standing_photo), off.detect_people(standing_photo)
    assert len(da) == len(db)
    assert np.array_equal(da[0].keypoints_px, db[0].keypoints_px)
    # a smaller copy (a third of the frame tall) is still found once
    small = cv2.resize(standing_photo, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    assert len(detector.detect(small)) == 1


def test_tracking_small_people_keeps_ids(detector, small_person):
    tracker = PoseTracker(detector, redetect_every=3, tile_every=3)
    first_ids = None
    for t in range(5):
        image, centres = _composite(small_person, dx=4 * t, dy=t)
        people = tracker.update(image)
        assert _found(people, centres, 30).all()
        ids = {}
        for p in people:
            centre = p.box_xyxy_px.reshape(2, 2).mean(0)
            k = int(np.argmin(np.linalg.norm(centres - centre, axis=1)))
            ids[k] = p.track_id
        if first_ids is None:
            first_ids = ids
        assert ids == first_ids
    assert sorted(first_ids.values()) == [0, 1, 2, 3]


def _count_tiled_scans(detector, monkeypatch, tracker, frames):
    scans = []
    original = detector.detect_people

    def spy(image, tiles=None, force_tiles=False, turned_passes=False):
        scans.append(force_tiles)
        return original(image, tiles=tiles, force_tiles=force_tiles,
                        turned_passes=turned_passes)

    monkeypatch.setattr(detector, "detect_people", spy)
    for f in frames:
        tracker.update(f)
    return sum(scans)


def test_tiled_rescans_slow_down_for_large_people(detector, standing_photo, small_person,
                                                  monkeypatch):
    large = PoseTracker(detector, tile_every=4, tile_every_large=100)
    assert _count_tiled_scans(detector, monkeypatch, large, [standing_photo] * 9) == 1
    small = PoseTracker(detector, tile_every=4, tile_every_large=100)
    image, _ = _composite(small_person)
    assert _count_tiled_scans(detector, monkeypatch, small, [image] * 9) == 3  # frames 0, 4, 8
    never = PoseTracker(detector, tile_every=0)
    assert _count_tiled_scans(detector, monkeypatch, never, [image] * 3) == 0
    with pytest.raises(ValueError, match="tile_every_large"):
        PoseTracker(detector, tile_every=10, tile_every_large=5)
    with pytest.raises(ValueError, match="tile_every"):
        PoseTracker(detector, tile_every=-1)
