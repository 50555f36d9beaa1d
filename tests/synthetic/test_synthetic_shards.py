"""The sharded dataset files shared by the synthetic writers (no anny: a stand-in renderer)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from monopose.data.synthetic.shards import (
    check_dataset_args,
    encode_image,
    pack_blobs,
    render_shards,
    settings_hash,
    shard_name,
    write_sharded_dataset,
)


class _Counter:
    """Renders sample ``i`` as the number ``i``; counts the samples it rendered."""

    rendered: list[int] = []

    def __init__(self, scale: int, body: object = None) -> None:
        self.scale = scale

    def render_sample(self, i: int) -> int:
        _Counter.rendered.append(i)
        return i * self.scale

    def shard_arrays(self, samples: list[int]) -> dict[str, np.ndarray]:
        return {"value": np.array(samples, dtype=np.int64)}

    def close(self) -> None:
        pass


def test_encoded_images_unpack_to_what_went_in():
    rgb = np.zeros((6, 8, 3), np.uint8)
    rgb[..., 0] = 200  # red stays red through the RGB/BGR swap
    mask = np.eye(6, 8, dtype=np.uint8) * 255
    data, offsets = pack_blobs([encode_image(rgb, ".jpg", 95), encode_image(mask, ".png")])
    assert offsets[0] == 0 and offsets[-1] == len(data) and len(offsets) == 3
    back = cv2.imdecode(data[offsets[0]:offsets[1]], cv2.IMREAD_COLOR)[..., ::-1]
    assert np.abs(back.astype(int) - rgb).max() <= 3
    np.testing.assert_array_equal(cv2.imdecode(data[offsets[1]:], cv2.IMREAD_GRAYSCALE), mask)
    empty, off = pack_blobs([])
    assert len(empty) == 0 and off.tolist() == [0]


def test_settings_hash_ignores_only_the_sample_count():
    s = {"n": 4, "seed": 0, "scene": {"a": 1}}
    assert settings_hash(s) == settings_hash({**s, "n": 99})
    assert settings_hash(s) != settings_hash({**s, "seed": 1})


@pytest.mark.parametrize(("args", "match"), [
    ((0, 1, 1, "train", "size!"), "n:"), ((1, 1, 1, "train", "size!"), "size!"),
    ((1, 0, 1, "train"), "workers"), ((1, 1, 0, "train"), "shard_size"),
    ((1, 1, 1, "dev"), "split"),
])
def test_dataset_arguments_fail_on_the_first_bad_one(args, match):
    with pytest.raises(ValueError, match=match):
        check_dataset_args(*args)
    check_dataset_args(1, 1, 1, "val")


def test_shards_resume_and_refuse_other_settings(tmp_path):
    _Counter.rendered = []
    todo = render_shards(tmp_path, 5, 2, "aaaa", _Counter, (10,), progress=False)
    assert todo == [(0, 0, 2), (1, 2, 4), (2, 4, 5)] and _Counter.rendered == [0, 1, 2, 3, 4]
    with np.load(tmp_path / shard_name(2)) as z:
        assert z["value"].tolist() == [40] and int(z["num_samples"]) == 1
    (tmp_path / shard_name(1)).unlink()
    _Counter.rendered = []
    seen: list[tuple[int, int]] = []
    todo = render_shards(tmp_path, 6, 2, "aaaa", _Counter, (10,),
                         progress=lambda d, n: seen.append((d, n)))
    assert todo == [(1, 2, 4), (2, 4, 6)] and _Counter.rendered == [2, 3, 4, 5]
    assert seen == [(2, 6), (4, 6), (6, 6)]
    with pytest.raises(ValueError, match="other settings"):
        render_shards(tmp_path, 6, 2, "bbbb", _Counter, (10,), progress=False)


def test_the_index_lists_shards_and_described_fields(tmp_path):
    def describe(out, bounds):
        return [{"last": b - 1} for _, _, b in bounds], {"total": len(bounds)}

    settings = {"n": 3, "seed": 7}
    run = write_sharded_dataset(tmp_path / "ds", 3, 2, settings, _Counter, (1,), "ints",
                                progress=False, describe=describe)
    index = json.loads((tmp_path / "ds" / "index.json").read_text())
    assert index == run.index
    assert index["settings_hash"] == settings_hash(settings) and index["total"] == 2
    assert index["shards"] == [{"file": shard_name(0), "start": 0, "count": 2, "last": 1},
                               {"file": shard_name(1), "start": 2, "count": 1, "last": 2}]
    assert list(index)[:6] == ["n", "seed", "settings_hash", "num_shards", "shards", "total"]
    assert (run.num_shards, run.shards_written, run.shards_skipped) == (2, 2, 0)
    again = write_sharded_dataset(tmp_path / "ds", 3, 2, settings, _Counter, (1,), "ints",
                                  progress=False)
    assert (again.shards_written, again.shards_skipped) == (0, 2)
