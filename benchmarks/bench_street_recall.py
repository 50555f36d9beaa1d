"""Recall per frame on the street video, against people counted by eye.

The street video (``../shared/media/people_walking_street_multi.avi``) has no labels. In 16
frames (25, 75, ..., 775) every person whose body is mostly in view and at least ~40 px tall was
counted by eye (people cut by the image border or tiny in the background are not counted;
two people walking one behind the other count as two); ``VISIBLE`` holds the counts. The
tracker's people in those frames are counted and checked by eye to lie on people (no false
person was seen in these frames), so recall per frame is ``min(found, visible) / visible``.

    .venv/bin/python benchmarks/bench_street_recall.py \
        [--prediction OUT/people_walking_street_multi.json]

Without ``--prediction`` the tracker runs here as ``monopose predict`` runs it (frames at the
working size, ``PoseTracker`` with the product's settings; no lifting).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MONOPOSE_SHARED", ROOT.parent / "shared"))
STREET = SHARED / "media" / "people_walking_street_multi.avi"

# frame index -> people visible (counted by eye, 2026-12-05)
VISIBLE = {25: 5, 75: 6, 125: 8, 175: 7, 225: 6, 275: 7, 325: 6, 375: 4, 425: 3, 475: 3,
           525: 6, 575: 7, 625: 6, 675: 7, 725: 7, 775: 7}


def found_from_prediction(path: Path) -> dict[int, int]:
    frames = json.loads(path.read_text(encoding="utf-8"))["frames"]
    return {int(f["index"]): len(f["people"]) for f in frames if int(f["index"]) in VISIBLE}


def found_by_tracker(video: Path) -> dict[int, int]:
    from monopose.detect.blazepose import BlazePoseDetector
    from monopose.detect.tracking import PoseTracker, memory_frames_for
    from monopose.io.video import open_video
    from monopose.pipeline.working_size import working_scale

    opened = open_video(video, max_frames=max(VISIBLE) + 1)
    try:
        scale = working_scale(opened.info.width, opened.info.height)
        tracker = PoseTracker(BlazePoseDetector(), memory_frames=memory_frames_for(opened.info.fps))
        found = {}
        for item in opened:
            if isinstance(item, str):
                break
            index, rgb = item
            if scale < 1.0:
                rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            people = tracker.update(rgb)
            if index in VISIBLE:
                found[index] = len(people)
        return found
    finally:
        opened.close()


def recall_rows(found: dict[int, int]) -> list[tuple[int, int, int]]:
    """``(frame, visible, found capped at visible)`` for every counted frame.

    Raises:
        ValueError: naming the counted frames ``found`` lacks.
    """
    missing = sorted(set(VISIBLE) - set(found))
    if missing:
        raise ValueError(f"frames {missing}: not in the prediction")
    return [(i, VISIBLE[i], min(found[i], VISIBLE[i])) for i in sorted(VISIBLE)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prediction", type=Path, default=None,
                    help="a `monopose predict` JSON of the street video")
    ap.add_argument("--video", type=Path, default=STREET)
    args = ap.parse_args()
    found = (found_from_prediction(args.prediction) if args.prediction
             else found_by_tracker(args.video))
    try:
        rows = recall_rows(found)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    recall = np.array([f / v for _, v, f in rows])
    print("| frame | visible | found | recall |\n|---|---|---|---|")
    for i, v, f in rows:
        print(f"| {i} | {v} | {f} | {f / v:.2f} |")
    total_v, total_f = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"\nrecall over {len(rows)} frames: {total_f}/{total_v} = {total_f / total_v:.2f}; "
          f"per frame median {np.median(recall):.2f}, min {recall.min():.2f}")


if __name__ == "__main__":
    main()
