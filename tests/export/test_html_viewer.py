"""The self-contained HTML viewer: content checks and a real headless Chromium run."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from monopose.export.html_viewer import HtmlViewerWriter, write_html_viewer
from monopose.io.results import Prediction
from tests.export import _chromium
from tests.export.synthetic import CAM_REST, make_prediction, skeleton_from_directions


def _walking_pair(n: int) -> dict[int, np.ndarray]:
    base = skeleton_from_directions(CAM_REST[None], np.full(17, 150.0))[0]
    t = np.arange(n)[:, None, None]
    return {1: base + [-700, 0, 4000] + t * [40, 0, 0], 2: base + [600, 0, 3500] - t * [0, 0, 30]}


def _frames(pred: Prediction) -> list[np.ndarray]:
    h, w = pred.camera.height, pred.camera.width
    out = []
    for f in range(len(pred.frames)):
        img = np.zeros((h, w, 3), np.uint8)
        img[..., 0] = (np.arange(w) * 255 // w)[None, :]
        img[..., 2] = 40 * f % 256
        out.append(img)
    return out


def _outside_library(html: str) -> str:
    """The page without the inlined plotly.js (its source mentions URLs it never loads here)."""
    start = html.index("<script>\n/* plotly.js")
    end = html.index("</script>", start)
    return html[:start] + html[end:]


def test_html_is_self_contained(tmp_path: Path, camera) -> None:
    pred = make_prediction(_walking_pair(6), camera, fps=25.0)
    path = write_html_viewer(tmp_path / "v.html", pred, _frames(pred))
    html = path.read_text(encoding="utf-8")
    assert "Licence: MIT" in html and "plotly.js v" in html
    rest = _outside_library(html)
    assert not re.search(r"https?://", rest)
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", rest, re.I)
    assert "<link" not in html.lower()
    assert rest.count("data:image/jpeg;base64,") == 6


def test_frames_are_capped_and_downscaled(tmp_path: Path, camera) -> None:
    import dataclasses

    big = dataclasses.replace(camera, width=1920, height=1080, cx=960.0, cy=540.0)
    pred = make_prediction(_walking_pair(37), big, fps=30.0)
    writer = HtmlViewerWriter(tmp_path / "cap.html", big, 30.0, max_frames=10)
    img = np.zeros((1080, 1920, 3), np.uint8)
    for frame in pred.frames:
        writer.add(img, frame)
    html = writer.close(pred).read_text(encoding="utf-8")
    urls = re.findall(r'data:image/jpeg;base64,([A-Za-z0-9+/=]+)', html)
    assert len(urls) == 10 and writer.stride == 4  # frames 0, 4, ..., 36
    size = Image.open(io.BytesIO(base64.b64decode(urls[0]))).size
    assert max(size) == 640
    assert '"i":36' in html and '"i":2,' not in html


def test_abort_and_bad_input_write_nothing(tmp_path: Path, camera) -> None:
    writer = HtmlViewerWriter(tmp_path / "a.html", camera)
    writer.add(np.zeros((480, 640, 3), np.uint8), make_prediction(_walking_pair(1), camera)
               .frames[0])
    writer.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="no frame"):
        HtmlViewerWriter(tmp_path / "b.html", camera).close()
    with pytest.raises(ValueError, match="frame_rgb"):
        HtmlViewerWriter(tmp_path / "c.html", camera).add(np.zeros((4, 4)), None)  # type: ignore
    blocker = tmp_path / "f"
    blocker.write_text("")
    with pytest.raises(ValueError, match="out"):
        HtmlViewerWriter(blocker / "x.html", camera)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_viewer_in_headless_chromium(tmp_path: Path, camera) -> None:
    chromium = _chromium.find_chromium()
    if chromium is None:
        pytest.skip("no Chromium installed (apt-get install chromium) - viewer not checked "
                    "in a browser")
    pred = make_prediction(_walking_pair(5), camera, fps=25.0)
    path = write_html_viewer(tmp_path / "viewer.html", pred, _frames(pred))

    async def steps(page: _chromium.PageSession) -> dict:
        out: dict = {"ready": await page.evaluate("document.body.getAttribute('data-ready')")}
        out["count"] = await page.evaluate("window.monoposeViewer.count")
        out["shot"] = await _chromium.screenshot_element(page, "#view3d")
        probe = ("JSON.stringify([window.monoposeViewer.state.current, "
                 "document.getElementById('label').textContent, "
                 "window.monoposeViewer.plot.data.map(t => t.x.slice(0, 2)), "
                 "document.getElementById('photo').toDataURL().length])")
        out["before"] = await page.evaluate(probe)
        await page.evaluate("(function(){const s=document.getElementById('slider');"
                            "s.value=3;s.dispatchEvent(new Event('input'));return 1;})()")
        await page.evaluate("new Promise(r => setTimeout(r, 300))")
        out["after"] = await page.evaluate(probe)
        out["errors"] = page.console_errors()
        out["urls"] = page.requested_urls()
        return out

    res = _chromium.run_page(chromium, path, steps)
    assert res["errors"] == []
    assert res["ready"] == "1" and res["count"] == 5
    assert all(u.startswith(("file:", "data:")) for u in res["urls"]), res["urls"]
    # The 3D view is drawn: many distinct colours, including the people's line colours.
    shot = np.asarray(Image.open(io.BytesIO(res["shot"])).convert("RGB")).astype(int)
    assert shot.shape[0] > 300 and shot.std() > 5
    orange = (np.abs(shot - [245, 130, 25]).sum(-1) < 60).sum()  # person 2
    blue = (np.abs(shot - [25, 50, 230]).sum(-1) < 60).sum()  # person 1
    assert orange > 50 and blue > 50
    import json

    before, after = json.loads(res["before"]), json.loads(res["after"])
    assert before[0] == 0 and after[0] == 3
    assert "frame 3" in after[1] and "frame 0" in before[1]
    assert before[2] != after[2]  # the 3D traces moved with the slider


_LAYOUT_PROBE = """new Promise(function (done) {
  const t0 = Date.now();
  (function wait() {  // the picture is drawn once its JPEG has loaded
    if (document.getElementById('photo').width > 1 || Date.now() - t0 > 5000) {
      const box = function (id) {
        const r = document.getElementById(id).getBoundingClientRect();
        return [r.left, r.top, r.right, r.bottom];
      };
      const s = document.getElementById('slider');
      done(JSON.stringify({
        window: [window.innerWidth, window.innerHeight],
        photo: box('photo'), view: box('view3d'),
        slider: [getComputedStyle(s).display, s.getBoundingClientRect().width],
        page_height: document.documentElement.scrollHeight,
      }));
    } else { setTimeout(wait, 50); }
  })();
})"""


@pytest.mark.parametrize("kind", ["photo", "video"])
def test_layout_at_1280x900(tmp_path: Path, camera, kind: str) -> None:
    """Picture and 3D view side by side, both in view without scrolling on a laptop screen;
    a slider only for videos."""
    import dataclasses
    import json

    chromium = _chromium.find_chromium()
    if chromium is None:
        pytest.skip("no Chromium installed (apt-get install chromium) - layout not checked")
    if kind == "photo":  # a portrait photo: the tallest picture the viewer embeds
        portrait = dataclasses.replace(camera, width=480, height=640, cx=240.0, cy=320.0)
        pred = make_prediction({1: _walking_pair(1)[1]}, portrait, kind="image",
                               input_path="me.jpg")
    else:
        pred = make_prediction(_walking_pair(5), camera, fps=25.0)
    path = write_html_viewer(tmp_path / "layout.html", pred, _frames(pred))

    async def steps(page: _chromium.PageSession) -> dict:
        await page.send("Emulation.setDeviceMetricsOverride", width=1280, height=900,
                        deviceScaleFactor=1, mobile=False)
        await page.evaluate("new Promise(r => setTimeout(r, 300))")
        return json.loads(await page.evaluate(_LAYOUT_PROBE))

    res = _chromium.run_page(chromium, path, steps)
    assert res["window"] == [1280, 900]
    (px0, py0, px1, py1), (vx0, vy0, vx1, vy1) = res["photo"], res["view"]
    assert px1 - px0 > 300 and py1 - py0 > 300  # the picture is shown, not squashed
    assert vx0 >= px1 and abs(vy0 - py0) < 2  # the 3D view is right of the picture, level
    assert vy0 < 900 and vy1 <= 900 and py1 <= 900  # both fully visible without scrolling
    assert 0.4 * 1280 < vx1 - vx0 < 0.55 * 1280 and vy1 - vy0 > 500  # half the width, tall
    assert px0 < 640 <= vx0 + 10  # picture in the left half, 3D view in the right half
    assert res["page_height"] <= 900
    display, width = res["slider"]
    if kind == "photo":
        assert display == "none" and width == 0  # no one-frame slider
    else:
        assert display != "none" and width > 100


def _payload(html: str) -> dict:
    import json

    start = html.index('id="monopose-data">') + len('id="monopose-data">')
    return json.loads(html[start:html.index("</script>", start)].replace("<\\/", "</"))


def test_world_frame_view_stands_people_on_a_floor(tmp_path: Path, camera) -> None:
    from monopose.core.world_up import estimate_world_frame
    from tests.core.test_world_up import _scene

    # enough people spread over the floor for its plane: up from the feet, not the prior
    poses = _scene(30.0, 2500.0, [(-800, 4000), (600, 6000), (1500, 8000), (-1500, 7000),
                                  (300, 9000)])
    pred = make_prediction({k: poses[k][None] for k in range(len(poses))}, camera,
                           kind="image")
    camera_only = _payload(write_html_viewer(tmp_path / "c.html", pred,
                                             _frames(pred)).read_text())
    pred.world = estimate_world_frame(poses).to_json()
    assert pred.world["up_source"] == "floor"
    world = _payload(write_html_viewer(tmp_path / "w.html", pred, _frames(pred)).read_text())
    assert world["floor"] and not camera_only["floor"]
    assert world["frustum"]["origin"] == pytest.approx([0.0, -2.5, 0.0], abs=0.01)
    for person in world["frames"][0]["people"]:
        p3 = np.array(person["p3"])  # metres; y = minus the height above the floor
        assert p3[[3, 6], 1].max() == pytest.approx(-0.08, abs=0.02)  # ankles 8 cm up
        assert np.abs((p3[8] - p3[0])[[0, 2]]).max() < 0.02  # upright
    tilted = np.array(camera_only["frames"][0]["people"][0]["p3"])
    assert abs((tilted[8] - tilted[0])[2]) > 0.1
