"""The person box covers the derived h36m17 head top, not only the BlazePose landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.core.skeleton import BLAZEPOSE33, H36M17, convert_layout
from monopose.detect.landmarks import person_box_px

HEAD_TOP = H36M17.index("head_top")
FACE = ("nose", "l_eye_inner", "l_eye", "l_eye_outer", "r_eye_inner", "r_eye", "r_eye_outer",
        "l_ear", "r_ear", "mouth_l", "mouth_r")

# An upright person facing the camera, image pixels (x right, y down): eyes are the highest
# landmarks, the skull reaches ~1.5 × (mouth → eyes) above the ears.
_UPRIGHT_PX = {
    "nose": (200, 110), "l_eye_inner": (206, 102), "l_eye": (211, 102), "l_eye_outer": (216, 102),
    "r_eye_inner": (194, 102), "r_eye": (189, 102), "r_eye_outer": (184, 102),
    "l_ear": (224, 106), "r_ear": (176, 106), "mouth_l": (207, 120), "mouth_r": (193, 120),
    "l_shoulder": (240, 150), "r_shoulder": (160, 150), "l_elbow": (255, 210),
    "r_elbow": (145, 210), "l_wrist": (260, 265), "r_wrist": (140, 265), "l_pinky": (262, 278),
    "r_pinky": (138, 278), "l_index": (260, 282), "r_index": (140, 282), "l_thumb": (255, 276),
    "r_thumb": (145, 276), "l_hip": (225, 280), "r_hip": (175, 280), "l_knee": (228, 370),
    "r_knee": (172, 370), "l_ankle": (230, 455), "r_ankle": (170, 455), "l_heel": (228, 465),
    "r_heel": (172, 465), "l_foot_index": (240, 470), "r_foot_index": (160, 470),
}


def _upright() -> np.ndarray:
    """``[33, 2]`` synthetic BlazePose keypoints, pixels."""
    return np.array([_UPRIGHT_PX[n] for n in BLAZEPOSE33.joint_names], dtype=np.float64)


def _head_top_px(keypoints_px: np.ndarray) -> np.ndarray:
    """``[2]`` the h36m17 head top derived from BlazePose keypoints, pixels."""
    return convert_layout(keypoints_px, "blazepose33", "h36m17")[0][HEAD_TOP]


def _contains(box: np.ndarray, point_px: np.ndarray) -> bool:
    return bool(box[0] <= point_px[0] <= box[2] and box[1] <= point_px[1] <= box[3])


def test_box_covers_head_top_of_upright_person() -> None:
    kp = _upright()
    head_top = _head_top_px(kp)
    assert head_top[1] < kp[:, 1].min() - 10  # the head top is above every landmark
    box = person_box_px(kp, np.ones(33), (640, 480))
    assert _contains(box, head_top)
    assert box[1] == np.floor(head_top[1])
    # The other sides still hug the landmarks (whole pixels, rounded outwards).
    assert box[[0, 2, 3]] == pytest.approx([kp[:, 0].min(), kp[:, 0].max(), kp[:, 1].max()])


@pytest.mark.parametrize("angle_deg", [90.0, 180.0, -135.0])
def test_box_covers_head_top_of_rotated_person(angle_deg: float) -> None:
    # Lying or upside-down people: the head top sticks out sideways or downwards.
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    kp = (_upright() - [200, 290]) @ rot.T + [320, 300]
    box = person_box_px(kp, np.ones(33), (640, 640))
    assert _contains(box, _head_top_px(kp))


def test_absent_face_does_not_extend_box() -> None:
    # Without its landmarks there is no head top to cover (it would be extrapolated from
    # points outside the image).
    kp = _upright()
    presence = np.ones(33)
    presence[[BLAZEPOSE33.index(n) for n in FACE]] = 0.1
    box = person_box_px(kp, presence, (640, 480))
    body = kp[presence >= 0.5]
    assert box == pytest.approx(np.concatenate([np.floor(body.min(axis=0)),
                                                np.ceil(body.max(axis=0))]))


def test_box_is_clipped_to_the_image() -> None:
    kp = _upright() - [0, 95]  # the head top leaves the image at the top
    box = person_box_px(kp, np.ones(33), (640, 480))
    assert _head_top_px(kp)[1] < 0
    assert box[1] == 0.0 and box[3] == np.ceil(kp[:, 1].max())


def test_box_survives_rounding_of_the_output() -> None:
    # The JSON output rounds boxes to 0.1 px and keypoints to 0.01 px: a box edge exactly at a
    # keypoint could round past it.
    kp = _upright() + [0.07, 0.07]
    box = np.round(person_box_px(kp, np.ones(33), (640, 480)), 1)
    head_top = np.round(_head_top_px(kp), 2)
    assert box[1] <= head_top[1] and _contains(box, np.round(kp.min(axis=0), 2))
