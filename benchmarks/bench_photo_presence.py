"""Person recall of single-image detection at two landmark-presence thresholds.

Every third frame of the rendered tracking videos (``runs/bench_tracking/videos``, see
``benchmarks/bench_tracking.py``) is detected as a photo: a person with ≥ 6 visible joints is
found when a detection's box overlaps their silhouette box by IoU ≥ 0.5; a detection that
overlaps no labelled person by IoU ≥ 0.3 is false. Then the number of people found in each
shared photo (``../shared/media``).

    python benchmarks/bench_photo_presence.py [--thresholds 0.5 0.3]
"""

from __future__ import annotations

import argparse
import glob
import time
from pathlib import Path

import cv2
import numpy as np

from monopose.data.synthetic.multi_video import read_video_labels
from monopose.detect.blazepose import BlazePoseDetector
from monopose.detect.ssd import iou_xyxy
from monopose.io.images import read_image


def score_frame(boxes: np.ndarray, labels: dict[str, np.ndarray], t: int) -> tuple[int, int, int]:
    """``(found, missed, false)`` in frame ``t``."""
    rows = np.flatnonzero((labels["frame"] == t) & (labels["visible"].sum(1) >= 6))
    used: set[int] = set()
    found = missed = 0
    for r in rows:
        if len(boxes):
            iou = iou_xyxy(labels["box_xyxy_px"][r], boxes)
            k = int(np.argmax(iou))
            if iou[k] >= 0.5 and k not in used:
                used.add(k)
                found += 1
                continue
        missed += 1
    anyone = labels["box_xyxy_px"][labels["frame"] == t]
    false = sum(1 for k in range(len(boxes)) if k not in used
                and not (len(anyone) and iou_xyxy(boxes[k], anyone).max() >= 0.3))
    return found, missed, false


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.3])
    ap.add_argument("--videos", type=Path, default=Path("runs/bench_tracking/videos"))
    ap.add_argument("--media", type=Path, default=Path("../shared/media"))
    args = ap.parse_args()
    for threshold in args.thresholds:
        det = BlazePoseDetector(min_presence=threshold, num_threads=2)
        totals = np.zeros(3, int)
        frames, t0 = 0, time.perf_counter()
        for video in sorted(args.videos.glob("video-*.mp4")):
            labels = read_video_labels(video.with_suffix(".npz"))
            cap = cv2.VideoCapture(str(video))
            t = 0
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                if t % 3 == 0:
                    people = det.detect(np.ascontiguousarray(bgr[..., ::-1]))
                    boxes = np.array([p.box_xyxy_px for p in people]).reshape(-1, 4)
                    totals += score_frame(boxes, labels, t)
                    frames += 1
                t += 1
        ms = 1000 * (time.perf_counter() - t0) / max(frames, 1)
        photos = {Path(f).name: len(det.detect(read_image(f)))
                  for f in sorted(glob.glob(str(args.media / "*.jpg")))}
        found, missed, false = totals
        print(f"min_presence {threshold}: recall {found / max(found + missed, 1):.3f} "
              f"({found}/{found + missed}), false {false}, {frames} frames, {ms:.0f} ms/frame; "
              f"people per photo {photos}")


if __name__ == "__main__":
    main()
