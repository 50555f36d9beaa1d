"""Whole-pipeline evaluation on photos with 3D ground truth (``monopose evaluate-photos``).

The labels and the scores are :mod:`monopose.eval.photo_truth` and
:mod:`monopose.eval.photo_scores`; this module runs the methods of :mod:`.photo_methods` on the
photos. Each method runs once per photo with the photo's own intrinsics; the person whose 2D
lies nearest each labelled person is scored against it in h36m17. Methods side by side in one
run: monopose's models, MediaPipe's world landmarks (the anchor), and each
keypoint lifter fed the labelled 2D. A photo a method cannot read is reported and the rest are
scored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from monopose.eval.photo_scores import (
    PersonAnswer,
    group_means,
    group_table,
    mean_scores,
    nearest_person,
    per_joint_table,
    score_person,
    scores_table,
)
from monopose.eval.photo_truth import PhotoTruth
from monopose.pipeline.photo_methods import (
    MEDIAPIPE_WORLD,
    PhotoMethod,
    estimator_method,
    mediapipe_world_method,
    true_2d_answer,
)

__all__ = ["MethodPlan", "PhotoReport", "evaluate_photos", "plan_methods", "format_photo_report"]

# A method as scored: one labelled person in, the people it found in that photo out.
TruthMethod = Callable[[PhotoTruth], list[PersonAnswer]]


@dataclass(frozen=True)
class MethodPlan:
    """A method to score: its row name and how to build it (built when its turn comes, so only
    one method's models are loaded at a time)."""

    name: str
    build: Callable[[], TruthMethod]


@dataclass
class PhotoReport:
    """Per-photo score rows, one mean row per method, seconds per method (building it included),
    a note per photo a method could not read, and the means per group of photos (when the
    labels give groups)."""

    rows: list[dict]
    means: list[dict]
    seconds: dict[str, float]
    errors: list[str] = field(default_factory=list)
    groups: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"photos": self.rows, "means": self.means, "group_means": self.groups,
                "seconds_per_method": self.seconds, "errors": self.errors}


def per_photo(method: PhotoMethod) -> TruthMethod:
    """``method`` run once per photo and intrinsics, however many people are labelled in it."""
    seen: dict[tuple[str, tuple[float, ...]], list[PersonAnswer]] = {}

    def run(truth: PhotoTruth) -> list[PersonAnswer]:
        key = (str(truth.path), tuple(truth.intrinsics))
        if key not in seen:
            seen[key] = method(truth.path, truth.intrinsics)
        return seen[key]

    return run


def plan_methods(models: Sequence[str], anchor: bool = True, true_2d: bool = True,
                 **estimator_options: object) -> list[MethodPlan]:
    """The models' whole pipelines, then MediaPipe's world landmarks (``anchor``), then each
    keypoint lifter among ``models`` fed the labelled 2D (``true_2d``; models that read images
    or feature maps have no such row)."""
    models = list(dict.fromkeys(models))  # a model named twice is scored once
    plans = [MethodPlan(m, partial(_pipeline, m, estimator_options)) for m in models]
    if anchor:
        plans.append(MethodPlan(MEDIAPIPE_WORLD, lambda: per_photo(mediapipe_world_method())))
    if true_2d:
        plans += [MethodPlan(f"{m} (true 2D)", partial(_true_2d, m))
                  for m in models if _reads_keypoints(m)]
    return plans


def _pipeline(name: str, estimator_options: dict[str, object]) -> TruthMethod:
    return per_photo(estimator_method(name, **estimator_options))


def _reads_keypoints(name: str) -> bool:
    from monopose.pipeline.model_loading import DEFAULT_OPTIONS, ModelLoader  # heavy: registry

    card = ModelLoader(DEFAULT_OPTIONS).card(name)
    return card.architecture not in ("metrabs", "capf")


def _true_2d(name: str) -> TruthMethod:
    from monopose.pipeline.lift_file import keypoint_model  # heavy: the model

    lifter = keypoint_model(name)
    return lambda truth: [true_2d_answer(lifter, truth)]


def evaluate_photos(truths: Sequence[PhotoTruth], plans: Iterable[MethodPlan],
                    progress: Callable[[str, int, int], None] | None = None) -> PhotoReport:
    """Score every method of ``plans`` on every labelled person of ``truths``.

    ``progress(method, done, total)`` is called before each method and after each person.

    A method that raises ``ValueError`` or ``OSError`` on a photo (an unreadable image, a bad
    camera) gets a row without scores for it and a note in ``errors``; the other photos go on.
    """
    rows: list[dict] = []
    seconds: dict[str, float] = {}
    errors: list[str] = []
    for plan in plans:
        if progress is not None:
            progress(plan.name, 0, len(truths))
        start = time.perf_counter()
        method = plan.build()
        for done, truth in enumerate(truths, 1):
            row: dict = {"method": plan.name, "photo": truth.label}
            if truth.group:
                row["group"] = truth.group
            try:
                best = nearest_person(method(truth), truth)
            except (ValueError, OSError) as exc:
                errors.append(f"{plan.name}: {truth.path}: {exc}")
                row["error"] = str(exc)
                best = None
            if best is not None:
                row.update(score_person(best, truth))
            rows.append(row)
            if progress is not None:
                progress(plan.name, done, len(truths))
        seconds[plan.name] = time.perf_counter() - start
    return PhotoReport(rows, mean_scores(rows), seconds, errors, group_means(rows))


def format_photo_report(report: PhotoReport, per_photo_rows: bool = True) -> str:
    """The report as Markdown: the scores (per photo and mean, or mean only) and the mean
    per-joint errors of each method."""
    scored = [m for m in report.means if "per_joint_mm" in m]
    means = [{**m, "photo": f"{m['photo']} (found {m['found']} of {m['photos']}"
              + (f", {m['not_scored']} not scored)" if m.get("not_scored") else ")")}
             for m in report.means]
    parts = ["MPJPE, P-MPJPE and PCK@150 root-relative (mm, %, h36m17); root error: the pelvis "
             "in camera space (mm)\n", scores_table((report.rows if per_photo_rows else [])
                                                   + means)]
    if scored:
        parts += ["\nPer-joint error (mm, root-relative), mean over the photos:\n",
                  per_joint_table({m["method"]: np.asarray(m["per_joint_mm"])
                                   for m in scored})]
    if report.groups:
        parts += ["\nBy group (MPJPE / P-MPJPE / root error, mm; people found):\n",
                  group_table(report.groups)]
    if report.errors:
        parts += ["\nNot scored:"] + [f"- {e}" for e in report.errors]
    return "\n".join(parts)
