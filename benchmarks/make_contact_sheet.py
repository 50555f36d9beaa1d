"""Contact sheet of synthetic renders with their ground-truth skeletons (docs/contact_sheet.png).

Joints drawn as filled dots are visible, hollow dots are hidden by the body; truncated joints
are not drawn. Run from the repository root:

    .venv/bin/python benchmarks/make_contact_sheet.py [--n 16] [--size 256] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monopose.core.skeleton import H36M17  # noqa: E402
from monopose.data.synthetic.generate import PoseSource, SyntheticRenderer  # noqa: E402

_LEFT = set(H36M17.left)


def draw_skeleton(image: np.ndarray, kp: np.ndarray, inside: np.ndarray,
                  visible: np.ndarray) -> np.ndarray:
    """Draw bones (left joints blue, right red, centre green) over a copy of ``image``."""
    import cv2

    out = image.copy()
    for j, p in enumerate(H36M17.parents):
        if p < 0 or not (inside[j] and inside[p]):
            continue
        col = (60, 120, 255) if j in _LEFT else (255, 60, 60) if j in H36M17.right else (
            60, 220, 60)
        a = tuple(int(round(x)) for x in kp[p])
        b = tuple(int(round(x)) for x in kp[j])
        cv2.line(out, a, b, col, 1, cv2.LINE_AA)
    for j in range(len(kp)):
        if inside[j]:
            c = tuple(int(round(x)) for x in kp[j])
            cv2.circle(out, c, 2, (255, 255, 0), -1 if visible[j] else 1, cv2.LINE_AA)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cols", type=int, default=4)
    ap.add_argument("--cache", default=os.environ.get("MONOPOSE_MOCAP_CACHE",
                                                      str(ROOT / "cache" / "mocap")))
    ap.add_argument("--out", default=str(ROOT / "docs" / "contact_sheet.png"))
    args = ap.parse_args()
    import imageio.v3 as iio

    poses = PoseSource.from_cache(args.cache, "train")
    r = SyntheticRenderer(poses, size=args.size, seed=args.seed)
    tiles = []
    for i in range(args.n):
        s = r.render_sample(i)
        tile = draw_skeleton(s.image, s.keypoints_2d_px, s.valid_2d, s.visible)
        pad = np.full((tile.shape[0] + 4, tile.shape[1] + 4, 3), 255, np.uint8)
        pad[2:-2, 2:-2] = tile
        tiles.append(pad)
    rows = [np.concatenate(tiles[i:i + args.cols], axis=1)
            for i in range(0, len(tiles), args.cols)]
    if len(rows) > 1 and rows[-1].shape[1] < rows[0].shape[1]:
        fill = np.full((rows[-1].shape[0], rows[0].shape[1] - rows[-1].shape[1], 3), 255,
                       np.uint8)
        rows[-1] = np.concatenate([rows[-1], fill], axis=1)
    sheet = np.concatenate(rows, axis=0)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(".tmp-" + out.name)
    iio.imwrite(tmp, sheet, extension=".png")
    os.replace(tmp, out)
    print(f"wrote {out} ({sheet.shape[1]}×{sheet.shape[0]})")
    r.close()


if __name__ == "__main__":
    main()
