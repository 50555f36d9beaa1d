"""Multi-person synthetic *videos* with ground-truth identities, for evaluating tracking.

Video ``i`` is a pure function of ``(seed, i)`` (generator ``numpy.random.default_rng([seed,
i])``): one static camera, 2–5 anny bodies driven by consecutive mocap frames that walk across
the view, enter and leave the picture and pass in front of each other
(:mod:`~monopose.data.synthetic.video_plan`). Each person keeps one body shape and one outfit for
the whole video; one light and one background per video; fresh sensor noise per frame.

**Rendering** reuses the multi-person image renderer
(:class:`~monopose.data.synthetic.multi.MultiRenderer`: body model, retargeting, rasterizer,
backgrounds) and :func:`~monopose.data.synthetic.multi.composite_by_depth`; people whose posed
body projects entirely outside the image are not rendered.

**Labels per frame per person** (only people with at least one rendered pixel or one joint
inside the image; rows of ``OUT/video-XXXXX.npz``): ``frame``, ``person_id`` (constant over the
video, ``0..P-1``), ``kp2d_px [17, 2]`` (h36m17 projections), ``pose3d_cam_mm [17, 3]``
(camera space), ``inside [17]``, ``visible [17]``
(:func:`~monopose.data.synthetic.generate.joint_flags` against the composited depth, so other
people occlude), ``occluded_fraction`` (share of the person's own silhouette covered by nearer
people), ``silhouette_px`` / ``visible_px`` (pixel counts), and three boxes ``xyxy`` px:
``box_xyxy_px`` (the whole silhouette, occluded parts included, clipped to the image),
``box_kp_xyxy_px`` (inside joints) and ``box_visible_xyxy_px`` (visible pixels; zeros when
none). **Per video**: ``intrinsics (fx, fy, cx, cy)``, ``R, t`` (world→camera, mm),
``size_wh``, ``fps``, ``num_frames``, per person ``phenotypes [P, 6]``, ``clip`` names and
``walking``.

**Storage**: ``OUT/video-XXXXX.mp4`` (``mp4v``) and ``OUT/video-XXXXX.npz``, written through a
temporary name; a video whose ``.npz`` exists with the same settings hash is skipped
(resumable); ``OUT/index.json`` lists the settings and the videos.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from monopose.data.mocap_cache import MocapCache
from monopose.data.synthetic.body import random_phenotypes
from monopose.data.synthetic.generate import PoseSource, joint_flags
from monopose.data.synthetic.multi import MultiRenderer, composite_by_depth
from monopose.data.synthetic.scene import Light, random_light, vertex_colors
from monopose.data.synthetic.video_plan import VideoConfig, VideoPlan, plan_video, walking_clips

if TYPE_CHECKING:
    from monopose.data.synthetic.body import AnnyBody

__all__ = ["VIDEO_FORMAT_VERSION", "FrameLabels", "VideoRenderer", "VideoReport",
           "write_video_dataset", "read_video_labels", "video_name", "box_from_points"]

VIDEO_FORMAT_VERSION = 3  # 2: pose3d_cam_mm; 3: Human3.6M joint placement
_ROW_KEYS = ("frame", "person_id", "kp2d_px", "pose3d_cam_mm", "inside", "visible",
             "occluded_fraction",
             "silhouette_px", "visible_px", "box_xyxy_px", "box_kp_xyxy_px",
             "box_visible_xyxy_px")


def video_name(index: int) -> str:
    """File stem of video ``index``."""
    return f"video-{index:05d}"


def box_from_points(points_px: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """``[4]`` xyxy px around ``points_px [N, 2]``, clipped to the image (zeros when empty)."""
    p = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
    if len(p) == 0:
        return np.zeros(4, np.float32)
    w, h = size_wh
    lo = np.clip(p.min(axis=0), 0, [w, h])
    hi = np.clip(p.max(axis=0), 0, [w, h])
    return np.concatenate([lo, hi]).astype(np.float32)


def _mask_box(mask: np.ndarray) -> np.ndarray:
    """``[4]`` xyxy px of a boolean mask's pixels (pixel edges), zeros when empty."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return np.zeros(4, np.float32)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


@dataclass
class FrameLabels:
    """Labels of one frame: one entry per labelled person (keys of the module docstring)."""

    rows: list[dict[str, np.ndarray | int | float]] = field(default_factory=list)


class VideoRenderer:
    """Plans and renders videos (body model, rasterizer and backgrounds loaded once).

    Args:
        cache: Mocap cache (clips at 30 fps).
        size_wh: Frame ``(width, height)`` px.
        seed: Dataset seed.
        config: Video randomisation.
        cache_dir: anny cache folder. use_photos: Photo backgrounds from scikit-image.
        body: An already loaded body model.

    Raises:
        ImportError: the render extra is missing. ValueError: no walking clip in ``cache``.
    """

    def __init__(self, cache: MocapCache, size_wh: tuple[int, int] = (640, 480), seed: int = 0,
                 config: VideoConfig | None = None, cache_dir: str | Path | None = None,
                 use_photos: bool = True, body: AnnyBody | None = None) -> None:
        self.cache = cache
        self.size_wh = (int(size_wh[0]), int(size_wh[1]))
        self.seed = int(seed)
        self.config = config or VideoConfig()
        self.walking, self.static = walking_clips(cache, self.config)
        if len(self.walking) == 0:
            raise ValueError("cache: no clip walks long enough for the configured video")
        poses = PoseSource(cache.poses_mm[:1], ["-"], name="video")
        self.scene = MultiRenderer(poses, self.size_wh, seed, cache_dir=cache_dir,
                                   use_photos=use_photos, body=body)

    def plan(self, index: int) -> tuple[VideoPlan, np.random.Generator]:
        """The plan of video ``index`` and the generator that continues it (appearance)."""
        rng = np.random.default_rng([self.seed, int(index)])
        return plan_video(rng, self.cache, self.walking, self.static, self.size_wh,
                          self.config), rng

    def render(self, index: int) -> tuple[VideoPlan, dict[str, np.ndarray],
                                          list[tuple[np.ndarray, FrameLabels]]]:
        """Render video ``index`` whole: ``(plan, per-person arrays, [(frame RGB, labels)])``."""
        return self._render(index, None)

    def _render(self, index: int, sink: Callable[[np.ndarray], object] | None
                ) -> tuple[VideoPlan, dict[str, np.ndarray],
                           list[tuple[np.ndarray, FrameLabels]]]:
        plan, rng = self.plan(index)
        app = self.scene.config.appearance
        phen = np.stack([random_phenotypes(rng) for _ in plan.people]).astype(np.float32)
        colors = [vertex_colors(rng, self.scene.regions, app) for _ in plan.people]
        light = random_light(rng)
        bg = self.scene.backgrounds.sample(rng, self.size_wh, app.photo_prob)
        noise_std = float(rng.uniform(*app.noise_std))
        frames: list[tuple[np.ndarray, FrameLabels]] = []
        for t in range(self.config.num_frames):
            noise = np.random.default_rng([self.seed, int(index), t + 1])
            image, labels = self._frame(plan, t, phen, colors, light, bg, noise, noise_std)
            if sink is not None:
                sink(image)
                frames.append((np.zeros((0, 0, 3), np.uint8), labels))
            else:
                frames.append((image, labels))
        per_person = {
            "phenotypes": phen,
            "clip": np.array([self.cache.clip_name[p.clip] for p in plan.people], dtype=str),
            "walking": np.array([p.walking for p in plan.people], dtype=bool),
        }
        return plan, per_person, frames

    def _frame(self, plan: VideoPlan, t: int, phen: np.ndarray, colors: list[np.ndarray],
               light: Light, bg: np.ndarray, noise_rng: np.random.Generator,
               noise_std: float) -> tuple[np.ndarray, FrameLabels]:
        cam = plan.camera
        w, h = self.size_wh
        ids, verts_c, joints_c, layers = [], [], [], []
        for pid, path in enumerate(plan.people):
            verts, joints = self.scene.pose_person(path.poses_mm[t], phen[pid], path.yaw_rad,
                                                   path.floor_xy_mm[t])
            vc = cam.to_camera(verts)
            uv = cam.project(vc)
            if (uv[:, 0].max() < 0 or uv[:, 0].min() > w or uv[:, 1].max() < 0
                    or uv[:, 1].min() > h):
                continue
            ids.append(pid)
            verts_c.append(vc)
            joints_c.append(cam.to_camera(joints))
            layers.append(self.scene.renderer.render(
                vc, colors[pid], cam.intrinsics, self.size_wh, light_dir=light.direction,
                light_rgb=light.color, ambient_rgb=light.ambient))
        if layers:
            img, depth, owner = composite_by_depth(
                np.stack([r.rgb for r in layers]), np.stack([r.alpha for r in layers]),
                np.stack([r.depth_mm for r in layers]), bg)
        else:
            img = bg.astype(np.float32)
            depth = np.full((h, w), np.inf, np.float32)
            owner = np.full((h, w), -1, np.int64)
        if noise_std > 0:
            img = img + noise_rng.normal(0.0, noise_std, img.shape).astype(np.float32)
        image = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        labels = FrameLabels()
        for k, pid in enumerate(ids):
            row = _person_row(t, pid, cam.project(joints_c[k]), joints_c[k], verts_c[k], depth,
                              layers[k].mask, owner == k, self.size_wh)
            if row is not None:
                labels.rows.append(row)
        return image, labels

    def close(self) -> None:
        self.scene.close()


def _person_row(t: int, pid: int, kp_px: np.ndarray, joints_cam_mm: np.ndarray,
                verts_cam_mm: np.ndarray, depth_mm: np.ndarray, own: np.ndarray,
                on_top: np.ndarray, size_wh: tuple[int, int]
                ) -> dict[str, np.ndarray | int | float] | None:
    """One label row (see the module docstring), None when the person is not in the image."""
    inside, visible = joint_flags(kp_px, joints_cam_mm, verts_cam_mm, depth_mm)
    n_own = int(own.sum())
    seen = own & on_top
    if n_own == 0 and not inside.any():
        return None
    return {
        "frame": t, "person_id": pid, "kp2d_px": kp_px.astype(np.float32),
        "pose3d_cam_mm": joints_cam_mm.astype(np.float32), "inside": inside, "visible": visible,
        "occluded_fraction": 1.0 - int(seen.sum()) / n_own if n_own else 0.0,
        "silhouette_px": n_own, "visible_px": int(seen.sum()),
        "box_xyxy_px": _mask_box(own), "box_kp_xyxy_px": box_from_points(kp_px[inside], size_wh),
        "box_visible_xyxy_px": _mask_box(seen),
    }


def _rows_to_arrays(frames: list[FrameLabels]) -> dict[str, np.ndarray]:
    rows = [r for f in frames for r in f.rows]
    shapes = {"kp2d_px": (17, 2), "pose3d_cam_mm": (17, 3), "inside": (17,), "visible": (17,),
              "box_xyxy_px": (4,), "box_kp_xyxy_px": (4,), "box_visible_xyxy_px": (4,)}
    out: dict[str, np.ndarray] = {}
    for key in _ROW_KEYS:
        if rows:
            out[key] = np.stack([np.asarray(r[key]) for r in rows])
        else:
            out[key] = np.zeros((0, *shapes.get(key, ())))
    return out


@dataclass
class VideoReport:
    """What :func:`write_video_dataset` did."""

    out_dir: Path
    num_videos: int
    written: int
    skipped: int
    seconds: float
    frames_per_second: float  # rendering speed of the videos written
    settings: dict = field(default_factory=dict)


def _settings(size_wh: tuple[int, int], seed: int, cfg: VideoConfig, cache: MocapCache) -> dict:
    """What a video depends on (not the number of videos: adding videos keeps the others)."""
    return {"format": "multiperson-video", "format_version": VIDEO_FORMAT_VERSION,
            "size_wh": list(size_wh), "seed": seed, "video": asdict(cfg),
            "mocap_hash": str(cache.meta.get("hash", ""))}


def _settings_hash(settings: dict) -> str:
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _done(path: Path, digest: str) -> bool:
    if not path.exists():
        return False
    try:
        with np.load(path, allow_pickle=False) as z:
            return str(z["settings_hash"]) == digest
    except (OSError, KeyError, ValueError):
        return False


def _write_one(renderer: VideoRenderer, index: int, out: Path, digest: str) -> int:
    """Render and write video ``index``; returns its frame count."""
    stem = out / video_name(index)
    tmp_video = out / f".{stem.name}.tmp.mp4"
    writer = cv2.VideoWriter(str(tmp_video), cv2.VideoWriter.fourcc(*"mp4v"),
                             renderer.config.fps, renderer.size_wh)
    if not writer.isOpened():
        raise RuntimeError(f"cannot open an mp4v video writer for {tmp_video}")
    try:
        plan, per_person, frames = renderer._render(
            index, lambda rgb: writer.write(np.ascontiguousarray(rgb[..., ::-1])))
    finally:
        writer.release()
    os.replace(tmp_video, stem.with_suffix(".mp4"))
    cam = plan.camera
    arrays = {**_rows_to_arrays([f for _, f in frames]), **per_person,
              "intrinsics": cam.intrinsics.astype(np.float32), "R": cam.R.astype(np.float32),
              "t": cam.t.astype(np.float32), "size_wh": np.array(renderer.size_wh),
              "fps": np.array(plan.fps), "num_frames": np.array(len(frames)),
              "settings_hash": np.array(digest)}
    tmp_npz = out / f".{stem.name}.tmp.npz"
    with open(tmp_npz, "wb") as fh:
        np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]
    os.replace(tmp_npz, stem.with_suffix(".npz"))
    return len(frames)


def write_video_dataset(out_dir: str | Path, n: int, cache: MocapCache,
                        size_wh: tuple[int, int] = (640, 480), seed: int = 0,
                        config: VideoConfig | None = None, cache_dir: str | Path | None = None,
                        use_photos: bool = True, body: AnnyBody | None = None,
                        progress: Callable[[int, int], None] | None = None) -> VideoReport:
    """Render ``n`` videos into ``out_dir`` (see the module docstring); finished videos with
    the same settings are kept.

    Raises:
        ValueError: ``n`` < 1 or a size under 16 px.
    """
    t0 = time.perf_counter()
    if n < 1:
        raise ValueError(f"n: expected >= 1, got {n}")
    size = (int(size_wh[0]), int(size_wh[1]))
    if min(size) < 16:
        raise ValueError(f"size_wh: expected both sides >= 16 px, got {size_wh}")
    config = config or VideoConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = _settings(size, seed, config, cache)
    digest = _settings_hash(settings)
    todo = [i for i in range(n) if not _done(out / f"{video_name(i)}.npz", digest)]
    frames, t_render = 0, 0.0
    if todo:
        renderer = VideoRenderer(cache, size, seed, config, cache_dir, use_photos, body)
        try:
            for k, i in enumerate(todo):
                t1 = time.perf_counter()
                frames += _write_one(renderer, i, out, digest)
                t_render += time.perf_counter() - t1
                if progress is not None:
                    progress(k + 1, len(todo))
        finally:
            renderer.close()
    index = {**settings, "n": n, "settings_hash": digest,
             "videos": [{"video": f"{video_name(i)}.mp4", "labels": f"{video_name(i)}.npz"}
                        for i in range(n)],
             "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (out / "index.json").write_text(json.dumps(index, indent=1), encoding="utf-8")
    return VideoReport(out_dir=out, num_videos=n, written=len(todo), skipped=n - len(todo),
                       seconds=time.perf_counter() - t0,
                       frames_per_second=frames / t_render if t_render > 0 else 0.0,
                       settings=settings)


def read_video_labels(path: str | Path) -> dict[str, np.ndarray]:
    """Load the labels of one video (``.npz``; see the module docstring for the arrays).

    Raises:
        FileNotFoundError: no such file. ValueError: not a video label file.
    """
    with np.load(Path(path), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if "person_id" not in arrays or "frame" not in arrays:
        raise ValueError(f"path: {path} is not a video label file (no person_id/frame)")
    return arrays
