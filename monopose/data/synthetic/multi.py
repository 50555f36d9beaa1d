"""Multi-person synthetic images: 2–4 anny bodies in one scene, with exact per-person labels.

Built for evaluating absolute 3D pose estimation of everyone in an image (the MeTRAbs part),
with :mod:`monopose.eval.multiperson` as the scoring protocol.

**Scene** (sample ``i`` is a pure function of ``(seed, i)``; its generator is
``numpy.random.default_rng([seed, i])``):

* one pinhole camera (no distortion): focal length from a random field of view of the longer
  image side (:attr:`MultiSceneConfig.fov_deg`), centred principal point, height above the floor
  in :attr:`~MultiSceneConfig.camera_height_mm`, small roll;
* people stand on the common floor plane ``z = 0`` (world Z up, mm): each one gets its own body
  shape, its own mocap frame (mirrored with probability ``appearance.flip_prob``), a random yaw,
  and a floor position at a horizontal distance in :attr:`~MultiSceneConfig.distance_mm` from
  the camera, at a bearing within the horizontal field of view, at least
  :attr:`~MultiSceneConfig.min_separation_mm` from every other pelvis (so bodies do not
  interpenetrate); the lowest vertex of each posed body touches the floor;
* the camera looks at the group's centroid (jittered) at a random height, so people near the
  edges may be partly outside the image;
* a person whose pelvis is not in front of the camera, or with fewer than
  :attr:`~MultiSceneConfig.min_joints_kept` joints inside the image, is removed from the scene
  (neither rendered nor labelled); the scene is redrawn until at least
  :attr:`~MultiSceneConfig.min_people` people have
  :attr:`~MultiSceneConfig.min_joints_counted` joints inside.

**Rendering**: every person is rasterized alone through the same camera
(:class:`~monopose.data.synthetic.render.MeshRenderer`, one shared light), then
:func:`composite_by_depth` blends the layers per pixel from the farthest to the nearest surface
over one background, so the nearest body wins wherever bodies overlap; sensor noise is added to
the composite.

**Labels per person** (h36m17, exact, from the posed body like the single-person data):
``pose3d_cam_mm [17, 3]``, ``pose3d_world_mm [17, 3]``, ``kp2d_px [17, 2]`` (projections),
``inside [17]`` (in the image and in front of the camera), ``visible [17]`` (inside and not hidden
— :func:`~monopose.data.synthetic.generate.joint_flags` against the *composited* depth, so other
people occlude), ``occluded_fraction`` (share of the person's own rendered mask covered by
someone nearer), ``phenotypes [6]``, the mocap id and pose index. **Per image**:
``intrinsics (fx, fy, cx, cy)``, ``size_wh``, the world→camera ``R, t`` (the floor is world
``z = 0``) and an instance map (0 = background, ``k + 1`` = person ``k``).

**Storage** (like :mod:`~monopose.data.synthetic.generate`): ``OUT/shard-00000.npz`` … written
whole, plus ``OUT/index.json``; complete shards with the same settings are skipped (resumable),
shards from other settings raise ``ValueError``. Images are JPEG bytes (``image_bytes`` /
``image_offsets``), instance maps PNG bytes (``instance_bytes`` / ``instance_offsets``). People are
flattened across the shard's images: image ``i`` owns rows
``person_offsets[i]:person_offsets[i + 1]`` of the per-person arrays; ``num_people [N]`` repeats
the counts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from monopose.core.skeleton import H36M17
from monopose.data.synthetic.generate import (
    PoseSource,
    _encode,
    _pack,
    _settings_hash,
    _write_text,
    joint_flags,
    render_shards,
    shard_name,
)
from monopose.data.synthetic.scene import CameraPlacement, SceneConfig, place_camera

if TYPE_CHECKING:
    from monopose.data.synthetic.body import AnnyBody

__all__ = [
    "MULTI_FORMAT_VERSION",
    "MultiSceneConfig",
    "SceneLayout",
    "ScenePerson",
    "PersonLabel",
    "MultiSample",
    "MultiRenderer",
    "MultiShard",
    "MultiDatasetReport",
    "sample_layout",
    "composite_by_depth",
    "write_multi_dataset",
    "read_multi_shard",
    "multi_shard_paths",
]

MULTI_FORMAT_VERSION = 1
_FLIP = np.asarray(H36M17.flip_permutation)
_PELVIS = 0


@dataclass
class MultiSceneConfig:
    """Ranges of the random multi-person scene (mm, degrees).

    ``distance_mm`` is the horizontal distance from the camera to a pelvis, so a person off the
    optical axis has a smaller camera-space depth. Of ``appearance`` only the appearance fields
    are used (mirroring, clothes, skin, background, sensor noise, JPEG quality); its camera
    fields are ignored.
    """

    people: tuple[int, int] = (2, 4)  # people drawn per scene (inclusive)
    distance_mm: tuple[float, float] = (2500.0, 9000.0)  # horizontal, camera → pelvis
    fov_deg: tuple[float, float] = (45.0, 70.0)  # of the longer image side
    camera_height_mm: tuple[float, float] = (500.0, 2200.0)
    look_at_height_mm: tuple[float, float] = (600.0, 1300.0)
    look_at_jitter_mm: float = 300.0
    roll_std_deg: float = 3.0
    bearing_spread: float = 1.0  # bearings within ± this × half the horizontal field of view
    min_separation_mm: float = 800.0  # between pelvis floor positions
    min_joints_kept: int = 6
    min_joints_counted: int = 8
    min_people: int = 2
    max_attempts: int = 200
    appearance: SceneConfig = field(default_factory=SceneConfig)

    def __post_init__(self) -> None:
        for name in ("distance_mm", "fov_deg", "camera_height_mm", "look_at_height_mm"):
            v = tuple(float(x) for x in getattr(self, name))
            if len(v) != 2 or v[0] > v[1]:
                raise ValueError(f"MultiSceneConfig.{name}: expected (low, high), got {v}")
            setattr(self, name, v)
        lo, hi = (int(x) for x in self.people)
        if not 1 <= lo <= hi:
            raise ValueError(f"MultiSceneConfig.people: expected 1 <= low <= high, got {lo, hi}")
        self.people = (lo, hi)
        if not (0 < self.fov_deg[0] and self.fov_deg[1] < 180):
            raise ValueError(f"MultiSceneConfig.fov_deg: expected within (0, 180), got "
                             f"{self.fov_deg}")
        if self.distance_mm[0] <= 0:
            raise ValueError(f"MultiSceneConfig.distance_mm: expected > 0, got "
                             f"{self.distance_mm}")
        if not 1 <= self.min_people <= hi:
            raise ValueError(f"MultiSceneConfig.min_people: expected 1..{hi} (people[1]), got "
                             f"{self.min_people}")
        if not 0 <= self.min_joints_kept <= self.min_joints_counted <= 17:
            raise ValueError("MultiSceneConfig.min_joints_kept/min_joints_counted: expected "
                             "0 <= kept <= counted <= 17")
        if self.min_separation_mm < 0 or self.bearing_spread <= 0 or self.max_attempts < 1:
            raise ValueError("MultiSceneConfig: min_separation_mm >= 0, bearing_spread > 0 and "
                             "max_attempts >= 1 expected")


# ----------------------------------------------------------------------------------------------
# scene geometry (no body model needed)


@dataclass
class SceneLayout:
    """Where the camera and the people are.

    Attributes:
        camera: The camera (world Z up, floor ``z = 0``, mm).
        positions_mm: ``[K, 2]`` pelvis floor positions (world x, y).
        yaws_rad: ``[K]`` heading of each person about the vertical axis.
    """

    camera: CameraPlacement
    positions_mm: np.ndarray
    yaws_rad: np.ndarray


def sample_layout(rng: np.random.Generator, num_people: int, size_wh: tuple[int, int],
                  cfg: MultiSceneConfig) -> SceneLayout:
    """Draw a camera and up to ``num_people`` floor positions (see the module docstring).

    The camera stands at world ``(0, 0, height)``. A position that cannot be placed at least
    ``cfg.min_separation_mm`` from the others in 50 tries is dropped, so fewer people may come
    back.

    Raises:
        ValueError: ``num_people`` < 1 or an empty ``size_wh``.
    """
    if num_people < 1:
        raise ValueError(f"num_people: expected >= 1, got {num_people}")
    w, h = (int(s) for s in size_wh)
    if w <= 0 or h <= 0:
        raise ValueError(f"size_wh: expected positive (width, height), got {size_wh}")
    f = 0.5 * max(w, h) / float(np.tan(np.deg2rad(rng.uniform(*cfg.fov_deg)) / 2))
    half_hfov = float(np.arctan(0.5 * w / f))
    heading = rng.uniform(0.0, 2 * np.pi)
    cam_height = rng.uniform(*cfg.camera_height_mm)
    positions: list[np.ndarray] = []
    for _ in range(num_people):
        for _ in range(50):
            d = rng.uniform(*cfg.distance_mm)
            bearing = heading + rng.uniform(-1.0, 1.0) * cfg.bearing_spread * half_hfov
            p = d * np.array([np.cos(bearing), np.sin(bearing)])
            if all(np.linalg.norm(p - q) >= cfg.min_separation_mm for q in positions):
                positions.append(p)
                break
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    yaws = rng.uniform(0.0, 2 * np.pi, len(pos))
    centre = pos.mean(axis=0) + rng.normal(0.0, cfg.look_at_jitter_mm, 2)
    target = np.array([centre[0], centre[1], rng.uniform(*cfg.look_at_height_mm)])
    dist = max(float(np.linalg.norm(centre)), 1.0)
    azimuth = float(np.degrees(np.arctan2(-centre[1], -centre[0])))  # target → camera
    cam = place_camera(target[None], (w, h), distance_mm=dist, height_mm=cam_height,
                       azimuth_deg=azimuth, roll_deg=rng.normal(0.0, cfg.roll_std_deg),
                       focal_px=f, fill=None, look_at_mm=target, near_mm=1.0)
    return SceneLayout(camera=cam, positions_mm=pos, yaws_rad=yaws)


def _place_on_floor(vertices_mm: np.ndarray, joints_mm: np.ndarray, yaw_rad: float,
                    floor_xy_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move a posed body so its pelvis is above ``floor_xy_mm``, its lowest vertex on ``z = 0``,
    turned by ``yaw_rad`` about the vertical axis."""
    offset = np.array([joints_mm[_PELVIS, 0], joints_mm[_PELVIS, 1], vertices_mm[:, 2].min()])
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    shift = np.array([floor_xy_mm[0], floor_xy_mm[1], 0.0])
    return (vertices_mm - offset) @ rz.T + shift, (joints_mm - offset) @ rz.T + shift


def _inside(kp_px: np.ndarray, z_mm: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    w, h = size_wh
    return ((kp_px[..., 0] >= -0.5) & (kp_px[..., 0] <= w - 0.5) & (kp_px[..., 1] >= -0.5)
            & (kp_px[..., 1] <= h - 0.5) & (z_mm > 0))


# ----------------------------------------------------------------------------------------------
# compositing


def composite_by_depth(rgb: np.ndarray, alpha: np.ndarray, depth_mm: np.ndarray,
                       background: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blend separately rendered layers per pixel, from the farthest surface to the nearest.

    Anti-aliased edge pixels (``alpha > 0`` but no depth) take the nearest depth of their 3×3
    neighbourhood, so a silhouette blends over what lies behind it.

    Args:
        rgb: ``[P, H, W, 3]`` uint8 layer colours.
        alpha: ``[P, H, W]`` coverage in [0, 1].
        depth_mm: ``[P, H, W]`` camera z (``inf`` where the layer is empty).
        background: ``[H, W, 3]`` uint8.

    Returns:
        ``image [H, W, 3]`` float32 (0–255), ``depth_mm [H, W]`` (nearest layer, ``inf`` on the
        background), ``owner [H, W]`` int (index of the nearest layer, −1 on the background).

    Raises:
        ValueError: inconsistent shapes.
    """
    import cv2

    c = np.asarray(rgb)
    a = np.asarray(alpha, dtype=np.float32)
    d = np.asarray(depth_mm, dtype=np.float32)
    bg = np.asarray(background)
    if c.ndim != 4 or c.shape[-1] != 3:
        raise ValueError(f"rgb: expected [P, H, W, 3], got {c.shape}")
    if a.shape != c.shape[:3] or d.shape != c.shape[:3]:
        raise ValueError(f"alpha/depth_mm: expected {c.shape[:3]}, got {a.shape}/{d.shape}")
    if bg.shape != c.shape[1:]:
        raise ValueError(f"background: expected {c.shape[1:]}, got {bg.shape}")
    img = bg.astype(np.float32)
    if len(c) == 0:
        h, w = bg.shape[:2]
        return img, np.full((h, w), np.inf, np.float32), np.full((h, w), -1, np.int64)
    kernel = np.ones((3, 3), np.uint8)
    d_edge = np.empty_like(d)
    for k in range(len(d)):
        grown = cv2.erode(np.where(np.isfinite(d[k]), d[k], np.float32(1e30)), kernel)
        d_edge[k] = np.where(np.isfinite(d[k]), d[k], grown)
    order = np.argsort(-d_edge, axis=0, kind="stable")  # farthest first
    for k in range(len(c)):
        idx = order[k]
        ak = np.take_along_axis(a, idx[None], axis=0)[0][..., None]
        ck = np.take_along_axis(c, idx[None, ..., None], axis=0)[0].astype(np.float32)
        img = ak * ck + (1.0 - ak) * img
    nearest = d.min(axis=0)
    owner = np.where(np.isfinite(nearest), d.argmin(axis=0), -1)
    return img, nearest, owner


# ----------------------------------------------------------------------------------------------
# samples


@dataclass
class PersonLabel:
    """Labels of one person in a multi-person image (h36m17, mm / px).

    Attributes:
        pose3d_cam_mm: ``[17, 3]`` camera space (OpenCV axes).
        pose3d_world_mm: ``[17, 3]`` world (Z up, floor ``z = 0``).
        kp2d_px: ``[17, 2]`` projections (pixel centres on integers).
        inside: ``[17]`` projects inside the image, in front of the camera.
        visible: ``[17]`` inside and not hidden by any body (its own or another person's).
        occluded_fraction: Share of the person's own rendered mask covered by nearer people.
        phenotypes: ``[6]`` anny shape.
        id: Mocap frame id ``"source/clip/action/frame"``.
        pose_index: Index into the pose source.
    """

    pose3d_cam_mm: np.ndarray
    pose3d_world_mm: np.ndarray
    kp2d_px: np.ndarray
    inside: np.ndarray
    visible: np.ndarray
    occluded_fraction: float
    phenotypes: np.ndarray
    id: str
    pose_index: int


@dataclass
class MultiSample:
    """One rendered multi-person image with its labels.

    Attributes:
        image: ``[H, W, 3]`` uint8 RGB.
        instances: ``[H, W]`` uint8, 0 = background, ``k + 1`` = ``people[k]``.
        people: One label per rendered person.
        intrinsics: ``[4]`` ``(fx, fy, cx, cy)`` px.
        size_wh: ``(width, height)`` px.
        R, t: World→camera rotation ``[3, 3]`` and translation ``[3]`` mm.
        index: Sample index. attempts: Scenes drawn until one was accepted.
        depth_mm: ``[H, W]`` composited depth (kept only on request).
    """

    image: np.ndarray
    instances: np.ndarray
    people: list[PersonLabel]
    intrinsics: np.ndarray
    size_wh: tuple[int, int]
    R: np.ndarray
    t: np.ndarray
    index: int = -1
    attempts: int = 1
    depth_mm: np.ndarray | None = None


@dataclass
class ScenePerson:
    """A posed body placed in the world (input of :meth:`MultiRenderer.render_scene`).

    Attributes:
        vertices_world_mm: ``[V, 3]`` skinned vertices, world mm (Z up).
        joints_world_mm: ``[17, 3]`` h36m17 joints of the same body.
        phenotypes: ``[6]`` anny shape (zeros if unknown).
        id: Mocap frame id ("" if unknown). pose_index: Index into the pose source (−1).
    """

    vertices_world_mm: np.ndarray
    joints_world_mm: np.ndarray
    phenotypes: np.ndarray = field(default_factory=lambda: np.zeros(6, np.float32))
    id: str = ""
    pose_index: int = -1


class MultiRenderer:
    """Body model, rasterizer and backgrounds for rendering multi-person samples.

    Args:
        poses: Pose source (each person draws its own frame).
        size_wh: Image ``(width, height)`` px.
        seed: Dataset seed.
        config: Scene randomisation.
        cache_dir: anny cache folder. use_photos: Photo backgrounds from scikit-image.
        body: An already loaded body model.

    Raises:
        ValueError: ``size_wh`` smaller than 16 px. ImportError: the render extra is missing.
    """

    def __init__(self, poses: PoseSource, size_wh: tuple[int, int] = (640, 480), seed: int = 0,
                 config: MultiSceneConfig | None = None, cache_dir: str | Path | None = None,
                 use_photos: bool = True, body: AnnyBody | None = None) -> None:
        w, h = (int(s) for s in size_wh)
        if w < 16 or h < 16:
            raise ValueError(f"size_wh: expected both sides >= 16 px, got {size_wh}")
        from monopose.data.synthetic.body import load_body_model
        from monopose.data.synthetic.render import MeshRenderer
        from monopose.data.synthetic.scene import BackgroundBank, body_regions

        self.poses = poses
        self.size_wh = (w, h)
        self.seed = int(seed)
        self.config = config or MultiSceneConfig()
        self.body = body if body is not None else load_body_model(cache_dir)
        self.regions = body_regions(self.body.bone_names, self.body.dominant_bone,
                                    self.body.default_rest_vertices_m,
                                    self.body.default_rest_heads_m)
        self.renderer = MeshRenderer(self.body.faces)
        self.backgrounds = BackgroundBank(use_photos=use_photos)

    def pose_person(self, pose_mm: np.ndarray, phenotypes: np.ndarray, yaw_rad: float,
                    floor_xy_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pose a body shape like ``pose_mm [17, 3]`` (world, Z up) and stand it on the floor at
        ``floor_xy_mm [2]`` turned by ``yaw_rad``: ``(vertices [V, 3], joints [17, 3])`` world mm.
        """
        from monopose.data.synthetic.retarget import retarget_h36m17

        rest = self.body.rest(np.asarray(phenotypes))
        ret = retarget_h36m17(self.body, rest, np.asarray(pose_mm, dtype=np.float64))
        posed = self.body.pose(rest, ret.rotations, ret.root_m)
        joints = self.body.h36m17_mm(posed)
        return _place_on_floor(posed.vertices_mm, joints, float(yaw_rad),
                               np.asarray(floor_xy_mm, dtype=np.float64))

    def render_sample(self, index: int, keep_depth: bool = False) -> MultiSample:
        """Render sample ``index`` (a pure function of ``(seed, index)``).

        Raises:
            RuntimeError: no acceptable scene in ``config.max_attempts`` draws.
        """
        from monopose.data.synthetic.body import random_phenotypes

        cfg = self.config
        rng = np.random.default_rng([self.seed, int(index)])
        for attempt in range(1, cfg.max_attempts + 1):
            layout = sample_layout(rng, int(rng.integers(cfg.people[0], cfg.people[1] + 1)),
                                   self.size_wh, cfg)
            cam = layout.camera
            people: list[ScenePerson] = []
            counted = 0
            for xy, yaw in zip(layout.positions_mm, layout.yaws_rad, strict=True):
                k = int(rng.integers(len(self.poses.poses_mm)))
                target = self.poses.poses_mm[k].astype(np.float64)
                if rng.random() < cfg.appearance.flip_prob:
                    target = target[_FLIP] * np.array([-1.0, 1.0, 1.0])
                phen = random_phenotypes(rng)
                verts, joints = self.pose_person(target, phen, yaw, xy)
                jc = cam.to_camera(joints)
                if jc[_PELVIS, 2] <= 0:
                    continue
                n_in = int(_inside(cam.project(jc), jc[:, 2], self.size_wh).sum())
                if n_in < cfg.min_joints_kept:
                    continue
                counted += n_in >= cfg.min_joints_counted
                people.append(ScenePerson(verts, joints, phen.astype(np.float32),
                                      self.poses.ids[k], k))
            if counted >= cfg.min_people:
                sample = self.render_scene(people, cam, rng, keep_depth)
                sample.index = int(index)
                sample.attempts = attempt
                return sample
        raise RuntimeError(f"sample {index}: no scene with {cfg.min_people} people in view "
                           f"after {cfg.max_attempts} attempts")

    def render_scene(self, people: Sequence[ScenePerson], cam: CameraPlacement,
                     rng: np.random.Generator, keep_depth: bool = False) -> MultiSample:
        """Render posed people through ``cam`` with random outfits, one light and one
        background, composite them by depth and label them (in the order given)."""
        from monopose.data.synthetic.scene import random_light, vertex_colors

        app = self.config.appearance
        size = self.size_wh
        persons = list(people)
        light = random_light(rng)
        verts_c, joints_c, layers = [], [], []
        for p in persons:
            vc = cam.to_camera(p.vertices_world_mm)
            verts_c.append(vc)
            joints_c.append(cam.to_camera(p.joints_world_mm))
            layers.append(self.renderer.render(
                vc, vertex_colors(rng, self.regions, app), cam.intrinsics, size,
                light_dir=light.direction, light_rgb=light.color, ambient_rgb=light.ambient))
        bg = self.backgrounds.sample(rng, size, app.photo_prob)
        w, h = size
        rgb = np.stack([r.rgb for r in layers]) if layers else np.zeros((0, h, w, 3), np.uint8)
        alpha = np.stack([r.alpha for r in layers]) if layers else np.zeros((0, h, w), np.float32)
        depth = (np.stack([r.depth_mm for r in layers]) if layers
                 else np.zeros((0, h, w), np.float32))
        img, depth_c, owner = composite_by_depth(rgb, alpha, depth, bg)
        noise = rng.uniform(*app.noise_std)
        if noise > 0:
            img = img + rng.normal(0.0, noise, img.shape).astype(np.float32)
        image = np.clip(np.rint(img), 0, 255).astype(np.uint8)

        labels = []
        for k, p in enumerate(persons):
            kp = cam.project(joints_c[k])
            inside, visible = joint_flags(kp, joints_c[k], verts_c[k], depth_c)
            own = layers[k].mask
            n_own = int(own.sum())
            hidden = int((own & (owner != k)).sum())
            labels.append(PersonLabel(
                pose3d_cam_mm=joints_c[k].astype(np.float32),
                pose3d_world_mm=np.asarray(p.joints_world_mm, dtype=np.float32),
                kp2d_px=kp.astype(np.float32), inside=inside, visible=visible,
                occluded_fraction=hidden / n_own if n_own else 0.0,
                phenotypes=np.asarray(p.phenotypes, dtype=np.float32), id=p.id,
                pose_index=p.pose_index,
            ))
        return MultiSample(
            image=image, instances=(owner + 1).astype(np.uint8), people=labels,
            intrinsics=cam.intrinsics.astype(np.float32), size_wh=size,
            R=cam.R.astype(np.float32), t=cam.t.astype(np.float32),
            depth_mm=depth_c if keep_depth else None,
        )

    def shard_arrays(self, samples: list[MultiSample]) -> dict[str, np.ndarray]:
        """The arrays of one shard file holding ``samples``."""
        return _samples_to_arrays(samples, self.config.appearance.jpeg_quality)

    def close(self) -> None:
        self.renderer.release()


# ----------------------------------------------------------------------------------------------
# shards


def _samples_to_arrays(samples: list[MultiSample], quality: int) -> dict[str, np.ndarray]:
    img_data, img_off = _pack([_encode(s.image, ".jpg", quality) for s in samples])
    ins_data, ins_off = _pack([_encode(s.instances, ".png") for s in samples])
    counts = np.array([len(s.people) for s in samples], dtype=np.int64)
    offsets = np.zeros(len(samples) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(counts)
    people = [p for s in samples for p in s.people]

    def stack(name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        if not people:
            return np.zeros((0, *shape), dtype=dtype)
        return np.stack([np.asarray(getattr(p, name), dtype=dtype) for p in people])

    return {
        "image_bytes": img_data, "image_offsets": img_off,
        "instance_bytes": ins_data, "instance_offsets": ins_off,
        "num_people": counts, "person_offsets": offsets,
        "intrinsics": np.stack([s.intrinsics for s in samples]).astype(np.float32),
        "image_size_px": np.array([s.size_wh for s in samples], dtype=np.float32),
        "R": np.stack([s.R for s in samples]).astype(np.float32),
        "t": np.stack([s.t for s in samples]).astype(np.float32),
        "sample_index": np.array([s.index for s in samples], dtype=np.int64),
        "attempts": np.array([s.attempts for s in samples], dtype=np.int64),
        "pose3d_cam_mm": stack("pose3d_cam_mm", (17, 3), np.float32),
        "pose3d_world_mm": stack("pose3d_world_mm", (17, 3), np.float32),
        "kp2d_px": stack("kp2d_px", (17, 2), np.float32),
        "inside": stack("inside", (17,), bool),
        "visible": stack("visible", (17,), bool),
        "occluded_fraction": np.array([p.occluded_fraction for p in people], dtype=np.float32),
        "phenotypes": stack("phenotypes", (6,), np.float32),
        "ids": np.array([p.id for p in people], dtype=str),
        "pose_index": np.array([p.pose_index for p in people], dtype=np.int64),
    }


@dataclass
class MultiShard:
    """A loaded multi-person shard (arrays as stored, see the module docstring)."""

    arrays: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.arrays["num_people"])

    @property
    def num_people(self) -> np.ndarray:
        """``[N]`` people per image."""
        return self.arrays["num_people"]

    def _blob(self, key: str, i: int) -> np.ndarray:
        if not 0 <= i < len(self):
            raise IndexError(f"i: expected 0 <= i < {len(self)}, got {i}")
        a, b = self.arrays[f"{key}_offsets"][i], self.arrays[f"{key}_offsets"][i + 1]
        return self.arrays[f"{key}_bytes"][a:b]

    def image(self, i: int) -> np.ndarray:
        """``[H, W, 3]`` uint8 RGB of image ``i``."""
        import cv2

        bgr = cv2.imdecode(self._blob("image", i), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"image {i}: the stored JPEG cannot be decoded")
        return np.ascontiguousarray(bgr[..., ::-1])

    def instances(self, i: int) -> np.ndarray:
        """``[H, W]`` uint8 instance map of image ``i`` (0 background, ``k + 1`` person ``k``)."""
        import cv2

        m = cv2.imdecode(self._blob("instance", i), cv2.IMREAD_UNCHANGED)
        if m is None:
            raise ValueError(f"image {i}: the stored instance map cannot be decoded")
        return np.asarray(m)

    def intrinsics(self, i: int) -> np.ndarray:
        """``[4]`` ``(fx, fy, cx, cy)`` px of image ``i``."""
        return self.arrays["intrinsics"][i]

    def size_wh(self, i: int) -> tuple[int, int]:
        w, h = self.arrays["image_size_px"][i]
        return int(w), int(h)

    def people(self, i: int) -> list[PersonLabel]:
        """The labels of everyone in image ``i``, in storage order."""
        if not 0 <= i < len(self):
            raise IndexError(f"i: expected 0 <= i < {len(self)}, got {i}")
        a = self.arrays
        lo, hi = int(a["person_offsets"][i]), int(a["person_offsets"][i + 1])
        return [PersonLabel(
            pose3d_cam_mm=a["pose3d_cam_mm"][r], pose3d_world_mm=a["pose3d_world_mm"][r],
            kp2d_px=a["kp2d_px"][r], inside=a["inside"][r], visible=a["visible"][r],
            occluded_fraction=float(a["occluded_fraction"][r]), phenotypes=a["phenotypes"][r],
            id=str(a["ids"][r]), pose_index=int(a["pose_index"][r]),
        ) for r in range(lo, hi)]


def read_multi_shard(path: str | Path) -> MultiShard:
    """Load one shard written by :func:`write_multi_dataset`.

    Raises:
        FileNotFoundError: no such file. ValueError: not a multi-person shard.
    """
    with np.load(Path(path), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if "person_offsets" not in arrays:
        raise ValueError(f"path: {path} is not a multi-person shard (no person_offsets)")
    return MultiShard(arrays)


def multi_shard_paths(out_dir: str | Path) -> list[Path]:
    """The shard files of a dataset folder, in order (from its ``index.json``).

    Raises:
        FileNotFoundError: no ``index.json`` in ``out_dir``.
    """
    index = json.loads((Path(out_dir) / "index.json").read_text(encoding="utf-8"))
    return [Path(out_dir) / s["file"] for s in index["shards"]]


# ----------------------------------------------------------------------------------------------
# dataset writer


@dataclass
class MultiDatasetReport:
    """What :func:`write_multi_dataset` did."""

    out_dir: Path
    num_images: int
    num_shards: int
    shards_written: int
    shards_skipped: int
    seconds: float
    settings: dict = field(default_factory=dict)
    people_histogram: dict[int, int] = field(default_factory=dict)  # people → images


def _settings(n: int, size_wh: tuple[int, int], seed: int, split: str, shard_size: int,
              poses: PoseSource, config: MultiSceneConfig) -> dict:
    cfg = asdict(config)
    cfg["appearance"].pop("_pairs", None)
    return {"format": "multiperson", "format_version": MULTI_FORMAT_VERSION, "n": n,
            "size_wh": list(size_wh), "seed": seed, "split": split, "shard_size": shard_size,
            "poses": poses.name, "poses_digest": poses.digest(), "scene": cfg}


def write_multi_dataset(
    out_dir: str | Path,
    n: int,
    poses: PoseSource,
    size_wh: tuple[int, int] = (640, 480),
    seed: int = 0,
    workers: int = 1,
    split: str = "val",
    shard_size: int = 100,
    config: MultiSceneConfig | None = None,
    cache_dir: str | Path | None = None,
    use_photos: bool = True,
    progress: bool | Callable[[int, int], None] = False,
    body: AnnyBody | None = None,
) -> MultiDatasetReport:
    """Render ``n`` multi-person images into ``out_dir`` (see the module docstring).

    Args:
        out_dir: Output folder (created).
        n: Number of images.
        poses: Pose source (:meth:`PoseSource.from_cache` of the evaluation split).
        size_wh: Image ``(width, height)`` px.
        seed: Dataset seed; image ``i`` depends only on ``(seed, i)``.
        workers: Processes (``spawn``); 1 renders in this process.
        split: Recorded in the index (the pose source decides which frames are used).
        shard_size: Images per shard.
        config: Scene randomisation.
        cache_dir: anny cache folder. use_photos: Photo backgrounds from scikit-image.
        progress: Show a progress bar (True), nothing (False), or call ``progress(done, n)``.
        body: A loaded body model for ``workers == 1``.

    Raises:
        ValueError: ``n``, ``size_wh``, ``workers``, ``shard_size`` or ``split`` out of range;
            ``out_dir`` holds shards made with other settings.
    """
    t0 = time.perf_counter()
    if n < 1:
        raise ValueError(f"n: expected >= 1, got {n}")
    size = tuple(int(s) for s in size_wh)
    if len(size) != 2 or min(size) < 16:
        raise ValueError(f"size_wh: expected (width, height) both >= 16 px, got {size_wh}")
    size_t = (size[0], size[1])
    if workers < 1:
        raise ValueError(f"workers: expected >= 1, got {workers}")
    if shard_size < 1:
        raise ValueError(f"shard_size: expected >= 1, got {shard_size}")
    if split not in ("train", "val", "test"):
        raise ValueError(f"split: expected 'train', 'val' or 'test', got {split!r}")
    config = config or MultiSceneConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = _settings(n, size_t, seed, split, shard_size, poses, config)
    digest = _settings_hash(settings)

    num_shards = (n + shard_size - 1) // shard_size
    bounds = [(k, k * shard_size, min((k + 1) * shard_size, n)) for k in range(num_shards)]
    cache = str(cache_dir) if cache_dir is not None else None
    todo = render_shards(out, n, shard_size, digest, MultiRenderer,
                         (poses, size_t, seed, config, cache, use_photos), workers, progress, body)

    counts = []
    for k, _, _ in bounds:
        with np.load(out / shard_name(k), allow_pickle=False) as z:
            counts.append([int(c) for c in z["num_people"]])
    hist = np.bincount([c for cs in counts for c in cs]).tolist()
    index = {
        **settings,
        "settings_hash": digest,
        "num_shards": num_shards,
        "shards": [{"file": shard_name(k), "start": a, "count": b - a,
                    "num_people": counts[k]} for k, a, b in bounds],
        "people_histogram": {str(p): c for p, c in enumerate(hist) if c},
        "layout": "h36m17",
        "images": "JPEG bytes in image_bytes/image_offsets; instance maps PNG in "
                  "instance_bytes/instance_offsets; per-person rows via person_offsets",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    _write_text(out / "index.json", json.dumps(index, indent=1))
    return MultiDatasetReport(out_dir=out, num_images=n, num_shards=num_shards,
                              shards_written=len(todo), shards_skipped=num_shards - len(todo),
                              seconds=time.perf_counter() - t0, settings=settings,
                              people_histogram={p: c for p, c in enumerate(hist) if c})
