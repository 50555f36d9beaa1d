"""How far each lifted joint is likely to be from the truth: an error model per lifter.

A user's photo has no 3D truth, so a lifted pose's error cannot be measured on it. Three signs
that the pipeline already has follow the error on held-out rendered people (BENCHMARKS.md,
"How far off each joint is likely to be"):

* ``flip_mm``: how far the lifter's answer moves when its input is mirrored (the flip test's
  two halves disagree where the 2D leaves the 3D open);
* ``world_mm``: how far BlazePose's own metric 3D (its world landmarks, mapped to h36m17,
  brought to the same size and turned onto the lifted pose) lies from the lifted joint: a
  second network's opinion;
* ``score``: the detector's confidence in the joint's keypoint;
* ``second_mm``: how far a second lifter's answer lies (``mpm-lift-t1-floorsit``, the same
  network fine-tuned with people on the floor: the two part where the poses are unusual);
* the lifted pose's posture (standing, low, on the floor, lying; :mod:`monopose.data.postures`).

The model is a log-normal per joint, fitted by least squares on held-out renders through the
photo pipeline (``benchmarks/fit_joint_errors.py``)::

    log(error_mm + OFFSET_MM) ~ Normal(a_j + Σ_f b_f · feature_f, σ_j²)

so each joint gets a median error and a 90 % bound. The root's error in the camera grows with
its distance: its median and 90 % bound are fractions of the root's depth, taken from the same
people. A disagreement that is not known (no world landmarks; no second lifter) takes its mean
over the fitted people.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from monopose.core.body_size import rescale_to_size
from monopose.core.rotations import kabsch_rotation
from monopose.data.postures import POSTURES
from monopose.detect.keypoint_map import resolve_keypoint_map
from monopose.lifting.floor_gate import postures_in_camera
from monopose.models.weights_meta import SHIPPED_WEIGHTS_DIR, file_sha256

if TYPE_CHECKING:
    from monopose.lifting.lifter import Lifter
    from monopose.models.interface import FramePeople

__all__ = ["ErrorFeatures", "PoseErrors", "JointErrorModel", "error_features", "lifter_features",
           "world_disagreement_mm", "error_model_path", "load_error_model", "FEATURES",
           "OFFSET_MM", "Z90"]

OFFSET_MM = 10.0  # keeps log() of near-zero errors (the pelvis is 0 by construction) tame
Z90 = 1.2815515655446004  # the standard normal's 90th percentile
FEATURES = ("flip", "world", "score", "second") + tuple(f"posture:{p}" for p in POSTURES[1:])
# the features' own offsets: a disagreement of a few mm is noise, not information
_FLIP_OFFSET_MM, _WORLD_OFFSET_MM, _SECOND_OFFSET_MM, _MIN_SCORE = 5.0, 20.0, 5.0, 1e-3


@dataclass(frozen=True)
class ErrorFeatures:
    """What the error model reads, per person and joint.

    Attributes:
        flip_mm: ``[N, 17]`` mm, distance between the flip-averaged and the direct lift.
        world_mm: ``[N, 17]`` mm, distance to the aligned world landmarks; NaN: unknown.
        score: ``[N, 17]`` the detector's confidence in [0, 1].
        second_mm: ``[N, 17]`` mm, distance to the second lifter's answer; NaN: unknown.
        posture: ``[N]`` the lifted pose's posture, an index into ``POSTURES`` (-1: unknown,
            taken as standing).
    """

    flip_mm: np.ndarray
    world_mm: np.ndarray
    score: np.ndarray
    second_mm: np.ndarray
    posture: np.ndarray

    def take(self, index: np.ndarray) -> ErrorFeatures:
        """The people at ``index`` (``[K]`` ints or an ``[N]`` mask)."""
        return ErrorFeatures(*(np.asarray(getattr(self, k))[index] for k in
                               ("flip_mm", "world_mm", "score", "second_mm", "posture")))

    def disagreements(self) -> dict[str, np.ndarray]:
        """The transformed disagreements that may be unknown (NaN), by feature name."""
        return {"world": np.log(self.world_mm + _WORLD_OFFSET_MM),
                "second": np.log(self.second_mm + _SECOND_OFFSET_MM)}

    def matrix(self, means: dict[str, float] | None = None) -> np.ndarray:
        """``[N, 17, len(FEATURES)]`` the transformed features in :data:`FEATURES` order;
        an unknown disagreement replaced by ``means[name]`` (required if any is unknown)."""
        known = self.disagreements()
        for name, values in known.items():
            if not np.isfinite(values).all():
                if means is None:
                    raise ValueError(f"{name}: unknown values and no mean was given")
                known[name] = np.where(np.isfinite(values), values, means[name])
        n, joints = np.shape(self.flip_mm)
        posture = np.asarray(self.posture)
        one_hot = (posture[:, None] == np.arange(1, len(POSTURES))).astype(np.float64)
        return np.concatenate([
            np.stack([np.log(self.flip_mm + _FLIP_OFFSET_MM), known["world"],
                      np.log(np.clip(self.score, _MIN_SCORE, 1.0)), known["second"]], -1),
            np.broadcast_to(one_hot[:, None, :], (n, joints, len(POSTURES) - 1))], -1)


@dataclass(frozen=True)
class PoseErrors:
    """Estimated errors of ``M`` people's poses (mm).

    Attributes:
        joint_median_mm: ``[M, 17]`` each root-relative joint's median error.
        joint_p90_mm: ``[M, 17]`` the error it stays under nine times in ten.
        root_median_mm: ``[M]`` the camera-space root's median error (NaN: not placed).
        root_p90_mm: ``[M]`` its 90 % bound.
    """

    joint_median_mm: np.ndarray
    joint_p90_mm: np.ndarray
    root_median_mm: np.ndarray
    root_p90_mm: np.ndarray

    def person(self, k: int) -> dict[str, np.ndarray]:
        """Person ``k``'s errors by field name (``PersonResult.errors``, the JSON's
        ``error_estimate``)."""
        return {"joint_median_mm": self.joint_median_mm[k],
                "joint_p90_mm": self.joint_p90_mm[k],
                "root_median_mm": self.root_median_mm[k], "root_p90_mm": self.root_p90_mm[k]}


def world_disagreement_mm(pose_mm: np.ndarray, world_mm: np.ndarray) -> np.ndarray:
    """``[N, 17]`` distance of each joint of root-relative ``pose_mm [N, 17, 3]`` to the world
    landmarks ``world_mm [N, 17, 3]`` (any root, h36m17), brought to the pose's size and turned
    onto it about the root; NaN for a person whose world landmarks are not finite."""
    pose = np.asarray(pose_mm, dtype=np.float64)
    world = np.asarray(world_mm, dtype=np.float64)
    world = world - world[:, :1]
    known = np.isfinite(world).all(axis=(1, 2))
    out = np.full(pose.shape[:2], np.nan)
    if known.any():
        sized, _ = rescale_to_size(world[known], pose[known], max_change=np.inf)
        rot = kabsch_rotation(sized, pose[known])
        turned = np.einsum("nij,nkj->nki", rot, sized)
        out[known] = np.linalg.norm(turned - pose[known], axis=-1)
    return out


def error_features(lifted_mm: np.ndarray, direct_mm: np.ndarray, world_mm: np.ndarray | None,
                   scores: np.ndarray, second_mm: np.ndarray | None = None) -> ErrorFeatures:
    """The model's features from what the pipeline has.

    Args:
        lifted_mm: ``[N, 17, 3]`` the flip-averaged lift, root-relative, at its final size.
        direct_mm: ``[N, 17, 3]`` the lift of the input alone (no mirror), the same size.
        world_mm: ``[N, 17, 3]`` the detector's world landmarks in h36m17, mm; None: unknown.
        scores: ``[N, 17]`` the detector's confidence per joint.
        second_mm: ``[N, 17, 3]`` the second lifter's answer, root-relative, the same size;
            None: unknown.
    """
    lifted = np.asarray(lifted_mm, dtype=np.float64)
    unknown = np.full(lifted.shape[:2], np.nan)
    # the average is halfway between the two halves: twice its distance to one is theirs
    flip = 2.0 * np.linalg.norm(lifted - np.asarray(direct_mm, dtype=np.float64), axis=-1)
    world = unknown if world_mm is None else world_disagreement_mm(lifted, world_mm)
    second = unknown if second_mm is None else np.linalg.norm(
        lifted - np.asarray(second_mm, dtype=np.float64), axis=-1)
    return ErrorFeatures(flip, world, np.asarray(scores, dtype=np.float64), second,
                         postures_in_camera(lifted))


def lifter_features(lifter: Lifter, frame: FramePeople, sized_mm: np.ndarray,
                    factors: np.ndarray) -> ErrorFeatures:
    """:func:`error_features` of ``lifter``'s answer ``sized_mm [N, 17, 3]`` for ``frame``
    (its flip-averaged lift times ``factors [N]``): the lift without the mirror, the
    detections' world landmarks and ``lifter.second_opinion()``'s lift at the same size."""
    kp, valid = frame.keypoints_px, frame.valid
    direct = lifter.lift(kp, valid, flip=False, intrinsics=frame.intrinsics,
                         scores=frame.keypoint_scores)
    world = None
    if len(frame.detections) == len(frame):
        world = resolve_keypoint_map("learned").apply(
            1000.0 * np.stack([d.world_landmarks_m for d in frame.detections]))
    second = lifter.second_opinion()
    second_mm = None if second is None else second.lift(
        kp, valid, intrinsics=frame.intrinsics, scores=frame.keypoint_scores)
    size = np.asarray(factors, dtype=np.float64)[:, None, None]
    return error_features(sized_mm, direct * size, world, frame.keypoint_scores,
                          None if second_mm is None else second_mm * size)


@dataclass(frozen=True)
class JointErrorModel:
    """The fitted model (module docstring).

    Attributes:
        intercept: ``[17]`` per joint ``a_j``.
        slopes: ``[len(FEATURES)]`` shared ``b_f``.
        sigma: ``[17]`` per joint residual spread ``σ_j`` (log space).
        means: the transformed disagreements' means over the fitted people (``"world"``,
            ``"second"``), which stand for unknown ones.
        root_fraction: ``(median, p90)`` of the root's error as a fraction of its depth.
        provenance: what it was fitted on (lifter, its weights' and the second lifter's
            SHA-256, people, command, date).
    """

    intercept: np.ndarray
    slopes: np.ndarray
    sigma: np.ndarray
    means: dict[str, float]
    root_fraction: tuple[float, float]
    provenance: dict = field(default_factory=dict)

    @property
    def second_lifter(self) -> str | None:
        """The registered lifter whose answer is the ``second`` feature (None: unknown)."""
        name = self.provenance.get("second_lifter")
        return None if name is None else str(name)

    def fitted_with(self, **settings: str) -> bool:
        """Whether the people it was fitted on were lifted with these settings (e.g.
        ``body_size``, ``placement``), as its provenance's ``settings`` records them; a
        setting it does not record counts as the same."""
        fitted = self.provenance.get("settings", {})
        return all(fitted.get(k, v) == v for k, v in settings.items())

    @classmethod
    def fit(cls, features: ErrorFeatures, errors_mm: np.ndarray, root_errors_mm: np.ndarray,
            root_depths_mm: np.ndarray, provenance: dict | None = None,
            ridge: float = 1e-3) -> JointErrorModel:
        """Least squares in log space over ``N`` people: ``errors_mm [N, 17]`` root-relative
        joint errors, ``root_errors_mm [N]`` and ``root_depths_mm [N]`` (the root's true z).
        People with an unknown disagreement are fitted with its mean."""
        err = np.asarray(errors_mm, dtype=np.float64)
        if err.ndim != 2 or err.shape[1] != 17 or len(err) < 20:
            raise ValueError(f"errors_mm: expected [N >= 20, 17], got {err.shape}")
        means = {name: float(np.nanmean(v)) if np.isfinite(v).any() else 0.0
                 for name, v in features.disagreements().items()}
        x = features.matrix(means)
        n, joints = err.shape
        design = np.concatenate([np.broadcast_to(np.eye(joints), (n, joints, joints)), x], -1)
        a = design.reshape(-1, design.shape[-1])
        y = np.log(err + OFFSET_MM).reshape(-1)
        coef = np.linalg.solve(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ y)
        residual = np.log(err + OFFSET_MM) - design @ coef
        sigma = np.sqrt(np.mean(residual ** 2, axis=0))
        frac = np.asarray(root_errors_mm, dtype=np.float64) / np.asarray(root_depths_mm)
        frac = frac[np.isfinite(frac)]
        return cls(coef[:joints], coef[joints:], sigma, means,
                   (float(np.median(frac)), float(np.quantile(frac, 0.9))), provenance or {})

    def predict(self, features: ErrorFeatures, root_depths_mm: np.ndarray) -> PoseErrors:
        """Errors of ``N`` people from their features and ``root_depths_mm [N]`` (their
        placed root's z; NaN where not placed)."""
        mu = self.intercept + features.matrix(self.means) @ self.slopes
        median = np.maximum(np.exp(mu) - OFFSET_MM, 0.0)
        p90 = np.maximum(np.exp(mu + Z90 * self.sigma) - OFFSET_MM, 0.0)
        median[:, 0] = p90[:, 0] = 0.0  # the root of a root-relative pose is exact
        depth = np.abs(np.asarray(root_depths_mm, dtype=np.float64))
        return PoseErrors(median, p90, self.root_fraction[0] * depth,
                          self.root_fraction[1] * depth)

    def to_json(self) -> dict:
        return {"features": list(FEATURES), "offset_mm": OFFSET_MM,
                "intercept": np.round(self.intercept, 6).tolist(),
                "slopes": np.round(self.slopes, 6).tolist(),
                "sigma": np.round(self.sigma, 6).tolist(),
                "means": {k: round(v, 6) for k, v in self.means.items()},
                "root_fraction": [round(v, 6) for v in self.root_fraction],
                "provenance": self.provenance}

    @classmethod
    def from_json(cls, payload: dict, source: str = "error model") -> JointErrorModel:
        try:
            if list(payload["features"]) != list(FEATURES) or payload["offset_mm"] != OFFSET_MM:
                raise ValueError(f"features {payload['features']} / offset "
                                 f"{payload['offset_mm']}, expected {list(FEATURES)} / "
                                 f"{OFFSET_MM}")
            model = cls(np.asarray(payload["intercept"], dtype=np.float64),
                        np.asarray(payload["slopes"], dtype=np.float64),
                        np.asarray(payload["sigma"], dtype=np.float64),
                        {k: float(payload["means"][k]) for k in ("world", "second")},
                        (float(payload["root_fraction"][0]), float(payload["root_fraction"][1])),
                        dict(payload.get("provenance", {})))
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise ValueError(f"{source}: not a joint error model ({exc})") from exc
        if model.intercept.shape != (17,) or model.sigma.shape != (17,) or \
                model.slopes.shape != (len(FEATURES),):
            raise ValueError(f"{source}: expected 17 intercepts and σs and {len(FEATURES)} "
                             "slopes")
        return model


def error_model_path(name: str, weights_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where lifter ``name``'s error model lies: beside its weights, ``<name>.errors.json``."""
    return Path(weights_dir if weights_dir is not None else SHIPPED_WEIGHTS_DIR) / \
        f"{name}.errors.json"


def load_error_model(name: str, weights_dir: str | os.PathLike[str] | None = None
                     ) -> JointErrorModel | None:
    """The error model fitted for lifter ``name``'s weights in ``weights_dir`` (default: the
    package's); None when none was fitted, or when it was fitted for other weights (its
    provenance's ``weights_sha256``, or its second lifter's ``second_sha256``, is not the weights
    file's; or it reads other features): the weights or the features changed and the model was
    not fitted again.

    Raises:
        ValueError: the file is not JSON or not an error model.
    """
    path = error_model_path(name, weights_dir)
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: unreadable error model ({exc})") from exc
    if isinstance(payload, dict) and payload.get("features") != list(FEATURES):
        return None  # fitted on other features: an older model, stale as other weights are
    model = JointErrorModel.from_json(payload, str(path))
    for lifter, key in ((name, "weights_sha256"), (model.second_lifter, "second_sha256")):
        if lifter is None:
            continue
        weights = path.with_name(f"{lifter}.safetensors")
        fitted_for = model.provenance.get(key)
        if not weights.is_file() or (fitted_for is not None and
                                     fitted_for != file_sha256(weights)):
            return None
    return model
