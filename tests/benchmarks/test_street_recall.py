"""Street-video recall by eye: counting found people from a prediction JSON."""

from __future__ import annotations

import json

import pytest

from benchmarks.bench_street_recall import VISIBLE, found_from_prediction, recall_rows


def test_found_people_counted_and_capped(tmp_path):
    frames = [{"index": i, "people": [{"person_id": k} for k in range(i % 9)]}
              for i in range(max(VISIBLE) + 1)]
    path = tmp_path / "street.json"
    path.write_text(json.dumps({"frames": frames}), encoding="utf-8")
    found = found_from_prediction(path)
    assert set(found) == set(VISIBLE)
    rows = recall_rows(found)
    for frame, visible, got in rows:
        assert visible == VISIBLE[frame] and got == min(frame % 9, visible)
    assert any(frame % 9 > visible for frame, visible, _ in rows)  # the cap is exercised


def test_missing_frames_are_named():
    with pytest.raises(ValueError, match="25"):
        recall_rows({i: 1 for i in VISIBLE if i != 25})
