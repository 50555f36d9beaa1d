"""MeTRAbs inference: boxes of people in a photo → 2D, root-relative and absolute metric 3D.

For every box (from the detector, or given by the user) and every test-time augmentation (TTA)
the photo is warped into a crop camera (:mod:`monopose.metrabs.crop`), the frozen landmark
network computes the crop's feature maps (and its own person-presence probability), and the
MeTRAbs head predicts 2D (crop px) and root-relative 3D (crop camera, mm). Each augmentation is
mapped back to the photo's camera (un-flip, un-roll, homography back to pixels), then averaged:
root-relative 3D over all augmentations, 2D per joint over the augmentations that saw it inside
the crop. The absolute pose comes from the foundation's root solve
(:func:`monopose.core.geometry.reconstruct_absolute`) over the in-view joints whose 2D agrees
with the metric 3D (:func:`_consistent_solve`: the 2D head cannot point outside the crop, so a
cut-off joint's 2D lands somewhere inside it and must be recognised as such); in-view joints are
back-projected from their 2D at the solved depth and blended 50/50 with ``root + relative``
(MeTRAbs' ``mix_3d_inside_fov``), truncated joints take ``root + relative``.

:class:`MetrabsEstimator` is the MeTRAbs :class:`~monopose.models.interface.PoseModel`: it
reads the image, framing each detected person by the detector's keypoints.

Failures are reported, not hidden: a crop where the network sees nobody is dropped (its reason is
returned); too few in-view joints for the perspective solve fall back to weak perspective, and
with fewer than two to a box prior (the person's predicted size against the box's); implausible
skeletons and duplicates of one person are suppressed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from monopose.core.camera import intrinsics_from_fov, pixels_to_normalized, project_points
from monopose.core.geometry import place_in_camera
from monopose.core.skeleton import get_layout
from monopose.detect.blazepose import BlazePoseDetector
from monopose.metrabs import cards
from monopose.metrabs.augment import FLIP_PERMUTATION
from monopose.metrabs.crop import CROP_SIZE_PX, box_crop_camera, joints_box
from monopose.metrabs.model import LEVEL_NAMES
from monopose.models.card import ModelCard
from monopose.models.interface import FramePeople, ModelInputs, PeoplePoses
from monopose.models.registry import load_model, register_family

__all__ = ["TTA_AUGMENTATIONS", "MetrabsPerson", "MetrabsEstimator", "REFERENCE_BONES_MM",
           "implausible_reason", "suppress_duplicates", "box_from_keypoints"]

_PARENTS = np.asarray(get_layout("h36m17").parents)
# Median bone lengths (mm, h36m17 order from joint 1) of the rendered training people.
REFERENCE_BONES_MM = np.array([113, 430, 455, 113, 430, 455, 238, 238, 214, 149, 185, 277, 247,
                               185, 277, 247], dtype=np.float64)
# (padding scale, roll in degrees, flip): the first n are used for n augmentations.
TTA_AUGMENTATIONS: tuple[tuple[float, float, bool], ...] = (
    (1.0, 0.0, False), (1.0, 0.0, True), (0.9, 10.0, False), (1.1, -10.0, True),
    (1.1, 10.0, False), (0.9, -10.0, True), (1.0, 20.0, False), (1.0, -20.0, True),
)
IN_CROP_MARGIN_PX = 8.0


@dataclass
class MetrabsPerson:
    """One person. Arrays are h36m17; 3D in the photo's camera (x right, y down, z forward).

    Attributes:
        box_xyxy_px: ``[4]`` the box the crops framed.
        keypoints_2d_px: ``[17, 2]`` photo pixels (the 2D head's average for in-view joints, the
            absolute pose's projection for the others).
        in_view: ``[17]`` joint seen inside the crop (and the photo) by at least half the
            augmentations.
        view_fraction: ``[17]`` share of augmentations that saw the joint.
        pose_3d_rel_mm: ``[17, 3]`` root-relative 3D (pelvis at 0).
        pose_3d_abs_mm: ``[17, 3]`` absolute 3D (NaN only if every placement failed).
        root_method: ``"perspective"``, ``"weak_perspective"`` or ``"box_prior"``.
        presence: The landmark network's person probability on the plain crop.
        notes: What fell back or looked odd, for the output's warnings.
        box_index: Index of the box in the call's ``boxes_xyxy_px``.
    """

    box_xyxy_px: np.ndarray
    keypoints_2d_px: np.ndarray
    in_view: np.ndarray
    view_fraction: np.ndarray
    pose_3d_rel_mm: np.ndarray
    pose_3d_abs_mm: np.ndarray
    root_method: str
    presence: float
    notes: list[str] = field(default_factory=list)
    box_index: int = -1


def box_from_keypoints(kp_px: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The crop box for a detected person: the box of the valid keypoints grown by 10 %, the
    framing the model was trained with (ground-truth joints + 10 %)."""
    return joints_box(kp_px, valid, margin=0.1)


def implausible_reason(rel_mm: np.ndarray) -> str | None:
    """Why a root-relative pose ``[17, 3]`` is not a human skeleton, or None if it is one.

    Rules (loose: children and odd predictions pass): total bone length within
    0.45–1.6 × the reference skeleton's; no bone longer than 3× its reference length.
    """
    bones = np.linalg.norm(rel_mm[1:] - rel_mm[_PARENTS[1:]], axis=-1)
    if not np.isfinite(bones).all():
        return "non-finite joints"
    ratio = bones.sum() / REFERENCE_BONES_MM.sum()
    if not 0.45 <= ratio <= 1.6:
        return f"skeleton size {ratio:.2f}× the reference"
    worst = int(np.argmax(bones / REFERENCE_BONES_MM))
    if bones[worst] > 3 * REFERENCE_BONES_MM[worst]:
        return f"bone {worst + 1} is {bones[worst]:.0f} mm"
    return None


def suppress_duplicates(people: list[MetrabsPerson], min_distance_fraction: float = 0.25
                        ) -> tuple[list[MetrabsPerson], int]:
    """Drop people whose absolute poses nearly coincide with a more present one (pose NMS).

    Two poses are one person when their mean joint distance is below ``min_distance_fraction`` of
    the reference skeleton's height span (~1.7 m → ~430 mm).
    """
    order = sorted(range(len(people)), key=lambda i: -people[i].presence)
    kept: list[int] = []
    limit = min_distance_fraction * 1700.0
    for i in order:
        a = people[i].pose_3d_abs_mm
        if any(np.nanmean(np.linalg.norm(a - people[k].pose_3d_abs_mm, axis=-1)) < limit
               for k in kept):
            continue
        kept.append(i)
    kept.sort()
    return [people[i] for i in kept], len(people) - len(kept)


class MetrabsEstimator:
    """A trained MeTRAbs model and the frozen BlazePose network, ready for photos.

    Args:
        model: A :class:`monopose.metrabs.model.MetrabsNet` with the ``blazepose`` backbone, or a
            registered name (default ``"metrabs-blazepose"``).
        detector: A :class:`monopose.detect.blazepose.BlazePoseDetector` to share (its landmark
            network computes the crops' features); one is made if None.
        num_aug: Test-time augmentations per person (1 = the plain crop; up to 8).
        min_presence: Crops whose presence probability (the landmark network's own) is below
            this hold nobody and are dropped. That probability is also low on crops that cut the
            body (median 0.78 with 20 % of the body box cut off, 0.03 with 40 %, on held-out
            renders), so pass 0 for boxes known to hold a person, as the Estimator does for
            the detector's people.
    """

    def __init__(self, model: torch.nn.Module | str = "metrabs-blazepose",
                 detector: BlazePoseDetector | None = None, num_aug: int = 1,
                 min_presence: float = 0.2, card: ModelCard | None = None) -> None:
        if isinstance(model, str):
            # MeTRAbs' own cards, so that it loads by name without the model zoo.
            register_family(cards.ARCHITECTURES, cards.CARDS)
            model, card = load_model(model)
        if getattr(model, "backbone_name", None) != "blazepose":
            raise ValueError("model: expected a MetrabsNet with the 'blazepose' backbone")
        if getattr(model, "head_name", None) != "metro":
            raise ValueError("model: expected a MetrabsNet with the 'metro' head")
        if not 1 <= int(num_aug) <= len(TTA_AUGMENTATIONS):
            raise ValueError(f"num_aug: expected 1..{len(TTA_AUGMENTATIONS)}, got {num_aug}")
        self.model = model.eval()
        self.card = card
        self._detector = detector
        self.num_aug = int(num_aug)
        self.min_presence = float(min_presence)

    @property
    def detector(self) -> BlazePoseDetector:
        """The landmark network that computes the crops' features (made on first use)."""
        if self._detector is None:
            self._detector = BlazePoseDetector(num_threads=2)
        return self._detector

    # ------------------------------------------------------------------ PoseModel interface
    @property
    def module(self) -> torch.nn.Module:
        return self.model

    @property
    def window(self) -> int:
        return 1

    @property
    def needs(self) -> ModelInputs:
        """MeTRAbs reads the image; the detector only supplies the boxes."""
        return "image"

    def predict(self, frame: FramePeople) -> PeoplePoses:
        """MeTRAbs on the detections' boxes (:func:`box_from_keypoints`): its own 2D (scores:
        the share of augmentations that saw each joint), metric 3D and placement. Dropped or
        suppressed boxes are missing from the result and named in its warnings."""
        if frame.image_rgb is None:
            raise ValueError("frame: MeTRAbs reads the image; image_rgb is None")
        if not len(frame.detections):
            return PeoplePoses.empty()
        boxes = np.stack([box_from_keypoints(d.keypoints_h36m_px, d.valid_h36m)
                          for d in frame.detections])
        people, warnings = self.predict_boxes(frame.image_rgb, boxes, frame.intrinsics)
        if not people:
            return PeoplePoses(**{**vars(PeoplePoses.empty()), "warnings": warnings})
        return PeoplePoses(
            np.array([p.box_index for p in people]),
            np.stack([p.keypoints_2d_px for p in people]),
            np.stack([p.view_fraction for p in people]), np.stack([p.in_view for p in people]),
            np.stack([p.pose_3d_rel_mm for p in people]),
            np.stack([p.pose_3d_abs_mm for p in people]), [p.root_method for p in people],
            warnings)

    def lift(self, keypoints_2d_px: np.ndarray, valid: np.ndarray | None = None, *,
             intrinsics: np.ndarray | None = None, scores: np.ndarray | None = None
             ) -> np.ndarray:
        """Refused: MeTRAbs reads photos, not 2D keypoints."""
        name = self.card.name if self.card is not None else "metrabs"
        raise ValueError(f"model: {name!r} is an image model (MeTRAbs): it reads photos, not 2D "
                         f"keypoints; use it with `monopose predict --model {name}`")

    def lift_sequence(self, track_px: np.ndarray, valid: np.ndarray | None = None, *,
                      intrinsics: np.ndarray | None = None) -> np.ndarray:
        """Refused: MeTRAbs reads photos, not 2D tracks."""
        return self.lift(track_px, valid, intrinsics=intrinsics)

    # ------------------------------------------------------------------ crops → network
    def _run_crops(self, image: np.ndarray, intrinsics: np.ndarray, box: np.ndarray
                   ) -> tuple[list, np.ndarray, np.ndarray, float]:
        """Every augmentation of one box: cameras, 2D crop px [A,17,2], rel 3D [A,17,3]."""
        cams: list = []
        levels: list[list[np.ndarray]] = [[], [], []]
        flips: list[bool] = []
        presence = float("nan")
        for a, (scale, roll_deg, flip) in enumerate(TTA_AUGMENTATIONS[:self.num_aug]):
            cam = box_crop_camera(intrinsics, box, CROP_SIZE_PX, 1.1 * scale,
                                  float(np.deg2rad(roll_deg)))
            crop = cam.warp(image)
            if flip:
                crop = np.ascontiguousarray(crop[:, ::-1])
            p, maps = self.detector.crop_features(crop, LEVEL_NAMES)
            if a == 0:
                presence = p
            for k, name in enumerate(LEVEL_NAMES):
                levels[k].append(maps[name])
            cams.append(cam)
            flips.append(flip)
        inputs = [torch.from_numpy(np.stack(lv)).permute(0, 3, 1, 2).contiguous()
                  for lv in levels]
        with torch.inference_mode():
            out = self.model(*inputs)
        kp = out.coords2d_px.double().numpy()
        rel = out.coords3d_rel_mm.double().numpy()
        s = CROP_SIZE_PX
        for a, flip in enumerate(flips):
            if flip:  # un-mirror: x about the crop centre, left/right swapped
                kp[a] = kp[a][FLIP_PERMUTATION] * np.array([-1.0, 1.0]) + np.array([s - 1.0, 0])
                rel[a] = rel[a][FLIP_PERMUTATION] * np.array([-1.0, 1.0, 1.0])
        return cams, kp, rel, presence

    def predict_boxes(self, image: np.ndarray, boxes_xyxy_px: np.ndarray,
                      intrinsics: np.ndarray | tuple | None = None,
                      dist: np.ndarray | None = None,
                      suppress: bool = True) -> tuple[list[MetrabsPerson], list[str]]:
        """3D poses of the people in ``boxes`` of an RGB photo.

        Args:
            image: ``[H, W, 3]`` uint8 RGB.
            boxes_xyxy_px: ``[N, 4]`` person boxes (x0, y0, x1, y1).
            intrinsics: ``(fx, fy, cx, cy)`` of the photo; None: a centred camera with a 55°
                field of view on the longer side (MeTRAbs' default for unknown cameras).
            dist: Optional distortion (k1, k2, k3, p1, p2), used by the root solve.
            suppress: Drop implausible skeletons and duplicate people.

        Returns:
            ``(people, warnings)``: one entry per kept box, and one message per dropped box or
            fallback, each naming the box index.
        """
        img = np.asarray(image)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f"image: expected an [H, W, 3] uint8 RGB array, got {img.shape} "
                             f"{img.dtype}")
        boxes = np.asarray(boxes_xyxy_px, dtype=np.float64).reshape(-1, 4)
        if intrinsics is None:
            intrinsics = intrinsics_from_fov(img.shape[1], img.shape[0])
        intr = np.asarray(intrinsics, dtype=np.float64).reshape(-1)
        if intr.shape != (4,) or not np.isfinite(intr).all() or intr[0] <= 0 or intr[1] <= 0:
            raise ValueError(f"intrinsics: expected (fx, fy, cx, cy) with positive focal "
                             f"lengths, got {intrinsics!r}")
        h, w = img.shape[:2]
        people: list[MetrabsPerson] = []
        warnings: list[str] = []
        for i, box in enumerate(boxes):
            try:
                cams, kp_crop, rel_crop, presence = self._run_crops(img, intr, box)
            except ValueError as exc:
                warnings.append(f"box {i}: skipped ({exc})")
                continue
            if not presence >= self.min_presence:
                warnings.append(f"box {i}: skipped, no person in the crop (presence "
                                f"{presence:.2f} < {self.min_presence})")
                continue
            person = self._combine(box, cams, kp_crop, rel_crop, presence, intr, dist, (w, h))
            if suppress:
                reason = implausible_reason(person.pose_3d_rel_mm)
                if reason is not None:
                    warnings.append(f"box {i}: suppressed, implausible pose ({reason})")
                    continue
            warnings += [f"box {i}: {n}" for n in person.notes]
            person.box_index = i
            people.append(person)
        if suppress and len(people) > 1:
            kept, _ = suppress_duplicates(people)
            kept_ids = {id(p) for p in kept}
            warnings += [f"box {p.box_index}: suppressed, duplicate of another box's person"
                         for p in people if id(p) not in kept_ids]
            people = kept
        return people, warnings

    # ------------------------------------------------------------------ averaging, root solve
    def _combine(self, box: np.ndarray, cams: list, kp_crop: np.ndarray, rel_crop: np.ndarray,
                 presence: float, intrinsics: np.ndarray, dist: np.ndarray | None,
                 size_wh: tuple[int, int]) -> MetrabsPerson:
        s = CROP_SIZE_PX
        w, h = size_wh
        lo, hi = IN_CROP_MARGIN_PX - 0.5, s - 0.5 - IN_CROP_MARGIN_PX
        rel_src, kp_src, seen = [], [], []
        for a, cam in enumerate(cams):
            rel_src.append(cam.crop_to_source_points(rel_crop[a]))
            px = cam.crop_to_source_px(kp_crop[a])
            in_crop = ((kp_crop[a] >= lo) & (kp_crop[a] <= hi)).all(-1)
            in_photo = ((px >= -0.5) & (px <= np.array([w - 0.5, h - 0.5]))).all(-1)
            kp_src.append(px)
            seen.append(in_crop & in_photo & np.isfinite(px).all(-1))
        rel = np.mean(rel_src, axis=0)
        rel = rel - rel[:1]
        seen_arr = np.asarray(np.stack(seen), dtype=bool)  # [A, 17]
        fraction = seen_arr.mean(0)
        in_view = fraction >= 0.5
        kp_arr = np.where(seen_arr[..., None], np.stack(kp_src), np.nan)
        with np.errstate(invalid="ignore"):
            seen_any = np.asarray(seen_arr.any(0), dtype=bool)  # [17]
            kp = np.nanmean(np.where(seen_any[None, :, None], kp_arr, 0.0), axis=0)
        notes: list[str] = []
        abs_mm, method = None, "box_prior"
        if in_view.sum() >= 2:
            try:
                in_view, (abs_mm, method) = _consistent_solve(kp, rel, in_view, intrinsics,
                                                              dist, box, (w, h))
            except ValueError as exc:
                notes.append(f"root solve failed ({exc}); placed by the box size instead")
        else:
            notes.append(f"only {int(in_view.sum())} joint(s) in view; placed by the box size")
        if abs_mm is None:
            abs_mm = _box_prior(box, rel, intrinsics)
        elif method == "weak_perspective":
            notes.append(f"only {int(in_view.sum())} joints in view: weak-perspective root")
        abs_mm = _mix_in_view(abs_mm, kp, in_view, intrinsics, dist)
        kp_out = np.where(in_view[:, None], kp, _project(abs_mm, intrinsics, dist))
        return MetrabsPerson(np.asarray(box, dtype=np.float64), kp_out, in_view, fraction, rel,
                             abs_mm, method, presence, notes)


# Joint groups that seed the consistency check (h36m17): a truncated person usually shows one
# of them whole. Upper body, head and shoulders, torso, lower body.
_SEED_GROUPS = (np.array([7, 8, 9, 10, 11, 12, 13, 14, 15, 16]), np.array([8, 9, 10, 11, 14]),
                np.array([0, 1, 4, 7, 8, 11, 14]), np.array([0, 1, 2, 3, 4, 5, 6]))


def _consistent_solve(kp_px: np.ndarray, rel_mm: np.ndarray, in_view: np.ndarray,
                      intrinsics: np.ndarray, dist: np.ndarray | None, box: np.ndarray,
                      size_wh: tuple[int, int]) -> tuple[np.ndarray, tuple[np.ndarray, str]]:
    """Root solve over the in-view joints whose 2D agrees with the metric 3D.

    The 2D head is trained on visible joints only, so for a joint outside the crop it still
    answers somewhere inside it. The truncation-robust 3D head knows better: the root is solved
    from every in-view joint and from each seed group of them (upper body, head and shoulders,
    torso, lower body); the hypothesis whose projected pose agrees with the most 2D joints (within
    10 % of the box's longer side, inside the photo) wins, and the root is solved again from the
    joints that agree with it.

    Returns:
        ``(in_view [17], (pose_3d_abs_mm [17, 3], root_method))``.

    Raises:
        ValueError: from the root solve (fewer than 2 joints, person behind the camera).
    """
    tol_px = 0.1 * float(max(box[2] - box[0], box[3] - box[1]))
    w, h = size_wh

    def solve(use: np.ndarray) -> tuple[np.ndarray, str]:
        # in_view joints are inside the photo already: no image-size test here.
        abs_mm, method = place_in_camera(np.where(use[:, None], kp_px, 0.0), rel_mm, use,
                                         intrinsics, None, dist)
        if method == "failed":
            raise ValueError(f"no root position from {int(use.sum())} joints: too few, no 2D "
                             "spread, or behind the camera")
        return abs_mm, method

    def agreeing(sol: tuple[np.ndarray, str]) -> np.ndarray:
        proj = _project(sol[0], intrinsics, dist)
        inside = ((proj >= -0.5) & (proj <= np.array([w - 0.5, h - 0.5]))).all(-1)
        with np.errstate(invalid="ignore"):
            close = np.linalg.norm(proj - kp_px, axis=-1) <= tol_px
        return in_view & inside & close

    first, error = None, None
    best_use, best_count = in_view, -1
    try:
        first = solve(in_view)
        best_use = agreeing(first)
        best_count = int(best_use.sum())
    except ValueError as exc:  # contradictory 2D can put the plain solve behind the camera
        error = exc
    if first is not None and best_count == int(in_view.sum()):
        return in_view, first  # everything agrees: the common case needs one solve
    for group in _SEED_GROUPS:
        seed = np.zeros_like(in_view)
        seed[group] = True
        seed &= in_view
        if seed.sum() < 3 or seed.sum() == in_view.sum():
            continue
        try:
            use = agreeing(solve(seed))
        except ValueError:
            continue
        if use.sum() > best_count:
            best_use, best_count = use, int(use.sum())
    if best_count >= 3 and best_count < in_view.sum():
        try:
            return best_use, solve(best_use)
        except ValueError:
            pass
    if first is None:
        assert error is not None
        raise error
    return in_view, first


def _project(points_mm: np.ndarray, intrinsics: np.ndarray, dist: np.ndarray | None = None
             ) -> np.ndarray:
    """Pixels ``[J, 2]`` of camera points (NaN behind the camera), with the lens model."""
    z = points_mm[:, 2:3]
    px = project_points(np.where(z > 1e-6, points_mm, np.array([0.0, 0.0, 1.0])), intrinsics,
                        dist)
    return np.where(z > 1e-6, px, np.nan)


def _mix_in_view(abs_mm: np.ndarray, kp_px: np.ndarray, in_view: np.ndarray,
                 intrinsics: np.ndarray, dist: np.ndarray | None = None) -> np.ndarray:
    """In-view joints: average of ``root + relative`` and the 2D back-projected at that depth
    (undistorted first when the lens has distortion)."""
    z = abs_mm[:, 2]
    safe_px = np.where(in_view[:, None] & np.isfinite(kp_px), kp_px, intrinsics[None, 2:])
    xy = pixels_to_normalized(safe_px, intrinsics, dist, on_failure="nan")
    back = np.concatenate([xy * z[:, None], z[:, None]], axis=-1)
    use = in_view & (z > 0) & np.isfinite(back).all(-1)
    out = abs_mm.copy()
    out[use] = 0.5 * (abs_mm[use] + back[use])
    return out


def _box_prior(box: np.ndarray, rel_mm: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Root on the box centre's ray, at the depth where the pose's 3D extent spans the box."""
    fx, fy, cx, cy = intrinsics
    extent_mm = max(float(np.ptp(rel_mm[:, 0])), float(np.ptp(rel_mm[:, 1])), 1.0)
    extent_px = max(box[2] - box[0], box[3] - box[1], 1.0) / 1.2  # the box has a 10 % margin
    depth = np.sqrt(fx * fy) * extent_mm / extent_px
    centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    root = np.array([(centre[0] - cx) / fx * depth, (centre[1] - cy) / fy * depth, depth])
    return rel_mm - rel_mm.mean(0) + root
