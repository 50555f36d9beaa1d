"""A self-contained interactive HTML viewer of a prediction (no network needed to view it).

One HTML file per input: the photo or video frames (JPEG, longer side ≤ 640 px, base64) with the
2D skeletons drawn over them, beside a rotatable, zoomable 3D view (plotly.js, inlined from the
installed ``plotly`` package; plotly.js is MIT-licensed) of every person in camera space
(metres; x right, y down, z forward), with a metric grid (ticks every 0.5 m) and the camera
frustum (lines from the camera centre to the image corners at the people's median depth). The
picture and the 3D view share the window side by side. Videos get a frame slider that changes
the picture and the 3D view together (a photo has none).

Size: at most ``max_frames`` frames are kept (default 60): every frame while that fits, else
every n-th (n a power of two, doubled whenever the cap is exceeded). Roughly 4.8 MB of plotly.js
plus 20–60 kB per frame.

    writer = HtmlViewerWriter("walk.html", prediction.camera, fps)
    writer.add(frame_rgb, frame_result)    # per frame, as the video is read
    writer.close(prediction)               # the whole prediction (the frames' final 3D)
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from monopose.core.skeleton import H36M17
from monopose.io.files import atomic_write, check_writable
from monopose.io.results import CameraInfo, FrameResult, PersonResult, Prediction

__all__ = ["HtmlViewerWriter", "write_html_viewer", "plotly_js", "PLOTLY_LICENCE"]

PLOTLY_LICENCE = "MIT"
DEFAULT_MAX_FRAMES = 60
DEFAULT_MAX_SIDE_PX = 640
_PALETTE = ["#3cb44b", "#1932e6", "#f58219", "#c83cc8", "#dcc828", "#ff7878", "#3ca0ff",
            "#28a096"]


def plotly_js() -> str:
    """The minified plotly.js shipped in the installed ``plotly`` Python package."""
    ref = resources.files("plotly") / "package_data" / "plotly.min.js"
    try:
        return ref.read_text(encoding="utf-8")
    except (OSError, FileNotFoundError) as exc:  # pragma: no cover - broken installation
        raise RuntimeError(f"plotly.min.js not found in the plotly package ({exc})") from None


def _jpeg_data_url(rgb: np.ndarray, max_side_px: int, quality: int) -> tuple[str, float]:
    """Downscale so the longer side is ≤ ``max_side_px``; return the data URL and the scale."""
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side_px / max(h, w))
    img = np.ascontiguousarray(rgb[..., :3])
    if scale < 1.0:
        img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))),
                         interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("frame_rgb: could not encode as JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii"), scale


def _round(a: np.ndarray, nd: int) -> list:
    arr = np.round(np.asarray(a, dtype=np.float64), nd).astype(object)
    arr[~np.isfinite(np.asarray(a, dtype=np.float64))] = None  # JSON has no NaN
    out: list = arr.tolist()
    return out


# Camera-like axes of a world frame (x right, y down, z ahead) so the view shows it upright.
_WORLD_TO_VIEW = np.array([1.0, -1.0, -1.0])


def _world_view(world: dict | None) -> Callable[[np.ndarray], np.ndarray]:
    """Camera mm → the 3D view's mm: camera space, or the result's world frame (floor at
    y = 0, up = -y) when it has one (:mod:`monopose.core.world_up`)."""
    if not isinstance(world, dict):
        return lambda points: np.asarray(points, dtype=np.float64)
    rotation = np.asarray(world["R_world_from_camera"], dtype=np.float64).reshape(3, 3)
    t_mm = np.asarray(world["t_world_mm"], dtype=np.float64).reshape(3)
    return lambda points: (np.asarray(points, dtype=np.float64) @ rotation.T + t_mm) * \
        _WORLD_TO_VIEW


def _person_json(p: PersonResult, order: int,
                 to_view: Callable[[np.ndarray], np.ndarray] | None = None) -> dict:
    pose_mm = np.asarray(p.pose_3d_abs_mm, dtype=np.float64)
    pose_m = (to_view(pose_mm) if to_view is not None else pose_mm) / 1000.0
    return {
        "id": p.person_id if p.person_id is not None else order,
        "kp": _round(p.keypoints_2d_px, 1),
        "ok": [bool(v) for v in p.keypoints_valid],
        "p3": _round(pose_m, 4) if np.isfinite(pose_m).all() else None,
    }


class HtmlViewerWriter:
    """Collect frames (as they are read) and write the viewer on :meth:`close`.

    Args:
        path: Output ``.html`` (written whole on close: temp file + rename).
        camera: Intrinsics and image size (for the frustum and the 2D overlay); None to take
            them from the prediction given to :meth:`close`.
        fps: Frames per second of a video (None for a photo).
        max_frames: Most frames kept (every n-th frame beyond that, see the module docstring).
        max_side_px: Longer side of the embedded JPEGs.
        jpeg_quality: JPEG quality 1–100.
    """

    def __init__(self, path: str | Path, camera: CameraInfo | None, fps: float | None = None,
                 max_frames: int = DEFAULT_MAX_FRAMES, max_side_px: int = DEFAULT_MAX_SIDE_PX,
                 jpeg_quality: int = 70) -> None:
        if max_frames < 1:
            raise ValueError(f"max_frames: expected >= 1, got {max_frames}")
        if not 16 <= max_side_px <= 4096:
            raise ValueError(f"max_side_px: expected 16..4096, got {max_side_px}")
        self.path = check_writable(Path(path))
        self.camera = camera
        self.fps = fps
        self.max_frames = max_frames
        self.max_side_px = max_side_px
        self.jpeg_quality = jpeg_quality
        self.stride = 1
        self._frames: dict[int, tuple[str, float, FrameResult]] = {}
        self._closed = False

    def add(self, frame_rgb: np.ndarray, frame: FrameResult) -> None:
        """Add one frame: ``frame_rgb [H, W, 3]`` uint8 RGB and the people found in it."""
        if self._closed:
            raise ValueError("HtmlViewerWriter: already closed")
        rgb = np.asarray(frame_rgb)
        if rgb.ndim != 3 or rgb.shape[2] not in (3, 4) or rgb.dtype != np.uint8:
            raise ValueError(f"frame_rgb: expected [H, W, 3] uint8, got {rgb.shape} {rgb.dtype}")
        index = int(frame.frame_index)
        if index % self.stride:
            return
        url, scale = _jpeg_data_url(rgb, self.max_side_px, self.jpeg_quality)
        self._frames[index] = (url, scale, frame)
        while len(self._frames) > self.max_frames:
            self.stride *= 2
            self._frames = {i: v for i, v in self._frames.items() if i % self.stride == 0}

    def close(self, prediction: Prediction | None = None) -> Path:
        """Write the HTML. People come from ``prediction`` (matched by frame index) when given,
        else from the frames passed to :meth:`add`. Returns the path."""
        if self._closed:
            raise ValueError("HtmlViewerWriter: already closed")
        if not self._frames:
            self.abort()
            raise ValueError(f"{self.path}: no frame was added; nothing to view")
        final = {f.frame_index: f for f in prediction.frames} if prediction is not None else {}
        world = prediction.world if prediction is not None else None
        to_view = _world_view(world)
        frames = []
        for index in sorted(self._frames):
            url, scale, frame = self._frames[index]
            frame = final.get(index, frame)
            frames.append({
                "i": index,
                "t": None if frame.time_s is None else round(frame.time_s, 3),
                "img": url,
                "s": scale,
                "people": [_person_json(p, k, to_view) for k, p in enumerate(frame.people)],
            })
        title = Path(prediction.input_path).name if prediction is not None else self.path.stem
        camera = prediction.camera if prediction is not None else self.camera
        if camera is None:
            self.abort()
            raise ValueError(f"{self.path}: no camera: pass one or the prediction to close()")
        html = _render_html(title, camera, self.fps, self.stride, frames, world)
        data = html.encode("utf-8")
        atomic_write(self.path, lambda fh: fh.write(data))
        self._closed = True
        self._frames.clear()
        return self.path

    def abort(self) -> None:
        """Drop everything; nothing is written."""
        self._closed = True
        self._frames.clear()


def write_html_viewer(path: str | Path, prediction: Prediction,
                      frames_rgb: Iterable[np.ndarray], **options: int) -> Path:
    """Write the viewer for ``prediction`` with its images ``frames_rgb`` (one per frame of the
    prediction, in order; e.g. the photo, or the video's frames)."""
    writer = HtmlViewerWriter(path, prediction.camera, prediction.fps, **options)
    try:
        for frame, rgb in zip(prediction.frames, frames_rgb, strict=False):
            writer.add(rgb, frame)
        return writer.close(prediction)
    except BaseException:
        writer.abort()
        raise


def _render_html(title: str, camera: CameraInfo, fps: float | None, stride: int,
                 frames: list[dict], world: dict | None = None) -> str:
    to_view = _world_view(world)
    pts = [np.array(p["p3"], dtype=np.float64) for f in frames for p in f["people"]
           if p["p3"] is not None]
    # Frustum: from the camera centre to the image corners at the people's median depth.
    centre_m = to_view(np.zeros(3)) / 1000.0
    axis = to_view(np.array([0.0, 0.0, 1000.0])) / 1000.0 - centre_m  # optical axis, unit
    roots = [(p[0] - centre_m) @ axis for p in pts if np.isfinite(p[0]).all()]
    depth = float(np.clip(np.median(roots), 0.5, 20.0)) if roots else 3.0
    corners = [(0, 0), (camera.width, 0), (camera.width, camera.height), (0, camera.height)]
    frustum = [(to_view(np.array([(u - camera.cx) / camera.fx * depth,
                                  (v - camera.cy) / camera.fy * depth, depth]) * 1000.0)
                / 1000.0).round(4).tolist() for u, v in corners]
    origin = centre_m.round(4).tolist()
    allp = np.concatenate(pts + [np.array(frustum), np.array([origin])], axis=0)
    lo, hi = np.nanmin(allp, axis=0) - 0.25, np.nanmax(allp, axis=0) + 0.25
    payload = {
        "title": title,
        "camera": {"fx": camera.fx, "fy": camera.fy, "cx": camera.cx, "cy": camera.cy,
                   "width": camera.width, "height": camera.height, "source": camera.source},
        "fps": fps,
        "stride": stride,
        "frustum": {"depth": depth, "corners": frustum, "origin": origin},
        "floor": world is not None,
        "range": [lo.round(3).tolist(), hi.round(3).tolist()],
        "bones": [[int(c), int(p)] for c, p in H36M17.bones],
        "left": list(H36M17.left),
        "right": list(H36M17.right),
        "palette": _PALETTE,
        "frames": frames,
    }
    data = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
    note = f"{len(frames)} frame(s)" + (f", one in {stride} of the video's frames"
                                        if stride > 1 else "")
    # Hidden from the start (not only once the script has run) when there is one frame.
    slider = " hidden" if len(frames) < 2 else ""
    return (_TEMPLATE.replace("%SLIDER%", slider)
            .replace("%TITLE%", _escape(title)).replace("%NOTE%", _escape(note))
            .replace("%PLOTLY%", plotly_js()).replace("%DATA%", data))


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>monopose: %TITLE%</title>
<style>
/* One screen: the picture and the 3D view side by side, each half the width, as tall as the
   window allows (the page does not scroll on a laptop screen). */
html, body { height: 100%; }
body { font-family: sans-serif; margin: 0; padding: 8px; box-sizing: border-box;
       display: flex; flex-direction: column; background: #fafafa; color: #222; }
h3 { margin: 0 0 4px 0; }
#controls { margin: 2px 0 6px 0; display: flex; gap: 12px; align-items: center; }
#slider { width: min(520px, 60vw); }
#slider[hidden] { display: none; }
#row { flex: 1 1 auto; min-height: 320px; display: flex; flex-direction: row; gap: 8px; }
#picture { flex: 1 1 0; min-width: 0; min-height: 0; }
#photo { display: block; max-width: 100%; max-height: 100%; border: 1px solid #ccc;
         background: #fff; box-sizing: border-box; }
#view3d { flex: 1 1 0; min-width: 0; border: 1px solid #ccc; background: #fff; }
#footer { margin: 6px 0 0 0; }
@media (max-width: 720px) {  /* phones: one above the other */
  body { height: auto; }
  #row { flex-direction: column; }
  #view3d { flex: none; height: 70vh; }
}
small { color: #666; }
</style>
</head>
<body>
<h3>%TITLE% <small>%NOTE%</small></h3>
<div id="controls"><input id="slider" type="range" min="0" max="0" value="0" step="1"%SLIDER%>
<span id="label"></span></div>
<div id="row"><div id="picture"><canvas id="photo"></canvas></div><div id="view3d"></div></div>
<p id="footer"><small>3D in metres: camera space (x right, y down, z forward), or, when the
result has a world frame, people on the floor (y = 0, up = -y); grid every 0.5 m; grey: camera
frustum. Drag to rotate, scroll to zoom.</small></p>
<script>
/* plotly.js, inlined so the page needs no network. Licence: MIT, Copyright Plotly, Inc.
   (see the header of the library below). */
%PLOTLY%
</script>
<script type="application/json" id="monopose-data">%DATA%</script>
<script>
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("monopose-data").textContent);
  const slider = document.getElementById("slider");
  const label = document.getElementById("label");
  const canvas = document.getElementById("photo");
  const ctx = canvas.getContext("2d");
  const view = document.getElementById("view3d");
  const state = { current: -1, renders: 0, ready: false };
  const images = D.frames.map(function (f) { const im = new Image(); im.src = f.img; return im; });

  function color(person, k) {
    return D.palette[(person.id === null ? k : person.id) % D.palette.length];
  }
  function shade(hex, joint) {
    if (D.left.indexOf(joint) >= 0) return hex + "cc";
    return hex;
  }
  function draw2d(k) {
    const f = D.frames[k], im = images[k];
    canvas.width = im.naturalWidth || 1; canvas.height = im.naturalHeight || 1;
    ctx.drawImage(im, 0, 0);
    f.people.forEach(function (p, n) {
      const c = color(p, n);
      ctx.lineWidth = 2; ctx.strokeStyle = c; ctx.fillStyle = c;
      D.bones.forEach(function (b) {
        if (!p.ok[b[0]] || !p.ok[b[1]]) return;
        ctx.strokeStyle = shade(c, b[0]);
        ctx.beginPath();
        ctx.moveTo(p.kp[b[1]][0] * f.s, p.kp[b[1]][1] * f.s);
        ctx.lineTo(p.kp[b[0]][0] * f.s, p.kp[b[0]][1] * f.s);
        ctx.stroke();
      });
      p.kp.forEach(function (q, j) {
        if (!p.ok[j]) return;
        ctx.beginPath(); ctx.arc(q[0] * f.s, q[1] * f.s, 2.5, 0, 2 * Math.PI); ctx.fill();
      });
    });
  }
  function frustumTrace() {
    const c = D.frustum.corners, x = [], y = [], z = [];
    function seg(a, b) {
      x.push(a[0], b[0], null); y.push(a[1], b[1], null); z.push(a[2], b[2], null);
    }
    const o = D.frustum.origin;
    for (let i = 0; i < 4; i++) { seg(o, c[i]); seg(c[i], c[(i + 1) % 4]); }
    return { type: "scatter3d", mode: "lines", x: x, y: y, z: z, name: "camera",
             line: { color: "#888888", width: 3 }, hoverinfo: "skip" };
  }
  function floorTrace() {
    // The floor (y = 0 in the world view) as a 0.5 m grid over the shown x and z ranges.
    const x = [], y = [], z = [], lo = D.range[0], hi = D.range[1];
    for (let v = Math.ceil(lo[0] * 2) / 2; v <= hi[0]; v += 0.5) {
      x.push(v, v, null); y.push(0, 0, null); z.push(lo[2], hi[2], null);
    }
    for (let v = Math.ceil(lo[2] * 2) / 2; v <= hi[2]; v += 0.5) {
      x.push(lo[0], hi[0], null); y.push(0, 0, null); z.push(v, v, null);
    }
    return { type: "scatter3d", mode: "lines", x: x, y: y, z: z, name: "floor",
             line: { color: "#b0b0b0", width: 2 }, hoverinfo: "skip" };
  }
  function personTrace(p, n) {
    const x = [], y = [], z = [];
    D.bones.forEach(function (b) {
      const a = p.p3[b[1]], c = p.p3[b[0]];
      x.push(a[0], c[0], null); y.push(a[1], c[1], null); z.push(a[2], c[2], null);
    });
    return { type: "scatter3d", mode: "lines+markers", x: x, y: y, z: z,
             name: "person " + p.id, line: { color: color(p, n), width: 6 },
             marker: { size: 2.5, color: color(p, n) } };
  }
  function axis(i, title) {
    return { title: { text: title }, range: [D.range[0][i], D.range[1][i]], dtick: 0.5,
             showgrid: true, gridcolor: "#dddddd", zeroline: true, zerolinecolor: "#aaaaaa",
             showspikes: false };
  }
  const layout = {
    margin: { l: 0, r: 0, t: 0, b: 0 }, showlegend: true, uirevision: "keep",
    legend: { x: 0, y: 1 },
    scene: {
      xaxis: axis(0, "x (m)"), yaxis: axis(1, "y (m)"), zaxis: axis(2, "z (m)"),
      aspectmode: "data",
      camera: { up: { x: 0, y: -1, z: 0 }, eye: { x: 0.6, y: -0.9, z: -1.6 } }
    }
  };
  function render(k) {
    k = Math.max(0, Math.min(D.frames.length - 1, k | 0));
    const f = D.frames[k];
    const traces = D.floor ? [floorTrace(), frustumTrace()] : [frustumTrace()];
    f.people.forEach(function (p, n) { if (p.p3) traces.push(personTrace(p, n)); });
    const done = Plotly.react(view, traces, layout, { displaylogo: false, responsive: true });
    if (images[k].complete) draw2d(k); else images[k].onload = function () { draw2d(k); };
    slider.value = k;
    label.textContent = "frame " + f.i + (f.t !== null ? " (" + f.t.toFixed(2) + " s)" : "") +
      ", " + f.people.length + " person(s)";
    state.current = k;
    state.renders += 1;
    return done;
  }
  slider.max = Math.max(0, D.frames.length - 1);
  slider.hidden = D.frames.length < 2;  // a photo has nothing to slide through
  slider.addEventListener("input", function () { render(+slider.value); });
  window.monoposeViewer = { render: render, state: state, count: D.frames.length,
                            plot: view, data: D };
  Promise.resolve(render(0)).then(function () {
    state.ready = true;
    document.body.setAttribute("data-ready", "1");
  });
})();
</script>
</body>
</html>
"""
