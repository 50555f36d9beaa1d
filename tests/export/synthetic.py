"""Synthetic skeletons, cameras and predictions for the export tests."""

from __future__ import annotations

import numpy as np

from monopose.core.skeleton import H36M17
from monopose.export.ik import DEFAULT_BONE_LENGTHS_MM, REST_DIRECTIONS
from monopose.io.results import CameraInfo, FrameResult, PersonResult, Prediction

# Rest directions are BVH (Y up); camera space is y down, z forward.
CAM_REST = REST_DIRECTIONS * np.array([1.0, -1.0, -1.0])


def skeleton_from_directions(directions: np.ndarray, lengths_mm: np.ndarray) -> np.ndarray:
    """``directions [..., 17, 3]`` unit bone directions → ``[..., 17, 3]`` joints (root 0)."""
    pose = np.zeros(directions.shape)
    for j in range(1, 17):
        pose[..., j, :] = pose[..., H36M17.parents[j], :] + directions[..., j, :] * lengths_mm[j]
    return pose


def random_poses(n: int, rng: np.random.Generator, lengths_mm: np.ndarray | None = None
                 ) -> np.ndarray:
    """``[n, 17, 3]`` camera-space poses (mm) with random bone directions and fixed lengths,
    placed 3–5 m in front of the camera."""
    lengths = DEFAULT_BONE_LENGTHS_MM if lengths_mm is None else lengths_mm
    d = rng.normal(size=(n, 17, 3))
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    pose = skeleton_from_directions(d, lengths)
    return pose + np.stack([rng.uniform(-500, 500, n), rng.uniform(-300, 300, n),
                            rng.uniform(3000, 5000, n)], axis=-1)[:, None, :]


def make_camera() -> CameraInfo:
    return CameraInfo(fx=700.0, fy=700.0, cx=320.0, cy=240.0, width=640, height=480,
                      source="default_fov", fov_deg=55.0)


def make_person(pose_abs_mm: np.ndarray, camera: CameraInfo, person_id: int | None
                ) -> PersonResult:
    kp = pose_abs_mm[:, :2] / pose_abs_mm[:, 2:] * camera.fx + [camera.cx, camera.cy]
    lo, hi = kp.min(0), kp.max(0)
    return PersonResult(
        box_xyxy_px=np.concatenate([lo, hi]), score=0.9, keypoints_2d_px=kp,
        keypoint_scores=np.full(17, 0.9), keypoints_valid=np.ones(17, bool),
        pose_3d_rel_mm=pose_abs_mm - pose_abs_mm[0], pose_3d_abs_mm=pose_abs_mm,
        root_method="perspective", person_id=person_id)


def make_prediction(tracks: dict[int, np.ndarray], camera: CameraInfo, fps: float = 25.0,
                    kind: str = "video", input_path: str = "clip.mp4") -> Prediction:
    """``tracks``: person id → ``[F, 17, 3]`` camera mm (a NaN row = absent in that frame)."""
    n = max(len(t) for t in tracks.values())
    frames = []
    for f in range(n):
        people = [make_person(t[f], camera, pid if kind == "video" else None)
                  for pid, t in tracks.items() if f < len(t) and np.isfinite(t[f]).any()]
        frames.append(FrameResult(frame_index=f, time_s=f / fps if kind == "video" else None,
                                  people=people))
    return Prediction(input_path=input_path, kind=kind, model="test", camera=camera,
                      frames=frames, fps=fps if kind == "video" else None)
