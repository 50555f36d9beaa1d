"""Typed results of the pipeline: people per frame, the camera used, and the whole prediction.

All poses are in the canonical ``h36m17`` layout. Pixel arrays are ``[17, 2]``, metric arrays
``[17, 3]`` in millimetres, camera space x right, y down, z forward (OpenCV).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from monopose.core.skeleton import H36M17

__all__ = ["CameraInfo", "PersonResult", "FrameResult", "Prediction"]

INTRINSICS_SOURCES = ("given", "file", "exif", "default_fov")


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

    def to_json(self) -> dict:
        def r(a: np.ndarray, nd: int = 2) -> list:
            # NaN (unknown) becomes null: JSON has no NaN.
            arr = np.round(np.asarray(a, dtype=np.float64), nd)
            return np.where(np.isnan(arr), None, arr).tolist()

        return {
            "person_id": self.person_id,
            "box": r(self.box_xyxy_px, 1),
            "score": round(float(self.score), 4),
            "keypoints_2d": r(self.keypoints_2d_px, 2),
            "scores": r(self.keypoint_scores, 4),
            "valid": [bool(v) for v in self.keypoints_valid],
            "pose_3d_rel": r(self.pose_3d_rel_mm, 1),
            "pose_3d_abs": r(self.pose_3d_abs_mm, 1),
            "root_method": self.root_method,
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

    @property
    def num_people(self) -> int:
        return sum(len(f.people) for f in self.frames)

    def to_json(self) -> dict:
        from monopose import __version__
        from monopose.pipeline.schema import SCHEMA_VERSION

        return {
            "schema_version": SCHEMA_VERSION,
            "monopose_version": __version__,
            "input": self.input_path,
            "kind": self.kind,
            "model": self.model,
            "units": "mm",
            "layout": H36M17.name,
            "joint_names": list(H36M17.joint_names),
            "camera": self.camera.to_json(),
            "fps": self.fps,
            "warnings": list(self.warnings),
            "frames": [f.to_json() for f in self.frames],
        }
