"""Qualitative sheet of the default pipeline on the media photos (docs/media_photos.jpg).

For every photo of ``../shared/media`` with people in it, the picture ``monopose predict`` draws
(2D skeletons, then front and side metric views in the world frame estimated from the people:
upright on the floor), scaled to one width and stacked. Run from the repository root:

    .venv/bin/python benchmarks/make_media_sheet.py [--model NAME] [--out docs/media_photos.jpg]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2
import numpy as np

from monopose.io.images import read_image
from monopose.pipeline.estimator import DEFAULT_MODEL, Estimator
from monopose.pipeline.viz import draw_frame, world_frame_of

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MONOPOSE_SHARED", REPO.parent / "shared"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "media_photos.jpg")
    ap.add_argument("--width", type=int, default=960)
    args = ap.parse_args()
    photos = sorted(p for p in (SHARED / "media").glob("*.jpg")
                    if p.name.startswith(("person", "three_people")))
    if not photos:
        raise SystemExit(f"no media photos in {SHARED / 'media'}")
    est = Estimator(model=args.model)
    rows = []
    for path in photos:
        frame = est.predict(path).frames[0]
        world = world_frame_of([frame], "auto")
        pic = draw_frame(read_image(path), frame, world=world)
        h = round(pic.shape[0] * args.width / pic.shape[1])
        pic = cv2.resize(pic, (args.width, h), interpolation=cv2.INTER_AREA)
        cv2.putText(pic, f"{path.name}: {len(frame.people)} people, {args.model}", (8, 22),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
        rows.append(pic)
        print(f"{path.name}: {len(frame.people)} people")
    sheet = np.concatenate(rows, axis=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise SystemExit("could not encode the sheet")
    tmp = args.out.with_suffix(".tmp.jpg")
    tmp.write_bytes(data.tobytes())
    tmp.replace(args.out)
    print(f"wrote {args.out} ({len(data) / 1e3:.0f} kB, {sheet.shape[1]}×{sheet.shape[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
