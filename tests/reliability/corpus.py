"""A corpus of broken inputs for the readers of the command line, generated on demand.

Nothing of it is committed: :func:`generate` writes small files (about 120 KB in all; the largest
is the one good photo, about 15 KB) into a folder, at test time or by hand::

    python -m tests.reliability.corpus OUT_DIR

Folders of ``OUT_DIR``:

* ``predict/``: images and videos for ``monopose predict``, one good photo among them.
* ``lift/``: keypoint NPZ files for ``monopose lift``.
* ``bvh/``: result JSON files for ``monopose export-bvh``.
* ``weights/``: lifter weights (``<stem>.safetensors`` + ``<stem>.json``) for
  :func:`monopose.models.weights_io.load_weights`; ``weights/registry/`` is a weights folder for
  :func:`monopose.zoo.load_model`.

Every :class:`Case` names the verb that reads its file, the exit code of that verb given the file
alone, and a pattern its one error line must match (besides the file's name).

Exit codes of the command line, as it behaves today:

====  ========================================================================================
code  meaning
====  ========================================================================================
0     every input done (``predict``: notes such as "no person found" or "the video ended at
      frame k" do not count as failures)
1     ``predict``: some inputs failed (one ``failed <file>: <why>`` line each), the others
      finished and were written - also when the only input given failed;
      ``export-bvh``: the result was read but holds nobody to export (nothing written)
2     bad usage (an option's value, ``--out`` a file), nothing to do (no input with a
      supported suffix), or an unreadable input of ``lift`` / ``export-bvh`` (one
      ``error: <file>: <why>`` line); nothing is written
====  ========================================================================================
"""

from __future__ import annotations

import dataclasses
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Case", "CASES", "GOOD_PHOTO", "generate", "cases_for", "good_result"]

GOOD_PHOTO = "good_photo.jpg"
# The good photo's longer side: small enough to be quick, large enough for the detector.
GOOD_PHOTO_SIDE_PX = 360
_SEED = 1234


@dataclass(frozen=True)
class Case:
    """One corpus file and what the verb reading it must do.

    Attributes:
        path: The file, relative to the corpus folder.
        verb: ``predict``, ``lift``, ``export-bvh`` or ``weights``.
        exit_code: Exit code of the verb given this file alone (``weights``: 0 loads, 2 a
            ValueError).
        expect: Regular expression the error line must match (case-insensitive).
        what: What is wrong with the file.
        error: ``weights``: the exception type raised (a missing file is not a ValueError).
    """

    path: str
    verb: str
    exit_code: int
    expect: str
    what: str
    error: str = "ValueError"


# ----------------------------------------------------------------------------------- images


def _sample_photo_jpeg() -> bytes:
    """The bundled sample photo, downscaled, as JPEG bytes."""
    from importlib import resources

    from PIL import Image

    src = Path(str(resources.files("monopose") / "assets" / "sample_person.jpg"))
    with Image.open(src) as im:
        im = im.convert("RGB")
        im.thumbnail((GOOD_PHOTO_SIDE_PX, GOOD_PHOTO_SIDE_PX))
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def _png_bytes() -> bytes:
    from PIL import Image

    rng = np.random.default_rng(_SEED)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _write_predict(folder: Path) -> None:
    rng = np.random.default_rng(_SEED)
    jpeg = _sample_photo_jpeg()
    png = _png_bytes()
    files: dict[str, bytes] = {
        GOOD_PHOTO: jpeg,
        "empty.jpg": b"",
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "truncated.png": png[: len(png) // 2],
        "garbage.png": rng.integers(0, 256, 2048, dtype=np.uint8).tobytes(),
        "text_renamed.jpg": b"These are my holiday notes, not a photo.\n" * 4,
        "image_renamed.mp4": jpeg,
        "empty.mp4": b"",
        "garbage.avi": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    _truncated_video(folder / "truncated.mp4")


PREDICT_CASES = (
    Case(GOOD_PHOTO, "predict", 0, "", "a good photo (the sample, downscaled)"),
    Case("empty.jpg", "predict", 1, r"empty|0 bytes", "zero bytes"),
    Case("truncated.jpg", "predict", 1, "truncated", "a JPEG cut in half"),
    Case("truncated.png", "predict", 1, "truncated", "a PNG cut in half"),
    Case("garbage.png", "predict", 1, "not a readable image", "random bytes"),
    Case("text_renamed.jpg", "predict", 1, "text", "a text file named .jpg"),
    Case("image_renamed.mp4", "predict", 1, "image", "a JPEG named .mp4"),
    Case("empty.mp4", "predict", 1, r"empty|0 bytes", "zero bytes"),
    Case("truncated.mp4", "predict", 1, "not a readable video",
         "an MP4 cut in half (its index, written last, is gone)"),
    Case("garbage.avi", "predict", 1, "not a readable video", "random bytes"),
)


def _truncated_video(path: Path, num_frames: int = 12) -> None:
    """A short synthetic MP4 (moving gradient), then cut in half."""
    import cv2

    full = path.with_name(f".{path.stem}.full{path.suffix}")
    h, w = 48, 64
    writer = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"{full}: this OpenCV build cannot write MP4")
    ramp = np.linspace(0, 200, w, dtype=np.float64)
    for i in range(num_frames):
        frame = np.empty((h, w, 3), np.uint8)
        frame[...] = ((ramp + 10 * i) % 255).astype(np.uint8)[None, :, None]
        writer.write(frame)
    writer.release()
    data = full.read_bytes()
    full.unlink()
    path.write_bytes(data[: len(data) // 2])


# -------------------------------------------------------------------------------------- lift


# A standing person, h36m17, root-relative camera space (y down), mm; placed 4 m away.
STANDING_REL_MM = np.array(
    [[0, 0, 0], [-130, 0, 0], [-130, 450, 0], [-130, 880, 0], [130, 0, 0], [130, 450, 0],
     [130, 880, 0], [0, -230, 0], [0, -480, 0], [0, -590, -30], [0, -700, 0], [170, -470, 0],
     [190, -220, 0], [200, 20, 0], [-170, -470, 0], [-190, -220, 0], [-200, 20, 0]],
    dtype=np.float64)
STANDING_ROOT_MM = np.array([0.0, 0.0, 4000.0])
LIFT_INTRINSICS = (1000.0, 1000.0, 640.0, 360.0)


def _standing_pose_px(n: int = 2) -> np.ndarray:
    """``[n, 17, 2]`` px: :data:`STANDING_REL_MM` at the root, seen with :data:`LIFT_INTRINSICS`."""
    fx, fy, cx, cy = LIFT_INTRINSICS
    pose = STANDING_REL_MM + STANDING_ROOT_MM
    kp = pose[:, :2] / pose[:, 2:] * np.array([fx, fy]) + np.array([cx, cy])
    return np.repeat(kp[None], n, axis=0)


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def _write_lift(folder: Path) -> None:
    kp = _standing_pose_px()
    valid = np.ones(kp.shape[:-1], bool)
    nan_kp, inf_kp = kp.copy(), kp.copy()
    nan_kp[0, 3] = np.nan
    inf_kp[1, 5, 0] = np.inf
    objects = np.empty(kp.shape[:-1], dtype=object)  # a point per cell: pickled on save
    for index in np.ndindex(objects.shape):
        objects[index] = (1.0, 2.0)
    good = _npz_bytes(keypoints_2d=kp, intrinsics=np.array(LIFT_INTRINSICS))
    npy = io.BytesIO()
    np.save(npy, kp)
    files: dict[str, bytes] = {
        "good.npz": good,
        "missing_key.npz": _npz_bytes(points=kp),
        "wrong_shape.npz": _npz_bytes(keypoints_2d=kp[:, :12]),
        "strings.npz": _npz_bytes(keypoints_2d=np.full(kp.shape, "12.5")),
        "objects.npz": _npz_bytes(keypoints_2d=objects),
        "zero_poses.npz": _npz_bytes(keypoints_2d=np.zeros((0, 17, 2))),
        "nan_marked_valid.npz": _npz_bytes(keypoints_2d=nan_kp, valid=valid),
        "inf_marked_valid.npz": _npz_bytes(keypoints_2d=inf_kp, valid=valid),
        "inf_no_valid_key.npz": _npz_bytes(keypoints_2d=inf_kp),
        "inf_intrinsics.npz": _npz_bytes(keypoints_2d=kp,
                                         intrinsics=np.array([np.inf, 1000.0, 640.0, 360.0])),
        "no_valid_joint.npz": _npz_bytes(keypoints_2d=kp, valid=np.zeros_like(valid)),
        "unknown_layout.npz": _npz_bytes(keypoints_2d=kp, layout=np.array("openpose25")),
        "text_renamed.npz": b"x,y\n640,360\n700,380\n",
        "npy_renamed.npz": npy.getvalue(),
        "truncated.npz": good[: len(good) // 2],
        "empty.npz": b"",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)


LIFT_CASES = (
    Case("good.npz", "lift", 0, "", "two standing poses with intrinsics"),
    Case("missing_key.npz", "lift", 2, "missing key 'keypoints_2d'", "keypoints under "
         "another key"),
    Case("wrong_shape.npz", "lift", 2, r"\[N, 17, 2\]", "12 joints for h36m17"),
    Case("strings.npz", "lift", 2, "keypoints_2d.*numbers", "an array of strings"),
    Case("objects.npz", "lift", 2, "keypoints_2d.*numbers", "a pickled object array"),
    Case("zero_poses.npz", "lift", 2, "0 poses", "shape (0, 17, 2)"),
    Case("nan_marked_valid.npz", "lift", 2, "NaN or inf.*marked valid",
         "a NaN joint marked valid"),
    Case("inf_marked_valid.npz", "lift", 2, "NaN or inf.*marked valid",
         "an infinite joint marked valid"),
    Case("inf_no_valid_key.npz", "lift", 2, "inf", "an infinite joint, no `valid` key"),
    Case("inf_intrinsics.npz", "lift", 2, "intrinsics.*finite", "fx = inf"),
    Case("no_valid_joint.npz", "lift", 2, "no valid joint", "every joint marked invalid"),
    Case("unknown_layout.npz", "lift", 2, "unknown joint layout", "layout openpose25"),
    Case("text_renamed.npz", "lift", 2, "not a readable .npz", "a CSV file named .npz"),
    Case("npy_renamed.npz", "lift", 2, "not a readable .npz", "a .npy file named .npz"),
    Case("truncated.npz", "lift", 2, "not a readable .npz", "an NPZ cut in half"),
    Case("empty.npz", "lift", 2, "not a readable .npz", "zero bytes"),
)


# ---------------------------------------------------------------------------------- results


def good_result() -> dict:
    """A valid one-photo result (schema 1.0) with one standing person."""
    from monopose.core.skeleton import H36M17

    kp = _standing_pose_px(1)[0]
    rel = STANDING_REL_MM

    person = {
        "person_id": None, "box": [500.0, 150.0, 780.0, 600.0], "score": 0.9,
        "keypoints_2d": kp.round(2).tolist(), "scores": [0.9] * 17, "valid": [True] * 17,
        "pose_3d_rel": rel.tolist(), "pose_3d_abs": (rel + STANDING_ROOT_MM).tolist(),
        "root_method": "perspective",
    }
    return {
        "schema_version": "1.0", "monopose_version": "0", "input": "photo.jpg", "kind": "image",
        "model": "baseline-t1", "units": "mm", "layout": "h36m17",
        "joint_names": list(H36M17.joint_names),
        "camera": {**dict(zip(("fx", "fy", "cx", "cy"), LIFT_INTRINSICS, strict=True)),
                   "width": 1280, "height": 720, "source": "given"},
        "fps": None, "warnings": [],
        "frames": [{"index": 0, "time_s": None, "people": [person]}],
    }


def _write_bvh(folder: Path) -> None:
    good = good_result()
    text = json.dumps(good)

    def variant(change: dict | None = None, person: dict | None = None,
                drop: tuple[str, ...] = ()) -> str:
        payload = json.loads(text)
        payload["frames"][0]["people"][0].update(person or {})
        payload.update(change or {})
        for key in drop:
            payload.pop(key)
        return json.dumps(payload)

    nan_text = variant().replace("4000.0", "NaN", 1)
    assert "NaN" in nan_text
    files: dict[str, str] = {
        "good.json": text,
        "malformed.json": "{'schema_version': '1.0', frames: []}",
        "truncated.json": text[: len(text) // 2],
        "wrong_version.json": variant({"schema_version": "0.3"}),
        "missing_keys.json": variant(drop=("frames", "camera")),
        "nan_literal.json": nan_text,
        "wrong_shape_person.json": variant(person={"pose_3d_abs": [[1.0, 2.0]] * 16}),
        "ragged_person.json": variant(person={"pose_3d_rel": [[1.0, 2.0, 3.0]] * 16 + [[1.0]]}),
        "empty_frames.json": variant({"frames": []}),
        "frames_not_list.json": variant({"frames": 7}),
        "person_not_object.json": variant({"frames": [{"index": 0, "people": [3]}]}),
    }
    for name, data in files.items():
        (folder / name).write_text(data, encoding="utf-8")


BVH_CASES = (
    Case("good.json", "export-bvh", 0, "", "one standing person"),
    Case("malformed.json", "export-bvh", 2, "not a readable monopose result JSON",
         "single quotes, bare keys"),
    Case("truncated.json", "export-bvh", 2, "not a readable monopose result JSON",
         "a result cut in half"),
    Case("wrong_version.json", "export-bvh", 2, "schema_version", "schema_version 0.3"),
    Case("missing_keys.json", "export-bvh", 2, "missing key", "no frames, no camera"),
    Case("nan_literal.json", "export-bvh", 2, "NaN", "a bare NaN (not strict JSON)"),
    Case("wrong_shape_person.json", "export-bvh", 2, r"pose_3d_abs.*\[17, 3\]",
         "a pose of 16 joints × 2"),
    Case("ragged_person.json", "export-bvh", 2, r"pose_3d_rel.*\[17, 3\]",
         "a ragged pose list"),
    Case("empty_frames.json", "export-bvh", 1, "no person to export", "frames: []"),
    Case("frames_not_list.json", "export-bvh", 2, "frames", "frames: 7"),
    Case("person_not_object.json", "export-bvh", 2, "person", "people: [3]"),
)


# ---------------------------------------------------------------------------------- weights

TINY_BASELINE = dict(num_joints=17, width=8, num_blocks=1, dropout=0.0)


def _write_weights(folder: Path) -> None:
    """Weights of a tiny baseline lifter, spoiled in several ways (JSON checksums refreshed
    where the case is about the tensors file itself)."""
    import hashlib

    import torch
    from safetensors.torch import save_file

    from monopose.models.weights_io import save_weights, weights_paths
    from monopose.zoo import build_model

    torch.manual_seed(_SEED)
    module = build_model("baseline", TINY_BASELINE)
    rng = np.random.default_rng(_SEED)

    def spoil(stem: str, data: bytes | None, refresh_checksum: bool = True,
              json_bytes: bytes | None = None, root: Path = folder) -> None:
        tensors, meta = weights_paths(root / stem)
        save_weights(module, {"architecture": "baseline", "config": TINY_BASELINE}, tensors)
        if data is not None:
            tensors.write_bytes(data)
        info = json.loads(meta.read_text(encoding="utf-8"))
        if refresh_checksum:  # so that the loader gets past the checksum to the tensors
            info["sha256"] = hashlib.sha256(tensors.read_bytes()).hexdigest()
        meta.write_bytes(json_bytes if json_bytes is not None else json.dumps(info).encode())

    spoil("good", None)
    good_bytes = weights_paths(folder / "good")[0].read_bytes()
    foreign = io.BytesIO()
    foreign_path = folder / ".foreign.safetensors"
    save_file({"encoder.weight": torch.zeros(4, 3), "encoder.bias": torch.zeros(4)},
              str(foreign_path))
    foreign.write(foreign_path.read_bytes())
    foreign_path.unlink()
    spoil("truncated_checked", good_bytes[: len(good_bytes) // 2], refresh_checksum=False)
    spoil("truncated", good_bytes[: len(good_bytes) // 2])
    spoil("garbage", rng.integers(0, 256, 1024, dtype=np.uint8).tobytes())
    spoil("foreign", foreign.getvalue())
    poisoned = {k: v.clone() for k, v in module.state_dict().items()}
    next(v for v in poisoned.values() if v.is_floating_point())[0] = float("nan")
    nan_path = folder / ".nan.safetensors"
    save_file(poisoned, str(nan_path))
    spoil("nan", nan_path.read_bytes())
    nan_path.unlink()
    spoil("bad_json", None, json_bytes=b'{"format": "monopose-lifter-weights", "architec')
    spoil("binary_json", None, json_bytes=b"\xff\xfe\x00garbage")
    tensors, _ = weights_paths(folder / "alone")
    tensors.write_bytes(foreign.getvalue())
    # The registry's folder: the registered baseline-t1 name holding garbage tensors.
    registry = folder / "registry"
    registry.mkdir(exist_ok=True)
    spoil("baseline-t1", rng.integers(0, 256, 1024, dtype=np.uint8).tobytes(), root=registry)
    spoil("poseformer-t1", None, root=registry)  # baseline tensors under a poseformer name


WEIGHTS_CASES = (
    Case("good.safetensors", "weights", 0, "", "a tiny baseline lifter"),
    Case("truncated_checked.safetensors", "weights", 2, "checksum mismatch",
         "cut in half; the JSON's checksum no longer matches"),
    Case("truncated.safetensors", "weights", 2, "corrupted safetensors",
         "cut in half, checksum refreshed"),
    Case("garbage.safetensors", "weights", 2, "corrupted safetensors", "random bytes"),
    Case("foreign.safetensors", "weights", 2, "do not match the architecture",
         "a valid file of another network"),
    Case("nan.safetensors", "weights", 2, "NaN or inf", "one weight NaN"),
    Case("bad_json.safetensors", "weights", 2, r"not JSON", "its JSON cut short"),
    Case("binary_json.safetensors", "weights", 2, r"not JSON|not a monopose",
         "its JSON binary bytes"),
    Case("alone.safetensors", "weights", 2, r"alone\.json.*missing", "no JSON beside it",
         "FileNotFoundError"),
    Case("registry/baseline-t1.safetensors", "weights", 2, "corrupted safetensors",
         "random bytes under a registered name (registry.load_model)"),
    Case("registry/poseformer-t1.safetensors", "weights", 2, "architecture",
         "a baseline under a poseformer name (registry.load_model)"),
)


# ------------------------------------------------------------------------------------ entry

_WRITERS = {"predict": _write_predict, "lift": _write_lift, "export-bvh": _write_bvh,
            "weights": _write_weights}
FOLDERS = {"predict": "predict", "lift": "lift", "export-bvh": "bvh", "weights": "weights"}
CASES: tuple[Case, ...] = tuple(
    dataclasses.replace(case, path=f"{FOLDERS[case.verb]}/{case.path}")
    for case in PREDICT_CASES + LIFT_CASES + BVH_CASES + WEIGHTS_CASES)


def generate(out_dir: Path, verbs: tuple[str, ...] = tuple(_WRITERS)) -> list[Case]:
    """Write the corpus files of ``verbs`` into ``out_dir`` (created).

    Returns:
        The cases of ``verbs``, their paths relative to ``out_dir``.
    """
    out_dir = Path(out_dir)
    for verb in verbs:
        folder = out_dir / FOLDERS[verb]
        folder.mkdir(parents=True, exist_ok=True)
        _WRITERS[verb](folder)
    return cases_for(verbs)


def cases_for(verbs: tuple[str, ...] | str, broken_only: bool = False) -> list[Case]:
    """The cases of ``verbs`` (only those expected to fail, with ``broken_only``)."""
    verbs = (verbs,) if isinstance(verbs, str) else verbs
    return [c for c in CASES if c.verb in verbs and not (broken_only and c.exit_code == 0)]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.reliability.corpus OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    cases = generate(out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    for case in cases:
        print(f"{case.exit_code}  {case.verb:<10}  {case.path:<40}  {case.what}")
    print(f"{len(cases)} cases, {size / 1024:.0f} KiB in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
