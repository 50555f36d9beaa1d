"""Pictures: readable tick labels in the 3D panels, and steady 3D ranges through a video."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from monopose.core.world_up import WorldFrame
from monopose.io.results import CameraInfo, FrameResult, PersonResult
from monopose.pipeline import viz
from monopose.pipeline.viz import PanelLimits, PictureOutput, VideoWriter, draw_frame, in_world_view
from tests.export.synthetic import CAM_REST, make_person, skeleton_from_directions

CAMERA = CameraInfo(fx=140.0, fy=140.0, cx=80.0, cy=60.0, width=160, height=120,
                    source="default_fov", fov_deg=60.0)
STANDING_MM = skeleton_from_directions(CAM_REST[None], np.full(17, 150.0))[0]  # [17, 3]


def _person(root_mm: tuple[float, float, float], person_id: int | None = None) -> PersonResult:
    return make_person(STANDING_MM + np.asarray(root_mm), CAMERA, person_id)


def _photo() -> np.ndarray:
    return np.full((CAMERA.height, CAMERA.width, 3), 200, np.uint8)


class _TextLog:
    """Every ``cv2.putText`` call: the image drawn on and the label's pixel box."""

    def __init__(self) -> None:
        self.calls: list[tuple[np.ndarray, str, tuple[int, int, int, int]]] = []
        self._put_text = cv2.putText

    def __call__(self, img, text, org, font, scale, color, thickness=1, *args, **kwargs):
        (w, h), base = cv2.getTextSize(text, font, scale, thickness)
        x, y = int(org[0]), int(org[1])
        self.calls.append((img, text, (x, y - h, x + w, y + base)))
        return self._put_text(img, text, org, font, scale, color, thickness, *args, **kwargs)

    def panels(self) -> list[list[tuple[str, tuple[int, int, int, int]]]]:
        """Texts per 3D panel (the 360-px square images), in drawing order."""
        out: list[tuple[np.ndarray, list]] = []
        for img, text, box in self.calls:
            if img.shape[:2] != (viz._PANEL_PX, viz._PANEL_PX):
                continue
            for panel, texts in out:
                if panel is img:
                    texts.append((text, box))
                    break
            else:
                out.append((img, [(text, box)]))
        return [texts for _, texts in out]


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.fixture
def text_log(monkeypatch: pytest.MonkeyPatch) -> _TextLog:
    log = _TextLog()
    monkeypatch.setattr(cv2, "putText", log)
    return log


SCENES = {
    "one person": [(0.0, 0.0, 4000.0)],
    # Deep scene: the side view spans ~10 m; with a label every 0.5 m they would collide.
    "two depths": [(-2000.0, 0.0, 3000.0), (2000.0, 300.0, 12_000.0)],
    "crowd": [(-9000.0, 0.0, 6000.0), (0.0, 0.0, 12_000.0), (9000.0, 500.0, 25_000.0)],
    "close": [(0.0, 0.0, 1200.0)],
}


@pytest.mark.parametrize("scene", list(SCENES))
def test_tick_labels_do_not_overlap(scene: str, text_log: _TextLog) -> None:
    frame = FrameResult(0, None, [_person(r, k) for k, r in enumerate(SCENES[scene])])
    draw_frame(_photo(), frame)
    panels = text_log.panels()
    assert len(panels) == 2  # front and side
    for texts in panels:
        # Title and tick labels of both axes: no two of them touch.
        for (ta, a), (tb, b) in itertools.combinations(texts, 2):
            assert not _overlap(a, b), f"{scene}: {ta!r} at {a} overlaps {tb!r} at {b}"
        ticks = [(t, b) for t, b in texts if not t.startswith(("front", "side"))]
        horizontal = [b for _, b in ticks if b[3] >= viz._PANEL_PX - 8]
        vertical = [b for _, b in ticks if b[0] == 2]
        assert len(horizontal) >= 2 and len(vertical) >= 2, texts
        assert all(b[0] >= 0 and b[2] <= viz._PANEL_PX for _, b in ticks)  # inside the panel
        # Short metre labels: "-1.5", "2", never "2.0" or "-0".
        for text, _ in ticks:
            assert text == f"{float(text):g}" and text != "-0"


def _with_errors(person: PersonResult, ankle_mm: float) -> PersonResult:
    median = np.zeros(17)
    median[[3, 6]] = ankle_mm  # both ankles unsure, everything else sure
    person.errors = {"joint_median_mm": median, "joint_p90_mm": 2 * median,
                     "root_median_mm": 500.0, "root_p90_mm": 1000.0}
    return person


@pytest.mark.parametrize("scene", list(SCENES))
def test_each_joints_likely_error_is_drawn_as_a_disc_with_a_note(scene: str,
                                                                 text_log: _TextLog) -> None:
    roots = SCENES[scene]
    plain = draw_frame(_photo(), FrameResult(0, None, [_person(r, k)
                                                        for k, r in enumerate(roots)]))
    assert not any(t.startswith("discs") for _, t, _ in text_log.calls)
    people = [_with_errors(_person(r, k), 300.0) for k, r in enumerate(roots)]
    shaded = draw_frame(_photo(), FrameResult(0, None, people))
    panel_w = viz._PANEL_PX
    changed = np.abs(shaded[:, -panel_w:].astype(int) - plain[:, -panel_w:]).sum(-1) > 0
    assert changed.sum() > 100  # the discs, in the 3D views only
    assert (shaded[:, :-panel_w] == plain[:, :-panel_w]).all()
    for texts in text_log.panels()[-2:]:
        notes = [b for t, b in texts if t == "discs: median error"]
        assert len(notes) == 1
        assert not any(_overlap(notes[0], b) for t, b in texts if t != "discs: median error")


def test_single_image_ranges_fit_the_frame() -> None:
    frame = FrameResult(0, None, [_person((500.0, 0.0, 3000.0))])
    fitted = PanelLimits.fit(frame.people)
    assert np.array_equal(draw_frame(_photo(), frame), draw_frame(_photo(), frame, fitted))
    pts = frame.people[0].pose_3d_abs_mm
    assert (fitted.lo_mm < pts.min(axis=0)).all() and (fitted.hi_mm > pts.max(axis=0)).all()
    # A person whose absolute pose is unknown (failed root solve) is left out of the 3D views.
    lost = _person((0.0, 0.0, 3000.0))
    lost.pose_3d_abs_mm = np.full((17, 3), np.nan)
    lost.root_method = "failed"
    picture = draw_frame(_photo(), FrameResult(0, None, [lost]))
    assert picture.shape == (720, 960 + 360, 3)


def _record_limits(monkeypatch: pytest.MonkeyPatch) -> list[PanelLimits | None]:
    used: list[PanelLimits | None] = []
    real = viz.draw_frame

    def spy(image_rgb: np.ndarray, frame: FrameResult, limits: PanelLimits | None = None,
            world: WorldFrame | None = None) -> np.ndarray:
        used.append(limits)
        return real(image_rgb, frame, limits=limits, world=world)

    monkeypatch.setattr(viz, "draw_frame", spy)
    return used


def test_video_ranges_stay_fixed_while_a_person_walks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text_log: _TextLog) -> None:
    walk_x_mm = np.linspace(-500.0, 500.0, 11)  # 1 m to the right
    frames = [FrameResult(i, i / 10, [_person((x, 0.0, 3500.0), 1)])
              for i, x in enumerate(walk_x_mm)]
    used = _record_limits(monkeypatch)
    writer = VideoWriter(tmp_path / "walk.mp4", 10.0)
    for frame in frames:
        writer.add_frame(_photo(), frame)
    writer.close()
    assert (tmp_path / "walk.mp4").stat().st_size > 0
    assert len(used) == len(frames) and used[0] is not None
    assert all(lim == used[0] for lim in used)  # one set of ranges for the whole video
    lim = used[0]
    ends_mm = np.concatenate([lim.lo_mm, lim.hi_mm])
    assert np.array_equal(ends_mm % 1000.0, np.zeros(6))  # whole metres
    for frame in frames:
        pts = frame.people[0].pose_3d_abs_mm
        assert (lim.lo_mm < pts.min(axis=0)).all() and (lim.hi_mm > pts.max(axis=0)).all()
    # So the grids and their labels are the same in every frame...
    grids = [tuple(t for t, _ in texts) for texts in text_log.panels()]
    assert len(grids) == 2 * len(frames) and len(set(grids[0::2])) == len(set(grids[1::2])) == 1
    # ... whereas ranges fitted to each frame follow the walker.
    fitted = [PanelLimits.fit(f.people) for f in frames]
    assert fitted[0] != fitted[-1]


def test_video_ranges_only_widen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Nobody at first, then a walker who goes 6 m to the right, 4 m away and comes back.
    path_mm = [(x, 0.0, 3000.0) for x in np.linspace(0.0, 6000.0, 13)]
    path_mm += [(6000.0, 0.0, z) for z in np.linspace(3000.0, 7000.0, 5)]
    path_mm += [(x, 0.0, 3000.0) for x in np.linspace(6000.0, 0.0, 7)]
    frames = [FrameResult(0, 0.0, []), FrameResult(1, 0.1, [])]
    frames += [FrameResult(i + 2, (i + 2) / 10, [_person(r, 1)]) for i, r in enumerate(path_mm)]
    used = _record_limits(monkeypatch)
    writer = VideoWriter(tmp_path / "far.mp4", 10.0)
    for frame in frames:
        writer.add_frame(_photo(), frame)
    writer.abort()
    assert used[:2] == [None, None]  # nobody yet: each empty frame is fitted on its own
    seen = [lim for lim in used[2:] if lim is not None]
    assert len(seen) == len(path_mm)
    for before, after, frame in zip(seen, seen[1:], frames[3:], strict=False):
        assert (after.lo_mm <= before.lo_mm).all() and (after.hi_mm >= before.hi_mm).all()
        assert np.array_equal(np.concatenate([after.lo_mm, after.hi_mm]) % 1000.0, np.zeros(6))
        pts = frame.people[0].pose_3d_abs_mm
        assert (after.lo_mm <= pts.min(axis=0)).all() and (after.hi_mm >= pts.max(axis=0)).all()
    # Each widening leaves a metre of room: a handful of changes, not one per frame.
    changes = sum(a != b for a, b in itertools.pairwise(seen))
    assert 1 <= changes <= 6
    assert seen[-1] == seen[len(path_mm) - 8]  # walking back changes nothing


def _street(pitch_deg: float, frames: int = 12) -> list[FrameResult]:
    """Three walkers seen by a camera 3 m up, pitched down by ``pitch_deg``."""
    from tests.core.test_world_up import _scene

    out = []
    for i in range(frames):
        poses = _scene(pitch_deg, 3000.0, [(-1500 + 100 * i, 4000), (0, 6000 + 150 * i),
                                           (1200, 9000 - 100 * i)])
        people = []
        for k, pose in enumerate(poses):
            person = _person((0.0, 0.0, 3000.0), k)
            person.pose_3d_abs_mm = pose
            people.append(person)
        out.append(FrameResult(i, i / 10, people))
    return out


def test_world_view_stands_tilted_walkers_upright_on_the_floor() -> None:
    frames = _street(pitch_deg=30.0)
    world = viz.world_frame_of(frames, "auto")
    assert world is not None and world.tilt_deg == pytest.approx(30.0, abs=1.0)
    for person in in_world_view(frames[0].people, world):
        pose = person.pose_3d_abs_mm  # x right, minus height, depth
        assert abs(pose[10, 0] - pose[0, 0]) < 20 and abs(pose[10, 2] - pose[0, 2]) < 20
        assert pose[[3, 6], 1].max() > -100 > pose[10, 1] + 1500  # feet at 0, head 1.7 m up
    camera_view = frames[0].people[0].pose_3d_abs_mm
    assert abs((camera_view[10] - camera_view[0])[2]) > 300  # tilted in camera space
    assert viz.world_frame_of(frames, "camera") is None
    with pytest.raises(ValueError, match="world-up"):
        viz.world_frame_of(frames, "sideways")


def test_video_pictures_take_the_world_from_the_first_frames(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    frames = _street(pitch_deg=20.0, frames=14)
    worlds: list[WorldFrame | None] = []
    real = viz.draw_frame

    def spy(image_rgb, frame, limits=None, world=None):  # type: ignore[no-untyped-def]
        worlds.append(world)
        return real(image_rgb, frame, limits=limits, world=world)

    monkeypatch.setattr(viz, "draw_frame", spy)
    out = PictureOutput(tmp_path / "street", fps=10.0)
    for frame in frames:
        out.add(_photo(), frame)
        if frame.frame_index < 9:
            assert not worlds  # held back until ten frames with people were seen
    out.finish(None, [])  # type: ignore[arg-type]
    assert len(worlds) == 14 and all(w is worlds[0] for w in worlds)
    assert worlds[0] is not None and worlds[0].tilt_deg == pytest.approx(20.0, abs=1.0)
    assert (tmp_path / "street.mp4").stat().st_size > 0
