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

**Storage** (:mod:`.multi_store`, like :mod:`.generate`): ``OUT/shard-00000.npz`` … written
whole, plus ``OUT/index.json``; complete shards with the same settings are skipped (resumable),
shards from other settings raise ``ValueError``. Images are JPEG bytes (``image_bytes`` /
``image_offsets``), instance maps PNG bytes (``instance_bytes`` / ``instance_offsets``). People are
flattened across the shard's images: image ``i`` owns rows
``person_offsets[i]:person_offsets[i + 1]`` of the per-person arrays; ``num_people [N]`` repeats
the counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from monopose.core.skeleton import H36M17
from monopose.data.synthetic.body import load_body_model, random_phenotypes
from monopose.data.synthetic.composite import composite_by_depth
from monopose.data.synthetic.generate import joint_flags
from monopose.data.synthetic.multi_layout import (
    PELVIS,
    MultiSceneConfig,
    SceneLayout,
    joints_inside,
    place_on_floor,
    sample_layout,
)
from monopose.data.synthetic.multi_store import (
    MultiSample,
    MultiShard,
    PersonLabel,
    multi_shard_arrays,
    multi_shard_paths,
    read_multi_shard,
)
from monopose.data.synthetic.poses import PoseSource
from monopose.data.synthetic.render import MeshRenderer
from monopose.data.synthetic.retarget import retarget_h36m17
from monopose.data.synthetic.scene import (
    BackgroundBank,
    CameraPlacement,
    body_regions,
    random_light,
    vertex_colors,
)
from monopose.data.synthetic.shards import check_dataset_args, shard_name, write_sharded_dataset

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

MULTI_FORMAT_VERSION = 2  # 2: labels in Human3.6M's joint placement
_FLIP = np.asarray(H36M17.flip_permutation)


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
        rest = self.body.rest(np.asarray(phenotypes))
        ret = retarget_h36m17(self.body, rest, np.asarray(pose_mm, dtype=np.float64))
        posed = self.body.pose(rest, ret.rotations, ret.root_m)
        joints = self.body.h36m17_mm(posed)
        return place_on_floor(posed.vertices_mm, joints, float(yaw_rad),
                               np.asarray(floor_xy_mm, dtype=np.float64))

    def render_sample(self, index: int, keep_depth: bool = False) -> MultiSample:
        """Render sample ``index`` (a pure function of ``(seed, index)``).

        Raises:
            RuntimeError: no acceptable scene in ``config.max_attempts`` draws.
        """
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
                if jc[PELVIS, 2] <= 0:
                    continue
                n_in = int(joints_inside(cam.project(jc), jc[:, 2], self.size_wh).sum())
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
        return multi_shard_arrays(samples, self.config.appearance.jpeg_quality)

    def close(self) -> None:
        self.renderer.release()


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


def _people_per_image(out: Path, bounds: list[tuple[int, int, int]]) -> tuple[list[dict], dict]:
    """Index fields of a finished dataset: ``num_people`` per shard entry and the histogram of
    people per image (``{"people": images}``, non-zero counts only)."""
    counts = []
    for k, _, _ in bounds:
        with np.load(out / shard_name(k), allow_pickle=False) as z:
            counts.append([int(c) for c in z["num_people"]])
    hist = np.bincount([c for cs in counts for c in cs]).tolist()
    return ([{"num_people": c} for c in counts],
            {"people_histogram": {str(p): c for p, c in enumerate(hist) if c}})


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
    size = tuple(int(s) for s in size_wh)
    check_dataset_args(n, workers, shard_size, split,
                       None if len(size) == 2 and min(size) >= 16 else
                       f"size_wh: expected (width, height) both >= 16 px, got {size_wh}")
    size_t = (size[0], size[1])
    config = config or MultiSceneConfig()
    settings = _settings(n, size_t, seed, split, shard_size, poses, config)
    cache = str(cache_dir) if cache_dir is not None else None
    run = write_sharded_dataset(
        out_dir, n, shard_size, settings, MultiRenderer,
        (poses, size_t, seed, config, cache, use_photos),
        "JPEG bytes in image_bytes/image_offsets; instance maps PNG in "
        "instance_bytes/instance_offsets; per-person rows via person_offsets",
        workers=workers, progress=progress, body=body, describe=_people_per_image)
    return MultiDatasetReport(out_dir=run.out_dir, num_images=n, num_shards=run.num_shards,
                              shards_written=run.shards_written,
                              shards_skipped=run.shards_skipped,
                              seconds=time.perf_counter() - t0, settings=settings,
                              people_histogram={int(p): c for p, c in
                                                run.index["people_histogram"].items()})
