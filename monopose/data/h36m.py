"""Human3.6M as distributed for 2D→3D lifting (the VideoPose3D files), read into PoseBatches.

Files (user-provided; never shipped):

* ``data_3d_h36m.npz``: key ``positions_3d`` = pickled dict subject → action → ``(N, 32, 3)``
  float32 **world coordinates in metres** (all 32 raw joints).
* ``data_2d_h36m_<detector>.npz``: keys ``positions_2d`` = pickled dict subject → action → list of
  4 arrays ``(N, 17, 2)`` pixels (camera order of :data:`H36M_CAMERA_IDS`; extra channels such
  as a confidence are dropped) and ``metadata`` (``layout_name``, ``num_joints``,
  ``keypoints_symmetry``).

Both hold pickled Python dicts, so they are loaded with ``allow_pickle=True``. Do that only for
these benchmark files obtained from a source you trust: unpickling can run code.

Protocol and quirks implemented here:

* train subjects S1, S5, S6, S7, S8; test subjects S9, S11; 50 fps;
* action names: trial suffix ``" 1"``/``" 2"`` (or none) after the action; ``TakingPhoto`` →
  ``Photo`` and ``WalkingDog`` → ``WalkDog`` (canonical names); S11 ``Directions`` is dropped
  (corrupted video) wherever it appears;
* 2D and 3D of a sequence are truncated to the shorter of the two;
* evaluation subsets: every frame (lifting protocol) or every 64th frame (image protocol,
  ``frame_step=64``);
* raw 32 → H36M-17 selection :data:`H36M32_TO_17` (VP3D's ``remove_joints``);
* cameras: intrinsics shared by all subjects, extrinsics per subject and camera (VP3D's tables).
  World → camera: ``X_cam = R_cw^T (X_world − C)`` with ``R_cw`` the orientation quaternion
  (scalar first) and ``C`` the camera centre in mm.

Ground-truth 2D (when no 2D file is given) is projected with :mod:`monopose.core.camera`'s
OpenCV distortion model; VP3D's ``gt`` file uses H36M's MATLAB variant, which differs by a
fraction of a pixel near the image centre.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monopose.core.camera import Camera
from monopose.data.sample import PoseBatch

__all__ = [
    "H36M_TRAIN_SUBJECTS",
    "H36M_TEST_SUBJECTS",
    "H36M_ACTIONS",
    "H36M_CAMERA_IDS",
    "H36M32_TO_17",
    "H36M_FPS",
    "H36MSequence",
    "canonical_action",
    "h36m_camera",
    "load_h36m_3d",
    "load_h36m_2d",
    "load_h36m_sequences",
    "h36m_batch",
]

H36M_FPS = 50.0
H36M_TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
H36M_TEST_SUBJECTS = ("S9", "S11")
H36M_ACTIONS = (
    "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing", "Purchases",
    "Sitting", "SittingDown", "Smoking", "Waiting", "WalkDog", "Walking", "WalkTogether",
)
H36M_CAMERA_IDS = ("54138969", "55011271", "58860488", "60457274")
# VP3D keeps raw joints [0,1,2,3,6,7,8,12,13,14,15,17,18,19,25,26,27] → h36m17 order.
H36M32_TO_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)

# (fx, fy, cx, cy), (k1, k2, k3, p1, p2), (width, height) per camera.
_INTRINSICS: tuple[tuple[tuple[float, ...], tuple[float, ...], tuple[int, int]], ...] = (
    ((1145.0494384765625, 1143.7811279296875, 512.54150390625, 515.4514770507812),
     (-0.20709891617298126, 0.24777518212795258, -0.0030751503072679043,
      -0.0009756988729350269, -0.00142447161488235), (1000, 1002)),
    ((1149.6756591796875, 1147.5916748046875, 508.8486328125, 508.0649108886719),
     (-0.1942136287689209, 0.2404085397720337, 0.006819975562393665,
      -0.0016190266469493508, -0.0027408944442868233), (1000, 1000)),
    ((1149.1407470703125, 1148.7989501953125, 519.8158569335938, 501.40264892578125),
     (-0.2083381861448288, 0.25548800826072693, -0.0024604974314570427,
      0.0014843869721516967, -0.0007599993259645998), (1000, 1000)),
    ((1145.5113525390625, 1144.77392578125, 514.9682006835938, 501.88201904296875),
     (-0.198384091258049, 0.21832367777824402, -0.008947807364165783,
      -0.0005872055771760643, -0.0018133620033040643), (1000, 1002)),
)

# Orientation quaternion (w, x, y, z: camera → world) and camera centre (mm, world), per camera.
_EXTRINSICS: dict[str, tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]] = {
    "S1": (
        ((0.1407056450843811, -0.1500701755285263, -0.755240797996521, 0.6223280429840088),
         (1841.1070556640625, 4955.28466796875, 1563.4454345703125)),
        ((0.6157187819480896, -0.764836311340332, -0.14833825826644897, 0.11794740706682205),
         (1761.278564453125, -5078.0068359375, 1606.2650146484375)),
        ((0.14651472866535187, -0.14647851884365082, 0.7653023600578308, -0.6094175577163696),
         (-1846.7777099609375, 5215.04638671875, 1491.972412109375)),
        ((0.5834008455276489, -0.7853162288665771, 0.14548823237419128, -0.14749594032764435),
         (-1794.7896728515625, -3722.698974609375, 1574.8927001953125)),
    ),
    "S5": (
        ((0.1467377245426178, -0.162370964884758, -0.7551892995834351, 0.6178938746452332),
         (2097.3916015625, 4880.94482421875, 1605.732421875)),
        ((0.6159758567810059, -0.7626792192459106, -0.15728192031383514, 0.1189815029501915),
         (2031.7008056640625, -5167.93310546875, 1612.923095703125)),
        ((0.14291371405124664, -0.12907841801643372, 0.7678384780883789, -0.6110143065452576),
         (-1620.5948486328125, 5171.65869140625, 1496.43701171875)),
        ((0.5920479893684387, -0.7814217805862427, 0.1274748593568802, -0.15036417543888092),
         (-1637.1737060546875, -3867.3173828125, 1547.033203125)),
    ),
    "S6": (
        ((0.1337897777557373, -0.15692396461963654, -0.7571090459823608, 0.6198879480361938),
         (1935.4517822265625, 4950.24560546875, 1618.0838623046875)),
        ((0.6147197484970093, -0.7628812789916992, -0.16174767911434174, 0.11819244921207428),
         (1969.803955078125, -5128.73876953125, 1632.77880859375)),
        ((0.1529948115348816, -0.13529130816459656, 0.7646096348762512, -0.6112781167030334),
         (-1769.596435546875, 5185.361328125, 1476.993408203125)),
        ((0.5916101336479187, -0.7804774045944214, 0.12832270562648773, -0.1561593860387802),
         (-1721.668701171875, -3884.13134765625, 1540.4879150390625)),
    ),
    "S7": (
        ((0.1435241848230362, -0.1631336808204651, -0.7548328638076782, 0.6188824772834778),
         (1974.512939453125, 4926.3544921875, 1597.8326416015625)),
        ((0.6141672730445862, -0.7638262510299683, -0.1596645563840866, 0.1177929937839508),
         (1937.0584716796875, -5119.7900390625, 1631.5665283203125)),
        ((0.14550060033798218, -0.12874816358089447, 0.7660516500473022, -0.6127139329910278),
         (-1741.8111572265625, 5208.24951171875, 1464.8245849609375)),
        ((0.5912848114967346, -0.7821764349937439, 0.12445473670959473, -0.15196487307548523),
         (-1734.7105712890625, -3832.42138671875, 1548.5830078125)),
    ),
    "S8": (
        ((0.14110587537288666, -0.15589867532253265, -0.7561917304992676, 0.619644045829773),
         (2150.65185546875, 4896.1611328125, 1611.9046630859375)),
        ((0.6169601678848267, -0.7647668123245239, -0.14846350252628326, 0.11158157885074615),
         (2219.965576171875, -5148.453125, 1613.0440673828125)),
        ((0.1471444070339203, -0.13377119600772858, 0.7670128345489502, -0.6100369691848755),
         (-1571.2215576171875, 5137.0185546875, 1498.1761474609375)),
        ((0.5927824378013611, -0.7825870513916016, 0.12147816270589828, -0.14631995558738708),
         (-1476.913330078125, -3896.7412109375, 1547.97216796875)),
    ),
    "S9": (
        ((0.15540587902069092, -0.15548215806484222, -0.7532095313072205, 0.6199594736099243),
         (2044.45849609375, 4935.1171875, 1481.2275390625)),
        ((0.618784487247467, -0.7634735107421875, -0.14132238924503326, 0.11933968216180801),
         (1990.959716796875, -5123.810546875, 1568.8048095703125)),
        ((0.13357827067375183, -0.1367100477218628, 0.7689454555511475, -0.6100738644599915),
         (-1670.9921875, 5211.98583984375, 1528.387939453125)),
        ((0.5879399180412292, -0.7823407053947449, 0.1427614390850067, -0.14794869720935822),
         (-1696.04345703125, -3827.099853515625, 1591.4127197265625)),
    ),
    "S11": (
        ((0.15232472121715546, -0.15442320704460144, -0.7547563314437866, 0.6191070079803467),
         (2098.440185546875, 4926.5546875, 1500.278564453125)),
        ((0.6189449429512024, -0.7600917220115662, -0.15300633013248444, 0.1255258321762085),
         (2083.182373046875, -4912.1728515625, 1561.07861328125)),
        ((0.14943228662014008, -0.15650227665901184, 0.7681233882904053, -0.6026304364204407),
         (-1609.8153076171875, 5177.3359375, 1537.896728515625)),
        ((0.5894251465797424, -0.7818877100944519, 0.13991211354732513, -0.14715361595153809),
         (-1590.738037109375, -3854.1689453125, 1578.017578125)),
    ),
}


def _quat_to_matrix(q: Sequence[float]) -> np.ndarray:
    """Rotation matrix of a quaternion ``(w, x, y, z)`` (normalised first)."""
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def h36m_camera(subject: str, camera: int) -> Camera:
    """The calibrated H36M camera ``camera`` (0–3) of ``subject`` (mm, world → camera)."""
    if subject not in _EXTRINSICS:
        raise ValueError(f"subject: expected one of {sorted(_EXTRINSICS)}, got {subject!r}")
    if not 0 <= camera < 4:
        raise ValueError(f"camera: expected 0..3, got {camera}")
    intr, dist, (w, h) = _INTRINSICS[camera]
    quat, centre = _EXTRINSICS[subject][camera]
    r_cw = _quat_to_matrix(quat)  # camera → world
    r = r_cw.T
    t = -r @ np.asarray(centre)
    return Camera(fx=intr[0], fy=intr[1], cx=intr[2], cy=intr[3], dist=np.asarray(dist),
                  R=r, t=t, width=w, height=h)


def canonical_action(name: str) -> tuple[str, str]:
    """``(canonical action, trial)`` of an H36M action name, e.g. ``"TakingPhoto 1"`` →
    ``("Photo", "1")``, ``"Walking"`` → ``("Walking", "")``."""
    base, _, trial = name.strip().partition(" ")
    base = base.replace("TakingPhoto", "Photo").replace("WalkingDog", "WalkDog")
    return base, trial.strip()


def _canonical_name(name: str) -> str:
    base, trial = canonical_action(name)
    return f"{base} {trial}" if trial else base


def _dropped(subject: str, action: str) -> bool:
    # S11 "Directions" (no trial suffix) has a corrupted video in every distribution.
    return subject == "S11" and _canonical_name(action) == "Directions"


def _load_pickled_dict(path: str | Path, key: str) -> dict[str, Any]:
    """``np.load(path, allow_pickle=True)[key].item()`` with clear errors (trusted files only)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=True) as z:
            if key not in z.files:
                raise ValueError(f"{path.name}: missing key {key!r} (found {sorted(z.files)})")
            value = z[key]
    except (OSError, EOFError) as exc:  # not an npz / zip
        raise ValueError(f"{path.name}: not a readable .npz file ({exc})") from None
    try:
        obj = value.item()
    except ValueError:
        raise ValueError(f"{path.name}: key {key!r} is not a pickled dict") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path.name}: key {key!r} is not a dict but {type(obj).__name__}")
    return obj


def load_h36m_3d(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """Read ``data_3d_h36m.npz``: subject → canonical action → ``(N, 32, 3)`` world **mm**.

    Uses ``allow_pickle=True`` (the file stores a pickled dict): only for trusted files.

    Raises:
        FileNotFoundError, ValueError: missing file, missing key ``positions_3d``, wrong shapes.
    """
    data = _load_pickled_dict(path, "positions_3d")
    out: dict[str, dict[str, np.ndarray]] = {}
    for subject, actions in data.items():
        out[subject] = {}
        for action, pos in actions.items():
            if _dropped(subject, action):
                continue
            arr = np.asarray(pos, dtype=np.float64)
            if arr.ndim != 3 or arr.shape[1:] != (32, 3):
                raise ValueError(
                    f"{Path(path).name}: positions_3d[{subject!r}][{action!r}]: expected "
                    f"(N, 32, 3), got {arr.shape}"
                )
            out[subject][_canonical_name(action)] = arr * 1000.0
    return out


def load_h36m_2d(path: str | Path) -> tuple[dict[str, dict[str, list[np.ndarray]]], dict]:
    """Read ``data_2d_h36m_<detector>.npz``: (subject → canonical action → 4 × ``(N, 17, 2)``
    px, metadata).

    Uses ``allow_pickle=True`` (pickled dicts): only for trusted files.

    Raises:
        FileNotFoundError, ValueError: missing file or keys, wrong shapes or camera count.
    """
    data = _load_pickled_dict(path, "positions_2d")
    meta = _load_pickled_dict(path, "metadata")
    n_joints = int(meta.get("num_joints", 17))
    if n_joints != 17:
        raise ValueError(f"{Path(path).name}: metadata num_joints {n_joints}, expected 17 (h36m)")
    out: dict[str, dict[str, list[np.ndarray]]] = {}
    for subject, actions in data.items():
        out[subject] = {}
        for action, cams in actions.items():
            if _dropped(subject, action):
                continue
            if len(cams) != 4:
                raise ValueError(f"{Path(path).name}: positions_2d[{subject!r}][{action!r}]: "
                                 f"expected 4 cameras, got {len(cams)}")
            arrs = []
            for c, kp in enumerate(cams):
                kp = np.asarray(kp, dtype=np.float64)
                if kp.ndim != 3 or kp.shape[1] != 17 or kp.shape[2] < 2:
                    raise ValueError(f"{Path(path).name}: positions_2d[{subject!r}][{action!r}]"
                                     f"[{c}]: expected (N, 17, 2), got {kp.shape}")
                arrs.append(kp[..., :2])
            out[subject][_canonical_name(action)] = arrs
    return out, meta


@dataclass
class H36MSequence:
    """One (subject, action, camera) sequence in the h36m17 layout.

    Attributes:
        subject, action, camera: ids (canonical action name with trial suffix; camera 0–3).
        keypoints_2d_px: ``[N, 17, 2]`` 2D (detections or ground-truth projections).
        keypoints_2d_gt_px: ``[N, 17, 2]`` projections of the ground truth.
        pose_3d_cam_mm: ``[N, 17, 3]`` camera-space ground truth.
        cam: The calibrated camera.
    """

    subject: str
    action: str
    camera: int
    keypoints_2d_px: np.ndarray
    keypoints_2d_gt_px: np.ndarray
    pose_3d_cam_mm: np.ndarray
    cam: Camera

    @property
    def num_frames(self) -> int:
        return int(self.pose_3d_cam_mm.shape[0])


def load_h36m_sequences(
    path_3d: str | Path,
    path_2d: str | Path | None = None,
    subjects: Sequence[str] = H36M_TEST_SUBJECTS,
    cameras: Sequence[int] = (0, 1, 2, 3),
    actions: Sequence[str] | None = None,
) -> list[H36MSequence]:
    """H36M sequences in camera space with their 2D.

    Args:
        path_3d: ``data_3d_h36m.npz``.
        path_2d: ``data_2d_h36m_<detector>.npz``; None projects the ground truth.
        subjects: Subjects to load (default: the test subjects S9, S11).
        cameras: Camera indices.
        actions: Base action names to keep (e.g. ``["Walking"]``); None keeps all.

    Raises:
        ValueError: a subject is missing from a file, or 2D is missing for a 3D sequence.
    """
    data3d = load_h36m_3d(path_3d)
    data2d = load_h36m_2d(path_2d)[0] if path_2d is not None else None
    out: list[H36MSequence] = []
    sel = np.asarray(H36M32_TO_17)
    for subject in subjects:
        if subject not in data3d:
            raise ValueError(f"{Path(path_3d).name}: subject {subject!r} not found "
                             f"(found {sorted(data3d)})")
        if data2d is not None and subject not in data2d:
            raise ValueError(f"{Path(str(path_2d)).name}: subject {subject!r} not found")
        for action in sorted(data3d[subject]):
            if actions is not None and canonical_action(action)[0] not in actions:
                continue
            world = data3d[subject][action][:, sel]
            for c in cameras:
                cam = h36m_camera(subject, c)
                pose = cam.world_to_camera(world)
                gt = cam.project(pose)
                if data2d is None:
                    kp = gt
                else:
                    if action not in data2d[subject]:
                        raise ValueError(f"{Path(str(path_2d)).name}: no 2D for {subject} "
                                         f"{action!r}")
                    kp = data2d[subject][action][c]
                n = min(len(kp), len(pose))  # videos and mocap may differ by a few frames
                out.append(H36MSequence(subject, action, c, kp[:n], gt[:n], pose[:n], cam))
    return out


def h36m_batch(sequences: Sequence[H36MSequence], window: int = 1, frame_step: int = 1
               ) -> PoseBatch:
    """Evaluation samples: one per kept frame (every ``frame_step``-th, from frame 0), each a
    window of ``window`` frames centred on it (edges repeated, as VP3D pads).

    ``frame_step=1`` is the lifting protocol (every frame); ``frame_step=64`` the image-based
    one. ``ids`` are ``"h36m/<subject>.<camera id>/<action>/<frame>"`` with the centre frame.
    """
    if window < 1 or frame_step < 1:
        raise ValueError(f"window/frame_step: expected >= 1, got {window}/{frame_step}")
    if not sequences:
        raise ValueError("sequences: expected at least one H36MSequence")
    half = (window - 1) // 2
    kp_l, gt_l, p3_l, intr_l, size_l, dist_l, ids = [], [], [], [], [], [], []
    for s in sequences:
        centres = np.arange(0, s.num_frames, frame_step)
        idx = np.clip(centres[:, None] + np.arange(window)[None, :] - half, 0, s.num_frames - 1)
        kp_l.append(s.keypoints_2d_px[idx])
        gt_l.append(s.keypoints_2d_gt_px[idx])
        p3_l.append(s.pose_3d_cam_mm[idx])
        k = len(centres)
        intr_l.append(np.tile([s.cam.fx, s.cam.fy, s.cam.cx, s.cam.cy], (k, 1)))
        size_l.append(np.tile([s.cam.width, s.cam.height], (k, 1)))
        dist_l.append(np.tile(s.cam.dist, (k, 1)))
        cid = H36M_CAMERA_IDS[s.camera]
        ids += [f"h36m/{s.subject}.{cid}/{s.action}/{f}" for f in centres]
    kp = np.concatenate(kp_l)
    size = np.concatenate(size_l).astype(np.float64)
    valid = (np.isfinite(kp).all(-1) & (kp[..., 0] >= -0.5) & (kp[..., 1] >= -0.5)
             & (kp[..., 0] <= size[:, None, None, 0] - 0.5)
             & (kp[..., 1] <= size[:, None, None, 1] - 0.5))
    p3 = np.concatenate(p3_l)
    return PoseBatch(
        keypoints_2d_px=np.nan_to_num(kp).astype(np.float32),
        keypoints_2d_gt_px=np.concatenate(gt_l).astype(np.float32),
        valid_2d=valid,
        pose_3d_cam_mm=p3.astype(np.float32),
        intrinsics=np.concatenate(intr_l).astype(np.float32),
        image_size_px=size.astype(np.float32),
        ids=ids,
        dist=np.concatenate(dist_l).astype(np.float32),
        licence=["h36m"] * len(ids),
    )
