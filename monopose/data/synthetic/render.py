"""Headless CPU rasterizer for coloured triangle meshes (moderngl on an EGL context).

One :class:`MeshRenderer` owns one OpenGL context (Mesa llvmpipe on machines without a GPU) and
renders a mesh given in OpenCV camera space (x right, y down, z forward, millimetres) through a
pinhole camera ``(fx, fy, cx, cy)`` px into:

* ``rgb [H, W, 3]`` uint8 — Lambert shading of the per-vertex albedo with one directional light
  plus ambient light;
* ``alpha [H, W]`` float32 in [0, 1] — the coverage (for compositing), anti-aliased either by
  multisampling or (default, much cheaper on llvmpipe) by softening the silhouette;
* ``depth_mm [H, W]`` float32 — the camera-space z of the nearest surface where the coverage is
  at least 1/2, ``inf`` elsewhere (on the silhouette it is the mean over the covered samples).

Both come from one pass with two colour attachments. With multisampling, the resolved depth
attachment holds coverage × depth (it is cleared to 0), so dividing by the coverage recovers it.
Faces are shaded flat (normals from screen-space derivatives), which at 256² is not visible on
a 27k-triangle body and saves computing vertex normals.

Pixel centres sit on integer coordinates (the :mod:`monopose.core.camera` convention), so a
vertex projected by :func:`monopose.core.camera.project_points` lands on the same pixel here.
Lens distortion is not rendered (synthetic cameras are ideal pinholes).

Why moderngl: measured on the 2-core development machine at 256×256 with the 27k-triangle body
mesh, the whole render (upload + draw + readback) takes a few milliseconds, an order of magnitude
below pyrender (see ``benchmarks/bench_render.py``), and it needs no extra dependency beyond the
``render`` extra.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

__all__ = ["RenderResult", "MeshRenderer", "require_render_extra"]

_EXTRA_HINT = "pip install 'monopose[render]'"

_VERTEX_SHADER = """
#version 330
uniform vec4 intr;      // fx, fy, cx, cy (px)
uniform vec2 size;      // width, height (px)
uniform vec2 near_far;  // mm
in vec3 in_pos;         // camera space, mm (OpenCV axes)
in vec3 in_color;
out vec3 v_pos;
out vec3 v_color;
void main() {
    float z = in_pos.z;
    float n = near_far.x;
    float f = near_far.y;
    // Pixel u in [-0.5, W - 0.5] maps to NDC [-1, 1]; image rows grow downwards.
    float xc = (2.0 * intr.x / size.x) * in_pos.x + (2.0 * (intr.z + 0.5) / size.x - 1.0) * z;
    float yc = -(2.0 * intr.y / size.y) * in_pos.y + (1.0 - 2.0 * (intr.w + 0.5) / size.y) * z;
    float zc = (f + n) / (f - n) * z - 2.0 * f * n / (f - n);
    gl_Position = vec4(xc, yc, zc, z);
    v_pos = in_pos;
    v_color = in_color;
}
"""

_FRAGMENT_SHADER = """
#version 330
uniform vec3 light_dir;   // unit vector from the surface towards the light (camera axes)
uniform vec3 light_rgb;
uniform vec3 ambient_rgb;
in vec3 v_pos;
in vec3 v_color;
layout(location = 0) out vec4 f_color;
layout(location = 1) out float f_depth;
void main() {
    // Face normal from screen-space derivatives (no per-vertex normals to compute), turned
    // towards the camera so both sides of an open or inconsistently wound mesh are lit.
    vec3 n = normalize(cross(dFdx(v_pos), dFdy(v_pos)));
    if (dot(n, v_pos) > 0.0) n = -n;
    float lambert = max(dot(n, light_dir), 0.0);
    vec3 rgb = v_color * (ambient_rgb + light_rgb * lambert);
    f_color = vec4(clamp(rgb, 0.0, 1.0), 1.0);
    f_depth = v_pos.z;
}
"""


def require_render_extra(module: str) -> Any:
    """Import an optional rendering dependency or raise with the install hint.

    Raises:
        ImportError: naming the missing module and ``pip install 'monopose[render]'``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"synthetic rendering needs the optional package {module!r}: {_EXTRA_HINT}"
        ) from exc


@dataclass
class RenderResult:
    """Output of :meth:`MeshRenderer.render` (see the module docstring for the arrays)."""

    rgb: np.ndarray
    alpha: np.ndarray
    depth_mm: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        """``[H, W]`` bool: pixels at least half covered by the mesh."""
        return np.isfinite(self.depth_mm)


def _check_camera(intrinsics: np.ndarray, size_wh: tuple[int, int]) -> tuple[np.ndarray, int, int]:
    intr = np.asarray(intrinsics, dtype=np.float64).reshape(-1)
    if intr.shape != (4,) or not np.isfinite(intr).all():
        raise ValueError(f"intrinsics: expected 4 finite values (fx, fy, cx, cy), got {intr}")
    if intr[0] <= 0 or intr[1] <= 0:
        raise ValueError(f"intrinsics: focal lengths must be > 0, got fx={intr[0]}, fy={intr[1]}")
    w, h = (int(s) for s in size_wh)
    if w <= 0 or h <= 0:
        raise ValueError(f"size_wh: expected positive (width, height), got {size_wh}")
    return intr, w, h


class MeshRenderer:
    """Rasterize meshes with a fixed triangle list on a private headless GL context.

    Args:
        faces: ``[F, 3]`` int triangle indices (fixed for the renderer's life).
        samples: MSAA samples (0 or 1 disables multisampling). 4× MSAA costs ~2.5× the time
            of the whole render on llvmpipe (36 vs 14 ms at 256² on a loaded 2-core CPU).
        soft_edges: Without MSAA, soften the silhouette instead: the coverage is the pixel mask
            blurred by a 3×3 Gaussian and the body colour is dilated by one pixel under it.
        near_mm, far_mm: Clipping planes of the depth range.

    The context is created with ``moderngl.create_standalone_context(backend="egl")``; the
    default X11 backend does not work without a display.
    """

    def __init__(self, faces: np.ndarray, samples: int = 0, near_mm: float = 50.0,
                 far_mm: float = 100_000.0, soft_edges: bool = True) -> None:
        faces = np.asarray(faces)
        if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
            raise ValueError(f"faces: expected [F, 3] with F > 0, got {faces.shape}")
        if not 0 < near_mm < far_mm:
            raise ValueError(f"near_mm/far_mm: expected 0 < near < far, got {near_mm}/{far_mm}")
        moderngl = require_render_extra("moderngl")
        self._mgl = moderngl
        self.ctx = moderngl.create_standalone_context(backend="egl")
        self.prog = self.ctx.program(vertex_shader=_VERTEX_SHADER,
                                     fragment_shader=_FRAGMENT_SHADER)
        self.faces = faces.astype(np.int32)
        self.num_vertices = int(self.faces.max()) + 1
        self.samples = int(samples) if samples and samples > 1 else 0
        self.near_mm, self.far_mm = float(near_mm), float(far_mm)
        self.soft_edges = bool(soft_edges)
        self._ibo = self.ctx.buffer(self.faces.tobytes())
        self._vbo: Any = None
        self._vao: Any = None
        self._vbo_size = 0
        self._fbos: dict[tuple[int, int], tuple[Any, Any]] = {}

    # --------------------------------------------------------------------------------------
    def _framebuffers(self, w: int, h: int) -> tuple[Any, Any]:
        """(multisampled fbo, resolve fbo) for this size, cached."""
        key = (w, h)
        if key not in self._fbos:
            ctx = self.ctx
            ms = ctx.framebuffer(
                color_attachments=[
                    ctx.renderbuffer((w, h), 4, samples=self.samples),
                    ctx.renderbuffer((w, h), 1, samples=self.samples, dtype="f4"),
                ],
                depth_attachment=ctx.depth_renderbuffer((w, h), samples=self.samples),
            )
            resolve = ctx.framebuffer(color_attachments=[
                ctx.renderbuffer((w, h), 4), ctx.renderbuffer((w, h), 1, dtype="f4"),
            ])
            self._fbos[key] = (ms, resolve)
        return self._fbos[key]

    def _upload(self, data: np.ndarray) -> None:
        raw = data.tobytes()
        if self._vbo is None or self._vbo_size != len(raw):
            if self._vbo is not None:
                self._vao.release()
                self._vbo.release()
            self._vbo = self.ctx.buffer(raw)
            self._vbo_size = len(raw)
            self._vao = self.ctx.vertex_array(
                self.prog, [(self._vbo, "3f 3f", "in_pos", "in_color")],
                index_buffer=self._ibo, index_element_size=4,
            )
        else:
            self._vbo.write(raw)

    def render(
        self,
        vertices_cam_mm: np.ndarray,
        colors: np.ndarray,
        intrinsics: np.ndarray,
        size_wh: tuple[int, int],
        light_dir: np.ndarray | tuple[float, float, float] = (0.0, 0.0, -1.0),
        light_rgb: np.ndarray | tuple[float, float, float] = (0.8, 0.8, 0.8),
        ambient_rgb: np.ndarray | tuple[float, float, float] = (0.35, 0.35, 0.35),
    ) -> RenderResult:
        """Render one mesh.

        Args:
            vertices_cam_mm: ``[V, 3]`` camera-space positions (mm, OpenCV axes).
            colors: ``[V, 3]`` albedo in [0, 1].
            intrinsics: ``(fx, fy, cx, cy)`` px.
            size_wh: Output ``(width, height)`` px.
            light_dir: Direction from the surface towards the light, camera axes.
            light_rgb, ambient_rgb: Light colours (linear, roughly in [0, 1]).

        Raises:
            ValueError: bad shapes, a focal length ≤ 0 or an empty image size.
        """
        intr, w, h = _check_camera(intrinsics, size_wh)
        v = np.asarray(vertices_cam_mm, dtype=np.float32)
        c = np.asarray(colors, dtype=np.float32)
        if v.ndim != 2 or v.shape[1] != 3 or len(v) < self.num_vertices:
            raise ValueError(
                f"vertices_cam_mm: expected [V, 3] with V >= {self.num_vertices}, got {v.shape}"
            )
        if c.shape != v.shape:
            raise ValueError(f"colors: expected shape {v.shape}, got {c.shape}")
        ld = np.asarray(light_dir, dtype=np.float64).reshape(3)
        ld = ld / max(float(np.linalg.norm(ld)), 1e-12)

        # Several renderers may live in one process: make this one's context current.
        with self.ctx:
            rgba, zc = self._draw(np.concatenate([v, c], axis=1), intr, w, h, ld,
                                  light_rgb, ambient_rgb)
        # GL rows start at the bottom.
        rgba = rgba[::-1]
        zc = zc[::-1]
        alpha = rgba[..., 3].astype(np.float32) / 255.0
        safe = np.maximum(alpha, 1.0 / 255.0)
        # Resolved values are coverage-weighted (cleared to 0): divide by the coverage.
        rgb = np.clip(rgba[..., :3].astype(np.float32) / safe[..., None], 0, 255)
        covered = alpha >= 0.5
        depth = np.full((h, w), np.inf, dtype=np.float32)
        np.divide(zc, safe, out=depth, where=covered)
        rgb8 = np.rint(rgb).astype(np.uint8)
        if not self.samples and self.soft_edges:
            alpha = np.asarray(cv2.GaussianBlur(alpha, (3, 3), 0.6), dtype=np.float32)
            grown = cv2.dilate(rgb8, np.ones((3, 3), np.uint8))
            rgb8 = np.where((rgba[..., 3] > 0)[..., None], rgb8, grown)
        return RenderResult(rgb=rgb8, alpha=alpha, depth_mm=depth)

    def _draw(self, data: np.ndarray, intr: np.ndarray, w: int, h: int, ld: np.ndarray,
              light_rgb: Any, ambient_rgb: Any) -> tuple[np.ndarray, np.ndarray]:
        self._upload(data)
        prog = self.prog
        prog["intr"].value = tuple(float(x) for x in intr)
        prog["size"].value = (float(w), float(h))
        prog["near_far"].value = (self.near_mm, self.far_mm)
        prog["light_dir"].value = tuple(float(x) for x in ld)
        prog["light_rgb"].value = tuple(float(x) for x in np.asarray(light_rgb).reshape(3))
        prog["ambient_rgb"].value = tuple(float(x) for x in np.asarray(ambient_rgb).reshape(3))
        ms, resolve = self._framebuffers(w, h)
        ctx = self.ctx
        ctx.enable(self._mgl.DEPTH_TEST)
        ctx.disable(self._mgl.CULL_FACE)
        ms.use()
        ctx.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        self._vao.render(self._mgl.TRIANGLES)
        if self.samples:
            ctx.copy_framebuffer(resolve, ms)
            src = resolve
        else:
            src = ms
        rgba = np.frombuffer(src.read(components=4, attachment=0), np.uint8).reshape(h, w, 4)
        zc = np.frombuffer(src.read(components=1, attachment=1, dtype="f4"),
                           np.float32).reshape(h, w)
        return rgba, zc

    def release(self) -> None:
        """Free the GL objects and the context."""
        with self.ctx:
            for fbs in self._fbos.values():
                for fb in fbs:
                    fb.release()
            self._fbos.clear()
            if self._vao is not None:
                self._vao.release()
                self._vbo.release()
            self._ibo.release()
        self.ctx.release()
