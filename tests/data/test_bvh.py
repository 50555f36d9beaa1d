"""BVH parsing and forward kinematics on hand-made hierarchies."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.data.bvh import BvhError, forward_kinematics, parse_bvh, read_bvh

CHAIN = """HIERARCHY
ROOT root
{{
  OFFSET 1 2 3
  CHANNELS 6 Xposition Yposition Zposition {order}
  JOINT child
  {{
    OFFSET 10 0 0
    CHANNELS 3 {order}
    End Site
    {{
      OFFSET 0 5 0
    }}
  }}
}}
MOTION
Frames: {n}
Frame Time: 0.5
{rows}
"""


def chain(order: str, rows: list[list[float]]) -> str:
    return CHAIN.format(order=order, n=len(rows),
                        rows="\n".join(" ".join(str(v) for v in r) for r in rows))


def test_zero_rotation_positions_replace_offset() -> None:
    m = parse_bvh(chain("Zrotation Xrotation Yrotation", [[0, 0, 0, 0, 0, 0, 0, 0, 0]]))
    assert m.skeleton.names == ("root", "child", "child_End")
    assert m.fps == pytest.approx(2.0)
    p = forward_kinematics(m)
    # Root position channels (0,0,0) replace its OFFSET (1,2,3).
    np.testing.assert_allclose(p[0], [[0, 0, 0], [10, 0, 0], [10, 5, 0]], atol=1e-9)
    p_add = forward_kinematics(m, position_mode="add")
    np.testing.assert_allclose(p_add[0], [[1, 2, 3], [11, 2, 3], [11, 7, 3]], atol=1e-9)


def test_ninety_degree_rotations_by_hand() -> None:
    # Frame 0: root Z +90° (x → y): child offset (10,0,0) → (0,10,0); end site (0,5,0) → (-5,0,0).
    # Frame 1: the child adds its own 90°, about Z in "ZXY" (end (0,5,0) → (0,-5,0) overall)
    # and about X when the child lists X first (Rz(90) Rx(90) (0,5,0) = (0,0,5)).
    rows = [[0, 0, 0, 90, 0, 0, 0, 0, 0], [0, 0, 0, 90, 0, 0, 90, 0, 0]]
    text = chain("Zrotation Xrotation Yrotation", rows)
    p = forward_kinematics(parse_bvh(text))
    np.testing.assert_allclose(p[0], [[0, 0, 0], [0, 10, 0], [-5, 10, 0]], atol=1e-9)
    np.testing.assert_allclose(p[1], [[0, 0, 0], [0, 10, 0], [0, 5, 0]], atol=1e-9)
    text_x = text.replace("CHANNELS 3 Zrotation Xrotation Yrotation",
                          "CHANNELS 3 Xrotation Zrotation Yrotation")
    p2 = forward_kinematics(parse_bvh(text_x))
    np.testing.assert_allclose(p2[1], [[0, 0, 0], [0, 10, 0], [0, 10, 5]], atol=1e-9)


def test_channel_order_changes_the_result() -> None:
    angles = [30.0, 60.0, 0.0]
    row = [0, 0, 0, *angles, 0, 0, 0]
    zxy = forward_kinematics(parse_bvh(chain("Zrotation Xrotation Yrotation", [row])))
    xyz = forward_kinematics(parse_bvh(chain("Xrotation Yrotation Zrotation", [row])))
    # Same numbers, different axes/order: the child lands elsewhere.
    assert np.linalg.norm(zxy[0, 1] - xyz[0, 1]) > 1.0
    # ZXY: R = Rz(30) Rx(60) Ry(0); child = R @ (10,0,0) = 10 (cos30, sin30, 0).
    np.testing.assert_allclose(zxy[0, 1], [10 * np.cos(np.pi / 6), 5.0, 0.0], atol=1e-9)
    # XYZ: R = Rx(30) Ry(60) Rz(0); Ry(60)(10,0,0) = (5, 0, -8.66); Rx(30) turns (0,0,-8.66).
    np.testing.assert_allclose(xyz[0, 1], [5.0, 8.660254 * 0.5, -8.660254 * np.cos(np.pi / 6)],
                               atol=1e-5)


def test_six_channel_child_positions_replace_offset() -> None:
    text = """HIERARCHY
ROOT a
{
  OFFSET 0 0 0
  CHANNELS 3 Xposition Yposition Zposition
  JOINT b
  {
    OFFSET 100 100 100
    CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 1 0 0
    }
  }
}
MOTION
Frames: 1
Frame Time: 0.033333
5 0 0 0 2 0 0 0 90
"""
    p = forward_kinematics(parse_bvh(text))
    # b at a + (0,2,0) (its channels, not the OFFSET); Y +90° turns (1,0,0) into (0,0,-1).
    np.testing.assert_allclose(p[0], [[5, 0, 0], [5, 2, 0], [5, 2, -1]], atol=1e-9)


def test_selected_joints_and_rotations() -> None:
    m = parse_bvh(chain("Zrotation Xrotation Yrotation", [[0, 0, 0, 90, 0, 0, 0, 0, 0]]))
    p, r = forward_kinematics(m, ["child_End", "root"], return_rotations=True)
    assert p.shape == (1, 2, 3) and r.shape == (1, 2, 3, 3)
    np.testing.assert_allclose(p[0, 0], [-5, 10, 0], atol=1e-9)
    with pytest.raises(KeyError, match="nope"):
        forward_kinematics(m, ["nope"])


def test_gzip_and_plain_files(tmp_path, mocapfx) -> None:
    text = chain("Zrotation Xrotation Yrotation", [[0, 0, 0, 10, 20, 30, 1, 2, 3]] * 4)
    a = read_bvh(mocapfx.write(tmp_path / "a.bvh", text))
    b = read_bvh(mocapfx.write(tmp_path / "b.bvh.gz", text))
    np.testing.assert_array_equal(a.values, b.values)
    assert a.num_frames == 4


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty file"),
        ("   \n\n", "empty file"),
        ("ROOT x\n{\n}\n", "HIERARCHY"),
        ("HIERARCHY\nROOT r\n{\n  OFFSET 0 0\n", "end of file"),
        ("HIERARCHY\nROOT r\n{\n  OFFSET 0 0 0\n  CHANNELS 1 Wrotation\n}\nMOTION\n", "channel"),
        ("HIERARCHY\nROOT r\n{\n  OFFSET 0 0 0\n  CHANNELS 1 Xrotation\n}\n", "no MOTION"),
        ("HIERARCHY\nROOT r\n{\n  OFFSET 0 0 0\n  CHANNELS 1 Xrotation\n}\nMOTION\nFrames: 3\n"
         "Frame Time: 0.1\n1\n2\n", "truncated"),
        ("HIERARCHY\nROOT r\n{\n  OFFSET 0 0 0\n  CHANNELS 2 Xrotation Yrotation\n}\nMOTION\n"
         "Frames: 2\nFrame Time: 0.1\n1 2\n3\n", "frame 1 has 1 values"),
        ("HIERARCHY\nROOT r\n{\n  OFFSET 0 0 0\n  CHANNELS 1 Xrotation\n}\nMOTION\nFrames: 1\n"
         "Frame Time: 0.1\nabc\n", "non-numeric"),
        ("HIERARCHY\nROOT r\n{\n  OFFSET a b c\n}\nMOTION\n", "OFFSET"),
    ],
)
def test_malformed_files_give_clear_errors(text: str, reason: str) -> None:
    with pytest.raises(BvhError, match=reason) as err:
        parse_bvh(text, source="bad.bvh")
    assert "bad.bvh" in str(err.value)


def test_truncated_gzip_is_reported(tmp_path, mocapfx) -> None:
    text = chain("Zrotation Xrotation Yrotation", [[0] * 9] * 200)
    path = mocapfx.write(tmp_path / "t.bvh.gz", text)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BvhError, match="t.bvh.gz"):
        read_bvh(path)
