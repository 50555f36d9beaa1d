"""A video through the default video pipeline, summed up to compare two trees' outputs.

    .venv/bin/python benchmarks/check_video_outputs.py [VIDEO]
    PYTHONPATH=<another checkout> .venv/bin/python benchmarks/check_video_outputs.py [VIDEO]

Prints one JSON line: frames, people (person-frames), track ids, seconds, and the sum of every
2D keypoint (px): equal sums mean the same keypoints, to rounding, in the same frames. The
default video is the street video of ``../shared/media``. Run the two trees one after the
other on an idle machine for the time.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MONOPOSE_SHARED", REPO.parent / "shared"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", nargs="?", type=Path,
                        default=SHARED / "media" / "people_walking_street_multi.avi")
    args = parser.parse_args()
    from monopose.pipeline.estimator import Estimator  # heavy: torch and LiteRT

    start = time.perf_counter()
    pred = Estimator().predict_video(args.video)
    seconds = time.perf_counter() - start
    people = [p for f in pred.frames for p in f.people]
    print(json.dumps({"video": args.video.name, "frames": len(pred.frames),
                      "people": len(people), "ids": len({p.person_id for p in people}),
                      "seconds": round(seconds, 1),
                      "keypoint_sum_px": float(np.nansum([np.nansum(p.keypoints_2d_px)
                                                          for p in people]))}))


if __name__ == "__main__":
    main()
