"""Labels of multi-person images and their shard files (see
:mod:`monopose.data.synthetic.multi` for the layout): arrays to write, and the reader."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from monopose.data.synthetic.shards import encode_image, pack_blobs

__all__ = ["PersonLabel", "MultiSample", "multi_shard_arrays", "MultiShard", "read_multi_shard",
           "multi_shard_paths"]


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


def multi_shard_arrays(samples: list[MultiSample], quality: int) -> dict[str, np.ndarray]:
    """The arrays of one shard file holding ``samples`` (images JPEG at ``quality``)."""
    img_data, img_off = pack_blobs([encode_image(s.image, ".jpg", quality) for s in samples])
    ins_data, ins_off = pack_blobs([encode_image(s.instances, ".png") for s in samples])
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
        bgr = cv2.imdecode(self._blob("image", i), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"image {i}: the stored JPEG cannot be decoded")
        return np.ascontiguousarray(bgr[..., ::-1])

    def instances(self, i: int) -> np.ndarray:
        """``[H, W]`` uint8 instance map of image ``i`` (0 background, ``k + 1`` person ``k``)."""
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

