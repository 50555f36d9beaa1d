"""Fixtures for the data tests: tiny BVH files written by the tests themselves."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ZYX = "Zrotation Yrotation Xrotation"
POS = "Xposition Yposition Zposition"


def _joint(lines: list[str], kind: str, name: str, offset, channels: str | None,
           children: list, depth: int) -> None:
    pad = "  " * depth
    lines.append(f"{pad}{kind} {name}" if kind != "End" else f"{pad}End Site")
    lines.append(f"{pad}{{")
    lines.append(f"{pad}  OFFSET {offset[0]:.6f} {offset[1]:.6f} {offset[2]:.6f}")
    if channels:
        lines.append(f"{pad}  CHANNELS {len(channels.split())} {channels}")
    for child in children:
        _joint(lines, *child, depth=depth + 1)
    lines.append(f"{pad}}}")


def write_tree(root, frames: np.ndarray, frame_time: float = 1 / 30) -> str:
    """BVH text from a nested tree ``(kind, name, offset, channels, children)``."""
    lines = ["HIERARCHY"]
    _joint(lines, *root, depth=0)
    lines += ["MOTION", f"Frames: {len(frames)}", f"Frame Time: {frame_time:.6f}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in np.atleast_2d(frames)]
    return "\n".join(lines) + "\n"


def end(offset=(0.0, 0.0, 0.0)):
    return ("End", "", offset, None, [])


def cmu_tree():
    """A CC_Base-like rig standing in its rest pose: Y up, facing +Z, left = +X (cm)."""
    def leg(s: str, x: float):
        return ("JOINT", f"CC_Base_{s}_Thigh", (x, -5.0, 0.0), ZYX, [
            ("JOINT", f"CC_Base_{s}_Calf", (0.0, -45.0, 0.0), ZYX, [
                ("JOINT", f"CC_Base_{s}_Foot", (0.0, -45.0, 0.0), ZYX, [end((0, -8, 12))])])])

    def arm(s: str, x: float):
        return ("JOINT", f"CC_Base_{s}_Clavicle", (x * 0.3, 20.0, 0.0), ZYX, [
            ("JOINT", f"CC_Base_{s}_Upperarm", (x * 0.7, 0.0, 0.0), ZYX, [
                ("JOINT", f"CC_Base_{s}_Forearm", (0.0, -28.0, 0.0), ZYX, [
                    ("JOINT", f"CC_Base_{s}_Hand", (0.0, -25.0, 0.0), ZYX, [end()])])])])

    head = ("JOINT", "CC_Base_Head", (0.0, 4.0, 0.0), ZYX, [
        ("JOINT", "CC_Base_L_Eye", (3.3, 8.0, 8.0), ZYX, [end()]),
        ("JOINT", "CC_Base_R_Eye", (-3.3, 8.0, 8.0), ZYX, [end()]),
    ])
    spine = ("JOINT", "CC_Base_Waist", (0.0, 5.0, 0.0), ZYX, [
        ("JOINT", "CC_Base_Spine01", (0.0, 10.0, 0.0), ZYX, [
            ("JOINT", "CC_Base_Spine02", (0.0, 15.0, 0.0), ZYX, [
                ("JOINT", "CC_Base_NeckTwist01", (0.0, 26.0, 0.0), ZYX, [
                    ("JOINT", "CC_Base_NeckTwist02", (0.0, 4.0, 0.0), ZYX, [head])]),
                arm("L", 18.0), arm("R", -18.0)])])])
    return ("ROOT", "CC_Base_Hip", (0.0, 100.0, 0.0), POS + " " + ZYX, [
        ("JOINT", "CC_Base_Pelvis", (0.0, 0.0, 0.0), ZYX, [leg("L", 9.0), leg("R", -9.0)]),
        spine])


def count_channels(tree) -> int:
    kind, _, _, channels, children = tree
    return (len(channels.split()) if channels else 0) + sum(count_channels(c) for c in children)


# Bandai-like: every joint has 6 channels (positions replace the offsets); bones run along the
# local +X. Hips rotation Z=90, X=90 (order ZXY) maps local x→world y (up), y→z (forward),
# z→x (left), as in the real files.
BANDAI_CH = POS + " Zrotation Xrotation Yrotation"


def bandai_tree():
    def leg(s: str, z: float):
        return ("JOINT", f"UpperLeg_{s}", (-5.0, 0.0, z), BANDAI_CH, [
            ("JOINT", f"LowerLeg_{s}", (-40.0, 0.0, 0.0), BANDAI_CH, [
                ("JOINT", f"Foot_{s}", (-40.0, 0.0, 0.0), BANDAI_CH, [
                    ("JOINT", f"Toes_{s}", (-6.0, 10.0, 0.0), BANDAI_CH, [end()])])])])

    def arm(s: str, z: float):
        return ("JOINT", f"Shoulder_{s}", (13.0, 0.0, z * 0.4), BANDAI_CH, [
            ("JOINT", f"UpperArm_{s}", (0.0, 0.0, z * 0.6), BANDAI_CH, [
                ("JOINT", f"LowerArm_{s}", (-24.0, 0.0, 0.0), BANDAI_CH, [
                    ("JOINT", f"Hand_{s}", (-22.0, 0.0, 0.0), BANDAI_CH, [end()])])])])

    return ("ROOT", "joint_Root", (0.0, 0.0, 0.0), BANDAI_CH, [
        ("JOINT", "Hips", (0.0, 90.0, 0.0), BANDAI_CH, [
            ("JOINT", "Spine", (15.0, 0.0, 0.0), BANDAI_CH, [
                ("JOINT", "Chest", (9.0, 0.0, 0.0), BANDAI_CH, [
                    ("JOINT", "Neck", (16.0, 0.0, 0.0), BANDAI_CH, [
                        ("JOINT", "Head", (6.5, 0.0, 0.0), BANDAI_CH, [end()])]),
                    arm("L", 12.0), arm("R", -12.0)])]),
            leg("L", 7.0), leg("R", -7.0)])])


def _bandai_offsets(tree, out: list) -> None:
    kind, _, offset, channels, children = tree
    if channels:
        out.append(offset)
    for c in children:
        _bandai_offsets(c, out)


def bandai_frames(n: int, rng: np.random.Generator, walk_mm_per_frame: float = 0.0
                  ) -> np.ndarray:
    """Frames for :func:`bandai_tree`: positions = offsets, Hips rotated upright, small random
    joint rotations elsewhere."""
    offsets: list = []
    _bandai_offsets(bandai_tree(), offsets)
    rows = np.zeros((n, 6 * len(offsets)))
    for k, off in enumerate(offsets):
        rows[:, 6 * k: 6 * k + 3] = off
        if k >= 2:
            rows[:, 6 * k + 3: 6 * k + 6] = rng.normal(0.0, 5.0, (n, 3))
    rows[:, 6 + 3: 6 + 6] = [90.0, 90.0, 0.0]  # Hips: upright, facing +Z
    rows[:, 6 + 2] += np.arange(n) * walk_mm_per_frame / 10.0
    return rows


def cmu_frames(n: int, rng: np.random.Generator, walk_mm_per_frame: float = 0.0) -> np.ndarray:
    rows = rng.normal(0.0, 5.0, (n, count_channels(cmu_tree())))
    rows[:, :3] = 0.0
    rows[:, 2] = np.arange(n) * walk_mm_per_frame / 10.0
    return rows


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture
def mocapfx() -> SimpleNamespace:
    """Helpers to write tiny CMU-like and Bandai-like BVH files."""
    return SimpleNamespace(
        write_tree=write_tree, end=end, cmu_tree=cmu_tree, bandai_tree=bandai_tree,
        cmu_frames=cmu_frames, bandai_frames=bandai_frames, write=write, ZYX=ZYX, POS=POS,
    )


def write_tiny_mocap(root: Path) -> Path:
    """Write 3 CMU-like subjects (1: train, 3: val, 7: test) and 3 Bandai-like clips under
    ``root``; returns ``root``."""
    rng = np.random.default_rng(0)
    for name, n in (("001_01", 90), ("003_01", 60), ("007_01", 60)):
        write(root / "cmu" / "bvh" / f"{name}.bvh.gz",
              write_tree(cmu_tree(), cmu_frames(n, rng, 30.0), 1 / 60))
    for content in ("walk", "bye", "guide"):
        write(root / "bandai" / "dataset-1" / f"dataset-1_{content}_normal_001.bvh.gz",
              write_tree(bandai_tree(), bandai_frames(40, rng, 30.0), 1 / 30))
    return root


@pytest.fixture
def tiny_mocap(tmp_path: Path) -> Path:
    """A folder with 3 CMU-like subjects (1: train, 3: val, 7: test) and 3 Bandai-like clips."""
    return write_tiny_mocap(tmp_path / "mocap")


@pytest.fixture(scope="session")
def render_body():
    """The anny body model for rendering tests; skips without the render extra, a headless
    OpenGL context or a built anny cache."""
    pytest.importorskip("moderngl", reason="optional render extra (moderngl) not installed")
    pytest.importorskip("anny", reason="optional render extra (anny) not installed")
    from monopose.data.synthetic.body import anny_cache_dir, load_body_model
    from monopose.data.synthetic.render import MeshRenderer

    try:
        MeshRenderer(np.array([[0, 1, 2]])).release()
    except Exception as exc:  # no EGL / llvmpipe on this machine
        pytest.skip(f"no headless OpenGL context: {exc}")
    cache = anny_cache_dir()
    if not cache.is_dir() or not any(cache.iterdir()):
        pytest.skip(f"anny cache {cache} is empty; building it takes minutes "
                    "(`monopose data render --n 1` builds it)")
    return load_body_model(cache)


def shared_mocap() -> Path:
    shared = os.environ.get("MONOPOSE_SHARED")
    root = Path(shared) if shared else Path(__file__).resolve().parents[2].parent / "shared"
    return root / "mocap"


@pytest.fixture
def shared_mocap_dir() -> Path:
    root = shared_mocap()
    if not root.exists():
        pytest.skip(f"shared mocap data not found at {root} (set MONOPOSE_SHARED)")
    return root
