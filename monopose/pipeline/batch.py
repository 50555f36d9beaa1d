"""Running the Estimator over many files: collecting inputs, writing outputs, reporting failures.

A broken input is reported and skipped; the rest of the batch goes on. Every output file is
written whole (temp file + rename) or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from monopose.core.world_up import WorldFrame
from monopose.io.images import IMAGE_SUFFIXES, VIDEO_SUFFIXES, read_image
from monopose.io.results import CameraInfo, FrameResult, PersonResult, Prediction
from monopose.io.schema import write_json_atomic, write_npz_atomic
from monopose.io.video import open_video
from monopose.pipeline.estimator import Estimator
from monopose.pipeline.viz import WorldUp, check_world_up, world_frame_of

__all__ = ["collect_inputs", "BatchReport", "InputInfo", "InputWriter", "WriterFactory",
           "run_batch", "prediction_arrays"]


def collect_inputs(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Expand files and folders (recursively) into supported inputs.

    Returns:
        ``(inputs, problems)``: inputs in a stable order, and one message per path that gave none
        (missing path, empty folder, unsupported suffix).
    """
    inputs: list[Path] = []
    problems: list[str] = []
    supported = IMAGE_SUFFIXES + VIDEO_SUFFIXES
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file()
                           and p.suffix.lower() in supported)
            if not found:
                problems.append(f"{path}: the folder holds no image or video "
                                f"({', '.join(supported)})")
            inputs.extend(found)
        elif path.is_file():
            if path.suffix.lower() in supported:
                inputs.append(path)
            else:
                problems.append(f"{path}: unsupported format {path.suffix or '(no suffix)'}; "
                                f"expected one of {', '.join(supported)}")
        else:
            problems.append(f"{path}: no such file or folder")
    return inputs, problems


def prediction_arrays(pred: Prediction) -> dict[str, np.ndarray]:
    """Flatten a prediction into arrays (one row per person per frame) for the NPZ output."""
    rows = [(f.frame_index, p) for f in pred.frames for p in f.people]
    n = len(rows)

    def stack(get: Callable, shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
        return np.stack([get(p) for _, p in rows]).astype(dtype) if n else np.zeros(shape, dtype)

    return {
        "frame_index": np.array([fi for fi, _ in rows], dtype=np.int64),
        "person_id": np.array([-1 if p.person_id is None else p.person_id for _, p in rows],
                              dtype=np.int64),
        "box_xyxy_px": stack(lambda p: p.box_xyxy_px, (0, 4)),
        "keypoints_2d_px": stack(lambda p: p.keypoints_2d_px, (0, 17, 2)),
        "keypoint_scores": stack(lambda p: p.keypoint_scores, (0, 17)),
        "keypoints_valid": stack(lambda p: p.keypoints_valid, (0, 17), bool),
        "pose_3d_rel_mm": stack(lambda p: p.pose_3d_rel_mm, (0, 17, 3)),
        "pose_3d_abs_mm": stack(lambda p: p.pose_3d_abs_mm, (0, 17, 3)),
        "intrinsics": pred.camera.intrinsics.astype(np.float32),
        # how far off the 3D is likely to be (NaN where the model has no error model)
        **{f"error_{key}": stack(lambda p, k=key, s=shape: _error(p, k, s[1:]), shape)
           for key, shape in (("joint_median_mm", (0, 17)), ("joint_p90_mm", (0, 17)),
                              ("root_median_mm", (0,)), ("root_p90_mm", (0,)))},
    }


def _error(person: PersonResult, key: str, shape: tuple[int, ...]) -> np.ndarray:
    """One of ``person``'s error estimates, NaN when it has none."""
    if person.errors is None:
        return np.full(shape, np.nan)
    return np.asarray(person.errors[key], dtype=np.float64)


@dataclass
class BatchReport:
    """What a batch did: files written, inputs that failed, notes, and what was found.

    ``people`` counts people in photos; ``person_frames`` counts people summed over video frames
    (one walker seen in 100 frames is 100), over ``video_frames`` frames.
    """

    written: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    people: int = 0
    person_frames: int = 0
    video_frames: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def add(self, path: Path, pred: Prediction, written: list[Path]) -> None:
        """Count one finished input."""
        self.written.extend(written)
        if pred.kind == "video":
            self.person_frames += pred.num_people
            self.video_frames += len(pred.frames)
        else:
            self.people += pred.num_people
        self.warnings.extend(pred.warnings)
        if pred.num_people == 0:
            self.warnings.append(f"{path}: no person found")

    def summary(self, num_inputs: int, out_dir: Path) -> str:
        """One line for the user: inputs done, what was found, where the outputs are."""
        done = num_inputs - len(self.failed)
        found = [f"{self.people} {'person' if self.people == 1 else 'people'} in photos"]
        if self.video_frames:
            found.append(f"{self.person_frames} person detections over {self.video_frames} "
                         "video frames")
        where = f"outputs in {out_dir}" if self.written else "nothing written"
        return f"{done} of {num_inputs} inputs done; {', '.join(found)}; {where}"


# Outputs of the same name as an input (photo.png -> photo.png) get this added to their stem.
COLLISION_SUFFIX = "_monopose"
OUTPUT_SUFFIXES = (".json", ".npz", ".png", ".mp4", ".html", ".bvh")


def _file_ids(paths: list[Path]) -> set[tuple[int, int]]:
    """``(device, inode)`` of each existing file: one id however the file is named or linked."""
    ids = set()
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        ids.add((st.st_dev, st.st_ino))
    return ids


def _output_stem(path: Path, used: set[str], input_ids: set[tuple[int, int]],
                 out_dir: Path) -> str:
    """A stem for ``path``'s outputs that no other input's outputs use and that names no input."""
    def names_an_input(stem: str) -> bool:
        return bool(_file_ids([out_dir / f"{stem}{ext}" for ext in OUTPUT_SUFFIXES]) & input_ids)

    base = path.stem
    if names_an_input(base):
        base = f"{path.stem}{COLLISION_SUFFIX}"
    stem, k = base, 2
    while stem in used or names_an_input(stem):
        stem, k = f"{base}_{k}", k + 1
    used.add(stem)
    return stem


@dataclass(frozen=True)
class InputInfo:
    """What an :class:`InputWriter` is told about the input it writes for.

    Attributes:
        stem_path: ``<out>/<stem>``: the output path without suffix.
        kind: ``"image"`` or ``"video"``.
        fps: Frames per second of a video; None for a photo.
        camera: The photo's resolved camera (a photo's writers are made after its prediction);
            None for a video (its writers are made before the first frame).
        world: The photo's world frame (the JSON's ``world``); None for a video or camera
            space.
    """

    stem_path: Path
    kind: str
    fps: float | None = None
    camera: CameraInfo | None = None
    world: WorldFrame | None = None


class InputWriter(Protocol):
    """Files written for one input beside its JSON (pictures, viewers, animations).

    It is given every frame as it is read (``add``), then the whole prediction (``finish``,
    which returns the paths written), or ``abort`` when the input failed: nothing is left then.
    """

    def add(self, frame_rgb: np.ndarray, frame: FrameResult) -> None: ...

    def finish(self, prediction: Prediction, warnings: list[str]) -> list[Path]: ...

    def abort(self) -> None: ...


# Makes the writer for one input (None: nothing to write for this kind of input).
WriterFactory = Callable[[InputInfo], InputWriter | None]


@dataclass
class _Options:
    intrinsics: tuple[float, float, float, float] | None
    intrinsics_file: Path | None
    max_frames: int | None
    on_frame_progress: Callable[[Path, int, int | None], None] | None
    world_up: WorldUp


def run_batch(
    estimator: Estimator,
    inputs: list[Path],
    out_dir: Path,
    writers: Sequence[WriterFactory] = (),
    npz: bool = False,
    intrinsics: tuple[float, float, float, float] | None = None,
    intrinsics_file: Path | None = None,
    max_frames: int | None = None,
    on_progress: Callable[[Path], None] | None = None,
    on_frame_progress: Callable[[Path, int, int | None], None] | None = None,
    world_up: WorldUp = "auto",
) -> BatchReport:
    """Predict every input; write ``<stem>.json`` (and ``<stem>.npz`` with ``npz``) to
    ``out_dir``, and whatever ``writers`` make (pictures, viewers, BVH: see
    :func:`monopose.export.outputs.writers_for`). Each input is decoded once: its frames go to
    the estimator and to the writers.

    Args:
        writers: One factory per kind of extra output; each makes an :class:`InputWriter` per
            input.
        npz: Also write the arrays as ``<stem>.npz``.
        on_progress: Called with each input's path when it is done (or failed).
        on_frame_progress: Called as ``(path, frames_done, frames_expected or None)`` after
            each video frame.
        world_up: The world frame written to each JSON's ``world`` (up and floor, from all
            frames): ``"auto"`` estimates it from the people, ``(x, y, z)`` gives up in camera
            coordinates, ``"camera"`` writes none. The poses stay in camera space.

    Outputs never replace an input: an output that would have an input's name gets the stem
    suffix ``_monopose`` (``photo.png`` → ``photo_monopose.png``).
    """
    report = BatchReport()
    used: set[str] = set()
    out_dir = Path(out_dir)
    input_ids = _file_ids(inputs)
    check_world_up(world_up)  # a bad value fails before any work
    options = _Options(intrinsics, intrinsics_file, max_frames, on_frame_progress, world_up)
    for path in inputs:
        stem_path = out_dir / _output_stem(path, used, input_ids, out_dir)
        opened: list[InputWriter] = []
        try:
            if path.suffix.lower() in VIDEO_SUFFIXES:
                pred = _predict_video(estimator, path, stem_path, writers, opened, options)
            else:
                pred = _predict_photo(estimator, path, stem_path, writers, opened, options)
            written = _write_results(pred, stem_path, npz, options.world_up)
            for writer in opened:
                written.extend(writer.finish(pred, report.warnings))
            opened = []
            report.add(path, pred, written)
        except (ValueError, OSError) as exc:
            report.failed.append(str(exc) if str(path) in str(exc) else f"{path}: {exc}")
        finally:
            for writer in opened:
                writer.abort()
        if on_progress is not None:
            on_progress(path)
    return report


def _predict_photo(estimator: Estimator, path: Path, stem_path: Path,
                   writers: Sequence[WriterFactory], opened: list[InputWriter],
                   options: _Options) -> Prediction:
    photo = read_image(path)
    pred = estimator.predict(photo, intrinsics=options.intrinsics,
                             intrinsics_file=options.intrinsics_file, path=path)
    world = world_frame_of(pred.frames, options.world_up)  # once, for the JSON and pictures
    pred.world = None if world is None else world.to_json()
    info = InputInfo(stem_path, "image", None, pred.camera, world)
    opened.extend(w for w in (make(info) for make in writers) if w is not None)
    for writer in opened:
        writer.add(photo, pred.frames[0])
    return pred


def _predict_video(estimator: Estimator, path: Path, stem_path: Path,
                   writers: Sequence[WriterFactory], opened: list[InputWriter],
                   options: _Options) -> Prediction:
    video = open_video(path, max_frames=options.max_frames)
    try:
        expected = video.info.frame_count if video.info.frame_count > 0 else None
        if options.max_frames is not None:
            expected = min(expected or options.max_frames, options.max_frames)
        info = InputInfo(stem_path, "video", video.info.fps)
        opened.extend(w for w in (make(info) for make in writers) if w is not None)

        def on_frame(i: int, rgb: np.ndarray, frame: FrameResult) -> None:
            if options.on_frame_progress is not None:
                options.on_frame_progress(path, i + 1, expected)
            for writer in opened:
                writer.add(rgb, frame)

        return estimator.predict_video(video, intrinsics=options.intrinsics,
                                       intrinsics_file=options.intrinsics_file,
                                       on_frame=on_frame)
    finally:
        video.close()


def _write_results(pred: Prediction, stem_path: Path, npz: bool, world_up: WorldUp
                   ) -> list[Path]:
    if pred.kind == "video":  # a photo's was set with its pictures
        world = world_frame_of(pred.frames, world_up)
        pred.world = None if world is None else world.to_json()
    written = [stem_path.with_suffix(".json")]
    write_json_atomic(written[0], pred.to_json())
    if npz:
        written.append(stem_path.with_suffix(".npz"))
        write_npz_atomic(written[-1], prediction_arrays(pred))
    return written
