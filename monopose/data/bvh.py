"""BVH motion files: parsing and forward kinematics.

A BVH file has a ``HIERARCHY`` (``ROOT``/``JOINT``/``End Site`` with ``OFFSET`` and ``CHANNELS``)
and a ``MOTION`` block (``Frames: N``, ``Frame Time: dt``, then N lines of one value per channel).

Conventions implemented here:

* Rotation channels are Euler angles in degrees, applied in the order the ``CHANNELS`` line lists
  them: local ``R = R(first) @ R(second) @ R(third)`` (column vectors).
* ``child position = parent position + parent global R @ child offset``;
  ``child global R = parent global R @ child local R``.
* A joint with position channels: by default (``position_mode="replace"``) the channels *replace*
  its ``OFFSET`` (the usual convention; Bandai files rely on it). With ``"add"`` they are added to
  the ``OFFSET`` (iClone exports of the CMU data store root displacements relative to it).
* ``End Site`` blocks become joints without channels named ``"<parent>_End"`` (numbered if a
  joint has several).

Files may be plain ``.bvh`` or gzip-compressed ``.bvh.gz``. Units are whatever the file uses
(typically centimetres).
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from monopose.core.rotations import euler_to_matrix

__all__ = [
    "BvhError",
    "BvhSkeleton",
    "BvhMotion",
    "parse_bvh",
    "read_bvh",
    "euler_to_matrix",
    "forward_kinematics",
]

_ROT_AXES = {"Xrotation": 0, "Yrotation": 1, "Zrotation": 2}
_POS_AXES = {"Xposition": 0, "Yposition": 1, "Zposition": 2}


class BvhError(ValueError):
    """A BVH file is empty, truncated or malformed. The message names the file and the reason."""


@dataclass(frozen=True)
class BvhSkeleton:
    """The joint tree of a BVH file.

    Attributes:
        names: Joint names, ``J`` entries, in file order (parents come before children).
        parents: Parent index per joint, ``-1`` for the root.
        offsets: ``[J, 3]`` OFFSET of each joint in its parent's frame (file units).
        channels: Channel names per joint (empty for end sites).
        channel_start: Index of each joint's first channel in a frame's value vector.
        is_end_site: ``[J]`` bool, True for ``End Site`` joints.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    channel_start: tuple[int, ...]
    is_end_site: tuple[bool, ...]

    @property
    def num_joints(self) -> int:
        return len(self.names)

    @property
    def num_channels(self) -> int:
        return sum(len(c) for c in self.channels)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"joint {name!r} is not in the BVH skeleton") from None

    def ancestors_closure(self, indices: Sequence[int]) -> list[int]:
        """Sorted indices of ``indices`` and all their ancestors (what FK needs to reach them)."""
        need: set[int] = set()
        for j in indices:
            while j >= 0 and j not in need:
                need.add(j)
                j = self.parents[j]
        return sorted(need)


@dataclass(frozen=True)
class BvhMotion:
    """A parsed BVH file.

    Attributes:
        skeleton: The joint tree.
        values: ``[F, C]`` float64 channel values per frame (degrees for rotations).
        frame_time_s: Seconds per frame.
        source: File name (for messages).
    """

    skeleton: BvhSkeleton
    values: np.ndarray
    frame_time_s: float
    source: str = "<string>"

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time_s if self.frame_time_s > 0 else 0.0


def _fail(source: str, reason: str) -> BvhError:
    return BvhError(f"{source}: {reason}")


class _HierarchyParser:
    """State of the HIERARCHY parse: the joints read so far and the open ``{`` blocks."""

    def __init__(self, tokens: list[str], source: str) -> None:
        self.tokens = tokens
        self.source = source
        self.names: list[str] = []
        self.parents: list[int] = []
        self.offsets: list[list[float]] = []
        self.channels: list[tuple[str, ...]] = []
        self.end_site: list[bool] = []
        self.stack: list[int] = []  # indices of open joints
        self.pending: int | None = None  # joint declared, its "{" not yet seen
        self.i = 1  # tokens[0] == "HIERARCHY"

    def fail(self, reason: str) -> BvhError:
        return _fail(self.source, reason)

    def need(self, k: int, what: str) -> None:
        if self.i + k > len(self.tokens):
            raise self.fail(f"unexpected end of file while reading {what}")

    def add_node(self, name: str, parent: int, is_end: bool) -> int:
        """Append a joint or end site (offset and channels filled in later); its index."""
        self.names.append(name)
        self.parents.append(parent)
        self.offsets.append([0.0, 0.0, 0.0])
        self.channels.append(())
        self.end_site.append(is_end)
        return len(self.names) - 1

    def run(self) -> tuple[BvhSkeleton, int]:
        """Parse up to the ``}`` closing the root; the skeleton and the index after it."""
        handlers = {
            "ROOT": self.joint, "JOINT": self.joint, "End": self.end, "{": self.open,
            "OFFSET": self.offset, "CHANNELS": self.channel_list,
        }
        while self.i < len(self.tokens):
            tok = self.tokens[self.i]
            if tok == "}":
                if not self.stack:
                    raise self.fail(f"unbalanced '}}' near token {self.i}")
                self.stack.pop()
                self.i += 1
                if not self.stack:
                    break
            elif tok in handlers:
                handlers[tok](tok)
            elif tok == "MOTION":
                raise self.fail("MOTION reached before the hierarchy was closed")
            else:
                raise self.fail(f"unexpected token {tok!r} in HIERARCHY")
        if self.stack or not self.names:
            raise self.fail("unexpected end of file inside HIERARCHY")
        return self.skeleton(), self.i

    def joint(self, tok: str) -> None:
        self.need(2, f"{tok} name")
        if tok == "ROOT" and (self.stack or self.names):
            raise self.fail("a second ROOT is not supported")
        if tok == "JOINT" and not self.stack:
            raise self.fail("JOINT outside of a ROOT block")
        parent = self.stack[-1] if self.stack else -1
        self.pending = self.add_node(self.tokens[self.i + 1], parent, is_end=False)
        self.i += 2

    def end(self, tok: str) -> None:
        self.need(2, "End Site")
        if not self.stack or self.tokens[self.i + 1] != "Site":
            raise self.fail(f"malformed End Site near token {self.i}")
        parent = self.stack[-1]
        base = f"{self.names[parent]}_End"
        count = sum(1 for nm in self.names if nm == base or nm.startswith(base + "."))
        self.pending = self.add_node(base if count == 0 else f"{base}.{count}", parent,
                                     is_end=True)
        self.i += 2

    def open(self, tok: str) -> None:
        if self.pending is None:
            raise self.fail(f"unexpected '{{' near token {self.i}")
        self.stack.append(self.pending)
        self.pending = None
        self.i += 1

    def offset(self, tok: str) -> None:
        self.need(4, "OFFSET")
        if not self.stack:
            raise self.fail("OFFSET outside of a joint")
        joint = self.stack[-1]
        try:
            self.offsets[joint] = [float(v) for v in self.tokens[self.i + 1 : self.i + 4]]
        except ValueError:
            raise self.fail(f"non-numeric OFFSET for joint {self.names[joint]!r}") from None
        self.i += 4

    def channel_list(self, tok: str) -> None:
        self.need(2, "CHANNELS")
        if not self.stack or self.end_site[self.stack[-1]]:
            raise self.fail("CHANNELS outside of a joint")
        try:
            count = int(self.tokens[self.i + 1])
        except ValueError:
            raise self.fail(f"bad channel count {self.tokens[self.i + 1]!r}") from None
        self.need(2 + count, "CHANNELS")
        chans = tuple(self.tokens[self.i + 2 : self.i + 2 + count])
        for c in chans:
            if c not in _ROT_AXES and c not in _POS_AXES:
                raise self.fail(f"unknown channel {c!r} for joint {self.names[self.stack[-1]]!r}")
        self.channels[self.stack[-1]] = chans
        self.i += 2 + count

    def skeleton(self) -> BvhSkeleton:
        starts: list[int] = []
        total = 0
        for chans in self.channels:
            starts.append(total)
            total += len(chans)
        return BvhSkeleton(
            names=tuple(self.names),
            parents=tuple(self.parents),
            offsets=np.asarray(self.offsets, dtype=np.float64),
            channels=tuple(self.channels),
            channel_start=tuple(starts),
            is_end_site=tuple(self.end_site),
        )


def _parse_hierarchy(tokens: list[str], source: str) -> tuple[BvhSkeleton, int]:
    """Parse the HIERARCHY token stream. Returns the skeleton and the index after it."""
    return _HierarchyParser(tokens, source).run()


def parse_bvh(text: str, source: str = "<string>") -> BvhMotion:
    """Parse BVH text.

    Args:
        text: Whole file content.
        source: Name used in error messages.

    Raises:
        BvhError: empty text, a malformed hierarchy, a missing MOTION block, fewer or more data
            lines than ``Frames``, or a line without exactly one number per channel.
    """
    if not text.strip():
        raise _fail(source, "empty file")
    head, sep, motion = text.partition("MOTION")
    tokens = head.split()
    if not tokens or tokens[0] != "HIERARCHY":
        raise _fail(source, "does not start with HIERARCHY")
    skel, _ = _parse_hierarchy(tokens + (["MOTION"] if sep else []), source)
    if not sep:
        raise _fail(source, "no MOTION block (truncated file?)")
    lines = motion.splitlines()
    header: dict[str, str] = {}
    k = 0
    while k < len(lines) and len(header) < 2:
        line = lines[k].strip()
        k += 1
        if not line:
            continue
        key, colon, val = line.partition(":")
        if not colon or key.strip() not in ("Frames", "Frame Time"):
            raise _fail(source, f"expected 'Frames:' and 'Frame Time:' lines, got {line[:40]!r}")
        header[key.strip()] = val.strip()
    if len(header) < 2:
        raise _fail(source, "missing 'Frames:' or 'Frame Time:' (truncated file?)")
    try:
        n_frames = int(header["Frames"])
        frame_time = float(header["Frame Time"])
    except ValueError:
        raise _fail(source, "non-numeric Frames or Frame Time") from None
    data_lines = [ln for ln in lines[k:] if ln.strip()]
    n_chan = skel.num_channels
    if len(data_lines) != n_frames:
        raise _fail(
            source,
            f"Frames says {n_frames} but {len(data_lines)} data lines follow"
            + (" (truncated file)" if len(data_lines) < n_frames else ""),
        )
    try:
        flat = np.array(" ".join(data_lines).split(), dtype=np.float64)
    except ValueError:
        raise _fail(source, "non-numeric value in MOTION data") from None
    if flat.size != n_frames * n_chan:
        for f, ln in enumerate(data_lines):
            if len(ln.split()) != n_chan:
                raise _fail(
                    source,
                    f"frame {f} has {len(ln.split())} values, expected {n_chan} (one per channel)",
                )
    values = flat.reshape(n_frames, n_chan)
    if not np.all(np.isfinite(values)):
        raise _fail(source, "non-finite value in MOTION data")
    return BvhMotion(skeleton=skel, values=values, frame_time_s=frame_time, source=source)


def read_bvh(path: str | Path) -> BvhMotion:
    """Read a ``.bvh`` or ``.bvh.gz`` file (see :func:`parse_bvh` for the errors)."""
    path = Path(path)
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
    except (OSError, EOFError) as exc:
        raise _fail(path.name, f"cannot read ({exc})") from None
    return parse_bvh(text, source=path.name)


def forward_kinematics(
    motion: BvhMotion,
    joints: Sequence[str] | None = None,
    position_mode: Literal["replace", "add"] = "replace",
    return_rotations: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Global joint positions for every frame (vectorised over frames).

    Args:
        motion: Parsed BVH.
        joints: Names of the joints to return (default: all, in file order). Only these and
            their ancestors are computed.
        position_mode: ``"replace"``: position channels replace the OFFSET; ``"add"``: they are
            added to it.
        return_rotations: Also return global rotation matrices.

    Returns:
        ``positions [F, K, 3]`` in file units, and with ``return_rotations`` also
        ``rotations [F, K, 3, 3]`` (joint frame → world).
    """
    if position_mode not in ("replace", "add"):
        raise ValueError(f"position_mode: expected 'replace' or 'add', got {position_mode!r}")
    skel = motion.skeleton
    if joints is None:
        wanted = list(range(skel.num_joints))
    else:
        wanted = [skel.index(n) for n in joints]
    n_frames = motion.num_frames
    vals = motion.values
    pos: dict[int, np.ndarray] = {}
    rot: dict[int, np.ndarray] = {}
    for j in skel.ancestors_closure(wanted):
        chans = skel.channels[j]
        start = skel.channel_start[j]
        offset = np.broadcast_to(skel.offsets[j], (n_frames, 3))
        pos_idx = [(k, _POS_AXES[c]) for k, c in enumerate(chans) if c in _POS_AXES]
        if pos_idx:
            local_t = offset.copy() if position_mode == "add" else np.zeros((n_frames, 3))
            replaced = np.zeros(3, dtype=bool)
            for k, axis in pos_idx:
                local_t[:, axis] += vals[:, start + k]
                replaced[axis] = True
            if position_mode == "replace":
                # An axis without a position channel keeps its OFFSET component.
                local_t[:, ~replaced] = offset[:, ~replaced]
        else:
            local_t = offset
        rot_idx = [(k, _ROT_AXES[c]) for k, c in enumerate(chans) if c in _ROT_AXES]
        local_r = (
            euler_to_matrix(vals[:, [start + k for k, _ in rot_idx]], [a for _, a in rot_idx])
            if rot_idx
            else None
        )
        p = skel.parents[j]
        if p < 0:
            pos[j] = np.array(local_t, dtype=np.float64)
            eye = np.broadcast_to(np.eye(3), (n_frames, 3, 3))
            rot[j] = local_r if local_r is not None else eye
        else:
            pos[j] = pos[p] + np.einsum("fij,fj->fi", rot[p], local_t)
            rot[j] = rot[p] @ local_r if local_r is not None else rot[p]
    positions = np.stack([pos[j] for j in wanted], axis=1)
    if return_rotations:
        return positions, np.stack([np.asarray(rot[j]) for j in wanted], axis=1)
    return positions
