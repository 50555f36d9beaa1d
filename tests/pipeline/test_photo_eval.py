"""Methods run on photos with 3D ground truth (monopose.pipeline.photo_eval): each photo once,
what fails reported, the rest scored."""

from __future__ import annotations

from pathlib import Path

from monopose.eval.photo_scores import PersonAnswer
from monopose.pipeline.photo_eval import MethodPlan, evaluate_photos, format_photo_report, per_photo
from tests.eval.test_photo_scores import INTRINSICS, _truth


def test_evaluation_runs_each_photo_once_reports_what_failed_and_scores_the_rest() -> None:
    one, two = _truth(label="p"), _truth((300.0, 0.0, 5000.0), label="p#2")
    broken = _truth(name="broken.jpg", label="broken")
    calls: list[Path] = []

    def method(path: Path, intrinsics) -> list[PersonAnswer]:  # type: ignore[no-untyped-def]
        calls.append(path)
        if path.name == "broken.jpg":
            raise ValueError(f"{path}: not a readable image")
        assert intrinsics == INTRINSICS
        return [PersonAnswer(t.rel_mm, t.abs_mm + [0, 0, 50.0], t.kp2d_px) for t in (one, two)]

    report = evaluate_photos([one, two, broken], [MethodPlan("m", lambda: per_photo(method))])
    assert calls == [Path("p.jpg"), Path("broken.jpg")]  # two people in p.jpg, one run
    assert [r["photo"] for r in report.rows] == ["p", "p#2", "broken"]
    assert [round(r.get("root_error_mm", -1)) for r in report.rows] == [50, 50, -1]
    assert report.errors == ["m: broken.jpg: broken.jpg: not a readable image"]
    text = format_photo_report(report)
    assert "mean of 2 (found 2 of 3, 1 not scored)" in text
    assert "| m | broken | not scored (see below) |" in text
    assert "Not scored:" in text and "| r_wrist |" in text


def test_a_model_named_twice_is_planned_once() -> None:
    from monopose.pipeline.photo_eval import plan_methods

    plans = plan_methods(["mpm-lift-t1", "mpm-lift-t1"], anchor=False, true_2d=True)
    assert [p.name for p in plans] == ["mpm-lift-t1", "mpm-lift-t1 (true 2D)"]
