"""Inference wrapper: 2D keypoints in pixels (any supported layout) -> root-relative 3D in mm.

Steps: convert the layout to h36m17, normalise per window (``monopose.core.normalize``), run the
network (:mod:`monopose.lifting.networks`: the PyTorch module, or its ONNX twin where one ships
beside the weights, :mod:`monopose.lifting.onnx_twin`), optionally average with the mirrored input
(mirror the 2D, swap left/right, lift, mirror the 3D back). Results are in millimetres.

:class:`Lifter` is the lifters' :class:`~monopose.models.interface.PoseModel`: for detected
people it also sizes each body by the detector's metric world landmarks and places it in the
camera (:func:`~monopose.models.interface.place_people`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from monopose.core.body_size import WORLD_LANDMARK_SIZE_SCALE, rescale_to_size
from monopose.core.normalize import normalize_keypoints, valid_mask
from monopose.core.placement import check_placement
from monopose.core.skeleton import convert_layout, get_layout
from monopose.core.virtual_camera import camera_up, from_virtual_camera, to_virtual_camera
from monopose.detect.keypoint_map import resolve_keypoint_map
from monopose.detect.types import PersonDetection
from monopose.lifting.joint_errors import (
    ErrorFeatures,
    JointErrorModel,
    PoseErrors,
    lifter_features,
    load_error_model,
)
from monopose.lifting.networks import LiftNetwork, TorchNetwork
from monopose.lifting.onnx_twin import find_twin, twin_path
from monopose.models.card import ModelCard
from monopose.models.interface import FramePeople, ModelInputs, PeoplePoses, place_people

if TYPE_CHECKING:
    from torch import nn

__all__ = ["Lifter", "BACKENDS", "BODY_SIZE_SOURCES", "window_stride"]

_CANONICAL = "h36m17"
# Where a lifted person's size comes from: the lifter's own output (the training set's bodies) or
# the detector's metric world landmarks (monopose.core.body_size).
BODY_SIZE_SOURCES = ("lifter", "world_landmarks")
# What runs the network: "auto" is the ONNX twin where one stands for the weights (CPU only),
# else PyTorch; "onnx" requires the twin, "torch" never uses it.
BACKENDS = ("auto", "onnx", "torch")


def window_stride(window: int, stride: int | None, causal: bool) -> int:
    """Frames between the windows of a track: ``stride`` checked against ``window``; None gives
    a third of the window. Causal lifting gives every frame its own window (1).

    Raises:
        ValueError: ``stride`` outside 1..``window``, or other than 1 with ``causal``.
    """
    if causal and stride not in (None, 1):
        raise ValueError(f"stride: causal lifting gives every frame its own window (stride 1), "
                         f"got {stride}")
    stride = 1 if causal else max(1, window // 3) if stride is None else stride
    if not 1 <= stride <= window:
        raise ValueError(f"stride: expected 1 to {window} frames, got {stride}")
    return stride


class Lifter:
    """Lift 2D keypoints (pixels) to root-relative 3D poses (millimetres).

    Args:
        model_name: a registered model with trained weights (see ``registry.list_models``).
        weights_dir: folder with the weights; default the package's ``models/weights``.
        flip: average with the mirrored input by default.
        device: torch device to run on (the ONNX twin runs on the CPU only).
        body_size: for detected people (:meth:`predict`): ``"world_landmarks"`` rescales each
            lifted body to the size of the detector's metric 3D, ``"lifter"`` keeps the lifter's
            (see :data:`BODY_SIZE_SOURCES`).
        causal: window models: :meth:`lift_sequence` lifts each frame from past frames only
            (live use) instead of centred windows.
        placement: how :meth:`predict` places each person in the camera:
            ``"ray_fit"`` (default: the lifted pose and its root fitted to the 2D rays) or
            ``"solve"`` (the pose as lifted; see :mod:`monopose.core.placement`).
        backend: what runs the network (:data:`BACKENDS`): ``"auto"`` (default) the weights'
            ONNX twin where one stands for them on the CPU, which needs no PyTorch; else the
            PyTorch module. Both give the same poses to within 0.01 mm (BENCHMARKS.md,
            "Photos and videos without PyTorch").

    Attributes:
        error_model: how far off its joints are likely to be
            (:mod:`monopose.lifting.joint_errors`), fitted for these weights; None: not fitted.
        second: the lifter whose answer is the error model's ``second`` feature (None: the
            error model's ``second_lifter``, loaded on first use).
    """

    error_model: JointErrorModel | None = None
    second: Lifter | None = None

    def __init__(
        self,
        model_name: str,
        weights_dir: str | os.PathLike[str] | None = None,
        flip: bool = True,
        device: Any = "cpu",
        body_size: str = "world_landmarks",
        causal: bool = False,
        placement: str = "ray_fit",
        backend: str = "auto",
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
        self._weights_dir = weights_dir
        self.error_model = load_error_model(model_name, weights_dir)
        twin = (find_twin(model_name, weights_dir) if backend != "torch" and str(device) == "cpu"
                else None)
        if twin is not None:
            self._setup(twin.network, twin.card, flip, body_size, causal, placement)
            return
        if backend == "onnx":
            raise FileNotFoundError(
                f"backend='onnx': no usable ONNX twin of {model_name!r} at "
                f"{twin_path(model_name, weights_dir)} (make it with `monopose export-onnx "
                f"{model_name} --out {twin_path(model_name, weights_dir)}`)")
        module, card = _load_lifter_module(model_name, weights_dir)
        self._setup(TorchNetwork(module, device), card, flip, body_size, causal, placement)

    @classmethod
    def from_module(
        cls, module: nn.Module, card: ModelCard | None = None, flip: bool = True,
        device: Any = "cpu", body_size: str = "world_landmarks",
        input_frame: str | None = None, causal: bool = False, placement: str = "ray_fit",
    ) -> Lifter:
        """Wrap an already built module (it is switched to eval mode).

        ``input_frame`` overrides the card's (``"image"`` without a card)."""
        return cls.from_network(TorchNetwork(module, device), card, flip, body_size,
                                input_frame, causal, placement)

    @classmethod
    def from_network(
        cls, network: LiftNetwork, card: ModelCard | None = None, flip: bool = True,
        body_size: str = "world_landmarks", input_frame: str | None = None,
        causal: bool = False, placement: str = "ray_fit",
        weights_dir: str | os.PathLike[str] | None = None,
        error_model: JointErrorModel | None = None,
    ) -> Lifter:
        """Wrap a network runner (:mod:`monopose.lifting.networks`), e.g. an ONNX twin's
        (:func:`~monopose.lifting.onnx_twin.find_twin`); ``weights_dir`` is where
        :attr:`module` loads the card's weights from if asked; ``error_model`` the one fitted
        for these weights (:func:`~monopose.lifting.joint_errors.load_error_model`), if any."""
        self = cls.__new__(cls)
        self._weights_dir = weights_dir
        self.error_model = error_model
        self._setup(network, card, flip, body_size, causal, placement)
        if input_frame is not None:
            self.input_frame = input_frame
        return self

    def _setup(self, network: LiftNetwork, card: ModelCard | None, flip: bool,
               body_size: str, causal: bool = False, placement: str = "ray_fit") -> None:
        if body_size not in BODY_SIZE_SOURCES:
            raise ValueError(f"body_size: expected one of {BODY_SIZE_SOURCES}, got {body_size!r}")
        self.body_size = body_size
        self.placement = check_placement(placement)
        self.causal = bool(causal)
        self.network = network
        self._module: nn.Module | None = getattr(network, "module", None)
        self.card = card
        self.flip = flip
        self.layout = get_layout(card.layout if card is not None else _CANONICAL)
        self.num_joints = int(network.num_joints or self.layout.num_joints)
        if self.num_joints != self.layout.num_joints:
            raise ValueError(f"module: {self.num_joints} joints but layout {self.layout.name} "
                             f"has {self.layout.num_joints}")
        max_frames = network.max_frames
        self.window = card.window if card is not None else int(max_frames or 1)
        self.max_frames: int | None = max_frames
        self._perm = np.asarray(self.layout.flip_permutation)
        # Perspective-aware lifters see the 2D from a camera turned towards the person.
        self.input_frame = card.input_frame if card is not None else "image"

    @property
    def module(self) -> nn.Module:
        """The PyTorch module (loaded on first use when the ONNX twin runs the lifter)."""
        if self._module is None:
            if self.card is None:
                raise ValueError("module: a lifter without a card has no weights to load")
            self._module = _load_lifter_module(self.card.name, self._weights_dir)[0]
        return self._module

    # -- the PoseModel interface --------------------------------------------------------------

    @property
    def needs(self) -> ModelInputs:
        """Lifters read 2D keypoints only."""
        return "keypoints"

    def predict(self, frame: FramePeople) -> PeoplePoses:
        """Lift one frame's people (flip test and virtual camera as configured), size each body
        (``body_size``) and place it in the camera (``placement``). A temporal lifter lifts
        each person as a static window."""
        if len(frame) == 0:
            return PeoplePoses.empty()
        rel_mm = self.lift(frame.keypoints_px, frame.valid, intrinsics=frame.intrinsics,
                           scores=frame.keypoint_scores)
        return self.size_and_place(frame, rel_mm)

    def size_and_place(self, frame: FramePeople, rel_mm: np.ndarray) -> PeoplePoses:
        """``frame``'s lifted people ``rel_mm [N, 17, 3]`` sized (``body_size``), placed in the
        camera (``placement``) and given their error estimate (:meth:`estimate_errors`)."""
        factors = self.size_factors(rel_mm, frame.detections)
        sized = rel_mm * factors[:, None, None]
        poses = place_people(frame, sized, placement=self.placement)
        poses.errors = self.estimate_errors(frame, sized, factors, poses.pose_3d_abs_mm)
        return poses

    def error_features(self, frame: FramePeople, sized_mm: np.ndarray, factors: np.ndarray
                       ) -> ErrorFeatures | None:
        """What the error model reads (:func:`~monopose.lifting.joint_errors.error_features`)
        from its sized lift ``sized_mm [N, 17, 3]`` of ``frame`` (the flip-averaged lift
        times ``factors [N]``); None without the flip test (one of them) or for a temporal
        lifter."""
        if not self.flip or self.window != 1 or not len(frame):
            return None
        return lifter_features(self, frame, sized_mm, factors)

    def second_opinion(self) -> Lifter | None:
        """:attr:`second`, else the error model's ``second_lifter`` loaded (once) from the
        same folder; None without either."""
        if self.second is None:
            name = None if self.error_model is None else self.error_model.second_lifter
            if name is not None:
                self.second = Lifter(name, self._weights_dir)
        return self.second

    def estimate_errors(self, frame: FramePeople, sized_mm: np.ndarray, factors: np.ndarray,
                        abs_mm: np.ndarray) -> PoseErrors | None:
        """How far off each person's joints and root are likely to be
        (:mod:`monopose.lifting.joint_errors`), from its sized lift (as
        :meth:`error_features`) and the placed ``abs_mm [N, 17, 3]``; None without an error
        model for these weights and this lifter's sizing and placement, or without its
        features."""
        if self.error_model is None or not self.error_model.fitted_with(
                body_size=self.body_size, placement=self.placement):
            return None
        features = self.error_features(frame, sized_mm, factors)
        if features is None:
            return None
        return self.error_model.predict(features, np.asarray(abs_mm)[:, 0, 2])

    def size_factors(self, rel_mm: np.ndarray, detections: Sequence[PersonDetection]
                     ) -> np.ndarray:
        """``[N]`` factors that bring lifted ``[N, 17, 3]`` mm poses to the size of the
        detector's metric world landmarks (trained on real people; mapped to h36m17 by the
        learned keypoint map; their bias removed by ``WORLD_LANDMARK_SIZE_SCALE``) when
        ``body_size == "world_landmarks"`` and the people were detected; ones otherwise."""
        ones = np.ones(len(rel_mm))
        if self.body_size != "world_landmarks" or len(detections) != len(rel_mm) or \
                not len(detections):
            return ones
        world_33_mm = 1000.0 * np.stack([d.world_landmarks_m for d in detections])
        world_mm = resolve_keypoint_map("learned").apply(world_33_mm)
        _, factor = rescale_to_size(rel_mm, world_mm * WORLD_LANDMARK_SIZE_SCALE)
        return factor

    # -- public API ---------------------------------------------------------------------------

    def lift(
        self,
        keypoints_2d_px: np.ndarray,
        valid: np.ndarray | None = None,
        layout: str = _CANONICAL,
        flip: bool | None = None,
        batch_size: int | None = None,
        intrinsics: np.ndarray | None = None,
        scores: np.ndarray | None = None,
    ) -> np.ndarray:
        """Lift single poses or windows.

        Args:
            keypoints_2d_px: ``[N, J, 2]`` single poses or ``[N, T, J, 2]`` windows, pixels, in
                ``layout``. A single pose given to a temporal model is lifted as a static window
                (the frame repeated over the model's window). Windows need ``T <= max_frames``.
            valid: ``[N, J]`` / ``[N, T, J]`` bool (False = missing); None = all valid.
            layout: ``"h36m17"``, ``"coco17"``, ``"blazepose33"`` (anything convertible).
            flip: flip-average; None = the default given at construction.
            batch_size: poses/windows per forward pass; default ``1024 // window`` (long
                windows are faster in small batches on a CPU: activations stay in cache).
            intrinsics: ``(4,)`` or ``[N, 4]`` ``(fx, fy, cx, cy)`` px of the camera. Lifters
                with ``input_frame == "virtual_camera"`` use them to lift in a camera turned
                towards each person and rotate the 3D back; without them the person is taken
                to stand on the optical axis. Other lifters ignore them.
            scores: the detector's confidence per keypoint in [0, 1], shaped as ``valid``
                (h36m17 keypoints only). Lifters with ``score_input`` use them (None: fully
                confident); others ignore them.

        Returns:
            ``[N, 17, 3]`` or ``[N, T, 17, 3]`` root-relative 3D in mm (h36m17, root = 0).

        Raises:
            ValueError: on a wrong shape or joint count, NaN in a valid joint, a pose/window
                without any valid joint, or scores that are not finite, not shaped as the
                keypoints' joints, or given with a layout other than h36m17.
        """
        kp = np.asarray(keypoints_2d_px, dtype=np.float64)
        if kp.ndim not in (3, 4) or kp.shape[-1] != 2:
            raise ValueError(f"keypoints_2d_px: expected [N, J, 2] or [N, T, J, 2], got {kp.shape}")
        single = kp.ndim == 3
        windows, ok = self._to_canonical(kp, valid, layout)
        conf = self._scores(scores, kp.shape[:-1], layout)
        if single:
            windows, ok = windows[:, None], ok[:, None]
            conf = None if conf is None else conf[:, None]
            if self.window > 1:
                windows = np.repeat(windows, self.window, axis=1)
                ok = np.repeat(ok, self.window, axis=1)
                conf = None if conf is None else np.repeat(conf, self.window, axis=1)
        elif self.max_frames is not None and windows.shape[1] > self.max_frames:
            raise ValueError(f"keypoints_2d_px: windows of at most {self.max_frames} frames, got "
                             f"{windows.shape[1]} (use lift_sequence for long tracks)")
        out = self._run_in_frame(windows, ok, self.flip if flip is None else flip, batch_size,
                                 intrinsics, conf)
        if single:
            return out[:, out.shape[1] // 2]
        return out

    def lift_sequence(
        self,
        track_px: np.ndarray,
        valid: np.ndarray | None = None,
        layout: str = _CANONICAL,
        flip: bool | None = None,
        batch_size: int | None = None,
        intrinsics: np.ndarray | None = None,
        stride: int | None = None,
        causal: bool | None = None,
    ) -> np.ndarray:
        """Lift a track ``[F, J, 2]`` (pixels) with windows every ``stride`` frames (edges
        padded by repeating the first/last frame); each frame takes the output of the window
        whose centre is nearest. Returns ``[F, 17, 3]`` mm. ``intrinsics`` ``(4,)`` px: see
        :meth:`lift`.

        ``stride`` (default: a third of the window) trades cost for accuracy: a window is
        lifted every ``stride`` frames, so a frame costs ``1/stride`` of a window; ``stride=1``
        gives every frame its own centred window.

        ``causal`` (default: the lifter's ``causal``): every frame is the last frame of its
        own window (the window's start padded by the first frame), so no later frame is read:
        what a live stream can do. It costs a window per frame; ``stride`` must be 1 or None.
        """
        kp = np.asarray(track_px, dtype=np.float64)
        if kp.ndim != 3 or kp.shape[-1] != 2:
            raise ValueError(f"track_px: expected [F, J, 2], got {kp.shape}")
        if self.window == 1:
            return self.lift(kp, valid, layout, flip, batch_size, intrinsics)
        causal = self.causal if causal is None else causal
        stride = window_stride(self.window, stride, causal)
        track, ok = self._to_canonical(kp, valid, layout)
        f = track.shape[0]
        flip = self.flip if flip is None else flip
        if causal:
            last = self.window - 1
            idx = np.clip(np.arange(f)[:, None] + np.arange(-last, 1)[None, :], 0, f - 1)
            return self._run_in_frame(track[idx], ok[idx], flip, batch_size,
                                      intrinsics)[:, last]
        centres = np.arange(0, f, stride)
        if centres[-1] != f - 1:
            centres = np.append(centres, f - 1)
        offsets = np.arange(self.window) - self.window // 2
        idx = np.clip(centres[:, None] + offsets[None, :], 0, f - 1)  # [K, W]
        out = self._run_in_frame(track[idx], ok[idx], flip, batch_size,
                                 intrinsics)  # [K, W, 17, 3]
        frames = np.arange(f)
        nearest = np.abs(frames[:, None] - centres[None, :]).argmin(axis=1)  # [F]
        return out[nearest, frames - centres[nearest] + self.window // 2]

    # -- internals ----------------------------------------------------------------------------

    def _to_canonical(self, kp: np.ndarray, valid: np.ndarray | None, layout: str
                      ) -> tuple[np.ndarray, np.ndarray]:
        src = get_layout(layout)
        if kp.shape[-2] != src.num_joints:
            raise ValueError(f"keypoints: expected {src.num_joints} joints for layout "
                             f"{src.name!r} (dim -2), got {kp.shape[-2]}")
        ok = valid_mask(valid, kp.shape[:-1])
        if not np.isfinite(kp[ok]).all():
            raise ValueError("keypoints: NaN or inf in a joint marked valid")
        if src.name == self.layout.name:
            return np.where(ok[..., None], kp, 0.0), ok
        if (src.name, self.layout.name) == ("blazepose33", "h36m17"):
            # the detector's own map (learned on rendered people), so files of BlazePose
            # keypoints lift as `monopose predict` lifts them
            kmap = resolve_keypoint_map("learned")
            ok_out = kmap.valid(ok)
            return np.where(ok_out[..., None], kmap.apply(np.where(ok[..., None], kp, 0.0)),
                            0.0), ok_out
        out, ok_out, _ = convert_layout(kp, src.name, self.layout.name, ok)
        return out, ok_out

    def _scores(self, scores: np.ndarray | None, shape: tuple[int, ...], layout: str
                ) -> np.ndarray | None:
        """The keypoint scores a ``score_input`` model reads (checked), else None."""
        if scores is None:
            return None
        conf = np.asarray(scores, dtype=np.float64)
        if conf.shape != tuple(shape):
            raise ValueError(f"scores: expected shape {tuple(shape)} (the keypoints' joints), "
                             f"got {conf.shape}")
        if layout != _CANONICAL:
            raise ValueError(f"scores: only for {_CANONICAL} keypoints, got layout {layout!r}")
        if not np.isfinite(conf).all():
            raise ValueError("scores: NaN or inf")
        return conf if self.network.score_input else None

    def _run_in_frame(self, windows_px: np.ndarray, ok: np.ndarray, flip: bool,
                      batch_size: int | None, intrinsics: np.ndarray | None,
                      scores: np.ndarray | None = None) -> np.ndarray:
        """:meth:`_run` in the lifter's input frame: ``[N, T, J, 2]`` px -> ``[N, T, J, 3]`` mm
        in the camera."""
        if intrinsics is None:
            return self._run(windows_px, ok, flip, batch_size, None, scores)
        intr = np.broadcast_to(np.asarray(intrinsics, dtype=np.float64),
                               (windows_px.shape[0], 4))
        if self.input_frame != "virtual_camera":
            return self._run(windows_px, ok, flip, batch_size, intr[:, 0], scores)
        turned, rot = to_virtual_camera(windows_px, ok, intr)
        focal = np.ones(len(turned))  # the virtual camera's coordinates are in focal lengths
        return from_virtual_camera(self._run(turned, ok, flip, batch_size, focal, scores,
                                             camera_up(rot)), rot)

    def _run(self, windows_px: np.ndarray, ok: np.ndarray, flip: bool, batch_size: int | None,
             focal: np.ndarray | None, scores: np.ndarray | None = None,
             up: np.ndarray | None = None) -> np.ndarray:
        """``[N, T, J, 2]`` px in the model layout -> ``[N, T, J, 3]`` mm; ``focal [N]`` in the
        keypoints' unit (None: unknown) gives a ``size_input`` model each window's angular
        size; ``scores [N, T, J]`` a ``score_input`` model each keypoint's confidence; ``up
        [N, 3]`` an ``up_input`` model the image's up in its camera (None: straight ahead)."""
        if batch_size is None:
            batch_size = max(1, 1024 // windows_px.shape[1])
        if not ok.reshape(ok.shape[0], -1).any(axis=1).all():
            raise ValueError("keypoints: a pose/window has no valid joint")
        norm, _, scale = normalize_keypoints(windows_px, ok)
        net = self.network
        sizes = scale / focal if focal is not None and net.size_input else None
        ups = up if up is not None and net.up_input else None
        results = []
        for start in range(0, norm.shape[0], max(1, batch_size)):
            part = slice(start, start + batch_size)
            x, v = norm[part], ok[part]
            size = None if sizes is None else sizes[part]
            s = None if scores is None else scores[part]
            u = None if ups is None else ups[part]
            if flip:  # one pass for the input and its mirror (half the overhead)
                both = net(np.concatenate([x, self._mirror(x)]),
                           np.concatenate([v, v[..., self._perm]]),
                           None if size is None else np.concatenate([size, size]),
                           None if s is None else np.concatenate([s, s[..., self._perm]]),
                           None if u is None else np.concatenate([u, u * _MIRROR_X]))
                y = 0.5 * (both[: len(x)] + self._mirror(both[len(x):]))
            else:
                y = net(x, v, size, s, u)
            results.append(y)
        return np.concatenate(results, axis=0)

    def _mirror(self, pose: np.ndarray) -> np.ndarray:
        """Negate x and swap left/right joints of ``[..., J, D]``."""
        out = pose[..., self._perm, :].copy()
        out[..., 0] = -out[..., 0]
        return out


# The image's up, mirrored left to right.
_MIRROR_X = np.array([-1.0, 1.0, 1.0])


def _load_lifter_module(name: str, weights_dir: str | os.PathLike[str] | None
                        ) -> tuple[nn.Module, ModelCard]:
    """``name``'s trained module and card through the registry (PyTorch).

    Raises:
        ValueError: unknown name, or a model that does not lift 2D keypoints alone.
        FileNotFoundError: no trained weights.
    """
    # the lifters' own cards are registered here, so that a lifter loads without the zoo
    from monopose.lifting import cards  # heavy: PyTorch modules
    from monopose.models.registry import get_card, load_model, register_family  # heavy: same

    register_family(cards.ARCHITECTURES, cards.CARDS)
    architecture = get_card(name).architecture
    if architecture not in cards.ARCHITECTURES:
        raise ValueError(
            f"model: {name!r} ({architecture}) does not lift 2D keypoints alone; use "
            f"it with `monopose predict --model {name}` or monopose.zoo.load_pose_model")
    return load_model(name, weights_dir)
