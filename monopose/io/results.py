"""Typed results of the pipeline: people per frame, the camera used, and the whole prediction.

All poses are in the canonical ``h36m17`` layout. Pixel arrays are ``[17, 2]``, metric arrays
``[17, 3]`` in millimetres, camera space x right, y down, z forward (OpenCV).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monopose import __version__
from monopose.core.skeleton import H36M17

__all__ = ["CameraInfo", "PersonResult", "FrameResult", "Prediction"]

INTRINSICS_SOURCES = ("given", "file", "exif", "default_fov")
# Beyond this a root is a failed solve, not a person: no detector finds a body 200 m away.
MAX_ROOT_DEPTH_MM = 200_000.0

# Version of the result JSON's layout (read back by monopose.io.schema.read_result_json).
SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class CameraInfo:
    """Pinhole intrinsics used for the absolute pose, and where they came from.

    Attributes:
        fx, fy, cx, cy: Focal lengths and principal point in pixels.
        width, height: Image size in pixels.
        source: ``"given"`` (argument), ``"file"`` (intrinsics file), ``"exif"`` (the image's EXIF
            focal length) or ``"default_fov"`` (a default field of view, see ``fov_deg``).
        fov_deg: The field of view of the longer image side when ``source == "default_fov"``.
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    source: str
    fov_deg: float | None = None

    @property
    def intrinsics(self) -> np.ndarray:
        """``(4,)`` array ``(fx, fy, cx, cy)``."""
        return np.array([self.fx, self.fy, self.cx, self.cy], dtype=np.float64)

    def to_json(self) -> dict:
        out: dict = {
            "fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy,
            "width": self.width, "height": self.height, "source": self.source,
        }
        if self.fov_deg is not None:
            out["fov_deg"] = self.fov_deg
        return out


def _finite_or_null(values: np.ndarray) -> Any:
    """Nested lists of the values (a number for a 0-d array), NaN/inf (unknown) as None (null:
    strict JSON has neither)."""
    if values.ndim == 0:  # a single number
        return float(values) if np.isfinite(values) else None
    as_objects = values.astype(object)
    as_objects[~np.isfinite(values)] = None
    return as_objects.tolist()


def _box_outwards(box_xyxy_px: np.ndarray) -> list:
    """Box rounded outwards to 0.1 px, so it still contains every keypoint after rounding."""
    box = np.asarray(box_xyxy_px, dtype=np.float64)
    out = np.r_[np.floor(box[:2] * 10) / 10, np.ceil(box[2:] * 10) / 10]
    return _finite_or_null(out)


@dataclass
class PersonResult:
    """One person in one frame.

    Attributes:
        box_xyxy_px: ``(4,)`` person box (x0, y0, x1, y1).
        score: Detection confidence in [0, 1].
        keypoints_2d_px: ``[17, 2]`` h36m17 keypoints in image pixels.
        keypoint_scores: ``[17]`` per-joint confidence in [0, 1].
        keypoints_valid: ``[17]`` bool, joints the lifter used.
        pose_3d_rel_mm: ``[17, 3]`` root-relative 3D (pelvis at 0), mm.
        pose_3d_abs_mm: ``[17, 3]`` absolute camera-space 3D, mm.
        root_method: How the root was placed: ``"perspective"`` (least squares over in-view joints),
            ``"weak_perspective"`` (fallback when too few joints are in view), ``"box_prior"``
            (MeTRAbs models with fewer than two joints in view: the predicted metric size
            against the person box) or ``"failed"`` (the absolute pose is unknown: NaN here,
            null in JSON).
        person_id: Stable id across video frames (None for single images without tracking).
        errors: How far off the 3D is likely to be (``monopose.lifting.joint_errors``:
            ``joint_median_mm [17]``, ``joint_p90_mm [17]``, ``root_median_mm``,
            ``root_p90_mm``); None where the model has no error model.
    """

    box_xyxy_px: np.ndarray
    score: float
    keypoints_2d_px: np.ndarray
    keypoint_scores: np.ndarray
    keypoints_valid: np.ndarray
    pose_3d_rel_mm: np.ndarray
    pose_3d_abs_mm: np.ndarray
    root_method: str
    person_id: int | None = None
    errors: dict[str, np.ndarray] | None = None

    def drop_nonfinite(self) -> str | None:
        """Mark what is not a number as unknown; returns why, or None when all was finite.

        A root-relative pose with a non-finite joint is unknown as a whole (NaN); an absolute pose
        that is not finite, behind the camera or implausibly far away becomes unknown with
        ``root_method = "failed"``.
        """
        why = None
        if not np.isfinite(self.pose_3d_rel_mm).all():
            self.pose_3d_rel_mm = np.full_like(self.pose_3d_rel_mm, np.nan, dtype=np.float64)
            why = "the 3D pose was not finite"
        abs_mm = np.asarray(self.pose_3d_abs_mm, dtype=np.float64)
        if self.root_method != "failed":
            root_z = float(abs_mm[0, 2]) if abs_mm.size else float("nan")
            if why is not None or not np.isfinite(abs_mm).all():
                why = why or "the camera-space position was not finite"
            elif not 0 < root_z <= MAX_ROOT_DEPTH_MM:
                why = (f"the root solve placed the person {root_z / 1000:.1f} m from the camera "
                       "(check the intrinsics)")
            if why is not None:
                self.pose_3d_abs_mm = np.full_like(abs_mm, np.nan)
                self.root_method = "failed"
        if why is not None and self.errors is not None:  # no estimate for what is unknown
            self.errors = {k: np.full_like(np.asarray(v, dtype=np.float64), np.nan)
                           if k.startswith("root") or not np.isfinite(self.pose_3d_rel_mm).all()
                           else v for k, v in self.errors.items()}
        if not np.isfinite(self.keypoints_2d_px).all():
            self.keypoints_valid = self.keypoints_valid & np.isfinite(self.keypoints_2d_px).all(-1)
            why = why or "some 2D keypoints were not finite"
        return why

    def to_json(self) -> dict:
        def r(a: np.ndarray, nd: int = 2) -> list:
            # NaN/inf (unknown) becomes null: strict JSON has neither.
            return _finite_or_null(np.round(np.asarray(a, dtype=np.float64), nd))

        return {
            "person_id": self.person_id,
            "box": _box_outwards(self.box_xyxy_px),
            "score": round(float(self.score), 4) if np.isfinite(self.score) else None,
            "keypoints_2d": r(self.keypoints_2d_px, 2),
            "scores": r(self.keypoint_scores, 4),
            "valid": [bool(v) for v in self.keypoints_valid],
            "pose_3d_rel": r(self.pose_3d_rel_mm, 1),
            "pose_3d_abs": r(self.pose_3d_abs_mm, 1),
            "root_method": self.root_method,
            **({} if self.errors is None else {"error_estimate": {
                k: _finite_or_null(np.round(np.asarray(v, dtype=np.float64)))
                for k, v in self.errors.items()}}),
        }


@dataclass
class FrameResult:
    """All people found in one image or video frame."""

    frame_index: int
    time_s: float | None
    people: list[PersonResult] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "index": self.frame_index,
            "time_s": None if self.time_s is None else round(self.time_s, 4),
            "people": [p.to_json() for p in self.people],
        }


@dataclass
class Prediction:
    """The result for one input file (an image or a video)."""

    input_path: str
    kind: str  # "image" | "video"
    model: str
    camera: CameraInfo
    frames: list[FrameResult]
    fps: float | None = None
    warnings: list[str] = field(default_factory=list)
    # The world frame (up, floor) as JSON (monopose.core.world_up.WorldFrame.to_json); None
    # when not estimated. The poses themselves stay in camera space.
    world: dict | None = None
    # The BlazePose landmark network that gave the keypoints ("full" or "heavy"); None: unknown.
    landmarks: str | None = None
    # How many crops its final look at each person averaged (monopose.detect.crop_tta).
    landmark_crops: int | None = None

    @property
    def num_people(self) -> int:
        return sum(len(f.people) for f in self.frames)

    def to_json(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "monopose_version": __version__,
            "input": self.input_path,
            "kind": self.kind,
            "model": self.model,
            **({"landmarks": self.landmarks} if self.landmarks is not None else {}),
            **({"landmark_crops": self.landmark_crops} if self.landmark_crops is not None
               else {}),
            "units": "mm",
            "layout": H36M17.name,
            "joint_names": list(H36M17.joint_names),
            "camera": self.camera.to_json(),
            "fps": self.fps,
            "warnings": list(self.warnings),
            **({"world": self.world} if self.world is not None else {}),
            "frames": [f.to_json() for f in self.frames],
        }
