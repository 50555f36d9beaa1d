"""The Estimator: detector → lifter → absolute reconstruction, for images and videos.

    est = Estimator(model="mpm-lift-t1")
    pred = est.predict("photo.jpg")                # Prediction with one FrameResult
    pred = est.predict_video("walk.mp4")           # tracked people, stable person ids

Everything the CLI does goes through this class.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from monopose.capf.features import KEYPOINT_SCORE_THRESHOLD as RENDER_TRAINED_SCORE_THRESHOLD
from monopose.core.placement import check_placement
from monopose.detect.blazepose import BlazePoseDetector
from monopose.detect.crop_tta import MAX_LANDMARK_CROPS
from monopose.detect.heavy import NOT_FETCHED_NOTE, resolve_landmark_model
from monopose.detect.keypoint_map import h36m_scores_from_blazepose
from monopose.detect.tracking import PoseTracker, memory_frames_for
from monopose.detect.types import PersonDetection
from monopose.io.images import read_image
from monopose.io.intrinsics import DEFAULT_FOV_DEG, resolve_intrinsics
from monopose.io.results import CameraInfo, FrameResult, PersonResult, Prediction
from monopose.io.video import VideoFrames, open_video
from monopose.lifting.floor_gate import FloorGatedLifter
from monopose.lifting.lifter import BODY_SIZE_SOURCES, Lifter
from monopose.models.card import RENDERED_PEOPLE
from monopose.models.interface import FramePeople, PeoplePoses, PoseModel
from monopose.pipeline.model_loading import ModelLoader, ModelOptions
from monopose.pipeline.photo_search import (
    PHOTO_LANDMARK_CROPS,
    find_photo_people,
    photo_landmark_crops,
)
from monopose.pipeline.track_lifting import LiftedFrame, TrackLifting
from monopose.pipeline.working_size import shrink, to_full_resolution, working_scale

__all__ = ["Estimator", "DEFAULT_MODEL", "DEFAULT_VIDEO_MODEL", "LIFTER_SCORE_THRESHOLD",
           "BODY_SIZE_SOURCES"]

DEFAULT_MODEL = "mpm-lift-t1"
# Videos: the temporal lifter beats single frames on held-out mocap and rendered video, at a
# cost near a single frame's when lifted as tracks (BENCHMARKS.md, "Video, continued").
DEFAULT_VIDEO_MODEL = "mpm-lift-t27"
# Keypoint models get every joint BlazePose places in the picture (present), however occluded:
# its guesses of hidden joints beat the lifter's own completion on held-out renders and on the
# real photos (BENCHMARKS.md, "Occluded joints"). Models trained on the detector's own outputs
# (CA-PF and its control) keep the rule they were trained with,
# ``monopose.capf.features.KEYPOINT_SCORE_THRESHOLD``.
LIFTER_SCORE_THRESHOLD = 0.0
# --tta: crops per person, MeTRAbs' own or the landmark look's (more adds cost, not accuracy)
MAX_TTA = MAX_LANDMARK_CROPS
# Lifters need a few joints to place a person: the best-scoring ones are kept if fewer pass.
MIN_LIFTER_JOINTS = 6


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Run a handful of people on one torch thread (where a model runs in PyTorch at all: the
    ONNX twins run on one thread of their own).

    A few poses gain nothing from a second thread, and torch's waiting threads compete with the
    detector's (LiteRT) threads: measured 100–300× slower at batch 1 on a busy 2-core machine.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class Estimator:
    """Photos and videos of people → 2D keypoints, root-relative and absolute metric 3D.

    The model is any :class:`~monopose.models.interface.PoseModel`
    (:func:`monopose.zoo.load_pose_model`): the estimator detects and tracks people, hands each
    frame's people to the model; temporal models lift each track's windows as its frames arrive
    (:class:`~monopose.pipeline.track_lifting.TrackLifting`).

    Args:
        model: Registered model name (see ``monopose models``); None: ``DEFAULT_MODEL`` for
            photos and ``DEFAULT_VIDEO_MODEL`` (a temporal lifter) for videos.
        flip_test: Lifters: average with the mirrored input (slower, more accurate). None: yes,
            except temporal lifters on videos, whose windows already average over time (the
            flip test there doubles the cost for 0.5 mm, BENCHMARKS.md).
        num_threads: Threads for the detector and torch; None keeps the libraries' defaults.
        keypoint_score_threshold: Keypoints whose score (visibility × presence) is below this are
            passed to the model as missing. None: the model's own rule (keypoint lifters
            ``LIFTER_SCORE_THRESHOLD``: every present keypoint; models trained on the
            detector's outputs, such as CA-PF, the threshold they were trained with).
        tiles: How photos are searched for small people (:mod:`monopose.pipeline.photo_search`):
            ``"fallback"`` (default) runs the detector on the whole image and, only when it
            finds nobody or only small people, again on overlapping tiles; ``"always"`` tiles
            every photo (finds small people next to large ones; slower); ``"off"`` never tiles.
            Videos always use the tracker's periodic tiled search.
        turned_passes: Photos searched turned by quarter turns for people the detector misses
            upright (bent over, lying, tilted; :mod:`monopose.detect.turned_passes`):
            ``"fallback"`` (default) when nobody was found, ``"always"`` (adds people missed
            next to others; slower), ``"off"``. Videos: the tiled search, while nobody is tracked.
        num_aug: Test-time augmentation per person (1..8, ``--tta``): keypoint models average
            the landmark network's final look over that many slightly scaled and shifted crops
            (:mod:`monopose.detect.crop_tta`; photos, and videos that take the final look,
            ``landmark_model="heavy"``); MeTRAbs averages its own shifted, scaled, rolled and
            mirrored crops. None: ``photo_search.PHOTO_LANDMARK_CROPS`` for keypoint models
            on photos with BlazePose Heavy, one crop everywhere else.
        body_size: Lifters only: where each person's metric size comes from:
            ``"world_landmarks"`` (default: rescaled to the size of the detector's metric 3D,
            see :mod:`monopose.core.body_size`; chosen by real-photo root error, BENCHMARKS.md)
            or ``"lifter"`` (the lifter's output as is). Temporal lifters of videos give each
            person one size along the track (the median of its frames so far).
        keypoint_map: How the detector makes h36m17 keypoints from BlazePose's 33:
            ``"learned"`` (fitted on rendered people) or ``"fixed"`` (hand-written midpoints).
        causal: Temporal lifters: lift each video frame from that frame and earlier ones only
            (a window ending at it, as a live stream must) instead of centred windows.
        track_stride: Temporal lifters on videos: frames between a track's windows (each frame
            takes the nearest window's output; a frame costs ``1 / track_stride`` of a window).
            None: half the window.
        placement: Lifters: how each person is placed in the camera: ``"ray_fit"`` (default:
            the lifted pose and its root fitted together to the 2D rays, which moves the pose
            too; chosen on rendered people, BENCHMARKS.md) or ``"solve"`` (the pose as lifted,
            the root by least squares); see :mod:`monopose.core.placement`.
        video_placement: Temporal lifters on videos: how each frame's people are placed.
            Default ``"solve"``: the ray fit follows each frame's 2D noise and makes the motion
            10 % less smooth for 0.1 mm of P-MPJPE (BENCHMARKS.md).
        landmark_model: Photos: the landmark network that gives each person's keypoints:
            ``"full"`` (the one that finds people), ``"heavy"`` (BlazePose GHUM Heavy's final
            look, :mod:`monopose.detect.heavy`; ``monopose fetch-models`` fetches it) or
            ``"auto"`` (default: heavy where fetched, else full, said in each photo's
            warnings; models trained on the detector's outputs of rendered people, such as
            CA-PF and MeTRAbs, keep the full network they were trained with). Videos track
            with the full network; asked for by name, ``"heavy"`` also gives every tracked
            person the heavy network's keypoints (2.5× the time per frame, BENCHMARKS.md).
        floor_lifter: Photos with ``mpm-lift-t1``: the people it lifts as sitting or kneeling
            on the floor are lifted again by ``mpm-lift-t1-floorsit``
            (:mod:`monopose.lifting.floor_gate`; off by default, BENCHMARKS.md, "People on the
            floor"). Videos are not.
        pose_model: Use this model for photos and videos instead of loading ``model``
            (``model`` then only names it).
        detector: Use this detector instead of a new ``BlazePoseDetector``.
    """

    def __init__(
        self,
        model: str | None = None,
        flip_test: bool | None = None,
        num_threads: int | None = None,
        keypoint_score_threshold: float | None = None,
        tiles: str = "fallback",
        turned_passes: str = "fallback",
        num_aug: int | None = None,
        body_size: str = "world_landmarks",
        keypoint_map: str = "learned",
        causal: bool = False,
        track_stride: int | None = None,
        placement: str = "ray_fit",
        video_placement: str = "solve",
        landmark_model: str = "auto",
        floor_lifter: bool = False,
        *,
        pose_model: PoseModel | None = None,
        detector: BlazePoseDetector | None = None,
    ) -> None:
        self._models = ModelLoader(ModelOptions(flip_test, body_size, num_aug or 1, causal,
                                                placement, num_threads, floor_lifter))
        if body_size not in BODY_SIZE_SOURCES:
            raise ValueError(f"body_size: expected one of {BODY_SIZE_SOURCES}, got {body_size!r}")
        check_placement(placement)
        self.video_placement = check_placement(video_placement, "video_placement")
        if num_aug is not None and not 1 <= num_aug <= MAX_TTA:
            raise ValueError(f"num_aug (--tta): expected 1 to {MAX_TTA} crops, got {num_aug}")
        for name, value in (("tiles", tiles), ("turned_passes", turned_passes)):
            if value not in ("fallback", "always", "off"):
                raise ValueError(f"{name}: expected 'fallback', 'always' or 'off', "
                                 f"got {value!r}")
        self.model_name = model or DEFAULT_MODEL
        self._video_model_name = model or (DEFAULT_MODEL if pose_model is not None
                                           else DEFAULT_VIDEO_MODEL)
        self.causal = causal
        self.track_stride = track_stride
        # Models trained on the detector's outputs of rendered people keep the network they
        # were trained with: heavy keypoints make them worse (BENCHMARKS.md, "BlazePose Heavy").
        card = self._models.card(self.model_name) if pose_model is None else pose_model.card
        own_full = card is not None and card.trained_on == RENDERED_PEOPLE
        chosen = resolve_landmark_model("full" if own_full and landmark_model == "auto"
                                        else landmark_model)
        # said in every photo's warnings: the user asked for the default and got less
        self._landmark_note = (NOT_FETCHED_NOTE if detector is None and landmark_model == "auto"
                               and not own_full and chosen == "full" else None)
        # MeTRAbs augments its own crops; keypoint models, the landmark network's final look
        keypoints = card is None or card.architecture != "metrabs"
        self.video_crops = num_aug if keypoints and num_aug is not None else 1
        self.detector = detector if detector is not None else BlazePoseDetector(
            num_threads=num_threads or 2, keypoint_map=keypoint_map, landmark_model=chosen,
            landmark_crops=photo_landmark_crops(num_aug, keypoints, chosen))
        # videos take the final look only when asked for by name (`auto` tracks with full)
        detector_heavy = getattr(self.detector, "landmark_model", "full") == "heavy"
        self.video_final_look = detector_heavy and landmark_model == "heavy"

        self.model: PoseModel = (pose_model if pose_model is not None
                                 else self._models.load(self.model_name, self.detector))
        self._videos: PoseModel | None = None
        if pose_model is not None or (self._video_model_name == self.model_name
                                      and self.model.window == 1
                                      and not isinstance(self.model, FloorGatedLifter)
                                      and getattr(self.model, "error_model", None) is None):
            self._videos = self.model  # else loaded for videos: no floor gate, no error model
        self.keypoint_score_threshold = keypoint_score_threshold
        self.tiles = tiles
        self.turned_passes = turned_passes

    @property
    def video_model(self) -> PoseModel:
        """The model for videos (``model``, else ``DEFAULT_VIDEO_MODEL``), loaded on first use."""
        if self._videos is None:
            self._videos = self._models.load(self._video_model_name, self.detector,
                                             videos=True)
        return self._videos

    # ------------------------------------------------------------------ images
    def predict(
        self,
        image: str | Path | np.ndarray,
        intrinsics: tuple[float, float, float, float] | None = None,
        intrinsics_file: str | Path | None = None,
        fov_deg: float = DEFAULT_FOV_DEG,
        *,
        path: str | Path | None = None,
    ) -> Prediction:
        """Find every person in one image and estimate their 3D poses.

        Args:
            image: A path or an ``[H, W, 3]`` uint8 RGB array (grayscale/RGBA are converted).
            intrinsics: ``(fx, fy, cx, cy)`` in pixels; else ``intrinsics_file``; else the image's
                EXIF focal length; else a ``fov_deg`` field of view on the longer side.
            path: With an already decoded ``image``: the file it came from, used for the EXIF
                intrinsics and ``input_path`` exactly as if the path had been passed (so a file is
                decoded once).

        Returns:
            A :class:`Prediction` with one frame; ``camera.source`` says which intrinsics were used.
        """
        if isinstance(image, np.ndarray):
            source = None if path is None else Path(path)
        else:
            source = Path(image)
        rgb = read_image(image)
        h, w = rgb.shape[:2]
        camera = resolve_intrinsics(w, h, intrinsics, None if intrinsics_file is None
                                    else Path(intrinsics_file), source, fov_deg)
        scale = working_scale(w, h)
        small, small_camera = shrink(rgb, camera, scale)
        detections = self._detect_photo(small)
        warnings: list[str] = []
        people = to_full_resolution(self._estimate_people(
            self.model, detections, small_camera, small, warnings), scale)
        if not self._errors_fitted_for_photos():
            for person in people:
                person.errors = None
        frame = FrameResult(frame_index=0, time_s=None, people=people)
        if self._landmark_note is not None:
            warnings.append(self._landmark_note)
        return Prediction(input_path=str(source) if source else "<array>", kind="image",
                          model=self.model_name, camera=camera, frames=[frame],
                          warnings=warnings,
                          landmarks=getattr(self.detector, "landmark_model", None),
                          landmark_crops=getattr(self.detector, "landmark_crops", None))

    # ------------------------------------------------------------------ videos
    def predict_video(
        self,
        video: str | Path | VideoFrames,
        intrinsics: tuple[float, float, float, float] | None = None,
        intrinsics_file: str | Path | None = None,
        fov_deg: float = DEFAULT_FOV_DEG,
        max_frames: int | None = None,
        on_frame: Callable[[int, np.ndarray, FrameResult], None] | None = None,
    ) -> Prediction:
        """Track every person through a video and estimate their 3D poses.

        Temporal lifters (window T > 1) lift each person's track window by window as the frames
        arrive (:class:`~monopose.pipeline.track_lifting.TrackLifting`: a frame is final half a
        window plus the stride later); single-frame lifters lift frame by frame. Person ids are
        stable across frames. A video that ends early or has unreadable frames keeps the frames
        read so far and says so in ``warnings``.

        Args:
            video: A path, or a video already opened with :func:`monopose.io.video.open_video`
                (its frames are read here, once; the caller closes it).
            max_frames: Read at most this many frames (also caps an opened video).
            on_frame: Called as ``on_frame(index, frame_rgb, frame_result)`` for each frame, in
                order, once its 3D is final (used for progress and pictures; with a temporal
                lifter a few frames after it was read).
        """
        if max_frames is not None and max_frames < 1:
            raise ValueError(f"max_frames: expected at least 1 frame, got {max_frames}")
        if isinstance(video, VideoFrames):
            return self._predict_frames(video, intrinsics, intrinsics_file, fov_deg, max_frames,
                                        on_frame)
        opened = open_video(Path(video), max_frames=max_frames)
        try:
            return self._predict_frames(opened, intrinsics, intrinsics_file, fov_deg, None,
                                        on_frame)
        finally:
            opened.close()

    def _predict_frames(
        self, video: VideoFrames, intrinsics: tuple[float, float, float, float] | None,
        intrinsics_file: str | Path | None, fov_deg: float, max_frames: int | None,
        on_frame: Callable[[int, np.ndarray, FrameResult], None] | None,
    ) -> Prediction:
        fps, w, h = video.info.fps, video.info.width, video.info.height
        camera = resolve_intrinsics(w, h, intrinsics, None if intrinsics_file is None
                                    else Path(intrinsics_file), None, fov_deg)
        model = self.video_model
        tracker = PoseTracker(self.detector, with_features=model.needs == "features",
                              memory_frames=memory_frames_for(fps),
                              final_look=self.video_final_look,
                              final_look_crops=self.video_crops)
        # Temporal lifters lift each track's windows as its frames arrive (frames come out a few
        # frames late, with their final 3D); single-frame models lift each frame as it comes.
        tracks = None
        if model.window > 1:
            # half a window: 51.1 mm on held-out mocap vs 50.8 at a third, at 78 % of its cost
            stride = None if self.causal else self.track_stride or max(1, model.window // 2)
            # a body's size from the detector's world landmarks, as in photos, one per track
            size = model.size_factors if isinstance(model, Lifter) else None
            tracks = TrackLifting(model, stride=stride, causal=self.causal, size_factors=size,
                                  placement=self.video_placement)
        scale = working_scale(w, h)
        frames: list[FrameResult] = []
        warnings: list[str] = []

        def emit(index: int, rgb: np.ndarray, people: list[PersonResult]) -> None:
            frame = FrameResult(frame_index=index, time_s=index / fps if fps else None,
                                people=to_full_resolution(people, scale))
            frames.append(frame)
            if on_frame is not None:
                on_frame(index, rgb, frame)

        def emit_lifted(done: list[LiftedFrame]) -> None:
            for lifted in done:
                people = self._person_results(lifted.people.detections, lifted.poses)
                warnings.extend(self._drop_nonfinite(people, f"frame {lifted.index}: "))
                assert lifted.image_rgb is not None
                emit(lifted.index, lifted.image_rgb, people)

        read = 0
        for item in video:
            if isinstance(item, str):
                warnings.append(item)
                break
            if max_frames is not None and read >= max_frames:
                break
            read += 1
            index, rgb = item
            small, small_camera = shrink(rgb, camera, scale)
            detections = tracker.update(small)
            if tracks is None:
                people = self._estimate_people(model, detections, small_camera, small, warnings,
                                               f"frame {index}: ")
                for person in people:  # fitted on photos' keypoints, not the tracker's
                    person.errors = None
                emit(index, rgb, people)
            else:
                with _one_torch_thread():
                    emit_lifted(tracks.push(index, rgb, self.frame_people(
                        detections, small_camera, small, model)))
        if tracks is not None:
            with _one_torch_thread():
                emit_lifted(tracks.finish())
        if not frames:
            raise ValueError(f"{video.path}: no frame could be read (an empty or undecodable "
                             "video)")
        return Prediction(input_path=str(video.path), kind="video", model=self._video_model_name,
                          landmarks="heavy" if self.video_final_look else "full",
                          landmark_crops=self.video_crops if self.video_final_look else 1,
                          camera=camera, frames=frames, fps=fps, warnings=warnings)

    # ------------------------------------------------------------------ internals
    def _errors_fitted_for_photos(self) -> bool:
        """Error models are fitted on the photo default's keypoints (BlazePose Heavy through
        ``PHOTO_LANDMARK_CROPS`` crops): with other keypoints their estimates would be off."""
        return (getattr(self.detector, "landmark_model", None) == "heavy"
                and getattr(self.detector, "landmark_crops", None) == PHOTO_LANDMARK_CROPS)

    def _detect_photo(self, rgb: np.ndarray) -> list[PersonDetection]:
        return find_photo_people(self.detector, rgb, self.model.needs == "features", self.tiles,
                                 self.turned_passes)

    def _estimate_people(self, model: PoseModel, detections: list, camera: CameraInfo,
                         rgb: np.ndarray, warnings: list[str], prefix: str = ""
                         ) -> list[PersonResult]:
        """People with their 3D from ``model``; anything not finite is marked unknown, with a
        warning (``prefix`` + the reason) added to ``warnings``."""
        if not detections:
            return []
        with _one_torch_thread():
            poses = model.predict(self.frame_people(detections, camera, rgb, model))
        warnings += [prefix + m for m in poses.warnings]
        people = self._person_results(detections, poses)
        warnings += self._drop_nonfinite(people, prefix)
        return people

    @staticmethod
    def _drop_nonfinite(people: list[PersonResult], prefix: str) -> list[str]:
        warnings = []
        for k, person in enumerate(people):
            why = person.drop_nonfinite()
            if why is not None:
                name = f"person {k}" if person.person_id is None else \
                    f"person {person.person_id}"
                warnings.append(f"{prefix}{name}: {why}; root_method set to failed")
        return warnings

    def score_threshold(self, model: PoseModel) -> float:
        """Keypoints scoring below this are missing for ``model``: ``keypoint_score_threshold``
        when given, else the model's own rule (see ``LIFTER_SCORE_THRESHOLD``)."""
        if self.keypoint_score_threshold is not None:
            return self.keypoint_score_threshold
        if model.card is not None and model.card.trained_on == RENDERED_PEOPLE:
            return RENDER_TRAINED_SCORE_THRESHOLD
        return LIFTER_SCORE_THRESHOLD

    def frame_people(self, detections: Sequence[PersonDetection], camera: CameraInfo,
                     rgb: np.ndarray, model: PoseModel) -> FramePeople:
        """``model``'s input for one frame: H36M-17 keypoints, their scores, and the joints it
        may use (present, scoring ≥ :meth:`score_threshold`; the best ``MIN_LIFTER_JOINTS``
        when fewer pass)."""
        if detections:
            kp = np.stack([d.keypoints_h36m_px for d in detections])  # [N, 17, 2]
            scores = h36m_scores_from_blazepose(np.stack([d.keypoint_score for d in detections]))
            valid = np.stack([d.valid_h36m for d in detections]) & (
                scores >= self.score_threshold(model))
        else:
            kp, scores, valid = np.zeros((0, 17, 2)), np.zeros((0, 17)), np.zeros((0, 17), bool)
        for i in range(len(detections)):
            if valid[i].sum() < MIN_LIFTER_JOINTS:
                valid[i] = np.argsort(-scores[i]).argsort() < MIN_LIFTER_JOINTS
        return FramePeople(rgb, detections, np.asarray(camera.intrinsics, dtype=np.float64),
                           (camera.width, camera.height), kp, scores, valid)

    @staticmethod
    def _person_results(detections: Sequence[PersonDetection], poses: PeoplePoses
                        ) -> list[PersonResult]:
        out = []
        for k, i in enumerate(poses.detection_index):
            det = detections[int(i)]
            out.append(PersonResult(
                box_xyxy_px=np.asarray(det.box_xyxy_px, dtype=np.float64),
                score=float(det.presence_score if np.isnan(det.detection_score)
                            else det.detection_score),
                keypoints_2d_px=poses.keypoints_2d_px[k],
                keypoint_scores=poses.keypoint_scores[k],
                keypoints_valid=poses.keypoints_valid[k], pose_3d_rel_mm=poses.pose_3d_rel_mm[k],
                pose_3d_abs_mm=poses.pose_3d_abs_mm[k], root_method=poses.root_method[k],
                person_id=det.track_id,
                errors=None if poses.errors is None else poses.errors.person(k)))
        return out

