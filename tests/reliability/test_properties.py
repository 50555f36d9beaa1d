"""Property tests of the readers and of the root solve: whatever the input, a clear ValueError or a
correct, finite result - never another exception type, never a silent NaN."""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from monopose.core.geometry import reconstruct_absolute
from monopose.core.skeleton import LAYOUTS
from monopose.export.bvh_writer import export_bvh
from monopose.io.schema import read_result_json
from monopose.pipeline.lift_file import lift_file, load_keypoints_npz
from tests.reliability.corpus import LIFT_INTRINSICS, good_result

SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@contextmanager
def _scratch() -> Iterator[Path]:
    """A fresh folder per example (hypothesis reruns one test function many times)."""
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


# ------------------------------------------------------------------------ load_keypoints_npz

_DTYPES = ("f2", "f4", "f8", "i1", "i4", "i8", "u1", "u8", "b1", "c8", "U3", "S3", "M8[s]", "O")
_SHAPES = st.one_of(
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3),
    st.tuples(st.integers(0, 3), st.sampled_from([17, 33]), st.integers(1, 3)),
    st.tuples(st.integers(0, 2), st.integers(0, 3), st.just(17), st.just(2)),
)
_PIXELS = st.one_of(st.floats(-3000, 3000), st.just(float("nan")))


@st.composite
def _any_array(draw: st.DrawFn, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """An array of any dtype (objects too); plausible pixels half of the time."""
    shape = draw(_SHAPES) if shape is None else shape
    if draw(st.booleans()):
        return draw(hnp.arrays(np.float64, shape, elements=_PIXELS))
    dtype = np.dtype(draw(st.sampled_from(_DTYPES)))
    if dtype.kind == "O":
        cells = st.one_of(st.integers(), st.floats(), st.text(max_size=3), st.none())
        values = draw(st.lists(cells, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
        arr = np.empty(int(np.prod(shape)), dtype=object)
        arr[:] = values
        return arr.reshape(shape)
    return draw(hnp.arrays(dtype, shape))


@st.composite
def _plausible_keypoints(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """Keypoints of the right shape for their layout (which may be stated or not)."""
    name = draw(st.sampled_from(sorted(LAYOUTS)))
    lead = draw(st.sampled_from([(2,), (1, 3), (3,), (0,)]))
    arrays = {"keypoints_2d": draw(hnp.arrays(np.float64, lead + (LAYOUTS[name].num_joints, 2),
                                              elements=_PIXELS))}
    if name != "h36m17" or draw(st.booleans()):
        arrays["layout"] = np.array(name)
    return arrays


@st.composite
def _keypoint_files(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """The arrays of a keypoint NPZ: keys present or not, right or wrong."""
    arrays: dict[str, np.ndarray] = {}
    if draw(st.integers(0, 2)):  # two in three: keypoints of the right shape
        arrays.update(draw(_plausible_keypoints()))
    elif draw(st.integers(0, 9)):  # mostly with keypoints
        arrays["keypoints_2d"] = draw(_any_array())
    kp_shape = arrays.get("keypoints_2d", np.zeros((1, 17, 2))).shape
    if draw(st.booleans()):
        arrays["valid"] = draw(st.one_of(_any_array(), hnp.arrays(bool, kp_shape[:-1])))
    if "layout" in arrays or draw(st.integers(0, 2)):
        pass
    elif draw(st.booleans()):
        arrays["layout"] = np.array(draw(st.one_of(st.sampled_from(sorted(LAYOUTS)),
                                                   st.text(max_size=6))))
    else:
        arrays["layout"] = draw(_any_array())
    if draw(st.booleans()):
        proper = st.tuples(st.floats(1, 5000), st.floats(1, 5000), st.floats(-1e4, 1e4),
                           st.floats(-1e4, 1e4)).map(np.array)
        arrays["intrinsics"] = draw(st.one_of(proper, _any_array()))
    return arrays


@SETTINGS
@given(arrays=_keypoint_files())
def test_load_keypoints_npz_loads_right_or_names_the_file(arrays: dict[str, np.ndarray]) -> None:
    with _scratch() as folder:
        path = folder / "keypoints.npz"
        np.savez(path, **arrays)  # type: ignore[arg-type]
        try:
            kp, valid, layout, intr = load_keypoints_npz(path)
        except ValueError as exc:
            assert str(path) in str(exc)
            return
    assert kp.shape == arrays["keypoints_2d"].shape and kp.dtype == np.float64
    assert kp.ndim in (3, 4) and kp.shape[0] > 0 and kp.shape[-1] == 2
    assert kp.shape[-2] == LAYOUTS[layout].num_joints
    assert valid.shape == kp.shape[:-1] and valid.dtype == bool
    assert np.isfinite(kp).all() and valid.reshape(kp.shape[0], -1).any(axis=1).all()
    if intr is not None:
        assert intr.shape in ((4,), (kp.shape[0], 4)) and np.isfinite(intr).all()
        assert (intr[..., :2] > 0).all()


# ---------------------------------------------------------------------------- result JSON

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=4),
    max_leaves=12,
)
_PERSON_KEYS = sorted(good_result()["frames"][0]["people"][0])


@st.composite
def _damaged_results(draw: st.DrawFn) -> dict:
    """A valid result with one part (a top-level value, the frame, its people, the person or
    one of the person's values) replaced by an arbitrary JSON value."""
    payload = good_result()
    frame = payload["frames"][0]
    where = draw(st.sampled_from(["top", "frames", "frame", "people", "person", "value"]))
    value = draw(_JSON)
    if where == "top":
        payload[draw(st.sampled_from(sorted(payload)))] = value
    elif where == "frames":
        payload["frames"] = [frame, value]
    elif where == "frame":
        frame[draw(st.sampled_from(["index", "people"]))] = value
    elif where == "people":
        frame["people"] = [frame["people"][0], value]
    elif where == "person":
        frame["people"][0] = value
    else:
        frame["people"][0][draw(st.sampled_from(_PERSON_KEYS))] = value
    return payload


def _with_frames(frames: object) -> dict:
    payload = copy.deepcopy(good_result())
    payload["frames"] = frames
    return payload


def _reads_or_names_the_file(payload: object) -> None:
    """``read_result_json`` on ``payload`` written as JSON: a dict, or a ValueError naming it."""
    with _scratch() as folder:
        path = folder / "result.json"
        path.write_text(json.dumps(payload), encoding="utf-8")
        try:
            assert isinstance(read_result_json(path), dict)
        except ValueError as exc:
            assert str(path) in str(exc)


@SETTINGS
@given(value=_JSON)
def test_read_result_json_any_json_value(value: object) -> None:
    _reads_or_names_the_file(value)


@SETTINGS
@example(payload=_with_frames(7))
@example(payload=_with_frames([{"index": 0, "people": [3]}]))
@given(payload=_damaged_results())
def test_read_result_json_damaged_structure(payload: dict) -> None:
    _reads_or_names_the_file(payload)


@settings(SETTINGS, max_examples=30)
@example(payload=_with_frames(7))
@example(payload=_with_frames([{"index": 10**12, "people": []}, {"index": 0, "people": []}]))
@given(payload=_damaged_results())
def test_export_bvh_reads_a_damaged_result_or_names_the_file(payload: dict) -> None:
    with _scratch() as folder:
        path = folder / "result.json"
        path.write_text(json.dumps(payload), encoding="utf-8")
        try:
            report = export_bvh(path, folder / "out", verify=False)
        except ValueError as exc:
            assert str(path) in str(exc)
            assert not (folder / "out").exists() or not any((folder / "out").iterdir())
            return
        assert all(e.path.is_file() for e in report.exports)


# ------------------------------------------------------------------------------- geometry


@st.composite
def _scenes(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rel_mm [17, 3], root_mm (3,), intrinsics (4,))``: a random body-sized point set, its
    root 2-10 m in front of a pinhole camera (30-100° field of view, principal point near the
    centre) and seen inside the image."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rel = rng.uniform(-1, 1, (17, 3)) * np.array([800.0, 1000.0, 300.0])
    rel[0] = 0.0
    width = draw(st.integers(320, 4000))
    height = int(width * draw(st.floats(0.5, 2.0)))
    fov = np.deg2rad(draw(st.floats(30, 100)))
    fx = width / (2 * np.tan(fov / 2))
    fy = fx * draw(st.floats(0.98, 1.02))
    cx = width * draw(st.floats(0.45, 0.55))
    cy = height * draw(st.floats(0.45, 0.55))
    z = draw(st.floats(2000, 10000))
    u, v = width * draw(st.floats(0.1, 0.9)), height * draw(st.floats(0.1, 0.9))
    root = np.array([(u - cx) * z / fx, (v - cy) * z / fy, z])
    return rel, root, np.array([fx, fy, cx, cy])


def _project(points_mm: np.ndarray, intr: np.ndarray) -> np.ndarray:
    return points_mm[..., :2] / points_mm[..., 2:] * intr[:2] + intr[2:]


@SETTINGS
@given(scene=_scenes(), drop=st.lists(st.integers(1, 16), max_size=12, unique=True))
def test_root_solve_recovers_the_root_within_1mm(
        scene: tuple[np.ndarray, np.ndarray, np.ndarray], drop: list[int]) -> None:
    rel, root, intr = scene
    kp = _project(rel + root, intr)
    valid = np.ones(17, bool)
    valid[drop] = False
    kp[~valid] = np.nan  # missing joints may hold anything
    solve = reconstruct_absolute(kp, rel, intr, valid=valid, return_details=True)
    assert solve.method == "perspective"
    assert np.linalg.norm(solve.translation_mm - root) < 1.0
    np.testing.assert_allclose(solve.pose3d_abs_mm, rel + root, atol=1.0)


@SETTINGS
@given(kp=hnp.arrays(np.float64, (17, 2), elements=st.floats(-1e5, 1e5)),
       rel=hnp.arrays(np.float64, (17, 3), elements=st.floats(-3000, 3000)),
       valid=hnp.arrays(bool, (17,)),
       intr=st.tuples(st.floats(1, 1e4), st.floats(1, 1e4), st.floats(-1e4, 1e4),
                      st.floats(-1e4, 1e4)).map(np.array))
def test_root_solve_is_finite_or_says_why_not(kp: np.ndarray, rel: np.ndarray,
                                              valid: np.ndarray, intr: np.ndarray) -> None:
    try:
        solve = reconstruct_absolute(kp, rel, intr, valid=valid, return_details=True)
    except ValueError:
        return  # the caller's "failed"
    assert np.isfinite(solve.pose3d_abs_mm).all() and np.isfinite(solve.translation_mm).all()


# ---------------------------------------------------------------------------------- lift


@pytest.fixture(scope="module")
def lifter() -> object:
    from monopose.lifting.lifter import Lifter

    return Lifter("baseline-t1")  # the fastest shipped lifter: these tests are about the file


@contextmanager
def _cached(lifter: object) -> Iterator[None]:
    """``lift_file`` with an already loaded lifter: loading per example would dominate."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("monopose.pipeline.lift_file.keypoint_model", lambda *_, **__: lifter)
        yield


def _check_lift_output(path: Path, n: int) -> list[str]:
    with np.load(path) as z:
        rel, absolute, methods = z["pose_3d_rel_mm"], z["pose_3d_abs_mm"], z["root_method"]
    assert rel.shape == absolute.shape == (n, 17, 3) and np.isfinite(rel).all()
    failed = methods == "failed"
    assert np.isfinite(absolute[~failed]).all() and np.isnan(absolute[failed]).all()
    return list(methods)


@settings(SETTINGS, max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4), noise_px=st.floats(0, 200),
       keep=st.floats(0.0, 1.0))
def test_lift_output_is_finite_or_marked_failed(lifter: object, seed: int, n: int,
                                                noise_px: float, keep: float) -> None:
    from tests.reliability.corpus import _standing_pose_px

    rng = np.random.default_rng(seed)
    kp = _standing_pose_px(n) + rng.normal(0, noise_px, (n, 17, 2))
    valid = rng.uniform(size=(n, 17)) < keep
    valid[:, 0] |= ~valid.any(axis=1)  # every pose keeps a joint
    with _scratch() as folder, _cached(lifter):
        np.savez(folder / "in.npz", keypoints_2d=kp, valid=valid,
                 intrinsics=np.array(LIFT_INTRINSICS))
        lift_file(folder / "in.npz", folder / "out.npz", "cached")
        _check_lift_output(folder / "out.npz", n)


def test_lift_marks_an_unsolvable_pose_failed(lifter: object, tmp_path: Path) -> None:
    from tests.reliability.corpus import _standing_pose_px

    kp = _standing_pose_px(2)
    valid = np.ones((2, 17), bool)
    valid[1, 1:] = False  # one joint cannot place a person
    np.savez(tmp_path / "in.npz", keypoints_2d=kp, valid=valid,
             intrinsics=np.array(LIFT_INTRINSICS))
    with _cached(lifter):
        summary = lift_file(tmp_path / "in.npz", tmp_path / "out.npz", "cached")
    assert _check_lift_output(tmp_path / "out.npz", 2) == ["perspective", "failed"]
    assert "1 of 2 poses" in summary
