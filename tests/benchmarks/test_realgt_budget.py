"""The real-photo error budget: scores with one body part set to the truth."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.realgt_budget import (
    EVERY_DEPTH,
    PARTS,
    budget_table,
    depth_agreement,
    oracle_scores,
)
from monopose.core.skeleton import H36M17

RNG = np.random.default_rng(3)
TRUTH_MM = RNG.normal(0.0, 300.0, (17, 3))
TRUTH_MM -= TRUTH_MM[0]
R_ANKLE = H36M17.index("r_ankle")
L_WRIST = H36M17.index("l_wrist")


def test_a_depth_error_of_one_joint_is_mended_by_its_part_only() -> None:
    pred = TRUTH_MM.copy()
    pred[R_ANKLE, 2] += 400.0
    scores = oracle_scores(pred, TRUTH_MM)
    assert scores["as predicted"]["mpjpe_mm"] == pytest.approx(400.0 / 17)
    for name in ("right leg", "right leg depth", EVERY_DEPTH):
        assert scores[name]["mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)
        assert scores[name]["p_mpjpe_mm"] == pytest.approx(0.0, abs=1e-6)
    for name in ("left leg", "right arm", "trunk depth"):
        assert scores[name] == scores["as predicted"]


def test_a_sideways_error_is_not_mended_by_depth() -> None:
    pred = TRUTH_MM.copy()
    pred[L_WRIST, 0] += 170.0
    scores = oracle_scores(pred, TRUTH_MM)
    assert scores["left arm"]["mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)
    assert scores["left arm depth"]["mpjpe_mm"] == pytest.approx(10.0)
    assert scores[EVERY_DEPTH]["mpjpe_mm"] == pytest.approx(10.0)


def test_every_part_has_both_readings() -> None:
    scores = oracle_scores(TRUTH_MM + 1.0, TRUTH_MM)
    assert list(scores) == (["as predicted"] + [k for p in PARTS for k in (p, f"{p} depth")]
                            + [EVERY_DEPTH])


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="pred_rel_mm and gt_rel_mm"):
        oracle_scores(TRUTH_MM[:16], TRUTH_MM)
    with pytest.raises(ValueError, match="unknown joints"):
        oracle_scores(TRUTH_MM, TRUTH_MM, parts={"tail": ("tail_tip",)})


def test_table_prints_each_photo_and_the_mean() -> None:
    one = TRUTH_MM.copy()
    one[R_ANKLE, 2] += 340.0  # MPJPE 20 as predicted
    two = TRUTH_MM.copy()
    two[R_ANKLE, 2] += 680.0  # MPJPE 40
    rows = [{"method": "m", "photo": "a", "oracle": oracle_scores(one, TRUTH_MM),
             "depth": depth_agreement(one, TRUTH_MM)},
            {"method": "m", "photo": "b", "oracle": oracle_scores(two, TRUTH_MM),
             "depth": depth_agreement(two, TRUTH_MM)},
            {"method": "m", "photo": "c"}]  # nobody found: left out
    lines = budget_table(rows).splitlines()
    assert len(lines) == 2 + 3
    assert lines[2].startswith("| m | a | 20 / ")
    assert lines[3].startswith("| m | b | 40 / ")
    assert lines[4].startswith("| m | **mean of 2** | 30 / ")
    assert "| 0 / 0 |" in lines[4]  # the right leg set true
    assert budget_table([{"method": "m", "photo": "c"}]) == "(no scored photo)"


def test_depth_agreement_reads_a_flattened_pose() -> None:
    flat = TRUTH_MM.copy()
    flat[:, 2] *= 0.5
    d = depth_agreement(flat, TRUTH_MM)
    assert d["depth_scale"] == pytest.approx(2.0)
    assert d["depth_residual_mm"] == pytest.approx(0.0, abs=1e-9)
    assert d["depth_corr"] == pytest.approx(1.0)
    mirrored = TRUTH_MM * np.array([1.0, 1.0, -1.0])
    assert depth_agreement(mirrored, TRUTH_MM)["depth_corr"] == pytest.approx(-1.0)
    flat[:, 2] = 0.0  # no depth at all: no scale to find
    assert np.isnan(depth_agreement(flat, TRUTH_MM)["depth_scale"])
