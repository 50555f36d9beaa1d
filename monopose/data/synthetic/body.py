"""The anny body model: loading (with its on-disk cache), shapes, posing and H36M-17 joints.

anny (Apache-2.0 code, CC0 MakeHuman data; the model ships in the wheel) is a rigged body mesh of
13,718 vertices, 27,420 triangles and 104 bones, Z-up, in metres, facing −y in an A-pose, with 6
phenotype parameters (gender, age, muscle, weight, height, proportions; each in [0, 1]).

**Cache.** The first construction of the model on a machine builds its data (34–39 s on an idle
2-core CPU, several minutes on a loaded one, 1.5 GB peak RSS) and writes a ~790 MB cache; later
loads take well under a second plus the import. The cache folder is, in order of precedence:

1. the ``cache_dir`` argument of :func:`load_body_model`;
2. the ``ANNY_CACHE_DIR`` environment variable (anny's own variable);
3. ``~/.cache/monopose/anny`` (:data:`DEFAULT_CACHE_DIR`).

It is exported as ``ANNY_CACHE_DIR`` before anny is imported (anny reads it at import time).

**Posing.** Bones are posed by their *world* rotations ``G [104, 3, 3]`` relative to the rest
pose (``G = I`` everywhere is the rest pose) plus the root bone's world position; each bone's
head follows its parent rigidly (anny's ``"world-orient"`` parameterisation). The skinning is
anny's linear blend skinning.

**Joints.** :meth:`AnnyBody.h36m17_mm` turns a posed body into the 17 H36M joints in Human3.6M's
placement: first the rig's joints (:meth:`AnnyBody.rig_h36m17_mm`), from the same posed skeleton
and skinned vertices that are rendered, so labels and pixels agree; then the trunk joints (hips,
spine, thorax, shoulders, neck/nose, head top) keep the rig's bone directions and get Human3.6M's
bone lengths at the body's own size (:func:`monopose.data.proportions.place_h36m_trunk`), as the
mocap targets do, while knees, ankles, elbows and wrists stay on the body. The rig's joints:

* hips = heads of ``upperleg01.{R,L}`` (femur heads); pelvis = their midpoint;
* knees = heads of ``lowerleg01``; ankles = heads of ``foot``;
* shoulders = heads of ``upperarm01``; elbows = heads of ``lowerarm01``; wrists = heads of
  ``wrist``; thorax = midpoint of the shoulders; spine = midpoint of pelvis and thorax
  (the definitions of :mod:`monopose.data.mocap`);
* neck_nose = ``E − 3.0 cm·u − 2.5 cm·f`` with ``E`` the midpoint of the eye bones' heads,
  ``u``/``f`` the head bone's up and face directions (again :mod:`monopose.data.mocap`);
* head_top = mean of the skinned vertices within 6 mm of the top of the skull (highest head
  vertices of the rest pose).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monopose.data.proportions import place_h36m_trunk
from monopose.data.synthetic.render import require_render_extra

__all__ = [
    "DEFAULT_CACHE_DIR",
    "PHENOTYPES",
    "anny_cache_dir",
    "load_body_model",
    "RestBody",
    "PosedBody",
    "AnnyBody",
    "random_phenotypes",
]

DEFAULT_CACHE_DIR = Path("~/.cache/monopose/anny")
PHENOTYPES = ("gender", "age", "muscle", "weight", "height", "proportions")

# Eye-centre offsets of the derived head joints, cm (up, forward): see monopose.data.mocap.
_NECK_NOSE_CM = (-3.0, -2.5)
# Rest-pose axes of anny: up = +z, the face looks towards −y, the body's left is +x.
_UP = np.array([0.0, 0.0, 1.0])
_FORWARD = np.array([0.0, -1.0, 0.0])


def anny_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """Resolve the anny cache folder (argument, then ``ANNY_CACHE_DIR``, then the default)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("ANNY_CACHE_DIR")
    return Path(env).expanduser() if env else DEFAULT_CACHE_DIR.expanduser()


def random_phenotypes(rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    """Random adult body shapes: ``[6]`` (or ``[n, 6]``) values in [0, 1], order :data:`PHENOTYPES`.

    Age stays in anny's teenager-to-old range (0.5–1.0; 1/3 is a child, 2/3 a young adult) and
    the extremes of weight and muscle are avoided, as they are rare among filmed people.
    """
    shape = (6,) if n is None else (n, 6)
    lo = np.array([0.0, 0.5, 0.1, 0.1, 0.0, 0.0])
    hi = np.array([1.0, 1.0, 0.9, 0.85, 1.0, 0.7])
    return lo + (hi - lo) * rng.random(shape)


@dataclass
class RestBody:
    """One body shape in its rest pose (metres, anny's Z-up frame).

    Attributes:
        phenotypes: ``[6]`` shape parameters.
        vertices_m: ``[V, 3]`` rest vertices.
        heads_m: ``[104, 3]`` rest bone heads.
        bone_rot: ``[104, 3, 3]`` rest bone orientations.
        torch_rest: anny's rest-model tensors (kept to pose without recomputing them).
    """

    phenotypes: np.ndarray
    vertices_m: np.ndarray
    heads_m: np.ndarray
    bone_rot: np.ndarray
    torch_rest: dict[str, Any]


@dataclass
class PosedBody:
    """A posed body in world millimetres (Z up).

    Attributes:
        vertices_mm: ``[V, 3]`` skinned vertices.
        heads_mm: ``[104, 3]`` posed bone heads.
        rotations: ``[104, 3, 3]`` world rotations relative to the rest pose.
    """

    vertices_mm: np.ndarray
    heads_mm: np.ndarray
    rotations: np.ndarray


def load_body_model(cache_dir: str | Path | None = None, threads: int | None = 1) -> AnnyBody:
    """Load anny (float32, linear blend skinning) with its cache in :func:`anny_cache_dir`.

    Args:
        cache_dir: Cache folder (see the module docstring).
        threads: torch intra-op threads to use (1 suits one process per core); None leaves the
            setting alone.

    Raises:
        ImportError: anny (or torch) is missing, naming ``pip install 'monopose[render]'``.
    """
    path = anny_cache_dir(cache_dir)
    path.mkdir(parents=True, exist_ok=True)
    os.environ["ANNY_CACHE_DIR"] = str(path)
    anny = require_render_extra("anny")
    import torch  # heavy: torch, loaded only with the body model

    anny.paths.set_anny_cache_path(path)  # in case anny was imported earlier
    if threads is not None:
        torch.set_num_threads(int(threads))
    model = anny.Anny(skinning_method="lbs").to(torch.float32)
    model.eval()
    return AnnyBody(model)


class AnnyBody:
    """A loaded anny model with the bone maps that retargeting and the labels need."""

    def __init__(self, model: Any) -> None:
        import torch  # heavy: torch, loaded only with the body model

        self._torch = torch
        self.model = model
        self.bone_names: list[str] = list(model.bone_labels)
        self.parents = np.asarray(list(model.bone_parents), dtype=np.int64)
        if any(p >= i for i, p in enumerate(self.parents) if i > 0):
            raise ValueError("anny bones are expected in parent-first order")
        self.faces = np.asarray(model.faces.cpu().numpy(), dtype=np.int32)
        weights = model.vertex_bone_weights.cpu().numpy()
        indices = model.vertex_bone_indices.cpu().numpy()
        #: ``[V]`` the bone with the largest skinning weight of each vertex.
        self.dominant_bone = indices[np.arange(len(weights)), weights.argmax(axis=1)]
        self.num_vertices = len(weights)
        with torch.no_grad():
            rest = model()
        rest_v = rest["rest_vertices"][0].cpu().numpy().astype(np.float64)
        #: Rest vertices and bone heads of the average shape (metres).
        self.default_rest_vertices_m = rest_v
        self.default_rest_heads_m = rest["rest_bone_heads"][0].cpu().numpy().astype(np.float64)
        head = self.dominant_bone == self.bone("head")
        top_z = rest_v[head, 2].max()
        #: Vertices averaged into head_top (the top of the skull in the rest pose).
        self.head_top_vertices = np.flatnonzero(head & (rest_v[:, 2] > top_z - 0.006))

    def bone(self, name: str) -> int:
        """Index of a bone by name (``ValueError`` naming it if absent)."""
        try:
            return self.bone_names.index(name)
        except ValueError:
            raise ValueError(f"anny has no bone {name!r}") from None

    # ------------------------------------------------------------------------------------------
    def rest(self, phenotypes: np.ndarray) -> RestBody:
        """The rest body of one shape (``phenotypes [6]`` in [0, 1], order :data:`PHENOTYPES`)."""
        ph = np.asarray(phenotypes, dtype=np.float32).reshape(-1)
        if ph.shape != (6,) or not np.isfinite(ph).all():
            raise ValueError(f"phenotypes: expected 6 finite values {PHENOTYPES}, got {ph}")
        torch = self._torch
        m = self.model
        with torch.no_grad():
            p = torch.from_numpy(np.clip(ph, 0.0, 1.0))[None]
            z = torch.zeros((1, 0), dtype=p.dtype)
            coeffs = m._get_phenotype_blendshape_coefficients(p, z, z)
            rest = m.get_rest_model(coeffs)
        return RestBody(
            phenotypes=ph,
            vertices_m=rest["rest_vertices"][0].numpy().astype(np.float64),
            heads_m=rest["rest_bone_heads"][0].numpy().astype(np.float64),
            bone_rot=rest["rest_bone_poses"][0, :, :3, :3].numpy().astype(np.float64),
            torch_rest=rest,
        )

    def posed_heads_m(self, rest: RestBody, rotations: np.ndarray,
                      root_m: np.ndarray) -> np.ndarray:
        """``[104, 3]`` posed bone heads (metres) for world rotations and the root position."""
        h = rest.heads_m
        out = np.empty_like(h)
        out[0] = root_m
        for c in range(1, len(h)):
            p = self.parents[c]
            out[c] = out[p] + rotations[p] @ (h[c] - h[p])
        return out

    def pose(self, rest: RestBody, rotations: np.ndarray, root_m: np.ndarray) -> PosedBody:
        """Skin the rest body.

        Args:
            rest: From :meth:`rest`.
            rotations: ``[104, 3, 3]`` world rotations relative to the rest pose.
            root_m: ``[3]`` world position of the root bone's head, metres.
        """
        torch = self._torch
        m = self.model
        rot = np.asarray(rotations, dtype=np.float64)
        if rot.shape != (len(self.bone_names), 3, 3):
            raise ValueError(f"rotations: expected [{len(self.bone_names)}, 3, 3], got {rot.shape}")
        delta = np.zeros((1, len(self.bone_names), 4, 4), dtype=np.float32)
        delta[0, :, :3, :3] = rot @ rest.bone_rot  # world orientation of each bone
        delta[0, :, 3, 3] = 1.0
        delta[0, 0, :3, 3] = root_m
        with torch.no_grad():
            transforms, poses = m.get_bone_transforms(
                torch.from_numpy(delta), rest.torch_rest["rest_bone_poses"],
                pose_parameterization="world-orient",
            )
            verts = m.get_skinned_vertices(rest.torch_rest["rest_vertices"], transforms)
        return PosedBody(
            vertices_mm=verts[0].numpy().astype(np.float64) * 1000.0,
            heads_mm=poses[0, :, :3, 3].numpy().astype(np.float64) * 1000.0,
            rotations=rot,
        )

    def h36m17_mm(self, posed: PosedBody) -> np.ndarray:
        """``[17, 3]`` H36M-17 joints of a posed body in Human3.6M's placement, world mm.

        The rig's joints (:meth:`rig_h36m17_mm`) with the trunk joints re-placed as Human3.6M
        places them, at this body's size (:func:`monopose.data.proportions.place_h36m_trunk`).
        """
        return place_h36m_trunk(self.rig_h36m17_mm(posed))

    def rig_h36m17_mm(self, posed: PosedBody) -> np.ndarray:
        """``[17, 3]`` H36M-17 joints as the anny rig places them (see the module docstring)."""
        b = self.bone
        h = posed.heads_mm
        j = np.zeros((17, 3))
        j[1], j[2], j[3] = h[b("upperleg01.R")], h[b("lowerleg01.R")], h[b("foot.R")]
        j[4], j[5], j[6] = h[b("upperleg01.L")], h[b("lowerleg01.L")], h[b("foot.L")]
        j[0] = 0.5 * (j[1] + j[4])
        j[11], j[12], j[13] = h[b("upperarm01.L")], h[b("lowerarm01.L")], h[b("wrist.L")]
        j[14], j[15], j[16] = h[b("upperarm01.R")], h[b("lowerarm01.R")], h[b("wrist.R")]
        j[8] = 0.5 * (j[11] + j[14])
        j[7] = 0.5 * (j[0] + j[8])
        r_head = posed.rotations[b("head")]
        eye = 0.5 * (h[b("eye.L")] + h[b("eye.R")])
        up, fwd = r_head @ _UP, r_head @ _FORWARD
        j[9] = eye + 10.0 * (_NECK_NOSE_CM[0] * up + _NECK_NOSE_CM[1] * fwd)
        j[10] = posed.vertices_mm[self.head_top_vertices].mean(axis=0)
        return j
