"""Render a synthetic dataset: mocap poses on random anny bodies, with exact 3D ground truth.

Sample ``i`` of a dataset is a pure function of ``(seed, i)`` (and the pose source and settings):
its generator is ``numpy.random.default_rng([seed, i])``. Steps per sample: pick a mocap frame of
the split (the mocap cache's de-duplicated single-frame index), mirror it with probability
``flip_prob``, draw a body shape, retarget, skin, place a camera (optionally a crop that truncates
the body), pick colours, light and background, rasterize, composite, add sensor noise, encode.

**Labels** come from the posed body (:meth:`AnnyBody.h36m17_mm`), in the sample type of the data
layer (:class:`monopose.data.sample.PoseBatch`, ``T = 1``, layout ``h36m17``, no distortion):

* ``keypoints_2d_gt_px`` = ``keypoints_2d_px``: exact projections (no detector noise is added
  here; samplers add it when they need it);
* ``valid_2d``: the joint projects inside the image (False = truncated);
* ``visible`` ``[N, 17]``: inside the image and not hidden by the body itself — the rendered depth
  around the joint's pixel (3×3, farthest) is not nearer than the joint minus the local body
  radius (twice the distance to the nearest vertex, plus 25 mm);
* ``truncated`` ``[N, 17]``: the joint projects outside the image;
* ``mask``: pixels whose centre the body covers.

**Storage** (:mod:`.shards`): ``OUT/shard-00000.npz`` … with ``shard_size`` samples each (the
last one may be shorter), written whole (temp file + rename), plus ``OUT/index.json`` (settings,
shard list, counts). Images are JPEG and masks PNG, stored as byte strings inside the shard
(``image_bytes``/``image_offsets``, ``mask_bytes``/``mask_offsets``); :func:`read_shard` decodes
them. A shard that exists with the expected count and settings hash is skipped, so an interrupted
run resumes where it stopped; a shard from other settings raises ``ValueError``.

Workers are separate processes (``spawn``), each loading anny, the rasterizer and the
backgrounds once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from monopose.core.skeleton import H36M17
from monopose.data.sample import PoseBatch
from monopose.data.synthetic.body import load_body_model, random_phenotypes
from monopose.data.synthetic.poses import PoseSource
from monopose.data.synthetic.render import MeshRenderer
from monopose.data.synthetic.retarget import retarget_h36m17
from monopose.data.synthetic.scene import (
    BackgroundBank,
    CameraPlacement,
    SceneConfig,
    body_regions,
    random_camera,
    random_light,
    vertex_colors,
)
from monopose.data.synthetic.shards import (
    check_dataset_args,
    encode_image,
    pack_blobs,
    render_shards,
    shard_name,
    write_sharded_dataset,
)

if TYPE_CHECKING:
    from monopose.data.synthetic.body import AnnyBody

__all__ = [
    "PoseSource",
    "SyntheticSample",
    "SyntheticRenderer",
    "SyntheticShard",
    "DatasetReport",
    "write_dataset",
    "read_shard",
    "shard_name",
    "FORMAT_VERSION",
    "joint_flags",
    "render_shards",
]

FORMAT_VERSION = 2  # 2: labels in Human3.6M's joint placement (AnnyBody.h36m17_mm)
_FLIP = np.asarray(H36M17.flip_permutation)


# ----------------------------------------------------------------------------------------------
# one sample


@dataclass
class SyntheticSample:
    """One rendered sample (see the module docstring for the label definitions)."""

    image: np.ndarray  # [H, W, 3] uint8 RGB
    mask: np.ndarray  # [H, W] bool
    keypoints_2d_px: np.ndarray  # [17, 2]
    pose_3d_cam_mm: np.ndarray  # [17, 3]
    pose_3d_world_mm: np.ndarray  # [17, 3]
    valid_2d: np.ndarray  # [17] bool
    visible: np.ndarray  # [17] bool
    truncated: np.ndarray  # [17] bool
    intrinsics: np.ndarray  # [4]
    size_wh: tuple[int, int]
    R: np.ndarray  # [3, 3] world → camera
    t: np.ndarray  # [3] mm
    phenotypes: np.ndarray  # [6]
    id: str
    index: int
    pose_index: int
    depth_mm: np.ndarray | None = None  # [H, W] float32 (kept only on request)


class SyntheticRenderer:
    """Everything one process needs to render samples: body model, rasterizer, backgrounds.

    Args:
        poses: The pose source.
        size: Output image side (square images ``size × size``).
        seed: Dataset seed.
        config: Scene randomisation.
        cache_dir: anny cache folder (see :mod:`monopose.data.synthetic.body`).
        use_photos: Use the scikit-image photos as backgrounds.
        body: An already loaded body model (else it is loaded here).

    Raises:
        ValueError: ``size`` < 16. ImportError: the render extra is missing.
    """

    def __init__(self, poses: PoseSource, size: int = 256, seed: int = 0,
                 config: SceneConfig | None = None, cache_dir: str | Path | None = None,
                 use_photos: bool = True, body: AnnyBody | None = None) -> None:
        if int(size) < 16:
            raise ValueError(f"size: expected an image side >= 16 px, got {size}")
        self.poses = poses
        self.size = int(size)
        self.seed = int(seed)
        self.config = config or SceneConfig()
        self.body = body if body is not None else load_body_model(cache_dir)
        self.regions = body_regions(self.body.bone_names, self.body.dominant_bone,
                                    self.body.default_rest_vertices_m,
                                    self.body.default_rest_heads_m)
        self.renderer = MeshRenderer(self.body.faces)
        self.backgrounds = BackgroundBank(use_photos=use_photos)

    def render_sample(self, index: int, keep_depth: bool = False) -> SyntheticSample:
        """Render sample ``index`` (a pure function of ``(seed, index)``)."""
        cfg = self.config
        rng = np.random.default_rng([self.seed, int(index)])
        k = int(rng.integers(len(self.poses.poses_mm)))
        target = self.poses.poses_mm[k].astype(np.float64)
        if rng.random() < cfg.flip_prob:
            target = target[_FLIP] * np.array([-1.0, 1.0, 1.0])
        rest = self.body.rest(random_phenotypes(rng))
        ret = retarget_h36m17(self.body, rest, target)
        posed = self.body.pose(rest, ret.rotations, ret.root_m)
        joints_w = self.body.h36m17_mm(posed)
        size = (self.size, self.size)
        cam = random_camera(rng, posed.vertices_mm, size, cfg, joints_world_mm=joints_w)
        sample = self.render_view(posed.vertices_mm, joints_w, cam, rng, keep_depth)
        sample.phenotypes = rest.phenotypes.astype(np.float32)
        sample.id = self.poses.ids[k]
        sample.index = int(index)
        sample.pose_index = k
        return sample

    def render_view(self, vertices_world_mm: np.ndarray, joints_world_mm: np.ndarray,
                    cam: CameraPlacement, rng: np.random.Generator,
                    keep_depth: bool = False) -> SyntheticSample:
        """Render a posed body through ``cam`` with random appearance, light and background,
        and compute its labels (ids and shape fields are left empty)."""
        cfg = self.config
        size = cam.size_wh
        verts_c = cam.to_camera(vertices_world_mm)
        joints_c = cam.to_camera(joints_world_mm)
        colors = vertex_colors(rng, self.regions, cfg)
        light = random_light(rng)
        res = self.renderer.render(verts_c, colors, cam.intrinsics, size,
                                   light_dir=light.direction, light_rgb=light.color,
                                   ambient_rgb=light.ambient)
        bg = self.backgrounds.sample(rng, size, cfg.photo_prob)
        a = res.alpha[..., None]
        img = a * res.rgb.astype(np.float32) + (1.0 - a) * bg.astype(np.float32)
        noise = rng.uniform(*cfg.noise_std)
        if noise > 0:
            img = img + rng.normal(0.0, noise, img.shape).astype(np.float32)
        image = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        kp = cam.project(joints_c)
        inside, visible = joint_flags(kp, joints_c, verts_c, res.depth_mm)
        return SyntheticSample(
            image=image, mask=res.mask, keypoints_2d_px=kp.astype(np.float32),
            pose_3d_cam_mm=joints_c.astype(np.float32),
            pose_3d_world_mm=np.asarray(joints_world_mm, dtype=np.float32),
            valid_2d=inside, visible=visible, truncated=~inside,
            intrinsics=cam.intrinsics.astype(np.float32), size_wh=size,
            R=cam.R.astype(np.float32), t=cam.t.astype(np.float32),
            phenotypes=np.zeros(6, np.float32), id="", index=-1, pose_index=-1,
            depth_mm=res.depth_mm if keep_depth else None,
        )

    def shard_arrays(self, samples: list[SyntheticSample]) -> dict[str, np.ndarray]:
        """The arrays of one shard file holding ``samples``."""
        return _samples_to_arrays(samples, self.config.jpeg_quality)

    def close(self) -> None:
        self.renderer.release()


def joint_flags(kp_px: np.ndarray, joints_cam_mm: np.ndarray, vertices_cam_mm: np.ndarray,
                depth_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-joint (inside the image, visible) flags, ``[J]`` bool each.

    A joint is *inside* when its projection lies in ``[-0.5, W - 0.5] × [-0.5, H - 0.5]`` and it
    is in front of the camera. It is *visible* when inside and the rendered depth around its pixel
    (3×3, the farthest value; background counts as infinitely far) is not nearer than the joint
    minus its local body radius (twice the distance to the nearest vertex, plus 25 mm): the
    joint's own flesh may be in front of it, another body part may not.

    Args:
        kp_px: ``[J, 2]`` projections. joints_cam_mm: ``[J, 3]``. vertices_cam_mm: ``[V, 3]``.
        depth_mm: ``[H, W]`` rendered depth (``inf`` on background).
    """
    h, w = depth_mm.shape
    kp = np.asarray(kp_px, dtype=np.float64)
    jc = np.asarray(joints_cam_mm, dtype=np.float64)
    inside = ((kp[:, 0] >= -0.5) & (kp[:, 0] <= w - 0.5) & (kp[:, 1] >= -0.5)
              & (kp[:, 1] <= h - 0.5) & (jc[:, 2] > 0))
    d2 = ((jc[:, None, :] - np.asarray(vertices_cam_mm)[None, :, :]) ** 2).sum(-1)
    tol = 2.0 * np.sqrt(d2.min(axis=1)) + 25.0
    visible = np.zeros(len(jc), dtype=bool)
    for j in np.flatnonzero(inside):
        u = int(np.clip(np.rint(kp[j, 0]), 0, w - 1))
        v = int(np.clip(np.rint(kp[j, 1]), 0, h - 1))
        patch = depth_mm[max(v - 1, 0):v + 2, max(u - 1, 0):u + 2]
        visible[j] = bool(patch.max() >= jc[j, 2] - tol[j])
    return inside, visible


# ----------------------------------------------------------------------------------------------
# shards


def _samples_to_arrays(samples: list[SyntheticSample], quality: int) -> dict[str, np.ndarray]:
    img_data, img_off = pack_blobs([encode_image(s.image, ".jpg", quality) for s in samples])
    mask_data, mask_off = pack_blobs([encode_image(s.mask.astype(np.uint8) * 255, ".png")
                                 for s in samples])
    kp = np.stack([s.keypoints_2d_px for s in samples])[:, None]
    return {
        "image_bytes": img_data, "image_offsets": img_off,
        "mask_bytes": mask_data, "mask_offsets": mask_off,
        "keypoints_2d_px": kp, "keypoints_2d_gt_px": kp.copy(),
        "valid_2d": np.stack([s.valid_2d for s in samples])[:, None],
        "pose_3d_cam_mm": np.stack([s.pose_3d_cam_mm for s in samples])[:, None],
        "pose_3d_world_mm": np.stack([s.pose_3d_world_mm for s in samples]),
        "visible": np.stack([s.visible for s in samples]),
        "truncated": np.stack([s.truncated for s in samples]),
        "intrinsics": np.stack([s.intrinsics for s in samples]),
        "image_size_px": np.array([s.size_wh for s in samples], dtype=np.float32),
        "R": np.stack([s.R for s in samples]),
        "t": np.stack([s.t for s in samples]),
        "phenotypes": np.stack([s.phenotypes for s in samples]),
        "ids": np.array([s.id for s in samples]),
        "sample_index": np.array([s.index for s in samples], dtype=np.int64),
        "pose_index": np.array([s.pose_index for s in samples], dtype=np.int64),
    }


@dataclass
class SyntheticShard:
    """A loaded shard: labels as a :class:`PoseBatch` plus the extra arrays and encoded images."""

    batch: PoseBatch
    visible: np.ndarray
    truncated: np.ndarray
    extras: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.batch)

    def image(self, i: int) -> np.ndarray:
        """``[H, W, 3]`` uint8 RGB of sample ``i``."""
        a, b = self.extras["image_offsets"][i], self.extras["image_offsets"][i + 1]
        bgr = cv2.imdecode(self.extras["image_bytes"][a:b], cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"sample {i}: the stored image cannot be decoded")
        return np.ascontiguousarray(bgr[..., ::-1])

    def mask(self, i: int) -> np.ndarray:
        """``[H, W]`` bool segmentation mask of sample ``i``."""
        a, b = self.extras["mask_offsets"][i], self.extras["mask_offsets"][i + 1]
        m = cv2.imdecode(self.extras["mask_bytes"][a:b], cv2.IMREAD_GRAYSCALE)
        if m is None:
            raise ValueError(f"sample {i}: the stored mask cannot be decoded")
        return np.asarray(m > 127)


def read_shard(path: str | Path) -> SyntheticShard:
    """Load one shard written by :func:`write_dataset`."""
    with np.load(Path(path), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    ids = [str(x) for x in arrays["ids"]]
    batch = PoseBatch(
        keypoints_2d_px=arrays["keypoints_2d_px"],
        keypoints_2d_gt_px=arrays["keypoints_2d_gt_px"],
        valid_2d=arrays["valid_2d"],
        pose_3d_cam_mm=arrays["pose_3d_cam_mm"],
        intrinsics=arrays["intrinsics"],
        image_size_px=arrays["image_size_px"],
        ids=ids,
    )
    return SyntheticShard(batch=batch, visible=arrays["visible"], truncated=arrays["truncated"],
                          extras=arrays)


# ----------------------------------------------------------------------------------------------
# dataset writer


@dataclass
class DatasetReport:
    """What :func:`write_dataset` did."""

    out_dir: Path
    num_samples: int
    num_shards: int
    shards_written: int
    shards_skipped: int
    seconds: float
    settings: dict = field(default_factory=dict)


def _settings(n: int, size: int, seed: int, split: str, shard_size: int, poses: PoseSource,
              config: SceneConfig) -> dict:
    cfg = asdict(config)
    cfg.pop("_pairs", None)
    return {"format_version": FORMAT_VERSION, "n": n, "size": size, "seed": seed,
            "split": split, "shard_size": shard_size, "poses": poses.name,
            "poses_digest": poses.digest(), "scene": cfg}


def write_dataset(
    out_dir: str | Path,
    n: int,
    poses: PoseSource,
    size: int = 256,
    seed: int = 0,
    split: str = "train",
    workers: int = 1,
    shard_size: int = 256,
    config: SceneConfig | None = None,
    cache_dir: str | Path | None = None,
    use_photos: bool = True,
    progress: bool | Callable[[int, int], None] = True,
    body: AnnyBody | None = None,
) -> DatasetReport:
    """Render ``n`` samples into ``out_dir`` (see the module docstring for the layout).

    Args:
        out_dir: Output folder (created).
        n: Number of samples.
        poses: Pose source (:meth:`PoseSource.from_cache` for a split of the mocap cache).
        size: Image side, px.
        seed: Dataset seed; sample ``i`` depends only on ``(seed, i)``.
        split: Recorded in the index (the pose source decides which frames are used).
        workers: Processes (``spawn``); 1 renders in this process.
        shard_size: Samples per shard.
        config: Scene randomisation.
        cache_dir: anny cache folder.
        use_photos: Photo backgrounds from scikit-image.
        progress: Show a progress bar (True), nothing (False), or call ``progress(done, n)``.
        body: A loaded body model for ``workers == 1`` (workers always load their own).

    Raises:
        ValueError: ``n``, ``size``, ``workers`` or ``shard_size`` out of range; ``out_dir``
            holds shards made with other settings.
    """
    t0 = time.perf_counter()
    check_dataset_args(n, workers, shard_size, split,
                       None if size >= 16 else
                       f"size: expected an image side >= 16 px, got {size}")
    config = config or SceneConfig()
    settings = _settings(n, size, seed, split, shard_size, poses, config)
    cache = str(cache_dir) if cache_dir is not None else None
    run = write_sharded_dataset(
        out_dir, n, shard_size, settings, SyntheticRenderer,
        (poses, size, seed, config, cache, use_photos),
        "JPEG bytes in image_bytes/image_offsets; masks PNG in mask_bytes/mask_offsets",
        workers=workers, progress=progress, body=body)
    return DatasetReport(out_dir=run.out_dir, num_samples=n, num_shards=run.num_shards,
                         shards_written=run.shards_written, shards_skipped=run.shards_skipped,
                         seconds=time.perf_counter() - t0, settings=settings)
