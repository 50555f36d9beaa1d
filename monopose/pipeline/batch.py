"""Running the Estimator over many files: collecting inputs, writing outputs, reporting failures.

A broken input is reported and skipped; the rest of the batch goes on. Every output file is
written whole (temp file + rename) or not at all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from monopose.io.images import IMAGE_SUFFIXES, VIDEO_SUFFIXES, read_image
from monopose.io.results import FrameResult, Prediction
from monopose.io.schema import write_json_atomic, write_npz_atomic
from monopose.io.video import VideoInfo, iterate_video
from monopose.pipeline.estimator import Estimator

__all__ = ["collect_inputs", "BatchReport", "run_batch", "prediction_arrays"]


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
    }


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


VIZ_FORMATS = ("png", "html")


def run_batch(
    estimator: Estimator,
    inputs: list[Path],
    out_dir: Path,
    viz: tuple[str, ...] = (),
    npz: bool = False,
    bvh: bool = False,
    intrinsics: tuple[float, float, float, float] | None = None,
    intrinsics_file: Path | None = None,
    max_frames: int | None = None,
    on_progress: Callable[[Path], None] | None = None,
    on_frame_progress: Callable[[Path, int, int | None], None] | None = None,
) -> BatchReport:
    """Predict every input; write ``<stem>.json`` and the extras asked for to ``out_dir``.

    Args:
        viz: Pictures to write: ``"png"`` (a PNG per image, an MP4 per video) and/or ``"html"``
            (a self-contained interactive viewer per input).
        npz: Also write the arrays as ``<stem>.npz``.
        bvh: For videos, also write one BVH animation per tracked person.
        on_progress: Called with each input's path when it is done (or failed).
        on_frame_progress: Called as ``(path, frames_done, frames_expected or None)`` after
            each video frame.

    Outputs never replace an input: an output that would have an input's name gets the stem
    suffix ``_monopose`` (``photo.png`` → ``photo_monopose.png``).
    """
    from monopose.export.bvh_writer import export_prediction_bvh
    from monopose.export.html_viewer import HtmlViewerWriter
    from monopose.pipeline import viz as vizmod

    unknown = set(viz) - set(VIZ_FORMATS)
    if unknown:
        raise ValueError(f"viz: unknown format(s) {sorted(unknown)}; expected {VIZ_FORMATS}")
    report = BatchReport()
    used: set[str] = set()
    out_dir = Path(out_dir)
    input_ids = _file_ids(inputs)
    for path in inputs:
        stem = _output_stem(path, used, input_ids, out_dir)
        mp4 = html = None
        try:
            if path.suffix.lower() in VIDEO_SUFFIXES:
                info = next(iterate_video(path))
                assert isinstance(info, VideoInfo)
                expected = info.frame_count if info.frame_count > 0 else None
                if max_frames is not None:
                    expected = min(expected or max_frames, max_frames)
                if "png" in viz:
                    mp4 = vizmod.VideoWriter(out_dir / f"{stem}.mp4", info.fps)
                if "html" in viz:
                    html = HtmlViewerWriter(out_dir / f"{stem}.html", None, info.fps)

                def on_frame(i: int, rgb: np.ndarray, frame: FrameResult,
                             _mp4: vizmod.VideoWriter | None = mp4,
                             _html: HtmlViewerWriter | None = html, _path: Path = path,
                             _expected: int | None = expected) -> None:
                    if on_frame_progress is not None:
                        on_frame_progress(_path, i + 1, _expected)
                    if _mp4 is not None:
                        _mp4.add_frame(rgb, frame)  # fixed 3D axis ranges per video
                    if _html is not None:
                        _html.add(rgb, frame)

                pred = estimator.predict_video(path, intrinsics=intrinsics,
                                               intrinsics_file=intrinsics_file,
                                               max_frames=max_frames, on_frame=on_frame)
            else:
                pred = estimator.predict(path, intrinsics=intrinsics,
                                         intrinsics_file=intrinsics_file)
            written = [out_dir / f"{stem}.json"]
            write_json_atomic(written[0], pred.to_json())
            if npz:
                write_npz_atomic(out_dir / f"{stem}.npz", prediction_arrays(pred))
                written.append(out_dir / f"{stem}.npz")
            if pred.kind == "image" and viz:
                photo = read_image(path)
                if "png" in viz:
                    vizmod.write_png(out_dir / f"{stem}.png",
                                     vizmod.draw_frame(photo, pred.frames[0]))
                    written.append(out_dir / f"{stem}.png")
                if "html" in viz:
                    html = HtmlViewerWriter(out_dir / f"{stem}.html", pred.camera)
                    html.add(photo, pred.frames[0])
            if mp4 is not None:
                mp4.close()
                mp4 = None
                written.append(out_dir / f"{stem}.mp4")
            if html is not None:
                written.append(html.close(pred))
                html = None
            if bvh and pred.kind == "video" and pred.num_people:
                written.extend(export_prediction_bvh(pred, out_dir / f"{stem}.bvh",
                                                     warnings=report.warnings))
            report.written.extend(written)
            if pred.kind == "video":
                report.person_frames += pred.num_people
                report.video_frames += len(pred.frames)
            else:
                report.people += pred.num_people
            report.warnings.extend(pred.warnings)
            if pred.num_people == 0:
                report.warnings.append(f"{path}: no person found")
        except (ValueError, OSError) as exc:
            report.failed.append(str(exc) if str(path) in str(exc) else f"{path}: {exc}")
        finally:
            if mp4 is not None:
                mp4.abort()
            if html is not None:
                html.abort()
        if on_progress is not None:
            on_progress(path)
    return report
